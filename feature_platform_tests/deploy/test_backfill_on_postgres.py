"""A multi-run backfill launched through Dagster's GraphQL API, on PostgreSQL.

Dagster's webserver and daemon (`dagster dev`) run on the deployment's instance configuration
(deploy/ecs/dagster.yaml: PostgreSQL storage, queued runs), with local run processes instead
of ECS tasks and at most 2 runs at once; the feature store's Iceberg catalog is on the same
PostgreSQL server. A 12-day backfill of `features/user_engagement` at 3 partitions per run
becomes 4 runs, never more than 2 at a time, and every day's window ends up written once, equal
to the demo transformation computed directly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore, StoreConfig
from feature_platform.demo.feature_groups import CLICK_EVENTS, DEMO_FEATURE_GROUPS
from feature_platform.specs import CREATED_AT_COLUMN
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.deploy.dagster_stack import (
    deployment_settings,
    dequeued_at,
    most_at_once,
    running_stack,
    wait_for_backfill,
)
from feature_platform_tests.postgres import PostgresServer

pytestmark = pytest.mark.integration

ENGAGEMENT = next(d for d in DEMO_FEATURE_GROUPS if d.name == "user_engagement")
FIRST_DAY = dt.date(2026, 11, 8)
DAYS = [FIRST_DAY + dt.timedelta(days=i) for i in range(12)]
PER_RUN = 3
MAX_RUNS = 2


def _ingest_events(config: StoreConfig) -> None:
    """The demo event log of the days the 12 windows read (6 days of lookback before them)."""
    start = dt.datetime.combine(FIRST_DAY, dt.time(), dt.UTC) - ENGAGEMENT.lookback
    end = dt.datetime.combine(DAYS[-1] + dt.timedelta(days=1), dt.time(), dt.UTC)
    CLICK_EVENTS.ingest(FeatureStore(config=config), TimeWindow(start, end))


def test_a_twelve_day_backfill_runs_as_four_runs_two_at_a_time_on_postgresql(
    postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog_uri = postgres.create_database("iceberg_backfill")
    postgres.create_database("dagster_backfill")
    home, dagster_home = tmp_path / "home", tmp_path / "dagster_home"
    settings = deployment_settings(
        postgres,
        dagster_db="dagster_backfill",
        catalog_uri=catalog_uri,
        home=home,
        dagster_home=dagster_home,
        per_run=PER_RUN,
        max_runs=MAX_RUNS,
    )
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FEATURE_PLATFORM_ENV", raising=False)
    store_config = StoreConfig.embedded(home, catalog_uri=catalog_uri)

    # The events are ingested while the code server starts.
    with running_stack(tmp_path / "dagster.log", lambda: _ingest_events(store_config)) as stack:
        ui = stack.ui
        backfill_id = stack.launch_backfill(
            ["features", "user_engagement"], [day.isoformat() for day in DAYS]
        )
        stack.start_daemon()
        status = wait_for_backfill(ui, backfill_id, timeout=300)

    assert status == "COMPLETED_SUCCESS", ui.log_tail()
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        records = instance.get_run_records()
        dequeued = {
            r.dagster_run.run_id: dequeued_at(instance, r.dagster_run.run_id) for r in records
        }
    # Exactly the backfill's runs (no retries, nothing else), each a range of 3 days.
    assert {r.dagster_run.tags.get("dagster/backfill") for r in records} == {backfill_id}
    assert all(r.dagster_run.is_success for r in records), [r.dagster_run for r in records]
    ranges = sorted(
        (
            r.dagster_run.tags["dagster/asset_partition_range_start"],
            r.dagster_run.tags["dagster/asset_partition_range_end"],
        )
        for r in records
    )
    chunks = [DAYS[i : i + PER_RUN] for i in range(0, len(DAYS), PER_RUN)]
    assert ranges == [(c[0].isoformat(), c[-1].isoformat()) for c in chunks]
    # The coordinator counts a run from its dequeue (launch) to its end: 2 at once, never more;
    # so, within that, do the run processes (start to end).
    held = [(dequeued[r.dagster_run.run_id], r.end_time or 0.0) for r in records]
    assert most_at_once(held) == MAX_RUNS, held
    assert most_at_once([(r.start_time or 0.0, r.end_time or 0.0) for r in records]) <= MAX_RUNS

    store = FeatureStore(config=store_config)
    stored = store.read("user_engagement")
    for day in DAYS:
        window = TimeWindow.of(day, day + dt.timedelta(days=1))
        expected = ENGAGEMENT.compute(store, window).rename(
            {ENGAGEMENT.group.created_time: CREATED_AT_COLUMN}  # the store's name for it
        )
        actual = stored.filter(pl.col("event_time").dt.date() == day).select(expected.columns)
        assert_frame_equal(actual.sort("user_id"), expected.sort("user_id"), check_dtypes=False)
    assert stored.select("user_id", "event_time").is_duplicated().sum() == 0
    assert stored.get_column("event_time").dt.date().unique().sort().to_list() == DAYS
