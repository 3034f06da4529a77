"""Which files a table's metadata references, which files lie under its location, and deleting.

Every path is compared as a full URI, and nothing outside ``<table location>/`` is ever listed
or deleted: a sibling table whose name shares a prefix (``user_stats_v2`` beside
``user_stats``) is a different folder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from pyarrow import fs as pafs
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot


@dataclass
class ReferencedFiles:
    """Files some metadata still points to."""

    metadata: set[str] = field(default_factory=set)
    manifest_lists: set[str] = field(default_factory=set)
    manifests: set[str] = field(default_factory=set)
    data: set[str] = field(default_factory=set)

    def all(self) -> set[str]:
        return self.metadata | self.manifest_lists | self.manifests | self.data


def files_of_snapshots(table: Table, snapshots: Iterable[Snapshot]) -> ReferencedFiles:
    """Manifest lists, manifests and live data files of the given snapshots."""
    found = ReferencedFiles()
    for snapshot in snapshots:
        found.manifest_lists.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            found.manifests.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                found.data.add(entry.data_file.file_path)
    return found


def metadata_files(table: Table) -> set[str]:
    """The current metadata file and the previous ones its log lists."""
    return {table.metadata_location} | {e.metadata_file for e in table.metadata.metadata_log}


def referenced_files(table: Table) -> ReferencedFiles:
    """Everything the table's current metadata reaches, old metadata files included."""
    found = files_of_snapshots(table, table.snapshots())
    found.metadata = metadata_files(table)
    return found


@dataclass(frozen=True)
class StoredFile:
    uri: str
    size: int
    modified: dt.datetime


def _filesystem(table: Table, location: str) -> tuple[pafs.FileSystem, str, str]:
    """The pyarrow filesystem of `location`, the path within it, and the URI prefix to restore."""
    io = table.io if isinstance(table.io, PyArrowFileIO) else PyArrowFileIO(table.io.properties)
    scheme, netloc, path = PyArrowFileIO.parse_location(location, table.io.properties)
    filesystem = io.fs_by_scheme(scheme, netloc)
    prefix = "file://" if scheme == "file" else f"{scheme}://"
    return filesystem, path, prefix


def table_prefix(table: Table) -> str:
    return table.location().rstrip("/") + "/"


def list_table_files(table: Table) -> list[StoredFile]:
    """Every file stored under the table's own location."""
    location = table_prefix(table)
    filesystem, path, prefix = _filesystem(table, location)
    infos = filesystem.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    stored = []
    for info in infos:
        if info.type != pafs.FileType.File:
            continue
        uri = prefix + info.path
        if not is_under(uri, location):  # never trust a listing to stay inside the prefix
            continue
        modified = info.mtime if info.mtime is not None else dt.datetime.now(dt.UTC)
        stored.append(StoredFile(uri, int(info.size or 0), modified.astimezone(dt.UTC)))
    return stored


def is_under(uri: str, location_prefix: str) -> bool:
    """Whether `uri` lies inside the folder `location_prefix` (which ends with a slash)."""
    return _normal(uri).startswith(_normal(location_prefix))


def _normal(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return "file://" + parsed.path
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path}"


def delete_files(table: Table, uris: Iterable[str]) -> int:
    """Delete files inside the table's location; anything else is refused, not deleted."""
    location = table_prefix(table)
    deleted = 0
    for uri in sorted(set(uris)):
        if not is_under(uri, location):
            raise ValueError(f"refusing to delete {uri}: outside the table location {location}")
        try:
            table.io.delete(uri)
            deleted += 1
        except FileNotFoundError:
            continue
    return deleted
