"""The synthetic event stream is deterministic, realistic enough, and has late arrivals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore
from feature_platform.demo.click_events import EVENTS_SCHEMA, generate_day, generate_window
from feature_platform.demo.event_log import ClickEventLog
from feature_platform.time_windows import TimeWindow

DAY = dt.date(2026, 11, 10)


def test_a_day_is_the_same_every_time_and_differs_from_other_days() -> None:
    assert_frame_equal(generate_day(DAY), generate_day(DAY))
    assert not generate_day(DAY).equals(generate_day(DAY + dt.timedelta(days=1)))


def test_events_fall_on_their_day_with_the_declared_schema() -> None:
    events = generate_day(DAY)
    assert events.schema == EVENTS_SCHEMA
    assert events.get_column("event_time").dt.date().unique().to_list() == [DAY]
    assert events.get_column("event_id").is_unique().all()
    assert events.null_count().drop("dwell_seconds").row(0) == (0,) * 7


def test_clicks_follow_impressions_and_carry_dwell_time() -> None:
    events = generate_day(DAY)
    counts = dict(events.group_by("event_type").len().iter_rows())
    assert counts["impression"] == 20_000
    assert 0.03 < counts["click"] / counts["impression"] < 0.3
    clicks = events.filter(pl.col("event_type") == "click")
    assert clicks.get_column("dwell_seconds").null_count() == 0
    assert (
        events.filter(pl.col("event_type") == "impression").get_column("dwell_seconds").null_count()
        == 20_000
    )


def test_some_events_arrive_late() -> None:
    lag = generate_day(DAY).select(
        (pl.col("ingested_at") - pl.col("event_time")).dt.total_seconds().alias("lag")
    )
    late = lag.filter(pl.col("lag") >= 3600).height / lag.height
    assert 0.03 < late < 0.07
    assert lag.get_column("lag").min() > 0
    assert lag.get_column("lag").max() <= 36 * 3600


def test_window_is_cut_from_whole_days() -> None:
    start = dt.datetime(2026, 11, 10, 22, tzinfo=dt.UTC)
    window = TimeWindow(start, start + dt.timedelta(hours=4))
    events = generate_window(window)
    whole = pl.concat([generate_day(DAY), generate_day(DAY + dt.timedelta(days=1))])
    expected = whole.filter(
        pl.col("event_time").is_between(window.start, window.end, closed="left")
    )
    assert_frame_equal(events, expected)


def test_late_events_appear_when_the_day_is_ingested_again(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    log = ClickEventLog()
    day = TimeWindow.of(DAY, DAY + dt.timedelta(days=1))
    early = log.ingest(store, day, arrived_by=day.end + dt.timedelta(minutes=10))
    complete = log.ingest(store, day, arrived_by=day.end + dt.timedelta(hours=37))

    assert early.rows_written < complete.rows_written == generate_day(DAY).height
    assert complete.rows_replaced == early.rows_written
    assert log.read(store, day).height == complete.rows_written
