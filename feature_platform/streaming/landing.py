"""The landing zone: event files dropped by producers, pushed into feature groups exactly once.

Producers (a stream consumer, a CDC job) drop files of feature rows under
``<landing>/<group>/`` - a local folder by default, an ``s3://`` prefix in production. Each file
is pushed once (to the offline table under a write id derived from the file, so a rerun after a
crash commits nothing twice) and then moved to ``_processed/``; a file that cannot be pushed is
moved to ``_quarantine/`` with an ``.error.txt`` beside it saying why, so it is neither retried
forever nor skipped silently.
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
        """The file's rows; text formats get ISO timestamps parsed (with offsets: instants)."""
        with self._fs.open_input_file(self._path(file)) as handle:
            payload = handle.read()
        suffix = file.name.lower().rsplit(".", 1)[-1]
        try:
            if suffix == "parquet":
                return pl.read_parquet(io.BytesIO(payload))
            if suffix == "csv":
                return pl.read_csv(io.BytesIO(payload), try_parse_dates=True)
            return pl.read_json(io.BytesIO(payload))
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


class LandingFileError(FeaturePlatformError, ValueError):
    """A landing file cannot be read or does not fit its feature group."""
