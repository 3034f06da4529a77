"""Real partitions materialized with `dagster.materialize`, read back by an independent reader."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore
from feature_platform.definitions import build_definitions
from feature_platform.demo.feature_groups import CLICK_EVENTS, user_engagement
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.helpers import (
    assert_no_empty_files,
    canonical,
    read_independently,
    unbuffered_store,
)
from feature_platform_tests.processes import run_together

EVENTS = dg.AssetKey(["demo", "click_events"])
USERS = dg.AssetKey(["features", "user_engagement"])
ARTICLES = dg.AssetKey(["features", "article_popularity"])
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def _materialize(
    home: Path, key: dg.AssetKey, first: str, last: str | None = None
) -> dg.ExecuteInProcessResult:
    asset = build_definitions().get_assets_def(key)
    resources = {"feature_store": FeatureStoreResource(home=str(home))}
    if last is None:
        return dg.materialize([asset], resources=resources, partition_key=first)
    return dg.materialize([asset], resources=resources, tags={RANGE_START: first, RANGE_END: last})


@pytest.fixture
def events_home(home: Path) -> Path:
    """A home whose event log holds 2026-11-01 ... 2026-11-08."""
    assert _materialize(home, EVENTS, "2026-11-01", "2026-11-08").success
    return home


def test_feature_partition_written_and_readable_by_another_engine(events_home: Path) -> None:
    result = _materialize(events_home, USERS, "2026-11-08")
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    store = unbuffered_store(events_home)
    table = store.table("user_engagement")

    assert metadata["rows_written"].value > 100
    assert metadata["windows_written"].value == 1
    assert metadata["files_added"].value == 1
    assert metadata["snapshot_id"].value == str(table.current_snapshot().snapshot_id)
    assert metadata["metadata_location"].value == table.metadata_location
    stored = read_independently(table)
    assert stored.height == metadata["rows_written"].value
    assert stored.get_column("event_time").dt.date().unique().to_list() == [dt.date(2026, 11, 8)]

    # The asset body is exactly the library's transformation over the 7-day input window.
    window = TimeWindow.of(dt.date(2026, 11, 8), dt.date(2026, 11, 9))
    events = CLICK_EVENTS.read(store, TimeWindow.of(dt.date(2026, 11, 2), dt.date(2026, 11, 9)))
    expected = user_engagement(events, window).rename({"computed_at": "created_at"})
    assert_frame_equal(canonical(stored), canonical(expected.select(stored.columns)))


def test_rematerializing_a_partition_gives_identical_content(events_home: Path) -> None:
    _materialize(events_home, USERS, "2026-11-07", "2026-11-08")
    first = read_independently(unbuffered_store(events_home).table("user_engagement"))
    assert _materialize(events_home, USERS, "2026-11-08").success
    again = read_independently(unbuffered_store(events_home).table("user_engagement"))
    assert_frame_equal(canonical(again), canonical(first))


def test_partition_range_run_commits_each_window(events_home: Path) -> None:
    result = _materialize(events_home, ARTICLES, "2026-11-08-00:00", "2026-11-08-05:00")
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    table = unbuffered_store(events_home).table("article_popularity")
    hours = read_independently(table).get_column("event_time").dt.hour().unique().sort()

    assert metadata["windows_written"].value == 6
    assert hours.to_list() == [0, 1, 2, 3, 4, 5]
    assert len(table.snapshots()) == 6
    assert_no_empty_files(table)


def test_a_window_whose_source_never_arrived_fails_and_writes_nothing(home: Path) -> None:
    asset = build_definitions().get_assets_def(USERS)
    resources = {"feature_store": FeatureStoreResource(home=str(home))}
    # The event log was never materialized: computing would write an empty (wiped) window.
    result = dg.materialize(
        [asset], resources=resources, partition_key="2026-11-03", raise_on_error=False
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None
    assert "2026-11-01, 2026-11-02, 2026-11-03" in failure.message
    assert FeatureStore(home).table("user_engagement").current_snapshot() is None


def test_allowing_incomplete_inputs_computes_and_records_what_was_missing(home: Path) -> None:
    asset = build_definitions().get_assets_def(USERS)
    resources = {"feature_store": FeatureStoreResource(home=str(home))}
    result = dg.materialize(
        [asset],
        resources=resources,
        partition_key="2026-11-03",
        run_config={
            "ops": {"features__user_engagement": {"config": {"allow_incomplete_inputs": True}}}
        },
    )
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["empty_windows"].value == 1
    assert metadata["snapshot_id"].value == "unchanged"
    assert metadata["incomplete_inputs_allowed"].value == {
        "2026-11-03": ["2026-11-01", "2026-11-02", "2026-11-03"]
    }
    assert FeatureStore(home).table("user_engagement").current_snapshot() is None


def _materialize_in_child(home: str, partition: str, start_at: float) -> bool:
    time.sleep(max(0.0, start_at - time.time()))
    return _materialize(Path(home), USERS, partition).success


@pytest.mark.integration
def test_eight_partitions_materialized_concurrently_each_land_once(events_home: Path) -> None:
    partitions = [f"2026-11-0{d}" for d in range(1, 9)]
    outcomes = run_together(
        _materialize_in_child,
        [(str(events_home), p) for p in partitions],
        [
            "dagster",
            "feature_platform.definitions",
            "feature_platform_tests.orchestration.test_materialize",
        ],
    )
    assert all(outcomes)
    stored = read_independently(unbuffered_store(events_home).table("user_engagement"))
    per_day = stored.group_by(pl.col("event_time").dt.date().alias("day")).agg(pl.len())
    assert sorted(per_day.get_column("day").to_list()) == [
        dt.date(2026, 11, d) for d in range(1, 9)
    ]
    assert stored.select("user_id", "event_time").is_duplicated().sum() == 0


def test_maintenance_asset_compacts_and_reports(events_home: Path) -> None:
    store = unbuffered_store(events_home)
    _materialize(events_home, ARTICLES, "2026-11-08-00:00", "2026-11-08-02:00")
    before = read_independently(store.table("article_popularity"))
    for hour in range(3):  # micro-batches land in one hour partition
        batch = before.filter(pl.col("event_time").dt.hour() == hour).rename(
            {"created_at": "computed_at"}
        )
        for _ in range(4):  # five files per partition: above the default of four small ones
            store.write("article_popularity", batch)

    definitions = build_definitions()
    asset = definitions.get_assets_def(dg.AssetKey(["compaction", "article_popularity"]))
    resources = {"feature_store": FeatureStoreResource(home=str(events_home))}
    result = dg.materialize([asset], resources=resources)

    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["partitions_compacted"].value == 3
    assert metadata["files_before"].value == 15
    assert metadata["files_after"].value == 3
    assert metadata["snapshots_expired"].value == 0  # all younger than the 7-day retention
    after = read_independently(store.table("article_popularity"))
    assert after.height == 5 * before.height


def test_table_health_checks_warn_on_fragmentation(events_home: Path) -> None:
    store = unbuffered_store(events_home)
    _materialize(events_home, USERS, "2026-11-08")
    rows = read_independently(store.table("user_engagement")).rename({"created_at": "computed_at"})
    for i in range(6):
        store.write("user_engagement", rows.slice(i * 10, 10))

    definitions = build_definitions()
    resources = {"feature_store": FeatureStoreResource(home=str(events_home))}

    def run_check(name: str) -> dg.AssetCheckResult:
        check = next(
            c
            for c in definitions.asset_checks or []
            if {(k.asset_key, k.name) for k in c.check_keys} == {(USERS, name)}
        )
        result = check(feature_store=resources["feature_store"])  # type: ignore[operator]
        assert isinstance(result, dg.AssetCheckResult)
        return result

    evaluations = {name: run_check(name) for name in ("few_small_files", "few_snapshots")}
    assert not evaluations["few_small_files"].passed
    assert evaluations["few_small_files"].severity == dg.AssetCheckSeverity.WARN
    assert evaluations["few_snapshots"].passed
