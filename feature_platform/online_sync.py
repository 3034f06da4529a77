"""Incremental sync of the offline table's latest live values into the online store.

The sync remembers the offline snapshot it last reached (the caller keeps it; the Dagster asset
keeps it in its materialization metadata) and, from the snapshots committed since, learns which
time ranges changed. Only entities whose latest live row lies in a changed range, differs from
what that range held before, and is still within the ttl are written. So a backfill of windows
older than the ttl, or of windows superseded by newer rows, makes no online request at all, which
is the cost SageMaker's always-online writes made every backfill pay.

Online writes are latest-wins, which cannot follow a backfill that takes an entity's newest row
away (removes it, or replaces it with a row of an earlier event_time or created_at). For the
entities the changed windows held at the cursor, the offline table is the authority: where the
row they held then (the "before-row") was the entity's newest live row and no longer is, the
sync reads the entity's current latest live row from the whole table and writes it over the
stored item, or deletes the item when no live row is left. Both act only when the stored item is
exactly the before-row (or, for a write, older), so a newer value pushed online since
(``store.write(..., to="online")``) that the offline table does not hold yet is kept.

Known limit: a bootstrap (no cursor, or an expired one) only writes, latest wins. It does not
remove items of entities that have left the table, nor replace an item newer than the table's
newest row; deleting the group's online table before the bootstrap does.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl
from pyiceberg.conversions import from_bytes
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, In
from pyiceberg.manifest import DataFile, ManifestEntryStatus
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.types import PrimitiveType

from feature_platform.dtypes import polars_dtype
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
        entities_changed: Entities whose latest live row changed in the examined windows (each
            costs one online request: written, skipped, corrected, deleted or refused).
        entities_superseded: Entities skipped because a newer row exists outside them.
        items_written: Online items created or replaced.
        items_skipped: Items the online store refused as not newer than what it holds.
        items_corrected: Items rewritten to an older row because a backfill took away the
            newer row the sync had written.
        items_deleted: Items deleted because a backfill took away the entity's last live row.
        corrections_refused: Corrections and deletions the online store refused because the
            stored item was no longer the row taken away (e.g. a newer value pushed online
            since, or an item already corrected by a sync that stopped part way).
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
    items_corrected: int = 0
    items_deleted: int = 0
    corrections_refused: int = 0

    @property
    def online_requests(self) -> int:
        """Items sent to the online store (written, corrected, deleted or refused there)."""
        return (
            self.items_written
            + self.items_skipped
            + self.items_corrected
            + self.items_deleted
            + self.corrections_refused
        )


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
            may have written values those windows held only in between. Known limit: where
            such an in-between row was newer than every row the table holds now, it stays
            online (latest wins; only the cursor's rows are named for correction), and so does
            an item the stopped sync wrote for an entity that has since left the table. Telling
            them apart would take reading the online store; deleting the group's online table
            and bootstrapping repairs them.

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
    live_from = now - group.ttl if group.ttl is not None else None  # ttls are <= 100 years
    report = _Counter(group.name, since_snapshot_id, current, group.ttl)
    report.after_interrupted_sync = after_interrupted_sync
    if current is None or current.snapshot_id == since_snapshot_id:
        return report.done(started)

    changes = _changes_since(table, current, since_snapshot_id)
    lost = _no_rows(group)
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
        candidates, lost = _changed_entities(
            table, group, live, current, report, unchanged_are_synced, live_from
        )
    if live_from is not None:
        candidates = candidates.filter(pl.col(EVENT_TIME_COLUMN) >= live_from)
    report.entities_changed = candidates.height + lost.height
    if report.entities_changed:
        store.online.ensure_table(group)  # e.g. switched online later, elsewhere
    if not candidates.is_empty():
        # The offline table is the truth: a recomputed row with unchanged times still replaces.
        written = store.online.write(group, candidates, replace_equal=True)
        report.items_written = written.written
        report.items_skipped = written.skipped_stale
    if not lost.is_empty():
        _correct(store, group, lost, live_from, current, report)
    return report.done(started)


def _changed_entities(
    table: Table,
    group: FeatureGroup,
    windows: Sequence[TimeWindow],
    current: Snapshot,
    report: _Counter,
    unchanged_are_synced: bool,
    live_from: dt.datetime | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What the changes in `windows` since the cursor ask of the online store.

    Returns:
        The latest rows per entity in `windows` that are the entity's newest row and are new
        (with `unchanged_are_synced`, rows the windows also held at the cursor snapshot are left
        out: the sync that reached the cursor wrote them, and nothing has written those entities
        since); and the keys and times of the entities' "lost" rows: their latest live row in
        `windows` at the cursor, which was their newest row then and is newer than any row the
        table holds now. Latest-wins writes cannot replace those; `_correct` does.
    """
    keys = list(group.join_keys)
    times = [EVENT_TIME_COLUMN, CREATED_AT_COLUMN]
    rows = _read(table, group, windows, current.snapshot_id)
    report.rows_read += rows.height
    latest = _latest_per_entity(rows, group)
    # An entity with a newer row outside the windows keeps that row online: skip it. Rows
    # before the earliest window are older than any row in the windows, so they cannot be.
    newest_anywhere = _latest_per_entity(
        _read(
            table,
            group,
            [_open_window(min(w.start for w in windows))],
            current.snapshot_id,
            columns=[*keys, *times],
        ),
        group,
    )
    report.rows_read += newest_anywhere.height
    still_newest = latest.join(newest_anywhere, on=[*keys, *times], how="semi")
    report.entities_superseded = latest.height - still_newest.height
    if report.since is None:
        return still_newest, _no_rows(group)
    # What the windows held at the cursor: unchanged rows need no write, lost rows a correction.
    before = _latest_per_entity(_read(table, group, windows, report.since), group)
    report.rows_read += before.height
    lost = _lost_rows(before.select(*keys, *times), newest_anywhere, keys, live_from)
    changed = still_newest.join(lost, on=keys, how="anti", nulls_equal=True)
    if unchanged_are_synced and not changed.is_empty():
        changed = changed.join(before, on=changed.columns, how="anti", nulls_equal=True)
    return changed, lost


def _lost_rows(
    before: pl.DataFrame,
    newest_now: pl.DataFrame,
    keys: list[str],
    live_from: dt.datetime | None,
) -> pl.DataFrame:
    """Keys and times of the live before-rows newer than their entity's newest row now.

    Such a row was its entity's newest at the cursor (rows outside the changed windows did not
    change, and none is newer now), so the sync wrote it online. A before-row that is expired
    reads as missing online anyway and costs no request; one superseded by a newer row, at the
    cursor as now, is not online, and one whose times the windows still hold is rewritten by
    the ordinary write. So identical reruns and backfills of expired or superseded windows send
    nothing.
    """
    if live_from is not None:
        before = before.filter(pl.col(EVENT_TIME_COLUMN) >= live_from)
    now_t, now_c = f"{EVENT_TIME_COLUMN}_now", f"{CREATED_AT_COLUMN}_now"
    joined = before.join(
        newest_now.rename({EVENT_TIME_COLUMN: now_t, CREATED_AT_COLUMN: now_c}),
        on=keys,
        how="left",
        nulls_equal=True,
    )
    event, created = pl.col(EVENT_TIME_COLUMN), pl.col(CREATED_AT_COLUMN)
    newer = (
        pl.col(now_t).is_null()
        | (pl.col(now_t) < event)
        | ((pl.col(now_t) == event) & (pl.col(now_c) < created))
    )
    return joined.filter(newer).select(before.columns)


def _correct(
    store: FeatureStore,
    group: FeatureGroup,
    lost: pl.DataFrame,
    live_from: dt.datetime | None,
    current: Snapshot,
    report: _Counter,
) -> None:
    """Put each lost row's entity online as the table holds it now, unless pushed past since.

    The entity's current latest live row replaces the stored item if that item is the lost row
    or older; with no live row left, the item is deleted if it is the lost row. A stored item of
    any other, newer version was written online since (e.g. ``store.write(..., to="online")``)
    and is kept.
    """
    keys = list(group.join_keys)
    table = store.table(group.name)
    found = _entities_latest_live(table, group, lost, live_from, current.snapshot_id, report)
    if not found.is_empty():
        replacing = lost.join(found, on=keys, how="semi", nulls_equal=True)
        corrected = store.online.write(group, found, replace_equal=True, replacing=replacing)
        report.items_corrected = corrected.written
        report.corrections_refused += corrected.skipped_stale
    gone = lost.join(found, on=keys, how="anti", nulls_equal=True)
    if not gone.is_empty():
        deleted = store.online.delete_items(group, gone)
        report.items_deleted = deleted.deleted
        report.corrections_refused += deleted.kept


# Most join-key values a correction scan pushes into pyiceberg as IN filters (see below); above
# pyiceberg's own limit for pruning files by an IN (200) the filter only costs.
KEY_FILTER_LIMIT = 200


def _entities_latest_live(
    table: Table,
    group: FeatureGroup,
    entities: pl.DataFrame,
    live_from: dt.datetime | None,
    snapshot_id: int,
    report: _Counter,
) -> pl.DataFrame:
    """The latest live row, anywhere in the table, of each entity of `entities` that has one.

    An entity's older rows can lie in any window, so the scan spans every live window. For a
    few entities a filter on the join keys lets pyiceberg skip files and row groups holding
    none of them; for many it would cost more than it saves (pyiceberg binds the whole IN set
    again for every data file it plans, which made a 20,000-entity correction over 161 files
    take 70 s instead of 2 s), so the entities are then picked after the read.
    """
    keys = list(group.join_keys)
    values = [entities.get_column(key).unique().to_list() for key in keys]
    key_filter: BooleanExpression = AlwaysTrue()
    if sum(len(v) for v in values) <= KEY_FILTER_LIMIT:
        for key, literals in zip(keys, values, strict=True):
            key_filter = And(key_filter, In(term=key, literals=literals))
    rows = scan_table(
        table,
        columns=table_columns(group),
        time_column=EVENT_TIME_COLUMN,
        start=live_from,
        as_of=snapshot_id,
        row_filter=key_filter,
    )
    report.rows_read += rows.height
    # Per-key IN filters also pass other combinations of the keys' values: keep the entities.
    rows = rows.join(entities.select(keys), on=keys, how="semi", nulls_equal=True)
    return _latest_per_entity(rows, group)


def _no_rows(group: FeatureGroup) -> pl.DataFrame:
    """No lost rows (a bootstrap names none)."""
    return pl.DataFrame(
        schema={
            **{key: polars_dtype(group.entity.key_dtype(key)) for key in group.join_keys},
            EVENT_TIME_COLUMN: pl.Datetime("us", "UTC"),
            CREATED_AT_COLUMN: pl.Datetime("us", "UTC"),
        }
    )


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
    items_corrected: int = 0
    items_deleted: int = 0
    corrections_refused: int = 0
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
            items_corrected=self.items_corrected,
            items_deleted=self.items_deleted,
            corrections_refused=self.corrections_refused,
        )
