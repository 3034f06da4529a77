"""The entity diff: what the offline changes in some windows since the cursor ask online.

Only entities whose latest live row lies in a changed window, differs from what that window
held at the cursor, and is still the entity's newest row anywhere are written. Online writes
are latest-wins, so an entity whose newest row a backfill took away (removed it, or replaced it
with a row of an earlier event_time or created_at) cannot be fixed by a write: its "lost" row
is named for `feature_platform.sync.corrections` instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from pyiceberg.table import Table

from feature_platform.dtypes import polars_dtype
from feature_platform.offline_store.latest import LATEST_ORDER, latest_per_entity
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup
from feature_platform.sync.reads import open_window, read_windows
from feature_platform.time_windows import TimeWindow


@dataclass(frozen=True)
class EntityDiff:
    """What the changed windows ask of the online store.

    Attributes:
        changed: The entities' latest rows to write (every column of the group).
        lost: Join keys and times of rows the sync wrote online that are no longer the
            entity's newest (see `lost_rows`).
        superseded: Entities skipped because a newer row exists outside the windows.
        rows_read: Offline rows read to find out.
    """

    changed: pl.DataFrame
    lost: pl.DataFrame
    superseded: int = 0
    rows_read: int = 0


def diff_windows(
    table: Table,
    group: FeatureGroup,
    windows: Sequence[TimeWindow],
    snapshots: tuple[int, int],
    unchanged_are_synced: bool,
    live_from: dt.datetime | None,
) -> EntityDiff:
    """What the changes in `windows` between two snapshots ask of the online store.

    Args:
        table: The group's offline table.
        group: The feature group.
        windows: The changed windows still (partly) within the ttl.
        snapshots: The cursor snapshot and the current one.
        unchanged_are_synced: Leave out rows the windows also held at the cursor: the sync
            that reached the cursor wrote them, and nothing has written those entities since.
        live_from: The ttl cutoff (None: no ttl).

    Returns:
        As `changed`, the latest rows per entity in `windows` that are the entity's newest row
        and are new; as `lost`, the keys and times of the entities' latest live row in
        `windows` at the cursor where that row was their newest then and is newer than any
        row the table holds now.
    """
    since, current = snapshots
    keys = list(group.join_keys)
    rows = read_windows(table, group, windows, current)
    latest = latest_per_entity(rows, keys)
    # An entity with a newer row outside the windows keeps that row online: skip it. Rows
    # before the earliest window are older than any row in the windows, so they cannot be.
    everything_after = [open_window(min(w.start for w in windows))]
    newest_anywhere = latest_per_entity(
        read_windows(table, group, everything_after, current, columns=[*keys, *LATEST_ORDER]),
        keys,
    )
    still_newest = latest.join(newest_anywhere, on=[*keys, *LATEST_ORDER], how="semi")
    # What the windows held at the cursor: unchanged rows need no write, lost rows a correction.
    before = latest_per_entity(read_windows(table, group, windows, since), keys)
    lost = lost_rows(before.select(*keys, *LATEST_ORDER), newest_anywhere, keys, live_from)
    changed = still_newest.join(lost, on=keys, how="anti", nulls_equal=True)
    if unchanged_are_synced and not changed.is_empty():
        changed = changed.join(before, on=changed.columns, how="anti", nulls_equal=True)
    return EntityDiff(
        changed=changed,
        lost=lost,
        superseded=latest.height - still_newest.height,
        rows_read=rows.height + newest_anywhere.height + before.height,
    )


def lost_rows(
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


def no_lost_rows(group: FeatureGroup) -> pl.DataFrame:
    """An empty `EntityDiff.lost` (a bootstrap names none: it only writes)."""
    return pl.DataFrame(
        schema={
            **{key: polars_dtype(group.entity.key_dtype(key)) for key in group.join_keys},
            EVENT_TIME_COLUMN: pl.Datetime("us", "UTC"),
            CREATED_AT_COLUMN: pl.Datetime("us", "UTC"),
        }
    )
