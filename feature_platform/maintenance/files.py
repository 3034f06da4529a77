"""Which files a table's metadata references, which files lie under its location, and deleting.

Every path is compared in one normal form (`normal_uri`: ``file:///x``, ``s3://bucket/key``),
whatever spelling the metadata or the listing used, and nothing outside ``<table location>/`` is
ever listed or deleted: a sibling table whose name shares a prefix (``user_stats_v2`` beside
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


def normal_uri(uri: str) -> str:
    """One spelling per file: plain paths and ``file:/x`` become ``file:///x``."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return "file://" + parsed.path
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path}"


@dataclass
class StorageReport:
    """What a maintenance step did to a table's files (or, in a dry run, would do).

    Every step counts files and bytes before and after it the same way, so a run's report, its
    Dagster metadata and the command line read the same for each step.
    """

    dry_run: bool
    files_before: int = 0
    bytes_before: int = 0
    files_after: int = 0
    bytes_after: int = 0
    seconds: float = 0.0


@dataclass
class DeletionReport(StorageReport):
    """A step that deletes files: the files (normal-form URIs) and the bytes they held."""

    files_deleted: list[str] = field(default_factory=list)
    bytes_deleted: int = 0


@dataclass
class ReferencedFiles:
    """Files some metadata still points to, in normal form."""

    metadata: set[str] = field(default_factory=set)
    manifest_lists: set[str] = field(default_factory=set)
    manifests: set[str] = field(default_factory=set)
    data: set[str] = field(default_factory=set)

    def all(self) -> set[str]:
        return self.metadata | self.manifest_lists | self.manifests | self.data


def files_of_snapshots(table: Table, snapshots: Iterable[Snapshot]) -> ReferencedFiles:
    """Manifest lists, manifests and live data files of the given snapshots.

    Appends share manifests between consecutive snapshots, so each manifest is read once.
    """
    found = ReferencedFiles()
    for snapshot in snapshots:
        found.manifest_lists.add(normal_uri(snapshot.manifest_list))
        for manifest in snapshot.manifests(table.io):
            path = normal_uri(manifest.manifest_path)
            if path in found.manifests:
                continue
            found.manifests.add(path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                found.data.add(normal_uri(entry.data_file.file_path))
    return found


def metadata_files(table: Table) -> set[str]:
    """The current metadata file, the previous ones its log lists, and statistics files."""
    metadata = table.metadata
    paths = {table.metadata_location, *(e.metadata_file for e in metadata.metadata_log)}
    paths |= {s.statistics_path for s in metadata.statistics}
    paths |= {s.statistics_path for s in metadata.partition_statistics}
    return {normal_uri(p) for p in paths}


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


def table_prefix(table: Table) -> str:
    """The table's folder, in normal form, with a trailing slash."""
    return normal_uri(table.location()).rstrip("/") + "/"


def list_table_files(table: Table) -> list[StoredFile]:
    """Every file stored under the table's own location, in normal form."""
    location = table_prefix(table)
    io = table.io if isinstance(table.io, PyArrowFileIO) else PyArrowFileIO(table.io.properties)
    scheme, netloc, path = PyArrowFileIO.parse_location(location, table.io.properties)
    filesystem = io.fs_by_scheme(scheme, netloc)
    selector = pafs.FileSelector(path, recursive=True, allow_not_found=True)
    stored = []
    for info in filesystem.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        uri = normal_uri(f"{scheme}://{info.path}" if scheme != "file" else info.path)
        if not is_under(uri, location):  # never trust a listing to stay inside the prefix
            continue
        modified = info.mtime if info.mtime is not None else dt.datetime.now(dt.UTC)
        stored.append(StoredFile(uri, int(info.size or 0), modified.astimezone(dt.UTC)))
    return stored


def is_under(uri: str, location_prefix: str) -> bool:
    """Whether `uri` lies inside the folder `location_prefix` (which ends with a slash)."""
    return normal_uri(uri).startswith(normal_uri(location_prefix).rstrip("/") + "/")


def delete_files(table: Table, uris: Iterable[str]) -> int:
    """Delete files inside the table's location; anything else is refused, not deleted."""
    location = table_prefix(table)
    targets = sorted(set(uris))
    outside = [uri for uri in targets if not is_under(uri, location)]
    if outside:
        raise ValueError(f"refusing to delete {outside[:3]}: outside the table location {location}")
    deleted = 0
    for uri in targets:
        try:
            table.io.delete(uri)
            deleted += 1
        except FileNotFoundError:
            continue
    return deleted


def storage_totals(table: Table) -> tuple[int, int]:
    """Files and bytes stored under the table's location (data, manifests and metadata)."""
    stored = list_table_files(table)
    return len(stored), sum(f.size for f in stored)
