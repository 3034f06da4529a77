"""`SnowflakeSource` through dagster-snowflake's `SnowflakeResource`, on fakesnow.

fakesnow runs the Snowflake connector's code paths on DuckDB; it accepts any credentials, so
refused logins are tested in `test_snowflake_connection.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import fakesnow
import polars as pl
import pytest
import snowflake.connector
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore
from feature_platform.errors import SourceError
from feature_platform.sources import SnowflakeSource
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.sources.conftest import DAYS, day, events, week_of_events

TABLE = "RAW.EVENTS.CLICKS"
QUERY = (
    "SELECT user_id, event_time, amount FROM RAW.EVENTS.CLICKS "
    "WHERE event_time >= %(start)s AND event_time < %(end)s"
)


@pytest.fixture(scope="module")
def snowflake_env() -> Iterator[None]:
    """fakesnow in place of Snowflake, with a week of events in a TIMESTAMP_NTZ column, and the
    ``SNOWFLAKE_*`` variables the default connection reads. The tests only read, so they share
    one (setting it up takes most of a second)."""
    with pytest.MonkeyPatch.context() as monkeypatch, fakesnow.patch():
        for name, value in {
            "SNOWFLAKE_ACCOUNT": "acme",
            "SNOWFLAKE_USER": "features",
            "SNOWFLAKE_PASSWORD": "secret",
            "SNOWFLAKE_DATABASE": "RAW",
            "SNOWFLAKE_SCHEMA": "EVENTS",
        }.items():
            monkeypatch.setenv(name, value)
        connection = snowflake.connector.connect(database="RAW", schema="EVENTS")
        cursor = connection.cursor()
        cursor.execute(
            "CREATE TABLE RAW.EVENTS.CLICKS (user_id BIGINT, event_time TIMESTAMP_NTZ, "
            "amount DOUBLE, label VARCHAR)"
        )
        cursor.execute("CREATE TABLE RAW.EVENTS.EMPTY (event_time TIMESTAMP_NTZ)")
        rows = week_of_events().with_columns(pl.col("event_time").dt.replace_time_zone(None))
        cursor.executemany(
            "INSERT INTO RAW.EVENTS.CLICKS VALUES (%s, %s, %s, 'x')",
            [tuple(row) for row in rows.iter_rows()],
        )
        connection.close()
        yield


@pytest.mark.usefixtures("snowflake_env")
def test_a_table_reads_exactly_the_window_with_lower_case_columns(store: FeatureStore) -> None:
    source = SnowflakeSource(TABLE, columns=("user_id", "amount"))
    assert source.key == ("sources", "clicks")
    in_order = ["user_id", "amount", "event_time"]
    assert_frame_equal(source.read(store, day(3)).sort("event_time"), events(day(3))[in_order])
    window = TimeWindow(day(3).start + dt.timedelta(hours=20), day(4).start + dt.timedelta(hours=2))
    expected = week_of_events().filter(
        (pl.col("event_time") >= window.start) & (pl.col("event_time") < window.end)
    )
    assert_frame_equal(source.read(store, window).sort("event_time"), expected[in_order])
    assert SnowflakeSource(TABLE).read(store, day(0)).columns == [
        "user_id",
        "event_time",
        "amount",
        "label",
    ]


@pytest.mark.usefixtures("snowflake_env")
def test_a_query_gets_the_window_as_bound_parameters(store: FeatureStore) -> None:
    source = SnowflakeSource(query=QUERY, asset_key=("raw", "clicks"))
    assert not source.defines_asset
    assert_frame_equal(source.read(store, day(5)).sort("event_time"), events(day(5)))


@pytest.mark.usefixtures("snowflake_env")
def test_a_query_that_ignores_the_window_is_refused(store: FeatureStore) -> None:
    sloppy = "SELECT * FROM RAW.EVENTS.CLICKS WHERE event_time >= %(start)s OR %(end)s IS NULL"
    source = SnowflakeSource(query=sloppy, asset_key=("raw", "clicks"))
    with pytest.raises(
        SourceError,
        match=r"source raw/clicks \(snowflake query\): .* returned 48 rows outside that window",
    ):
        source.read(store, day(DAYS - 3))


@pytest.mark.usefixtures("snowflake_env")
def test_completeness_follows_the_newest_event_time(store: FeatureStore) -> None:
    newest = day(DAYS - 1).end - dt.timedelta(minutes=30)
    source = SnowflakeSource(TABLE)
    assert source.completeness(store, day(DAYS - 2)).complete
    verdict = source.completeness(store, day(DAYS - 1))
    assert verdict.known
    assert verdict.missing == (f"[{newest.isoformat()}, {day(DAYS - 1).end.isoformat()})",)
    assert 'SELECT MAX("EVENT_TIME") FROM "RAW"."EVENTS"."CLICKS"' in verdict.evidence
    late = SnowflakeSource(TABLE, allowed_lateness=dt.timedelta(days=1))
    assert not late.completeness(store, day(DAYS - 2)).complete
    observation = source.observe(store)
    assert observation is not None
    assert observation.complete_through == newest


@pytest.mark.usefixtures("snowflake_env")
def test_a_query_source_needs_a_watermark_query_to_know(store: FeatureStore) -> None:
    blind = SnowflakeSource(query=QUERY, asset_key=("raw", "clicks"))
    assert not blind.completeness(store, day(0)).known
    assert blind.observe(store) is None
    told = SnowflakeSource(
        query=QUERY,
        asset_key=("raw", "clicks"),
        watermark_query="SELECT TIMESTAMP_NTZ_FROM_PARTS(2026, 11, 3, 0, 0, 0)",
    )
    assert told.completeness(store, day(1)).complete
    assert not told.completeness(store, day(2)).complete


@pytest.mark.usefixtures("snowflake_env")
def test_an_empty_table_has_nothing_arrived(store: FeatureStore) -> None:
    source = SnowflakeSource("RAW.EVENTS.EMPTY")
    verdict = source.completeness(store, day(0))
    assert verdict.missing == (str(day(0)),)
    rows = source.read(store, day(0))
    assert rows.height == 0
    assert rows.schema["event_time"] == pl.Datetime("us", "UTC")


@pytest.mark.usefixtures("snowflake_env")
def test_naive_times_can_be_refused(store: FeatureStore) -> None:
    with pytest.raises(SourceError, match="naive timestamp"):
        SnowflakeSource(TABLE, naive_timezone=None).read(store, day(0))


@pytest.mark.usefixtures("snowflake_env")
def test_a_text_time_column_is_refused(store: FeatureStore) -> None:
    text = (
        "SELECT user_id, CAST(event_time AS VARCHAR) AS event_time FROM RAW.EVENTS.CLICKS "
        "WHERE event_time >= %(start)s AND event_time < %(end)s"
    )
    with pytest.raises(SourceError, match=r"holds text .*parse it"):
        SnowflakeSource(query=text, asset_key=("raw", "clicks")).read(store, day(0))


@pytest.mark.usefixtures("snowflake_env")
def test_a_missing_time_column_or_table_is_a_source_error(store: FeatureStore) -> None:
    with pytest.raises(SourceError, match=r"RAW.EVENTS.CLICKS \(snowflake\): Snowflake refused"):
        SnowflakeSource(TABLE, time_column="ts").read(store, day(0))
    with pytest.raises(SourceError, match=r"RAW.EVENTS.NOPE \(snowflake\): .*NOPE"):
        SnowflakeSource("RAW.EVENTS.NOPE").read(store, day(0))
    without_time = "SELECT user_id FROM RAW.EVENTS.CLICKS WHERE %(start)s < %(end)s"
    with pytest.raises(SourceError, match="has no time column 'event_time'"):
        SnowflakeSource(query=without_time, asset_key=("raw", "clicks")).read(store, day(0))
