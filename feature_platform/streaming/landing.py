"""The landing zone: event files dropped by producers, pushed into feature groups exactly once.

Producers (a stream consumer, a CDC job) drop files of feature rows under
``<landing>/<group>/`` - a local folder by default, an ``s3://`` prefix in production. A push
run takes a file in three steps, so that what it commits is exactly what it files away:

1. **Claim**: the file's bytes are read once and held. On a local folder the file is first
   renamed into ``_claimed/<group>/`` (atomic), so a producer replacing ``latest.csv`` meanwhile
   creates a new pending file instead of changing the one being pushed, and two runs cannot
   both take it. S3 has no rename: the object is read once, conditionally on the ETag it was
   listed with, and step 3 deletes it only if it still has that ETag.
2. **Push**: the rows are parsed with the group's schema and committed under a write id derived
   from the bytes (not the name or modification time, which ``cp -p``, ``rsync -t`` and S3's
   one-second timestamps repeat), so a rerun after a crash commits nothing twice and a different
   file of the same name, size and time is a new write.
3. **File away**: the bytes go to ``_processed/<group>/<mtime>.<hash>-<name>`` (or
   ``_quarantine/`` with an ``.error.txt`` saying why, when the file itself is bad). The name
   holds the content hash, so an archived file is never overwritten by different content.

A run killed anywhere in between leaves the file pending (a claimed file is listed, under the
key it was launched with, until it is filed away; an S3 object simply stays), and its next push
commits nothing twice. A good file the store
cannot take right now (catalog or online store unavailable) stays pending for the next run.

Only regular files directly in the group's folder are read. A symbolic link (or other special
file) is quarantined unread, as a link: it may point anywhere, and neither its target's rows
nor its target's content in an error message belong in the store.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import functools
import hashlib
import io
import json
import os
import re
import stat
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from botocore.exceptions import BotoCoreError, ClientError

from feature_platform.config import StoreConfig
from feature_platform.dtypes import polars_dtype
from feature_platform.errors import ConfigurationError, FeaturePlatformError
from feature_platform.identifiers import validate_identifier
from feature_platform.offline_store.column_checks import UNKNOWN_FEATURES_HINT, column_mismatches
from feature_platform.specs import FeatureGroup

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FORMATS = (".parquet", ".csv", ".json")
CLAIMED = "_claimed"
PROCESSED = "_processed"
QUARANTINE = "_quarantine"
# An ISO-8601 date and time (``T`` or a space between), seconds and fraction optional, then
# optionally ``Z`` or an offset: what a text producer writes for an instant.
ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class LandingFile:
    """One file waiting in the landing zone (in its group's folder, or claimed by a run).

    Attributes:
        group: The feature group it is for.
        name: The name its producer gave it.
        version: Which file of that name this is, from the listing (local: modification time,
            size and inode; S3: LastModified, size and ETag). A claim keeps it, so a run in
            flight keeps its key; a replaced file gets a new one. It only schedules runs: what
            is committed is identified by the bytes read (`Claim.write_id`).
        size: Bytes, as listed.
        mtime_ns: Modification time, as listed; files are pushed oldest first.
        location: Where it is now: a path relative to the landing folder, or the S3 key.
    """

    group: str
    name: str
    version: str
    size: int
    mtime_ns: int
    location: str

    @property
    def key(self) -> str:
        """What the sensor and the run config name this file by: a replaced file is a new one."""
        return f"{self.group}/{self.name}@{self.version}"


@dataclass(frozen=True)
class Claim:
    """A landing file taken by one run: its bytes, read once, and where they are held.

    `payload` is None when the file was refused unread (`refusal` says why): it is then only
    ever quarantined.
    """

    file: LandingFile
    location: str
    payload: bytes | None
    refusal: str | None = None
    etag: str | None = None
    token: str = ""

    @functools.cached_property
    def digest(self) -> str | None:
        """SHA-256 of the bytes read: the file's identity."""
        return hashlib.sha256(self.payload).hexdigest() if self.payload is not None else None

    @property
    def write_id(self) -> str:
        """The offline write id: the same bytes for the same group and format commit once,
        whatever the file is called or when it was written."""
        suffix = self.file.name.lower().rsplit(".", 1)[-1]
        identity = f"{self.file.group}/{suffix}/{self.digest or self.token}"
        return "landing-" + hashlib.sha256(identity.encode()).hexdigest()[:32]

    @property
    def archive_name(self) -> str:
        """``<mtime_ns>.<hash>-<name>``: different content never gets the same name, and the
        same bytes filed away twice (a rerun after a crash) land on the same name once."""
        return f"{self.file.mtime_ns}.{(self.digest or self.token)[:16]}-{self.file.name}"


class LandingZone(ABC):
    """Lists, claims and files away landing files, in a local folder or under an S3 prefix."""

    uri: str

    @classmethod
    def from_config(cls, config: StoreConfig) -> LandingZone:
        """The zone at `config.landing_uri`, with the catalog's S3 endpoint and credentials."""
        uri = config.landing_uri.rstrip("/")
        if uri.startswith("s3://"):
            return S3LandingZone.from_properties(uri, config.catalog_properties)
        if uri.startswith("file://"):
            return LocalLandingZone(Path(uri.removeprefix("file://")), uri)
        if "://" in uri:
            raise ConfigurationError(f"landing location {uri!r} must be a folder or s3:// URI")
        return LocalLandingZone(Path(uri), uri)

    @abstractmethod
    def pending(self, group: str) -> list[LandingFile]:
        """Files waiting for `group`, claimed ones included, oldest first; hidden (``.``) and
        ``_``-prefixed names and other formats are ignored, as are sub-folders."""

    @abstractmethod
    def claim(self, file: LandingFile) -> Claim | None:
        """Take `file` for this run and read its bytes once.

        Returns None when the file is no longer there as listed: another run took or filed it
        away, or it was replaced since (the new file is pending under its own key).

        Raises:
            OSError: The storage could not be reached; the file stays pending.
        """

    @abstractmethod
    def archive(self, claim: Claim) -> str | None:
        """File the claimed bytes away in ``_processed/``; returns where, or None when another
        run took the file over meanwhile (and files it away itself)."""

    @abstractmethod
    def quarantine(self, claim: Claim, reason: str) -> str | None:
        """Move the claimed file to ``_quarantine/`` with ``<name>.error.txt`` giving `reason`;
        returns where, or None when another run took the file over meanwhile."""


# --- a local folder ------------------------------------------------------------------------------


class LocalLandingZone(LandingZone):
    """The landing zone in a local folder.

    Every folder and file below the root is opened relative to its parent without following
    symbolic links (``O_NOFOLLOW``), so nothing outside the root is ever read or moved, even if a
    link appears between a listing and a claim. The root itself may be reached through a link:
    that is the operator's configuration, not a producer's file.
    """

    def __init__(self, root: Path, uri: str) -> None:
        self._root = root
        self.uri = uri

    def pending(self, group: str) -> list[LandingFile]:
        validate_identifier(group, "feature group")
        files = []
        with self._folder(group) as folder:
            for name, status in _entries(folder):
                if not name.startswith((".", "_")) and name.lower().endswith(FORMATS):
                    files.append(_local_file(group, name, f"{group}/{name}", status))
        with self._folder(CLAIMED, group) as folder:
            for entry_name, status in _entries(folder):
                _, separator, name = entry_name.partition("-")
                if separator and name.lower().endswith(FORMATS):
                    location = f"{CLAIMED}/{group}/{entry_name}"
                    files.append(_local_file(group, name, location, status))
        return sorted(files, key=lambda f: (f.mtime_ns, f.name, f.location))

    def claim(self, file: LandingFile) -> Claim | None:
        *parts, name = file.location.split("/")
        token = uuid.uuid4().hex[:16]
        held = f"{token}-{file.name}"
        with self._folder(*parts) as source, self._folder(CLAIMED, file.group, create=True) as to:
            if source is None:
                return None
            assert to is not None
            try:
                os.rename(name, held, src_dir_fd=source, dst_dir_fd=to)
            except FileNotFoundError:  # another run claimed it, or filed it away
                return None
            location = f"{CLAIMED}/{file.group}/{held}"
            try:
                status = os.stat(held, dir_fd=to, follow_symlinks=False)
            except FileNotFoundError:  # taken over by another run already
                return None
            claimed = _local_file(file.group, file.name, location, status)
            if claimed.version != file.version:
                # Replaced between the listing and the claim: this is another file, pending
                # (claimed) under its own key, for the run launched for that key.
                return None
            if not stat.S_ISREG(status.st_mode):
                return Claim(
                    claimed, location, None, refusal=_not_regular(file, status), token=token
                )
            try:
                descriptor = os.open(held, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=to)
            except FileNotFoundError:
                return None
            with os.fdopen(descriptor, "rb") as handle:
                payload = handle.read()
        return Claim(claimed, location, payload, token=token)

    def archive(self, claim: Claim) -> str | None:
        return self._file_away(claim, PROCESSED, None)

    def quarantine(self, claim: Claim, reason: str) -> str | None:
        return self._file_away(claim, QUARANTINE, f"{claim.file.key}\n{reason}\n")

    def _file_away(self, claim: Claim, area: str, error: str | None) -> str | None:
        *parts, held = claim.location.split("/")
        target = claim.archive_name
        with (
            self._folder(*parts) as source,
            self._folder(area, claim.file.group, create=True) as to,
        ):
            assert to is not None
            if source is None:
                return None
            try:
                os.stat(target, dir_fd=to, follow_symlinks=False)
            except FileNotFoundError:
                # (Two runs filing away the same bytes under the same name at once may both get
                # here: the second rename then replaces identical content, nothing is lost.)
                try:
                    os.rename(held, target, src_dir_fd=source, dst_dir_fd=to)
                except FileNotFoundError:  # taken over by another run, which files it away
                    return None
            else:  # these very bytes were filed away here before (a rerun): keep that copy
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(held, dir_fd=source)
            if error is not None:
                # Exclusive create: never overwrites, never follows a link planted there.
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                with contextlib.suppress(FileExistsError):
                    descriptor = os.open(f"{target}.error.txt", flags, 0o644, dir_fd=to)
                    with os.fdopen(descriptor, "wb") as handle:
                        handle.write(error.encode())
        return str(self._root / area / claim.file.group / target)

    @contextlib.contextmanager
    def _folder(self, *parts: str, create: bool = False) -> Iterator[int | None]:
        """A descriptor of ``<root>/<parts...>`` opened one component at a time without
        following links; None when a component is missing (and `create` is false).

        Raises:
            ConfigurationError: A component is a symbolic link or a file, not a folder.
        """
        if create:
            self._root.mkdir(parents=True, exist_ok=True)
        try:
            folder = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            yield None
            return
        try:
            for depth, part in enumerate(parts):
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, dir_fd=folder)
                try:
                    child = os.open(
                        part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder
                    )
                except FileNotFoundError:
                    os.close(folder)
                    folder = -1
                    break
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    where = self._root.joinpath(*parts[: depth + 1])
                    raise ConfigurationError(
                        f"{where} is a symbolic link or a file, not a folder; the landing zone "
                        "only reads real folders under its root (a link could lead anywhere): "
                        "replace it with a folder"
                    ) from exc
                os.close(folder)
                folder = child
            yield folder if folder >= 0 else None
        finally:
            if folder >= 0:
                os.close(folder)


def _entries(folder: int | None) -> Iterator[tuple[str, os.stat_result]]:
    """Names and ``lstat`` of a folder's entries other than sub-folders."""
    if folder is None:
        return
    for name in os.listdir(folder):
        try:
            status = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:  # claimed or filed away since the listing
            continue
        if not stat.S_ISDIR(status.st_mode):
            yield name, status


def _local_file(group: str, name: str, location: str, status: os.stat_result) -> LandingFile:
    # Rename (the claim) keeps all three; a replaced file changes at least the inode.
    version = f"{status.st_mtime_ns}:{status.st_size}:{status.st_ino}"
    return LandingFile(group, name, version, status.st_size, status.st_mtime_ns, location)


def _not_regular(file: LandingFile, status: os.stat_result) -> str:
    kind = "a symbolic link" if stat.S_ISLNK(status.st_mode) else "not a regular file"
    return (
        f"{file.name} is {kind}; the landing zone reads only regular files in its own folders "
        "(a link could lead anywhere, so it was not followed): copy the file itself in, written "
        "under a hidden name and renamed when complete"
    )


# --- an S3 prefix --------------------------------------------------------------------------------


class S3LandingZone(LandingZone):
    """The landing zone under an ``s3://bucket/prefix``.

    S3 cannot rename, so a run cannot take an object exclusively. Instead every step is
    conditional on the object being the one listed: it is read with ``If-Match: <ETag>``, its
    bytes are archived from memory (``If-None-Match: *``: never over another archive), and it is
    deleted with ``If-Match: <ETag>``, so a replacement uploaded meanwhile is never deleted and
    stays pending. Two runs that read the same object both push it; the content-derived write id
    makes that one commit, and both archive it under the same name.
    """

    def __init__(self, client: S3Client, bucket: str, prefix: str, uri: str) -> None:
        self._s3 = client
        self._bucket = bucket
        self._prefix = prefix
        self.uri = uri

    @classmethod
    def from_properties(cls, uri: str, properties: Mapping[str, str]) -> S3LandingZone:
        """The zone at `uri`, with pyiceberg's ``s3.*`` catalog properties (endpoint,
        credentials, region); boto3's default chain for whatever they do not give."""
        import boto3

        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        session = boto3.session.Session(
            aws_access_key_id=properties.get("s3.access-key-id") or None,
            aws_secret_access_key=properties.get("s3.secret-access-key") or None,
            aws_session_token=properties.get("s3.session-token") or None,
            region_name=properties.get("s3.region") or None,
        )
        client = session.client("s3", endpoint_url=properties.get("s3.endpoint") or None)
        return cls(client, bucket, f"{prefix.strip('/')}/" if prefix.strip("/") else "", uri)

    def pending(self, group: str) -> list[LandingFile]:
        folder = f"{self._prefix}{validate_identifier(group, 'feature group')}/"
        files = []
        pages = self._s3.get_paginator("list_objects_v2")
        try:
            items = [
                item
                for page in pages.paginate(Bucket=self._bucket, Prefix=folder, Delimiter="/")
                for item in page.get("Contents", [])
            ]
        except _S3_ERRORS as exc:
            raise _as_os_error(f"listing {self.uri}/{group}/", exc) from exc
        for item in items:
            name = item["Key"][len(folder) :]
            if name.startswith((".", "_")) or not name.lower().endswith(FORMATS):
                continue
            mtime_ns = int(item["LastModified"].timestamp() * 1_000_000) * 1000
            size = int(item["Size"])
            version = f"{mtime_ns}:{size}:{item['ETag'].strip(chr(34))}"
            files.append(LandingFile(group, name, version, size, mtime_ns, item["Key"]))
        return sorted(files, key=lambda f: (f.mtime_ns, f.name))

    def claim(self, file: LandingFile) -> Claim | None:
        etag = _etag(file)
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=file.location, IfMatch=etag)
            payload = response["Body"].read()
        except _S3_ERRORS as exc:
            if _s3_code(exc) in _GONE:  # filed away by another run, or replaced since
                return None
            raise _as_os_error(f"reading {file.location}", exc) from exc
        return Claim(file, file.location, payload, etag=etag, token=uuid.uuid4().hex[:16])

    def archive(self, claim: Claim) -> str | None:
        return self._file_away(claim, PROCESSED, None)

    def quarantine(self, claim: Claim, reason: str) -> str | None:
        return self._file_away(claim, QUARANTINE, f"{claim.file.key}\n{reason}\n")

    def _file_away(self, claim: Claim, area: str, error: str | None) -> str:
        key = f"{self._prefix}{area}/{claim.file.group}/{claim.archive_name}"
        self._put_once(key, claim.payload or b"")
        if error is not None:
            self._put_once(f"{key}.error.txt", error.encode())
        try:
            self._s3.delete_object(
                Bucket=self._bucket, Key=claim.location, IfMatch=claim.etag or ""
            )
        except _S3_ERRORS as exc:
            # Replaced since it was read (the new object stays pending) or already deleted by
            # another run: either way nothing of what this run read is left to delete.
            if _s3_code(exc) not in _GONE:
                raise _as_os_error(f"deleting {claim.location}", exc) from exc
        return f"s3://{self._bucket}/{key}"

    def _put_once(self, key: str, body: bytes) -> None:
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, IfNoneMatch="*")
        except _S3_ERRORS as exc:
            # 412: already there. The name holds the content hash, so those are these bytes
            # (a rerun after a crash, or a second run pushing the same object).
            if _s3_code(exc) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise _as_os_error(f"writing {key}", exc) from exc


_GONE = ("NoSuchKey", "404", "PreconditionFailed", "412")
# What boto3 raises: an answer of S3 (`ClientError`) or no answer (`BotoCoreError`).
_S3_ERRORS = (BotoCoreError, ClientError)


def _etag(file: LandingFile) -> str:
    return '"' + file.version.rsplit(":", 1)[-1] + '"'


def _s3_code(exc: Exception) -> str | None:
    if not isinstance(exc, ClientError):
        return None
    return str(exc.response.get("Error", {}).get("Code", "")) or None


def _as_os_error(doing: str, exc: Exception) -> OSError:
    """S3 failures as `OSError`: the storage, not the file, so the file stays pending."""
    return OSError(f"S3 failed {doing}: {type(exc).__name__}: {exc}")


# --- parsing, with the group's schema ------------------------------------------------------------


def parse_landing_file(group: FeatureGroup, name: str, payload: bytes) -> pl.DataFrame:
    """The rows of a landing file, typed by `group`'s schema.

    Parquet carries its own types (a wrong one is refused by the write, with the cast to make).
    CSV and JSON do not, and inferring them breaks real files: a string key ``00123`` would be
    read as the number 123, a JSON whole number in a float feature as an integer. So each known
    column is converted from text (CSV) or JSON values to the spec's type, and a value that does
    not fit is refused naming its line. Timestamps must be ISO-8601 with an offset or ``Z``
    (naive ones are ambiguous). An empty CSV field is a missing value (null); a row with fewer
    or more fields than the header, or a JSON record lacking a column, is malformed. A file with
    no rows (empty, header only, ``[]``) is an empty frame: it pushes nothing. Columns the group
    does not know are kept as text, so the write names them.

    Raises:
        LandingFileError: The file is not readable as its format, or a value does not fit.
    """
    suffix = name.lower().rsplit(".", 1)[-1]
    if suffix == "parquet":
        try:
            return pl.read_parquet(io.BytesIO(payload))
        except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
            raise LandingFileError(f"{name} is not a readable parquet file: {exc}") from exc
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LandingFileError(
            f"{name} is not a readable {suffix} file: not UTF-8 text (byte {exc.start}); "
            "write it as UTF-8"
        ) from exc
    columns = group.input_dtypes()
    if suffix == "csv":
        return _csv_frame(name, text, columns)
    return _json_frame(name, text, columns)


def _empty(columns: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(schema={column: polars_dtype(dtype) for column, dtype in columns.items()})


def _csv_frame(name: str, text: str, columns: dict[str, str]) -> pl.DataFrame:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []  # the physical line each row ends on, for errors
    try:
        header = next((record for record in reader if record), None)  # blank lines before it
        if header is None:
            return _empty(columns)
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise LandingFileError(f"{name}: the header repeats columns {repeated}")
        for record in reader:
            if not record:  # a blank line
                continue
            if len(record) != len(header):
                raise LandingFileError(
                    f"{name} line {reader.line_num}: {len(record)} field(s), but the header has "
                    f"{len(header)}; every row needs one field per column (an empty field for "
                    "a missing value)"
                )
            rows.append(record)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise LandingFileError(
            f"{name} is not a readable csv file: line {reader.line_num}: {exc}"
        ) from exc
    values = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    return pl.DataFrame(
        [
            _text_column(name, column, columns.get(column), list(column_values), lines)
            for column, column_values in zip(header, values, strict=True)
        ]
    )


def _ndjson_records(name: str, text: str) -> list[tuple[str, Any]]:
    """One JSON value per non-blank line, labelled by line. Decoded as one array (fast); only
    when that fails are the lines decoded one by one, to name the bad one."""
    numbered = [(number, line) for number, line in enumerate(text.split("\n"), 1) if line.strip()]
    try:
        values = json.loads("[" + ",".join(line for _, line in numbered) + "]")
    except json.JSONDecodeError:
        values = None
    if isinstance(values, list) and len(values) == len(numbered):
        return [
            (f"line {number}", value) for (number, _), value in zip(numbered, values, strict=True)
        ]
    records = []
    for number, line in numbered:
        try:
            records.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise LandingFileError(
                f"{name} line {number}: not a JSON record: {exc.msg} (column {exc.colno})"
            ) from exc
    return records


def _json_frame(name: str, text: str, columns: dict[str, str]) -> pl.DataFrame:
    """An array of records, or one record per line (NDJSON, what stream sinks write)."""
    records: list[tuple[str, Any]] = []
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LandingFileError(f"{name} is not a readable json file: {exc}") from exc
        if not isinstance(data, list):
            raise LandingFileError(f"{name} is not a readable json file: not an array")
        records = [(f"record {index}", record) for index, record in enumerate(data, 1)]
    else:
        records = _ndjson_records(name, text)
    if not records:
        return _empty(columns)
    for where, record in records:
        if not isinstance(record, dict):
            raise LandingFileError(f"{name} {where}: not a JSON object (one record per row)")
        if record.keys() != columns.keys():
            problems = column_mismatches(
                list(columns),
                record,
                unknown_hint=UNKNOWN_FEATURES_HINT,
                missing_hint=" (write null for a missing value)",
            )
            raise LandingFileError(f"{name} {where}: " + "; ".join(problems))
    labels = [label for label, _ in records]
    return pl.DataFrame(
        [
            _json_column(
                name, column, columns[column], [r[column] for _, r in records], labels.__getitem__
            )
            for column in records[0][1]
        ]
    )


Converter = Callable[[Any], Any]

# What a value of each canonical type is called in an error, by format.
_TEXT_TYPES = {
    "string": "text",
    "int32": "a whole number within int32",
    "int64": "a whole number within int64",
    "float32": "a number",
    "float64": "a number",
    "bool": "true or false",
    "date": "an ISO date (2026-11-10)",
    "timestamp": "an ISO-8601 timestamp with an offset, e.g. '2026-11-10T14:00:00Z'",
}
_JSON_TYPES = {
    **_TEXT_TYPES,
    "string": "a JSON string (quote it)",
    "int32": "a whole JSON number within int32",
    "int64": "a whole JSON number within int64",
    "float32": "a JSON number",
    "float64": "a JSON number",
}
# The text a CSV value of a type may be; polars casts exactly these (anything else is refused).
_TEXT_PATTERNS = {
    "int32": r"^[+-]?\d+$",
    "int64": r"^[+-]?\d+$",
    "float32": r"(?i)^[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|nan|inf|infinity)$",
    "float64": r"(?i)^[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|nan|inf|infinity)$",
    "bool": r"(?i)^(true|false)$",
    "date": ISO_DATE.pattern,
}


def _refused(
    name: str, where: str, column: str, value: Any, dtype: str, kinds: dict[str, str]
) -> LandingFileError:
    return LandingFileError(
        f"{name} {where}: {column}={value!r} is not {kinds[dtype]}, the type the group gives "
        f"{column!r}"
    )


def _text_column(
    name: str, column: str, dtype: str | None, values: list[str], lines: list[int]
) -> pl.Series:
    """A CSV column as `dtype`, converted in bulk by polars; an empty field is null. A column
    the group does not know (`dtype` None) stays text, for the write to name it."""
    text = pl.Series(column, values, dtype=pl.String).replace("", None)
    if dtype is None or dtype == "string":
        return text
    if dtype == "timestamp":
        return _json_column(
            name, column, dtype, text.to_list(), lambda index: f"line {lines[index]}", _TEXT_TYPES
        )
    target = polars_dtype(dtype)
    if dtype == "bool":
        typed = text.str.to_lowercase().replace_strict(
            {"true": True, "false": False}, default=None, return_dtype=target
        )
    elif dtype == "date":
        typed = text.str.to_date("%Y-%m-%d", strict=False)
    else:  # numbers: out of range becomes null, refused below
        typed = text.cast(target, strict=False)
    fits = text.str.contains(_TEXT_PATTERNS[dtype]).fill_null(True) & (
        text.is_null() | typed.is_not_null()
    )
    if not fits.all():
        index = int(fits.not_().arg_true()[0])
        raise _refused(name, f"line {lines[index]}", column, values[index], dtype, _TEXT_TYPES)
    return typed.alias(column)


def _json_column(
    name: str,
    column: str,
    dtype: str,
    values: Sequence[Any],
    where: Callable[[int], str],
    kinds: dict[str, str] = _JSON_TYPES,
) -> pl.Series:
    """JSON values (or CSV timestamps) as `dtype`; the first that does not fit is refused
    naming its line or record (`where` of its index)."""
    if _JSON_KINDS.get(dtype, set()) >= set(map(type, values)) - {type(None)}:
        # Of the right kinds already: built in bulk unless a number is out of range.
        bulk = pl.Series(column, values, dtype=polars_dtype(dtype), strict=False)
        if bulk.null_count() == values.count(None):
            return bulk
    convert = _FROM_JSON[dtype]
    converted: list[Any] = []
    seen: dict[str, Any] = {}  # text repeats (times, categories): each is converted once
    for index, value in enumerate(values):
        if value is None:
            converted.append(None)
            continue
        if isinstance(value, str) and value in seen:
            converted.append(seen[value])
            continue
        try:
            typed = convert(value)
        except _Naive:
            raise LandingFileError(
                f"{name} {where(index)}: column {column!r} holds naive timestamps ({value!r} "
                "has no UTC offset); write each instant with an offset or Z, e.g. "
                "'2026-11-10T14:00:00Z'"
            ) from None
        except (ValueError, TypeError, OverflowError):
            raise _refused(name, where(index), column, value, dtype, kinds) from None
        if isinstance(value, str):
            seen[value] = typed
        converted.append(typed)
    if dtype == "timestamp":  # built from epoch microseconds: far faster than from datetimes
        micros = pl.Series(column, converted, dtype=pl.Int64)
        return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return pl.Series(column, converted, dtype=polars_dtype(dtype), strict=True)


class _Naive(ValueError):
    """An ISO timestamp without an offset."""


def _instant(value: Any) -> int:
    """ISO-8601 text with an offset as microseconds since the epoch (UTC)."""
    if not isinstance(value, str) or not ISO_DATETIME.match(value):
        raise ValueError(value)
    stamp = dt.datetime.fromisoformat(value)
    if stamp.utcoffset() is None:
        raise _Naive(value)
    return (stamp - EPOCH) // MICROSECOND


def _date(value: Any) -> dt.date:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise ValueError(value)
    return dt.date.fromisoformat(value)


def _integer(bits: int) -> Converter:
    def convert(value: Any) -> int:
        if type(value) is not int:  # not a bool, not 3.0
            raise TypeError(value)
        if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            raise OverflowError(value)
        return value

    return convert


def _real(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return float(value)


def _exactly(kind: type) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is not kind:
            raise TypeError(value)
        return value

    return convert


# The Python types JSON decodes to that each canonical type takes as they are.
_JSON_KINDS: dict[str, set[type]] = {
    "string": {str},
    "int32": {int},
    "int64": {int},
    "float32": {int, float},
    "float64": {int, float},
    "bool": {bool},
}
# How a JSON value becomes each canonical type (timestamps and dates are ISO text).
_FROM_JSON: dict[str, Converter] = {
    "string": _exactly(str),
    "int32": _integer(32),
    "int64": _integer(64),
    "float32": _real,
    "float64": _real,
    "bool": _exactly(bool),
    "date": _date,
    "timestamp": _instant,
}


class LandingFileError(FeaturePlatformError, ValueError):
    """A landing file cannot be read or does not fit its feature group."""
