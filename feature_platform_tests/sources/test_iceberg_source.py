"""`IcebergSource` on real SqlCatalogs: the store's own, and a second one configured by env."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyiceberg.types import (
    DoubleType,
    LongType,
    NestedField,
    PrimitiveType,
    StringType,
    TimestampType,
    TimestamptzType,
)

from feature_platform import FeatureStore
from feature_platform.errors import SourceError
from feature_platform.sources import IcebergSource
from feature_platform.sources.iceberg import WATERMARK_PROPERTY
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.sources.conftest import DAYS, day, events, week, week_of_events

TABLE = "raw.click_events"


def create_events_table(
    catalog: Catalog,
    name: str = TABLE,
    time_type: PrimitiveType | None = None,
    partitioned: bool = True,
) -> Table:
    catalog.create_namespace_if_not_exists(name.split(".")[0])
    schema = Schema(
        NestedField(1, "user_id", LongType(), required=False),
        NestedField(2, "event_time", time_type or TimestamptzType(), required=False),
        NestedField(3, "amount", DoubleType(), required=False),
    )
    spec = PartitionSpec(PartitionField(2, 1000, DayTransform(), "event_day"))
    return catalog.create_table(
        name, schema=schema, partition_spec=spec if partitioned else PartitionSpec()
    )


def append(table: Table, frame: pl.DataFrame) -> None:
    table.append(frame.to_arrow().cast(table.schema().as_arrow()))


@pytest.fixture
def click_events(store: FeatureStore) -> Table:
    """A week of events, one commit (one data file) per day."""
    table = create_events_table(store.catalog)
    for index in range(DAYS):
        append(table, events(day(index)))
    return store.catalog.load_table(TABLE)


def test_a_read_returns_exactly_the_window_from_the_files_that_can_hold_it(
    store: FeatureStore, click_events: Table
) -> None:
    source = IcebergSource(TABLE)
    rows = source.read(store, day(3))
    assert_frame_equal(rows.sort("event_time"), events(day(3)))
    planned = source.plan(click_events, day(3))  # the files the read opened
    assert len(planned) == 1 < len(list(click_events.scan().plan_files())) == DAYS
    assert planned[0].file.record_count == events(day(3)).height
    # Across a day boundary, rows on both sides of each bound are cut exactly.
    window = TimeWindow(day(3).start + dt.timedelta(hours=12), day(4).start + dt.timedelta(hours=6))
    expected = week_of_events().filter(
        (pl.col("event_time") >= window.start) & (pl.col("event_time") < window.end)
    )
    assert_frame_equal(source.read(store, window).sort("event_time"), expected)


def test_columns_are_projected_and_the_time_column_always_comes(
    store: FeatureStore, click_events: Table
) -> None:
    rows = IcebergSource(TABLE, columns=("amount",)).read(store, day(0))
    assert rows.columns == ["amount", "event_time"]
    with pytest.raises(SourceError, match=r"source raw.click_events \(iceberg\): has no columns"):
        IcebergSource(TABLE, columns=("clicks",)).read(store, day(0))


def test_completeness_follows_the_newest_event_time_in_the_file_statistics(
    store: FeatureStore, click_events: Table
) -> None:
    newest = events(day(DAYS - 1)).get_column("event_time").max()
    assert newest == day(DAYS - 1).end - dt.timedelta(minutes=30)
    source = IcebergSource(TABLE)
    complete = source.completeness(store, day(DAYS - 2))
    assert complete.complete
    assert complete.complete_through == newest
    assert "statistics of 7 data files" in complete.evidence
    last = source.completeness(store, day(DAYS - 1))
    assert last.known
    assert not last.complete
    assert last.missing == (f"[{newest.isoformat()}, {day(DAYS - 1).end.isoformat()})",)
    late = IcebergSource(TABLE, allowed_lateness=dt.timedelta(days=1))
    assert not late.completeness(store, day(DAYS - 2)).complete
    assert late.completeness(store, day(DAYS - 3)).complete


def test_a_producers_watermark_property_wins_over_the_statistics(
    store: FeatureStore, click_events: Table
) -> None:
    with click_events.transaction() as transaction:
        transaction.set_properties({WATERMARK_PROPERTY: "2026-11-04T00:00:00+00:00"})
    source = IcebergSource(TABLE)
    assert source.completeness(store, day(2)).complete
    verdict = source.completeness(store, day(3))
    assert not verdict.complete
    assert verdict.complete_through == day(3).start
    assert WATERMARK_PROPERTY in verdict.evidence
    with click_events.transaction() as transaction:
        transaction.set_properties({WATERMARK_PROPERTY: "2026-11-04T00:00:00"})
    with pytest.raises(SourceError, match="has no time zone"):
        source.completeness(store, day(0))


def test_a_table_without_a_snapshot_has_nothing_arrived(store: FeatureStore) -> None:
    create_events_table(store.catalog)
    source = IcebergSource(TABLE)
    verdict = source.completeness(store, day(0))
    assert verdict.known
    assert verdict.missing == (str(day(0)),)
    assert verdict.complete_through is None
    assert source.read(store, day(0)).height == 0
    observation = source.observe(store)
    assert observation is not None
    assert observation.snapshot_id is None
    assert observation.complete_through is None


def test_a_quiet_day_inside_the_watermark_is_complete(store: FeatureStore) -> None:
    table = create_events_table(store.catalog)
    append(table, events(day(0)))
    append(table, events(day(2)))  # nothing happened on day 1
    source = IcebergSource(TABLE)
    assert source.completeness(store, day(1)).complete
    assert source.read(store, day(1)).height == 0


def test_observe_reports_the_watermark_and_the_current_snapshot(
    store: FeatureStore, click_events: Table
) -> None:
    observation = IcebergSource(TABLE).observe(store)
    assert observation is not None
    current = click_events.current_snapshot()
    assert current is not None
    assert observation.snapshot_id == current.snapshot_id
    assert observation.complete_through == day(DAYS - 1).end - dt.timedelta(minutes=30)


def test_a_naive_timestamp_column_needs_its_zone(store: FeatureStore) -> None:
    table = create_events_table(store.catalog, time_type=TimestampType())
    naive = week_of_events().with_columns(pl.col("event_time").dt.replace_time_zone(None))
    append(table, naive)
    with pytest.raises(SourceError, match=r"is timestamp \(no time zone\): set naive_timezone"):
        IcebergSource(TABLE).read(store, day(1))
    assert_frame_equal(
        IcebergSource(TABLE, naive_timezone="UTC").read(store, day(1)).sort("event_time"),
        events(day(1)),
    )
    # Stored wall-clock times read as Paris time (UTC+1 in November) are an hour earlier in
    # UTC: the window takes those stored between 01:00 and 01:00 the next day.
    paris = IcebergSource(TABLE, naive_timezone="Europe/Paris")
    hour = dt.timedelta(hours=1)
    expected = week_of_events().filter(
        (pl.col("event_time") >= day(1).start + hour) & (pl.col("event_time") < day(1).end + hour)
    )
    rows = paris.read(store, day(1)).sort("event_time")
    assert_frame_equal(rows, expected.with_columns(pl.col("event_time") - hour))
    watermark = paris.completeness(store, day(0)).complete_through
    assert watermark == day(DAYS - 1).end - dt.timedelta(minutes=30, hours=1)


def test_a_text_time_column_is_refused(store: FeatureStore) -> None:
    table = create_events_table(store.catalog, time_type=StringType(), partitioned=False)
    append(table, events(day(0)).with_columns(pl.col("event_time").dt.to_string()))
    with pytest.raises(SourceError, match=r"source raw.click_events \(iceberg\): .*holds text"):
        IcebergSource(TABLE).read(store, day(0))


def test_a_missing_time_column_is_refused(store: FeatureStore, click_events: Table) -> None:
    with pytest.raises(SourceError, match="has no time column 'ts'"):
        IcebergSource(TABLE, time_column="ts").read(store, day(0))
    with pytest.raises(SourceError, match="has no time column 'ts'"):
        IcebergSource(TABLE, time_column="ts").completeness(store, day(0))


def test_null_times_in_the_windows_files_are_refused_not_dropped(store: FeatureStore) -> None:
    table = create_events_table(store.catalog, partitioned=False)  # nulls share the file
    nulls = events(day(0)).head(2).with_columns(pl.lit(None).alias("event_time"))
    append(table, pl.concat([events(day(0)), nulls]))
    with pytest.raises(SourceError, match=r"2 rows in the 1 data files of \[2026-11-01.* have no"):
        IcebergSource(TABLE).read(store, day(0))


def test_null_times_in_a_partition_of_their_own_belong_to_no_window(store: FeatureStore) -> None:
    table = create_events_table(store.catalog)
    append(table, events(day(0)))
    append(table, events(day(0)).head(2).with_columns(pl.lit(None).alias("event_time")))
    assert_frame_equal(IcebergSource(TABLE).read(store, day(0)).sort("event_time"), events(day(0)))


def test_a_missing_table_is_named(store: FeatureStore) -> None:
    with pytest.raises(
        SourceError, match=r"source raw.nope \(iceberg\): table raw.nope does not exist"
    ):
        IcebergSource("raw.nope").read(store, day(0))


def test_a_catalog_that_is_not_configured_is_named(
    store: FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYICEBERG_CATALOG__NOWHERE__URI", raising=False)
    source = IcebergSource(TABLE, catalog="nowhere")
    with pytest.raises(SourceError, match="catalog 'nowhere' is not configured"):
        source.read(store, day(0))


def test_an_unreachable_catalog_is_a_source_error(store: FeatureStore, tmp_path: Path) -> None:
    # The SQLite file's folder does not exist, so the catalog's database cannot be opened.
    source = IcebergSource(
        TABLE,
        catalog="broken",
        catalog_properties={"uri": f"sqlite:///{tmp_path}/missing/catalog.db", "type": "sql"},
    )
    with pytest.raises(SourceError, match=r"raw.click_events \(iceberg, catalog broken\)"):
        source.completeness(store, day(0))


def test_a_second_catalog_configured_by_environment_variables(
    store: FeatureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path}/raw_catalog.db"
    warehouse = f"file://{tmp_path}/raw_warehouse"
    monkeypatch.setenv("PYICEBERG_CATALOG__RAW__URI", uri)
    monkeypatch.setenv("PYICEBERG_CATALOG__RAW__WAREHOUSE", warehouse)
    producer = SqlCatalog("raw", uri=uri, warehouse=warehouse)
    table = create_events_table(producer, "landing.clicks")
    append(table, week_of_events())
    source = IcebergSource("landing.clicks", catalog="raw")
    assert source.key == ("sources", "clicks")
    assert_frame_equal(source.read(store, day(2)).sort("event_time"), events(day(2)))
    assert source.completeness(store, week()).known
    # The store's own catalog has no such table.
    with pytest.raises(SourceError, match="does not exist in the feature store's catalog"):
        IcebergSource("landing.clicks").read(store, day(2))
