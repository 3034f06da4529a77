"""`sync_online`: one sync of a group's online table up to its offline table's current snapshot.

The offline table is loaded once per sync, and every read of the sync is pinned to the snapshot
it syncs to, so the sync reflects one table state even while writers commit.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace

import polars as pl
from pyiceberg.table import Table

from feature_platform.errors import FeatureNotOnlineError, NaiveTimestampError
from feature_platform.offline_store.changes import windows_changed_since
from feature_platform.offline_store.latest import latest_per_entity
from feature_platform.offline_store.schema import applied_group
from feature_platform.online_store.base import OnlineStore
from feature_platform.specs import EVENT_TIME_COLUMN, FeatureGroup
from feature_platform.store import FeatureStore
from feature_platform.sync.corrections import Corrections, correct_lost_rows
from feature_platform.sync.diff import EntityDiff, diff_windows, no_lost_rows
from feature_platform.sync.reads import open_window, read_windows
from feature_platform.sync.report import SyncReport


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
            part way (the Dagster asset knows from its event log); see `sync_table`.

    Raises:
        FeatureNotOnlineError: The group is not online.
        NaiveTimestampError: `now` has no time zone.
    """
    now = _aware(now)  # before the table is loaded: the mistake is the caller's either way
    table = store.table(name)
    return sync_table(
        table,
        applied_group(table),
        store.online,
        since_snapshot_id,
        now=now,
        after_interrupted_sync=after_interrupted_sync,
    )


def sync_table(
    table: Table,
    group: FeatureGroup,
    online: OnlineStore,
    since_snapshot_id: int | None,
    *,
    now: dt.datetime | None = None,
    after_interrupted_sync: bool = False,
) -> SyncReport:
    """`sync_online` for a loaded table and its group: what callers that hold both use.

    Args:
        table: The group's offline table, as loaded once for this sync.
        group: The group as applied to `table` (`applied_group`).
        online: The online store written.
        since_snapshot_id: The cursor of the last successful sync; None (or a snapshot that
            has since expired) loads every live value.
        now: The instant the ttl is measured from; defaults to the clock.
        after_interrupted_sync: Entities are then written even where the changed windows hold
            what they held at the cursor: the stopped sync may have written values those
            windows held only in between. Known limit: where such an in-between row was newer
            than every row the table holds now, it stays online (latest wins; only the
            cursor's rows are named for correction), and so does an item the stopped sync
            wrote for an entity that has since left the table. Telling them apart would take
            reading the online store; deleting the group's online table and bootstrapping
            repairs them.

    Raises:
        FeatureNotOnlineError: The group is not online.
        NaiveTimestampError: `now` has no time zone.
    """
    started = time.perf_counter()
    now = _aware(now)
    if not group.online:
        raise FeatureNotOnlineError(
            f"feature group {group.name!r} is not online, so there is nothing to sync; set "
            "online=True and apply it to start syncing (its online table, if any, is kept)"
        )
    current = table.current_snapshot()
    live_from = now - group.ttl if group.ttl is not None else None  # ttls are <= 100 years
    report = SyncReport(
        group=group.name,
        from_snapshot_id=since_snapshot_id,
        to_snapshot_id=current.snapshot_id if current else None,
        after_interrupted_sync=after_interrupted_sync,
        ttl=group.ttl,
    )
    if current is None or current.snapshot_id == since_snapshot_id:
        return report.finished(started)
    windows = None
    if since_snapshot_id is not None:
        windows = windows_changed_since(table, since_snapshot_id, group.partition_width, current)
    if windows is None or since_snapshot_id is None:  # no cursor, or it expired: load all
        rows = read_windows(table, group, [open_window(live_from)], current.snapshot_id)
        latest = latest_per_entity(rows, group.join_keys)
        diff = EntityDiff(latest, no_lost_rows(group), rows_read=rows.height)
        report = replace(report, bootstrap=True)
    else:
        live = [w for w in windows if live_from is None or w.end > live_from]
        report = replace(
            report, windows_examined=len(windows), windows_expired=len(windows) - len(live)
        )
        if not live:
            return report.finished(started)
        snapshots = (since_snapshot_id, current.snapshot_id)
        diff = diff_windows(table, group, live, snapshots, not after_interrupted_sync, live_from)
    return _apply(online, table, group, diff, live_from, report).finished(started)


def _apply(
    online: OnlineStore,
    table: Table,
    group: FeatureGroup,
    diff: EntityDiff,
    live_from: dt.datetime | None,
    report: SyncReport,
) -> SyncReport:
    """Write the diff's live changed rows and correct its lost rows; the report completed."""
    changed = diff.changed
    if live_from is not None:
        changed = changed.filter(pl.col(EVENT_TIME_COLUMN) >= live_from)
    entities = changed.height + diff.lost.height
    if entities:
        online.ensure_table(group)  # e.g. switched online later, elsewhere
    written = skipped = 0
    if not changed.is_empty():
        # The offline table is the truth: a recomputed row with unchanged times still replaces.
        write = online.write(group, changed, replace_equal=True)
        written, skipped = write.written, write.skipped_stale
    corrections = Corrections()
    if not diff.lost.is_empty():
        assert report.to_snapshot_id is not None  # a diff is only made of a table with data
        corrections = correct_lost_rows(
            online, table, group, diff.lost, live_from, report.to_snapshot_id
        )
    return replace(
        report,
        rows_read=diff.rows_read + corrections.rows_read,
        entities_changed=entities,
        entities_superseded=diff.superseded,
        items_written=written,
        items_skipped=skipped,
        items_corrected=corrections.corrected,
        items_deleted=corrections.deleted,
        corrections_refused=corrections.refused,
    )


def _aware(now: dt.datetime | None) -> dt.datetime:
    """`now`, or the clock; refused without a time zone.

    Checked up front, not where the scan first compares it with a timestamptz column.
    """
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.utcoffset() is None:
        raise NaiveTimestampError(
            f"now={now.isoformat()} has no time zone, so the ttl cutoff is ambiguous; pass a "
            "timezone-aware datetime, e.g. datetime.now(datetime.UTC) or now.replace(tzinfo=UTC)"
        )
    return now
