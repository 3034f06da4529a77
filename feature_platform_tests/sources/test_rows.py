"""`checked_rows`: the contract every source's rows are held to, whatever the source."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform.errors import SourceError
from feature_platform.sources.rows import UTC_TIME, checked_rows
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.sources.conftest import day, events

NAME = "raw.clicks (test)"


def test_rows_of_the_window_pass_with_their_time_as_utc_microseconds() -> None:
    rows = events(day(0)).with_columns(
        pl.col("event_time").dt.convert_time_zone("Europe/Paris").dt.cast_time_unit("ns")
    )
    checked = checked_rows(NAME, rows, "event_time", day(0), None)
    assert checked.schema["event_time"] == UTC_TIME
    assert_frame_equal(checked, events(day(0)))


def test_naive_times_are_read_in_the_given_zone() -> None:
    naive = events(day(0)).with_columns(pl.col("event_time").dt.replace_time_zone(None))
    assert_frame_equal(checked_rows(NAME, naive, "event_time", day(0), "UTC"), events(day(0)))
    paris = naive.with_columns(pl.col("event_time") + dt.timedelta(hours=1))  # CET = UTC+1
    checked = checked_rows(NAME, paris, "event_time", day(0), "Europe/Paris")
    assert_frame_equal(checked, events(day(0)))


def test_naive_times_without_a_zone_are_refused() -> None:
    naive = events(day(0)).with_columns(pl.col("event_time").dt.replace_time_zone(None))
    with pytest.raises(SourceError, match=r"source raw.clicks \(test\): .*naive.*naive_timezone"):
        checked_rows(NAME, naive, "event_time", day(0), None)


def test_a_missing_time_column_is_named_with_the_columns_there_are() -> None:
    with pytest.raises(SourceError, match=r"source raw.clicks \(test\): has no time column 'ts'"):
        checked_rows(NAME, events(day(0)), "ts", day(0), None)


def test_text_times_are_refused_with_the_advice_to_parse_them() -> None:
    text = events(day(0)).with_columns(pl.col("event_time").dt.to_string())
    with pytest.raises(SourceError, match=r"holds text.*parse it"):
        checked_rows(NAME, text, "event_time", day(0), None)


def test_a_date_is_not_a_time() -> None:
    dates = events(day(0)).with_columns(pl.col("event_time").dt.date())
    with pytest.raises(SourceError, match="is Date, not a timestamp"):
        checked_rows(NAME, dates, "event_time", day(0), None)


def test_null_times_are_refused_with_their_count() -> None:
    rows = events(day(0)).with_columns(
        pl.when(pl.col("user_id") < 3)
        .then(None)
        .otherwise(pl.col("event_time"))
        .alias("event_time")
    )
    with pytest.raises(SourceError, match="3 of 24 rows have no 'event_time'"):
        checked_rows(NAME, rows, "event_time", day(0), None)


def test_rows_outside_the_window_are_refused_with_how_many_and_the_first() -> None:
    rows = pl.concat([events(day(0)), events(day(1)).head(2)])
    with pytest.raises(
        SourceError, match=r"2 rows outside that window, the first at 2026-11-02T00:30:00\+00:00"
    ):
        checked_rows(NAME, rows, "event_time", day(0), None)


def test_wall_clock_times_that_do_not_exist_are_refused() -> None:
    # 2026-03-29 02:30 does not exist in Paris (clocks jump from 02:00 to 03:00).
    rows = pl.DataFrame({"event_time": [dt.datetime(2026, 3, 29, 2, 30)]})
    window = TimeWindow.of("2026-03-29", "2026-03-30")
    with pytest.raises(SourceError, match="do not exist or are ambiguous in Europe/Paris"):
        checked_rows(NAME, rows, "event_time", window, "Europe/Paris")
