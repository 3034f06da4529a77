"""How many rows one window of a table holds, from the manifests wherever they can tell.

The row-count expectation compares a window being written with the same window a week earlier.
That count must stay cheap however long the history grows: the scan is pruned to the window's
partitions, a data file whose event-time statistics lie wholly inside the window counts by its
manifest record count (no data read), and only files straddling the window's bounds (an hourly
window in a file of a day, say) or carrying delete files are read, event-time column only.
"""

from __future__ import annotations

import datetime as dt

from pyiceberg.table import Table

from feature_platform.offline_store.iceberg_internals import all_rows_match
from feature_platform.offline_store.writes import window_filter
from feature_platform.specs import EVENT_TIME_COLUMN, FeatureGroup
from feature_platform.time_windows import TimeWindow

WEEK = dt.timedelta(days=7)


def rows_in_window(table: Table, window: TimeWindow) -> int:
    """The rows of the table's current snapshot with ``window.start <= event_time < end``."""
    if table.current_snapshot() is None:
        return 0
    from pyiceberg.io.pyarrow import ArrowScan

    predicate = window_filter(EVENT_TIME_COLUMN, window)
    inside = all_rows_match(table.schema(), predicate)
    counted, to_read = 0, []
    for task in table.scan(row_filter=predicate).plan_files():
        if inside(task.file) and not task.delete_files:
            counted += task.file.record_count
        else:
            to_read.append(task)
    if to_read:
        times = table.schema().select(EVENT_TIME_COLUMN)
        counted += ArrowScan(table.metadata, table.io, times, predicate).to_table(to_read).num_rows
    return counted


def week_earlier(window: TimeWindow) -> TimeWindow:
    """The same window one week earlier."""
    return TimeWindow(window.start - WEEK, window.end - WEEK)


def previous_week_rows(table: Table, group: FeatureGroup, window: TimeWindow) -> int | None:
    """The rows the same window held a week earlier, or None when there is nothing to compare
    with: that window lies before the group's start, or holds no rows (the first week)."""
    earlier = week_earlier(window)
    if earlier.end <= group.start_time:
        return None
    return rows_in_window(table, earlier) or None
