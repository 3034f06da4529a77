"""Snapshot expiry that also deletes what expired snapshots alone kept alive.

pyiceberg's `expire_snapshots()` only removes snapshots from the metadata. Here the files that
only expired snapshots reach (data files replaced since, their manifests and manifest lists)
are deleted too, after the metadata commit, so a reader of any retained snapshot never misses
a file. Metadata JSON files that fell out of the metadata log go as well.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot, ancestors_of

from feature_platform.maintenance.files import (
    DeletionReport,
    StoredFile,
    delete_files,
    files_of_snapshots,
    is_under,
    list_table_files,
    metadata_files,
    storage_totals,
    table_prefix,
)
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.offline_store.branches import experiment_lineage
from feature_platform.offline_store.writes import WRITE_ID_PROPERTY


@dataclass
class ExpiryReport(DeletionReport):
    snapshots_before: int = 0
    snapshots_expired: list[int] = field(default_factory=list)


def snapshots_to_expire(
    table: Table, policy: MaintenancePolicy, now: dt.datetime | None = None
) -> list[Snapshot]:
    """Snapshots older than the retention, except the newest `retain_last`, the current one,
    any a branch or tag points to, and those an open experiment needs (`experiment_lineage`)."""
    now = now or dt.datetime.now(dt.UTC)
    cutoff_ms = int((now - policy.snapshot_retention).timestamp() * 1000)
    newest_first = sorted(table.snapshots(), key=lambda s: s.timestamp_ms, reverse=True)
    # The newest of main's line: a discarded experiment's snapshots, newer than main's, must
    # not take these places (they would keep the experiment's files alive).
    current = table.current_snapshot()
    main_line = list(ancestors_of(current, table.metadata)) if current else []
    protected = {s.snapshot_id for s in main_line[: policy.retain_last]}
    protected |= {ref.snapshot_id for ref in table.metadata.refs.values()}
    protected |= experiment_lineage(table)
    protected |= {s.snapshot_id for s in newest_first if s.timestamp_ms >= cutoff_ms}
    # The snapshots of one write (an overwrite's delete and append) go or stay together, so
    # time travel never meets half a write whose other half expired.
    writes: dict[str, set[int]] = {}
    for snapshot in newest_first:
        write_id = _write_id(snapshot)
        if write_id is not None:
            writes.setdefault(write_id, set()).add(snapshot.snapshot_id)
    for members in writes.values():
        if members & protected:
            protected |= members
    return [s for s in newest_first if s.snapshot_id not in protected]


def _write_id(snapshot: Snapshot) -> str | None:
    if snapshot.summary is None:
        return None
    return snapshot.summary.additional_properties.get(WRITE_ID_PROPERTY)


def expire_snapshots(
    load_table: Callable[[], Table],
    policy: MaintenancePolicy,
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> ExpiryReport:
    started = time.perf_counter()
    table = load_table()
    report = ExpiryReport(dry_run=dry_run, snapshots_before=len(table.snapshots()))
    report.files_before, report.bytes_before = storage_totals(table)
    expiring = snapshots_to_expire(table, policy, now)
    report.snapshots_expired = [s.snapshot_id for s in expiring]
    expired_ids = set(report.snapshots_expired)
    retained = [s for s in table.snapshots() if s.snapshot_id not in expired_ids]
    candidates = files_of_snapshots(table, expiring).all()
    if expiring and not dry_run:
        table.maintenance.expire_snapshots().by_ids(report.snapshots_expired).commit()
        table = load_table()
        retained = table.snapshots()
    still_needed = files_of_snapshots(table, retained).all() | metadata_files(table)
    unreachable = {uri for uri in candidates - still_needed if is_under(uri, table_prefix(table))}
    stored = list_table_files(table)  # one listing serves stale metadata, sizes and totals
    unreachable |= _stale_metadata_files(table, stored, still_needed)
    sizes = {f.uri: f.size for f in stored}
    report.files_deleted = sorted(unreachable & set(sizes))
    report.bytes_deleted = sum(sizes[uri] for uri in report.files_deleted)
    if not dry_run:
        delete_files(table, report.files_deleted)
    report.files_after = len(stored) - (0 if dry_run else len(report.files_deleted))
    report.bytes_after = sum(sizes.values()) - (0 if dry_run else report.bytes_deleted)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _stale_metadata_files(
    table: Table, stored: list[StoredFile], still_needed: set[str]
) -> set[str]:
    """Metadata JSON files of this table that the metadata log no longer lists."""
    oldest_logged = _oldest_logged(table)
    return {
        candidate.uri
        for candidate in stored
        if candidate.uri.endswith(".metadata.json")
        and "/metadata/" in candidate.uri
        and candidate.uri not in still_needed
        and candidate.modified < oldest_logged
    }


def _oldest_logged(table: Table) -> dt.datetime:
    """Metadata files older than the oldest logged one fell out of the log; newer unlisted ones
    may belong to an in-flight commit and are left for orphan removal's safety age."""
    stamps = [entry.timestamp_ms for entry in table.metadata.metadata_log]
    oldest = min(stamps) if stamps else table.metadata.last_updated_ms
    return dt.datetime.fromtimestamp(oldest / 1000, dt.UTC)
