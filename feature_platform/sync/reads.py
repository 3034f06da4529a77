"""Reads of the offline table for a sync: given windows at a given snapshot, in few scans."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl
from pyiceberg.table import Table

from feature_platform.offline_store.reads import scan_table
from feature_platform.offline_store.schema import table_columns
from feature_platform.specs import EVENT_TIME_COLUMN, FeatureGroup
from feature_platform.time_windows import TimeWindow, merge_adjacent

_UNBOUNDED_START = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
_UNBOUNDED_END = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def open_window(start: dt.datetime | None) -> TimeWindow:
    """Everything from `start` on (from the beginning when None); read without bounds."""
    return TimeWindow(start or _UNBOUNDED_START, _UNBOUNDED_END)


def read_windows(
    table: Table,
    group: FeatureGroup,
    windows: Sequence[TimeWindow],
    snapshot_id: int,
    columns: list[str] | None = None,
) -> pl.DataFrame:
    """Rows of `windows` at a snapshot, merging adjacent windows into one scan each.

    Args:
        table: The group's offline table.
        group: The feature group the table holds.
        windows: The event-time windows to read; `open_window` for an unbounded end.
        snapshot_id: The snapshot read (time travel), so that every read of one sync sees
            the same table state.
        columns: The columns to read; all of the group's by default.
    """
    wanted = columns or table_columns(group)
    merged = merge_adjacent(windows)
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
