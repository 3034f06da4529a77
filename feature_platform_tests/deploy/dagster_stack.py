"""The deployment's Dagster on loopback: code server, webserver and daemon, driven through GraphQL.

Shared by the multi-run backfill test (test_backfill_on_postgres.py) and the benchmark of
backfill wall times (benchmarks/backfill_runs.py). The instance is deploy/ecs/dagster.yaml
(PostgreSQL storage, queued runs) with local run processes instead of ECS tasks and a limit of
runs at once; the code server is the image's command. Every process is a command of this
environment started in its own session, inheriting this process's environment (DAGSTER_HOME,
the ``DAGSTER_PG_*`` and ``FEATURE_PLATFORM_*`` settings of `deployment_settings`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from feature_platform_tests.deploy.instance_config import ECS_DAGSTER_YAML, GRPC_SERVER
from feature_platform_tests.postgres import PostgresServer
from feature_platform_tests.servers import free_port, wait_until_listening
from feature_platform_tests.ui.dagster_ui import (
    TERMINAL_BACKFILL_STATUSES,
    DemoUI,
    _wait_until_loaded,
    stop_process_group,
)

REGISTRY_MODULE = "backfill_registry"
# The demo's `user_engagement` alone, with its partitions per run set.
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


def deployment_instance_yaml(max_runs: int) -> dict[str, Any]:
    """deploy/ecs/dagster.yaml with local run processes and logs, and `max_runs` runs at once."""
    config = yaml.safe_load(ECS_DAGSTER_YAML.read_text())
    del config["run_launcher"]  # the default: a process per run
    del config["compute_logs"]  # the default: files in the instance folder
    config["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1
    config["concurrency"]["runs"]["max_concurrent_runs"] = max_runs
    return config  # type: ignore[no-any-return]


def deployment_settings(
    postgres: PostgresServer,
    *,
    dagster_db: str,
    catalog_uri: str,
    home: Path,
    dagster_home: Path,
    per_run: int,
    max_runs: int,
) -> dict[str, str]:
    """Write the instance (`dagster_home`) and the registry module; return the environment.

    The registry module goes into a ``modules`` folder next to `dagster_home`, on PYTHONPATH.
    Dagster's storage is the database `dagster_db` of `postgres`, the store's catalog
    `catalog_uri`, its home `home`.
    """
    modules = dagster_home.parent / "modules"
    for folder in (dagster_home, modules):
        folder.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(deployment_instance_yaml(max_runs)))
    (modules / f"{REGISTRY_MODULE}.py").write_text(REGISTRY.format(per_run=per_run))
    return {
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": postgres.host,
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_USERNAME": postgres.user,
        "DAGSTER_PG_PASSWORD": postgres.password,
        "DAGSTER_PG_DB": dagster_db,
        "FEATURE_PLATFORM_HOME": str(home),
        "FEATURE_PLATFORM_CATALOG_URI": catalog_uri,
        "FEATURE_PLATFORM_REGISTRY": REGISTRY_MODULE,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(modules), os.environ.get("PYTHONPATH")])),
    }


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A Dagster command of this environment in its own session, appending to `log`."""
    executable = str(Path(sys.executable).parent / command[0])
    with log.open("a") as output:
        return subprocess.Popen(
            [executable, *command[1:]], stdout=output, stderr=output, start_new_session=True
        )


def stop_sensor(ui: DemoUI, name: str) -> None:
    """Keep the automation sensor from adding runs downstream of the backfill."""
    [repository] = ui.graphql(SENSORS)["repositoriesOrError"]["nodes"]
    [sensor_id] = [s["id"] for s in repository["sensors"] if s["name"] == name]
    stopped = ui.graphql(STOP_SENSOR, {"id": sensor_id})["stopSensor"]
    assert stopped["instigationState"]["status"] == "STOPPED", stopped


def wait_for_backfill(ui: DemoUI, backfill_id: str, timeout: float) -> str:
    """The backfill's status once it is terminal (asked every second).

    Raises:
        TimeoutError: It is still running after `timeout` seconds (with the processes' log).
    """
    deadline = time.monotonic() + timeout
    while True:
        answer = ui.graphql(BACKFILL_STATUS, {"id": backfill_id})
        status = str(answer["partitionBackfillOrError"]["status"])
        if status in TERMINAL_BACKFILL_STATUSES:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the backfill is still {status} after {timeout:.0f}s:\n{ui.log_tail()}"
            )
        time.sleep(1)


def dequeued_at(instance: dg.DagsterInstance, run_id: str) -> float:
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


@dataclass
class DagsterStack:
    """A running code server and webserver (and, once started, the daemon)."""

    ui: DemoUI
    grpc: list[str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def launch_backfill(self, asset_path: list[str], partitions: list[str]) -> str:
        """Launch a backfill of `partitions` of one asset, as the UI does; its id."""
        params = {"assetSelection": [{"path": asset_path}], "partitionNames": partitions}
        launched = self.ui.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        return str(launched["backfillId"])

    def start_daemon(self) -> None:
        """Start `dagster-daemon`. Started after a launch, its first backfill iteration takes
        the backfill at once instead of up to 30 s later."""
        self.processes.append(start(["dagster-daemon", "run", *self.grpc], self.ui.log))


@contextmanager
def running_stack(
    log: Path, while_starting: Callable[[], None] = lambda: None, timeout: float = 180
) -> Iterator[DagsterStack]:
    """The image's code server and a webserver on loopback, the automation sensor stopped.

    `while_starting` runs while the code server starts. Leaving the block stops every process
    of the stack (the daemon too, and the runs they started), last started first.
    """
    code_port, ui_port = free_port(), free_port()
    grpc = ["--grpc-host", "127.0.0.1", "--grpc-port", str(code_port)]
    stack = DagsterStack(DemoUI(ui_port, log), grpc)
    try:
        # The image's command (deploy/Dockerfile), on loopback; runs start as its subprocesses.
        server = start([*GRPC_SERVER.split()[:-4], "-h", "127.0.0.1", "-p", str(code_port)], log)
        stack.processes.append(server)
        while_starting()
        wait_until_listening(server, code_port, log, "the code server", timeout=timeout)
        stack.processes.append(
            start(["dagster-webserver", *grpc, "-h", "127.0.0.1", "-p", str(ui_port)], log)
        )
        _wait_until_loaded(stack.ui, stack.processes[-1], timeout=timeout)
        stop_sensor(stack.ui, "feature_platform_automation")
        yield stack
    finally:
        for process in reversed(stack.processes):
            stop_process_group(process)
