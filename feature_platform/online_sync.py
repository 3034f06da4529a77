"""Incremental sync of the offline table's latest live values into the online store.

The sync remembers the offline snapshot it last reached (the caller keeps it; the Dagster asset
keeps it in its materialization metadata) and, from the snapshots committed since, learns which
time ranges changed. Only entities whose latest live row lies in a changed range, differs from
what that range held before, and is still within the ttl are written. So a backfill of windows
older than the ttl, or of windows superseded by newer rows, makes no online request at all, which
is the cost SageMaker's always-online writes made every backfill pay.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl
from pyiceberg.conversions import from_bytes
from pyiceberg.manifest import DataFile, ManifestEntryStatus
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.types import PrimitiveType

from feature_platform.errors import FeatureNotOnlineError, NaiveTimestampError
from feature_platform.maintenance.compaction import OPERATION_PROPERTY
from feature_platform.offline_store.reads import scan_table
from feature_platform.offline_store.schema import table_columns
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup
from feature_platform.store import FeatureStore
from feature_platform.time_windows import TimeWindow

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SyncReport:
    """What one sync read and wrote; `to_snapshot_id` is the cursor for the next sync.

    Attributes:
        group: The feature group synced.
        from_snapshot_id: The cursor the sync started from (None: a full bootstrap).
        to_snapshot_id: The offline snapshot now reflected online (None: empty table).
        bootstrap: Whether every live value was loaded, not just changes.
        windows_examined: Partition windows touched by the snapshots since the cursor.
        windows_expired: Of those, windows entirely older than the ttl (not read).
        rows_read: Offline rows read.
        entities_changed: Entities whose latest live row changed in the examined windows.
        entities_superseded: Entities skipped because a newer row exists outside them.
        items_written: Online items created or replaced.
        items_skipped: Items the online store refused as not newer than what it holds.
        seconds: Wall time of the sync.
        after_interrupted_sync: Whether the sync distrusted the online state at the cursor
            (a sync since then stopped part way), so it rewrote unchanged entities too.
        ttl: The group's ttl the sync applied (None: unlimited). A later sync with a larger
            ttl must load every live value: the values that became live are in no change.
    """

    group: str
    from_snapshot_id: int | None
    to_snapshot_id: int | None
    bootstrap: bool
    windows_examined: int
    windows_expired: int
    rows_read: int
    entities_changed: int
    entities_superseded: int
    items_written: int
    items_skipped: int
    seconds: float
    after_interrupted_sync: bool = False
    ttl: dt.timedelta | None = None

    @property
    def online_requests(self) -> int:
        """Items sent to the online store (written or refused there)."""
        return self.items_written + self.items_skipped


def sync_online(
    store: FeatureStore,
    name: str,
    since_snapshot_id: int | None,
    *,
    now: dt.datetime | None = None,
    after_interrupted_sync: bool = False,
) -> SyncReport:
    """Bring group `name`'s online table up to the offline table's current snapshot.

    Args:
        store: The store whose offline table is read and whose online store is written.
        name: The feature group.
        since_snapshot_id: The cursor of the last successful sync; None (or a snapshot that
            has since expired) loads every live value.
        now: The instant the ttl is measured from; defaults to the clock.
        after_interrupted_sync: Set when a sync started after the cursor's may have stopped
            part way (the Dagster asset knows from its event log). Entities are then written
            even where the changed windows hold what they held at the cursor: the stopped sync
            may have written values those windows held only in between.

    Raises:
        FeatureNotOnlineError: The group is not online.
        NaiveTimestampError: `now` has no time zone.
    """
    started = time.perf_counter()
    if now is None:
        now = dt.datetime.now(dt.UTC)
    elif now.utcoffset() is None:
        # Checked here, not where the scan first compares it with a timestamptz column.
        raise NaiveTimestampError(
            f"now={now.isoformat()} has no time zone, so the ttl cutoff is ambiguous; pass a "
            "timezone-aware datetime, e.g. datetime.now(datetime.UTC) or now.replace(tzinfo=UTC)"
        )
    table = store.table(name)
    group = store.get_feature_group(name)
    if not group.online:
        raise FeatureNotOnlineError(
            f"feature group {name!r} is not online, so there is nothing to sync; set "
            "online=True and apply it to start syncing (its online table, if any, is kept)"
        )
    current = table.current_snapshot()
    live_from = _live_from(now, group.ttl)
    report = _Counter(group.name, since_snapshot_id, current, group.ttl)
    report.after_interrupted_sync = after_interrupted_sync
    if current is None or current.snapshot_id == since_snapshot_id:
        return report.done(started)

    changes = _changes_since(table, current, since_snapshot_id)
    if changes is None:  # no cursor, or it expired: load every live value
        report.bootstrap = True
        candidates = _read(table, group, [_open_window(live_from)], current.snapshot_id)
        report.rows_read += candidates.height
        candidates = _latest_per_entity(candidates, group)
    else:
        windows = _windows(changes, group.partition_width)
        report.windows_examined = len(windows)
        live = [w for w in windows if live_from is None or w.end > live_from]
        report.windows_expired = len(windows) - len(live)
        if not live:
            return report.done(started)
        unchanged_are_synced = not after_interrupted_sync
        candidates = _changed_entities(table, group, live, current, report, unchanged_are_synced)
    if live_from is not None:
        candidates = candidates.filter(pl.col(EVENT_TIME_COLUMN) >= live_from)
    report.entities_changed = candidates.height
    if not candidates.is_empty():
        store.online.ensure_table(group)  # e.g. switched online later, elsewhere
        # The offline table is the truth: a recomputed row with unchanged times still replaces.
        written = store.online.write(group, candidates, replace_equal=True)
        report.items_written = written.written
        report.items_skipped = written.skipped_stale
    return report.done(started)


def _live_from(now: dt.datetime, ttl: dt.timedelta | None) -> dt.datetime | None:
    """The oldest live event time, or None when every value is live.

    A ttl reaching back before the earliest instant a scan can bound by (e.g. thousands of
    years, used to mean "practically forever") makes every value live: the same as no ttl,
    rather than an OverflowError from datetime arithmetic.
    """
    if ttl is None:
        return None
    try:
        live_from = now - ttl
    except OverflowError:
        return None
    return live_from if live_from > _UNBOUNDED_START else None


def _changed_entities(
    table: Table,
    group: FeatureGroup,
    windows: Sequence[TimeWindow],
    current: Snapshot,
    report: _Counter,
    unchanged_are_synced: bool,
) -> pl.DataFrame:
    """Latest rows per entity in `windows` that are the entity's newest row and are new.

    With `unchanged_are_synced`, rows the windows also held at the cursor snapshot are left out:
    the sync that reached the cursor wrote them, and nothing has written those entities since.
    """
    keys = list(group.join_keys)
    rows = _read(table, group, windows, current.snapshot_id)
    report.rows_read += rows.height
    latest = _latest_per_entity(rows, group)
    if latest.is_empty():
        return latest
    # An entity with a newer row outside the windows keeps that row online: skip it.
    newest_anywhere = _latest_per_entity(
        _read(
            table,
            group,
            [_open_window(min(w.start for w in windows))],
            current.snapshot_id,
            columns=[*keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN],
        ),
        group,
    )
    report.rows_read += newest_anywhere.height
    still_newest = latest.join(
        newest_anywhere, on=[*keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN], how="semi"
    )
    report.entities_superseded = latest.height - still_newest.height
    if not unchanged_are_synced or report.since is None or still_newest.is_empty():
        return still_newest
    # Rows the windows held before, unchanged, were synced then: a rerun writes nothing.
    before = _latest_per_entity(_read(table, group, windows, report.since), group)
    report.rows_read += before.height
    return still_newest.join(before, on=still_newest.columns, how="anti", nulls_equal=True)


def _changes_since(
    table: Table, current: Snapshot, since_snapshot_id: int | None
) -> list[tuple[int, int]] | None:
    """Event-time ranges (µs) of data files added or removed since the cursor.

    None when there is no usable cursor: it is unset, or no longer an ancestor of the current
    snapshot (expired, or the table was rolled back past it).
    """
    if since_snapshot_id is None:
        return None
    chain: list[Snapshot] = []
    snapshot: Snapshot | None = current
    while snapshot is not None and snapshot.snapshot_id != since_snapshot_id:
        chain.append(snapshot)
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
    if snapshot is None:
        return None
    ranges: list[tuple[int, int]] = []
    for step in chain:
        summary = step.summary.additional_properties if step.summary else {}
        if summary.get(OPERATION_PROPERTY) == "compaction":
            continue  # rewrites the same rows into fewer files: nothing changed
        for data_file in _files_changed_by(table, step):
            span = _event_time_span(table, data_file)
            if span is None:  # no statistics: treat everything as changed
                return None
            ranges.append(span)
    return ranges


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


_UNBOUNDED_START = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
_UNBOUNDED_END = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def _open_window(start: dt.datetime | None) -> TimeWindow:
    """Everything from `start` on (from the beginning when None); read without bounds."""
    return TimeWindow(start or _UNBOUNDED_START, _UNBOUNDED_END)


def _read(
    table: Table,
    group: FeatureGroup,
    windows: Sequence[TimeWindow],
    snapshot_id: int,
    columns: list[str] | None = None,
) -> pl.DataFrame:
    """Rows of `windows` at a snapshot, merging adjacent windows into one scan each."""
    wanted = columns or table_columns(group)
    merged: list[TimeWindow] = []
    for window in sorted(windows, key=lambda w: w.start):
        if merged and merged[-1].end >= window.start:
            merged[-1] = TimeWindow(merged[-1].start, max(merged[-1].end, window.end))
        else:
            merged.append(window)
    frames = [
        scan_table(
            table,
            columns=wanted,
            time_column=EVENT_TIME_COLUMN,
            start=None if window.start == _UNBOUNDED_START else window.start,
            end=None if window.end == _UNBOUNDED_END else window.end,
            as_of=snapshot_id,
        )
        for window in merged
    ]
    return pl.concat(frames, how="vertical")


def _latest_per_entity(rows: pl.DataFrame, group: FeatureGroup) -> pl.DataFrame:
    keys = list(group.join_keys)
    return rows.sort([*keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN]).unique(
        subset=keys, keep="last", maintain_order=True
    )


@dataclass
class _Counter:
    group: str
    since: int | None
    current: Snapshot | None
    ttl: dt.timedelta | None
    bootstrap: bool = False
    windows_examined: int = 0
    windows_expired: int = 0
    rows_read: int = 0
    entities_changed: int = 0
    entities_superseded: int = 0
    items_written: int = 0
    items_skipped: int = 0
    after_interrupted_sync: bool = False

    def done(self, started: float) -> SyncReport:
        return SyncReport(
            group=self.group,
            from_snapshot_id=self.since,
            to_snapshot_id=self.current.snapshot_id if self.current else None,
            bootstrap=self.bootstrap,
            windows_examined=self.windows_examined,
            windows_expired=self.windows_expired,
            rows_read=self.rows_read,
            entities_changed=self.entities_changed,
            entities_superseded=self.entities_superseded,
            items_written=self.items_written,
            items_skipped=self.items_skipped,
            seconds=round(time.perf_counter() - started, 3),
            after_interrupted_sync=self.after_interrupted_sync,
            ttl=self.ttl,
        )
