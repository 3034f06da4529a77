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
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore, StoreConfig
from feature_platform.demo.feature_groups import CLICK_EVENTS, DEMO_FEATURE_GROUPS
from feature_platform.specs import CREATED_AT_COLUMN
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.deploy.instance_config import ECS_DAGSTER_YAML, GRPC_SERVER
from feature_platform_tests.postgres import PostgresServer
from feature_platform_tests.servers import free_port, wait_until_listening
from feature_platform_tests.ui.dagster_ui import (
    TERMINAL_BACKFILL_STATUSES,
    DemoUI,
    _wait_until_loaded,
    stop_process_group,
)

pytestmark = pytest.mark.integration

ENGAGEMENT = next(d for d in DEMO_FEATURE_GROUPS if d.name == "user_engagement")
FIRST_DAY = dt.date(2026, 11, 8)
DAYS = [FIRST_DAY + dt.timedelta(days=i) for i in range(12)]
PER_RUN = 3
MAX_RUNS = 2

REGISTRY = """
import dataclasses

from feature_platform.demo.feature_groups import DEMO_FEATURE_GROUPS

FEATURE_GROUPS = [
    dataclasses.replace(definition, partitions_per_run={per_run})
    for definition in DEMO_FEATURE_GROUPS
    if definition.name == "user_engagement"
]
"""

LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
  }
}
"""
BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } }
}
"""
SENSORS = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { sensors { id name } } } } }
"""
STOP_SENSOR = """
mutation Stop($id: String!) {
  stopSensor(id: $id) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
  }
}
"""


def deployment_instance_yaml() -> dict[str, Any]:
    """deploy/ecs/dagster.yaml with local run processes and logs, and at most 2 runs at once."""
    config = yaml.safe_load(ECS_DAGSTER_YAML.read_text())
    del config["run_launcher"]  # the default: a process per run
    del config["compute_logs"]  # the default: files in the instance folder
    config["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1
    config["concurrency"]["runs"]["max_concurrent_runs"] = MAX_RUNS
    return config  # type: ignore[no-any-return]


def _ingest_events(config: StoreConfig) -> None:
    """The demo event log of the days the 12 windows read (6 days of lookback before them)."""
    start = dt.datetime.combine(FIRST_DAY, dt.time(), dt.UTC) - ENGAGEMENT.lookback
    end = dt.datetime.combine(DAYS[-1] + dt.timedelta(days=1), dt.time(), dt.UTC)
    CLICK_EVENTS.ingest(FeatureStore(config=config), TimeWindow(start, end))


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A Dagster command of this environment in its own session, appending to `log`."""
    executable = str(Path(sys.executable).parent / command[0])
    with log.open("a") as output:
        return subprocess.Popen(
            [executable, *command[1:]], stdout=output, stderr=output, start_new_session=True
        )


def _stop_sensor(ui: DemoUI, name: str) -> None:
    """Keep the automation sensor from adding runs downstream of the backfill."""
    [repository] = ui.graphql(SENSORS)["repositoriesOrError"]["nodes"]
    [sensor_id] = [s["id"] for s in repository["sensors"] if s["name"] == name]
    stopped = ui.graphql(STOP_SENSOR, {"id": sensor_id})["stopSensor"]
    assert stopped["instigationState"]["status"] == "STOPPED", stopped


def _wait_for_backfill(ui: DemoUI, backfill_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        answer = ui.graphql(BACKFILL_STATUS, {"id": backfill_id})
        status = str(answer["partitionBackfillOrError"]["status"])
        if status in TERMINAL_BACKFILL_STATUSES:
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"the backfill is still {status} after {timeout:.0f}s:\n{ui.log_tail()}")
        time.sleep(1)


def _dequeued_at(instance: dg.DagsterInstance, run_id: str) -> float:
    """When the run coordinator took the run off the queue to launch it (`RUN_STARTING`)."""
    [record] = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.RUN_STARTING
    ).records
    return record.event_log_entry.timestamp


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (one ending as another starts: not overlapping)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def test_a_twelve_day_backfill_runs_as_four_runs_two_at_a_time_on_postgresql(
    postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog_uri = postgres.create_database("iceberg_backfill")
    postgres.create_database("dagster_backfill")
    home, dagster_home, modules = tmp_path / "home", tmp_path / "dagster_home", tmp_path / "mods"
    for folder in (dagster_home, modules):
        folder.mkdir()
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(deployment_instance_yaml()))
    (modules / "backfill_registry.py").write_text(REGISTRY.format(per_run=PER_RUN))
    settings = {
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": postgres.host,
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_USERNAME": postgres.user,
        "DAGSTER_PG_PASSWORD": postgres.password,
        "DAGSTER_PG_DB": "dagster_backfill",
        "FEATURE_PLATFORM_HOME": str(home),
        "FEATURE_PLATFORM_CATALOG_URI": catalog_uri,
        "FEATURE_PLATFORM_REGISTRY": "backfill_registry",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(modules), os.environ.get("PYTHONPATH")])),
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FEATURE_PLATFORM_ENV", raising=False)
    store_config = StoreConfig.embedded(home, catalog_uri=catalog_uri)

    log = tmp_path / "dagster.log"
    code_port, ui_port = free_port(), free_port()
    grpc = ["--grpc-host", "127.0.0.1", "--grpc-port", str(code_port)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        # The image's command (deploy/Dockerfile), on loopback; runs start as its subprocesses.
        server = _start([*GRPC_SERVER.split()[:-4], "-h", "127.0.0.1", "-p", str(code_port)], log)
        processes.append(server)
        _ingest_events(store_config)  # while the code server starts
        wait_until_listening(server, code_port, log, "the code server", timeout=180)
        processes.append(
            _start(["dagster-webserver", *grpc, "-h", "127.0.0.1", "-p", str(ui_port)], log)
        )
        ui = DemoUI(ui_port, log)
        _wait_until_loaded(ui, processes[-1], timeout=180)
        _stop_sensor(ui, "feature_platform_automation")
        params = {
            "assetSelection": [{"path": ["features", "user_engagement"]}],
            "partitionNames": [day.isoformat() for day in DAYS],
        }
        launched = ui.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill_id = launched["backfillId"]
        # The daemon starts after the launch: its first backfill iteration takes the backfill
        # at once instead of up to 30 s later.
        processes.append(_start(["dagster-daemon", "run", *grpc], log))
        status = _wait_for_backfill(ui, backfill_id, timeout=300)
    finally:
        for process in reversed(processes):
            stop_process_group(process)

    assert status == "COMPLETED_SUCCESS", ui.log_tail()
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        records = instance.get_run_records()
        dequeued = {
            r.dagster_run.run_id: _dequeued_at(instance, r.dagster_run.run_id) for r in records
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
