"""The landing zone: event files dropped by producers, pushed into feature groups exactly once.

Producers (a stream consumer, a CDC job) drop files of feature rows under
``<landing>/<group>/`` - a local folder by default, an ``s3://`` prefix in production. Each file
is pushed once (to the offline table under a write id derived from the file, so a rerun after a
crash commits nothing twice) and then moved to ``_processed/``; a file that is itself bad
(unreadable, or rows that do not fit the group) is moved to ``_quarantine/`` with an
``.error.txt`` beside it saying why, so it is neither retried forever nor skipped silently. A
good file the store cannot take right now (catalog or online store unavailable) stays where it
is for the next run.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow.fs as pafs

from feature_platform.config import StoreConfig
from feature_platform.errors import ConfigurationError, FeaturePlatformError
from feature_platform.identifiers import validate_identifier

FORMATS = (".parquet", ".csv", ".json")
PROCESSED = "_processed"
QUARANTINE = "_quarantine"
# An ISO-8601 date and time (``T`` or a space between), seconds and fraction optional, then
# optionally ``Z`` or an offset: what a JSON producer writes for an instant.
ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"


@dataclass(frozen=True)
class LandingFile:
    """One file waiting in the landing zone."""

    group: str
    name: str
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        """Identity of this version of the file: a replaced file is a new one."""
        return f"{self.group}/{self.name}@{self.mtime_ns}:{self.size}"

    @property
    def write_id(self) -> str:
        return "landing-" + hashlib.sha256(self.key.encode()).hexdigest()[:32]


class LandingZone:
    """Lists, reads and files away landing files on a pyarrow filesystem (local or S3)."""

    def __init__(self, filesystem: pafs.FileSystem, root: str, uri: str) -> None:
        self._fs = filesystem
        self._root = root.rstrip("/")
        self.uri = uri.rstrip("/")

    @classmethod
    def from_config(cls, config: StoreConfig) -> LandingZone:
        """The zone at `config.landing_uri`, with the catalog's S3 endpoint and credentials."""
        uri = config.landing_uri
        if uri.startswith("s3://"):
            properties = config.catalog_properties
            options: dict[str, Any] = {}
            endpoint = properties.get("s3.endpoint")
            if endpoint:
                scheme, _, host = endpoint.partition("://")
                options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
            for option, key in (
                ("access_key", "s3.access-key-id"),
                ("secret_key", "s3.secret-access-key"),
                ("region", "s3.region"),
            ):
                if properties.get(key):
                    options[option] = properties[key]
            return cls(pafs.S3FileSystem(**options), uri.removeprefix("s3://"), uri)
        if uri.startswith("file://"):
            path = uri.removeprefix("file://")
        elif "://" in uri:
            raise ConfigurationError(f"landing location {uri!r} must be a folder or s3:// URI")
        else:
            path = uri
        filesystem = pafs.LocalFileSystem()
        return cls(filesystem, path, uri)

    def pending(self, group: str) -> list[LandingFile]:
        """Files waiting for `group`, oldest first; hidden and temporary files are ignored."""
        folder = f"{self._root}/{validate_identifier(group, 'feature group')}"
        selector = pafs.FileSelector(folder, allow_not_found=True, recursive=False)
        files = []
        for info in self._fs.get_file_info(selector):
            name = info.base_name
            if info.type != pafs.FileType.File or name.startswith((".", "_")):
                continue
            if not name.lower().endswith(FORMATS):
                continue
            files.append(LandingFile(group, name, int(info.size or 0), int(info.mtime_ns or 0)))
        return sorted(files, key=lambda f: (f.mtime_ns, f.name))

    def exists(self, file: LandingFile) -> bool:
        info = self._fs.get_file_info(self._path(file))
        return bool(info.type == pafs.FileType.File)

    def read(self, file: LandingFile) -> pl.DataFrame:
        """The file's rows; text formats get ISO timestamps parsed (with offsets: instants).

        JSON may be an array of records or one record per line (NDJSON, what stream sinks
        write). JSON has no timestamp type, so its ISO-8601 strings are parsed here the way CSV
        parses them (`_parse_iso_datetimes`); otherwise every JSON file would fail validation.

        Raises:
            LandingFileError: The content cannot be parsed as its format (the file is bad).
            OSError: The file could not be fetched (gone, or storage unreachable): the file
                itself may be fine, so this is not a `LandingFileError`.
        """
        with self._fs.open_input_file(self._path(file)) as handle:
            payload = handle.read()
        suffix = file.name.lower().rsplit(".", 1)[-1]
        try:
            if suffix == "parquet":
                return pl.read_parquet(io.BytesIO(payload))
            if suffix == "csv":
                return pl.read_csv(io.BytesIO(payload), try_parse_dates=True)
            if payload.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
                return _parse_iso_datetimes(pl.read_json(io.BytesIO(payload)))
            return _parse_iso_datetimes(pl.read_ndjson(io.BytesIO(payload)))
        except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
            raise LandingFileError(f"{file.name} is not a readable {suffix} file: {exc}") from exc

    def mark_processed(self, file: LandingFile) -> None:
        self._move(file, PROCESSED)

    def quarantine(self, file: LandingFile, reason: str) -> str:
        """Move the file aside with its reason; returns where it went."""
        target = self._move(file, QUARANTINE)
        with self._fs.open_output_stream(target + ".error.txt") as handle:
            handle.write(f"{file.key}\n{reason}\n".encode())
        return target

    def _path(self, file: LandingFile) -> str:
        return f"{self._root}/{file.group}/{file.name}"

    def _move(self, file: LandingFile, area: str) -> str:
        folder = f"{self._root}/{area}/{file.group}"
        self._fs.create_dir(folder, recursive=True)
        target = f"{folder}/{file.mtime_ns}-{file.name}"
        self._fs.move(self._path(file), target)
        return target


def _parse_iso_datetimes(frame: pl.DataFrame) -> pl.DataFrame:
    """String columns holding only ISO-8601 datetimes, parsed as `read_csv(try_parse_dates=True)`
    parses them, so a JSON file lands like the same rows in CSV.

    Values with offsets (or ``Z``) become UTC instants (microseconds); a column without offsets
    becomes naive, which the write then refuses as ambiguous, as it does for CSV. A column is
    parsed only when every non-null value looks like an ISO datetime and all of them parse (one
    kind: not offsets mixed with naive values); any other string column (ids, categories, dates
    without a time) stays a string.
    """
    parsed = []
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        column = frame.get_column(name)
        values = column.drop_nulls()
        if values.is_empty() or not values.str.contains(ISO_DATETIME).all():
            continue
        try:
            parsed.append(column.str.to_datetime(time_unit="us", strict=True))
        except pl.exceptions.PolarsError:  # e.g. naive values mixed with offsets, or Feb 30
            continue
    return frame.with_columns(parsed)


class LandingFileError(FeaturePlatformError, ValueError):
    """A landing file cannot be read or does not fit its feature group."""
