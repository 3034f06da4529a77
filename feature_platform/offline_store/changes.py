"""Which partition windows of an offline table changed since an earlier snapshot.

A consumer that keeps a cursor (the snapshot it last read, e.g. the online sync) asks this
instead of rereading the table: the data files each snapshot since the cursor added or removed
carry the event-time bounds of their rows, and those bounds name the windows that changed.
Compactions rewrite the same rows into fewer files, so they change nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence

from pyiceberg.conversions import from_bytes
from pyiceberg.manifest import DataFile, ManifestEntryStatus
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot, ancestors_between_ids, is_ancestor_of
from pyiceberg.types import PrimitiveType

from feature_platform.offline_store.writes import OPERATION_PROPERTY
from feature_platform.specs import EVENT_TIME_COLUMN
from feature_platform.time_windows import TimeWindow

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def windows_changed_since(
    table: Table, since_snapshot_id: int | None, width: dt.timedelta, current: Snapshot
) -> list[TimeWindow] | None:
    """The partition windows (of `width`, from the epoch) that data files changed since then.

    Args:
        table: The offline table.
        since_snapshot_id: The snapshot the caller last read (its cursor).
        width: The table's partition width.
        current: The snapshot to compare with, normally the table's current one.

    Returns:
        The changed windows, sorted and distinct; None when the changes cannot be known, so
        everything must be treated as changed: there is no cursor, it is no longer an ancestor
        of `current` (it expired, or the table was rolled back past it), or a changed data file
        has no event-time statistics.
    """
    if since_snapshot_id is None:
        return None
    return windows_changed_between(table, since_snapshot_id, current, width)


def windows_changed_between(
    table: Table,
    base_id: int | None,
    head: Snapshot,
    width: dt.timedelta,
    ignore: Callable[[Mapping[str, str]], bool] | None = None,
) -> list[TimeWindow] | None:
    """The partition windows data files changed after `base_id` up to `head` (any branch's).

    Args:
        table: The offline table.
        base_id: The snapshot to compare with (None: from the first snapshot of `head`'s line).
        head: The newest snapshot, e.g. a branch's head.
        width: The table's partition width.
        ignore: Skips snapshots whose summary properties it accepts (e.g. the promotion of
            the experiment asking), as compactions are skipped.

    Returns:
        The changed windows, sorted and distinct; None when they cannot be known: `base_id` is
        not an ancestor of `head`, or a changed data file has no event-time statistics.
    """
    if base_id is not None and not is_ancestor_of(head.snapshot_id, base_id, table.metadata):
        return None
    ranges: list[tuple[int, int]] = []
    for step in ancestors_between_ids(base_id, head.snapshot_id, table.metadata):
        summary = step.summary.additional_properties if step.summary else {}
        if summary.get(OPERATION_PROPERTY) == "compaction":
            continue  # rewrites the same rows into fewer files: nothing changed
        if ignore is not None and ignore(summary):
            continue
        for data_file in _files_changed_by(table, step):
            span = _event_time_span(table, data_file)
            if span is None:  # no statistics: treat everything as changed
                return None
            ranges.append(span)
    return _windows(ranges, width)


def _files_changed_by(table: Table, snapshot: Snapshot) -> Iterable[DataFile]:
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
            if entry.snapshot_id == snapshot.snapshot_id and entry.status in (
                ManifestEntryStatus.ADDED,
                ManifestEntryStatus.DELETED,
            ):
                yield entry.data_file


def _event_time_span(table: Table, data_file: DataFile) -> tuple[int, int] | None:
    """The file's lowest and highest event time (µs), from its column statistics."""
    field = table.schema().find_field(EVENT_TIME_COLUMN)
    assert isinstance(field.field_type, PrimitiveType)
    low = (data_file.lower_bounds or {}).get(field.field_id)
    high = (data_file.upper_bounds or {}).get(field.field_id)
    if low is None or high is None:
        return None
    return int(from_bytes(field.field_type, low)), int(from_bytes(field.field_type, high))


def _windows(ranges: Sequence[tuple[int, int]], width: dt.timedelta) -> list[TimeWindow]:
    """The partition windows the ranges touch, sorted and distinct."""
    step = width // dt.timedelta(microseconds=1)
    indexes: set[int] = set()
    for low, high in ranges:
        indexes.update(range(low // step, high // step + 1))
    return [
        TimeWindow(
            _EPOCH + dt.timedelta(microseconds=i * step),
            _EPOCH + dt.timedelta(microseconds=(i + 1) * step),
        )
        for i in sorted(indexes)
    ]
