"""The one check every source's rows pass before a transformation sees them.

A feature window is a pure function of its input rows, so the rows a source hands over must be
exactly the window's: each with a known instant (an aware, non-null time) inside the window. A
row outside it means the read itself is wrong (a filter that was not applied, a file in the
wrong partition folder); computing on it would put one window's events into another, so such
rows are refused, never silently dropped. Every source converts its time column to
``Datetime("us", "UTC")`` here, so transformations see one type whatever the storage held.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from feature_platform.sources.base import source_error
from feature_platform.time_windows import TimeWindow

UTC_TIME = pl.Datetime("us", "UTC")
# A wall-clock bound shifts by at most a day across any zone's offset changes, so a naive column
# pre-filtered with bounds widened by this much still keeps every row of the window.
_WALL_CLOCK_MARGIN = dt.timedelta(days=1)


def check_time_dtype(
    source_name: str, schema: pl.Schema, time_column: str, naive_timezone: str | None
) -> pl.Datetime:
    """The time column's type, when it can hold the instants of a source's rows.

    Separate from `checked_rows` so a lazy scan can check a file's schema before it builds a
    filter on the column (comparing a text column with a timestamp fails deep inside polars).

    Args:
        source_name: Named first in every message, e.g. ``raw.clicks (iceberg)``.
        schema: The columns of the rows (or of the files about to be scanned).
        time_column: The column holding each row's event time.
        naive_timezone: The zone naive timestamps are wall-clock times in; None refuses them.

    Returns:
        The column's datetime type.

    Raises:
        SourceError: The column is missing, is not a datetime (text must be parsed where the
            data is produced, or in the query), or is naive without `naive_timezone`.
    """
    if time_column not in schema:
        raise source_error(
            source_name,
            f"has no time column {time_column!r}; its columns are {list(schema.names())}. Set "
            "time_column= to the column holding each row's event time",
        )
    dtype = schema[time_column]
    if isinstance(dtype, pl.String):
        raise source_error(
            source_name,
            f"time column {time_column!r} holds text (String), not timestamps: parse it into a "
            "timestamp where the data is written (or in the source's query, e.g. TO_TIMESTAMP), "
            "so every row has an unambiguous instant",
        )
    if not isinstance(dtype, pl.Datetime):
        raise source_error(
            source_name,
            f"time column {time_column!r} is {dtype}, not a timestamp; a source needs the "
            "instant of each row (a datetime column)",
        )
    if dtype.time_zone is None and naive_timezone is None:
        raise source_error(
            source_name,
            f"time column {time_column!r} is a naive timestamp ({dtype}): its instants depend on "
            "a time zone it does not name. Store aware timestamps, or set naive_timezone='UTC' "
            "(or the zone the wall-clock times were written in)",
        )
    return dtype


def utc_time(time_column: str, dtype: pl.Datetime, naive_timezone: str | None) -> pl.Expr:
    """The column as aware UTC microseconds (naive values read as wall-clock times)."""
    column = pl.col(time_column)
    if dtype.time_zone is None:
        column = column.dt.replace_time_zone(naive_timezone)
    return column.dt.convert_time_zone("UTC").cast(UTC_TIME)


def window_filter(
    time_column: str, dtype: pl.Datetime, window: TimeWindow, naive_timezone: str | None
) -> pl.Expr:
    """Rows in `window`, or with a null time (kept so `checked_rows` can refuse them).

    The comparisons are on the stored column with literal bounds of its own type, which polars
    pushes into the scan (row groups whose statistics lie outside are skipped). A naive column
    in another zone than UTC is pre-filtered on wall-clock bounds widened by a day, then
    compared exactly after conversion: no row of the window is lost at a DST change.
    """
    column = pl.col(time_column)
    if dtype.time_zone is not None:
        start = pl.lit(window.start).dt.convert_time_zone(dtype.time_zone)
        end = pl.lit(window.end).dt.convert_time_zone(dtype.time_zone)
        return ((column >= start) & (column < end)) | column.is_null()
    zone = naive_timezone or "UTC"
    wall_start = pl.lit(window.start).dt.convert_time_zone(zone).dt.replace_time_zone(None)
    wall_end = pl.lit(window.end).dt.convert_time_zone(zone).dt.replace_time_zone(None)
    if zone == "UTC":
        return ((column >= wall_start) & (column < wall_end)) | column.is_null()
    exact = utc_time(time_column, dtype, zone)
    coarse = (column >= wall_start - _WALL_CLOCK_MARGIN) & (column < wall_end + _WALL_CLOCK_MARGIN)
    return (coarse & (exact >= window.start) & (exact < window.end)) | column.is_null()


def checked_rows(
    source_name: str,
    frame: pl.DataFrame,
    time_column: str,
    window: TimeWindow,
    naive_timezone: str | None,
) -> pl.DataFrame:
    """`frame` with its time column as ``Datetime("us", "UTC")``, once every row is in `window`.

    Args:
        source_name: Named first in every message, e.g. ``raw.clicks (iceberg)``.
        frame: The rows a source read for `window`.
        time_column: The column holding each row's event time.
        window: The window the rows were read for.
        naive_timezone: The zone naive timestamps are wall-clock times in (e.g. ``UTC``); None
            refuses naive timestamps.

    Returns:
        The same rows and columns, the time column converted to aware UTC microseconds.

    Raises:
        SourceError: The time column is missing, not a timestamp, naive (without
            `naive_timezone`), or null in some rows; or some rows lie outside `window` (a bug
            of the read: the message says how many, and the first).
    """
    dtype = check_time_dtype(source_name, frame.schema, time_column, naive_timezone)
    try:
        frame = frame.with_columns(utc_time(time_column, dtype, naive_timezone))
    except pl.exceptions.PolarsError as exc:
        raise source_error(
            source_name,
            f"time column {time_column!r} holds wall-clock times that do not exist or are "
            f"ambiguous in {naive_timezone} (a DST change): {exc}. Store aware timestamps",
        ) from exc
    column = frame.get_column(time_column)
    nulls = column.null_count()
    if nulls:
        raise source_error(
            source_name,
            f"{nulls} of {frame.height} rows have no {time_column!r} (null): every row needs "
            "its event time",
        )
    outside = (column < window.start) | (column >= window.end)
    count = int(outside.sum())
    if count:
        first = column.filter(outside)[0]
        raise source_error(
            source_name,
            f"the read for {window} returned {count} rows outside that window, the first at "
            f"{first.isoformat()}: a read must return exactly the window's rows (a filter not "
            "applied, or data stored in the wrong partition)",
        )
    return frame
