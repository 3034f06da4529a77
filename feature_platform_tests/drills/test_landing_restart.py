"""Drill: landing-sensor restarts and crashed push runs process each landing file exactly once.

The sensor and the push job are the deployment's own (`build_definitions()`), evaluated against
a real (ephemeral) Dagster instance. What the sensor daemon does with a tick's run requests is
done here the way the daemon does it: a request whose run key already has a run for this sensor
is skipped, any other becomes a run; runs execute in process, or, to crash or race them, as
separate processes.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import execute_run

from feature_platform import FeatureStore, StoreConfig
from feature_platform.definitions import build_definitions
from feature_platform.demo.feature_groups import ARTICLE_POPULARITY
from feature_platform.demo.landing import write_demo_landing_files
from feature_platform.orchestration.landing_sensors import landing_job_name
from feature_platform.streaming.landing import CLAIMED, PROCESSED, LandingZone
from feature_platform.streaming.landing_launches import FILES_PER_RUN, RELAUNCH_AFTER_SECONDS
from feature_platform_tests.drills import workers
from feature_platform_tests.drills.pool import Pool
from feature_platform_tests.helpers import read_independently

pytestmark = [pytest.mark.drill, pytest.mark.integration]

GROUP = ARTICLE_POPULARITY.name
SENSOR = f"{GROUP}_landing_files"
RUN_KEY_TAG = "dagster/run_key"  # the tag the sensor daemon dedupes run requests by
NOW = dt.datetime(2026, 11, 10, 15, 20, tzinfo=dt.UTC)
KEY = ["article_id", "event_time"]


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    """The deployment's definitions; its feature-store resource reads FEATURE_PLATFORM_HOME
    when used, which each test points at its own home."""
    return build_definitions()


@pytest.fixture
def landing_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(home))
    monkeypatch.delenv("FEATURE_PLATFORM_LANDING", raising=False)
    with FeatureStore(home) as store:
        store.apply(ARTICLE_POPULARITY)
    return home


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def _zone(home: Path) -> LandingZone:
    return LandingZone.from_config(StoreConfig.embedded(home))


class Dropped:
    """Landing files a producer dropped, and their rows (read before any run moves them)."""

    def __init__(self, home: Path, hours: int, now: dt.datetime = NOW) -> None:
        paths = write_demo_landing_files(StoreConfig.embedded(home), now=now, hours=hours)
        assert len(paths) == hours
        self.names = [path.name for path in paths]
        self.rows = pl.concat([pl.read_parquet(path) for path in paths])

    def __add__(self, other: Dropped) -> Dropped:
        both = Dropped.__new__(Dropped)
        both.names = self.names + other.names
        both.rows = pl.concat([self.rows, other.rows])
        return both


def _tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None
) -> dg.SensorResult:
    """One evaluation of the deployment's landing sensor, as the daemon runs it."""
    sensor = defs.get_repository_def().get_sensor_def(SENSOR)
    resources = {"feature_store": defs.resources["feature_store"]}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        data = sensor.evaluate_tick(context)
    return dg.SensorResult(run_requests=list(data.run_requests or []), cursor=data.cursor)


def _job(defs: dg.Definitions) -> dg.JobDefinition:
    # In process: the default multiprocess executor needs a job loadable from a code location.
    return defs.get_job_def(landing_job_name(GROUP)).with_executor_def(dg.in_process_executor)


def _launch(
    defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest
) -> dg.DagsterRun | None:
    """The sensor daemon's handling of a run request: skipped (None) when a run of this sensor
    already has its run key, else a new run, not yet started (a run in flight)."""
    assert request.run_key
    existing = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: request.run_key}))
    if any(run.tags.get("dagster/sensor_name") == SENSOR for run in existing):
        return None
    return instance.create_run_for_job(
        _job(defs),
        run_config=request.run_config,
        tags={**request.tags, RUN_KEY_TAG: request.run_key},
    )


def _execute(defs: dg.Definitions, instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    result = execute_run(InMemoryJob(_job(defs)), run, instance)
    return bool(result.success)


def _launch_and_kill(
    landing_home: Path,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    pool: Pool,
    kill_point: str,
) -> tuple[dg.SensorResult, dg.RunRequest, str]:
    """A tick's one run, launched; its process is killed at `kill_point` of its first file.

    Returns the tick, its run request and the key of that first file.
    """
    tick = _tick(defs, instance, None)
    [request] = tick.run_requests or []
    assert _launch(defs, instance, request) is not None
    first = _files_of(request)[0]
    [child] = pool.take()
    child.start(workers.push_then_die, str(landing_home), GROUP, first, kill_point)
    assert child.exitcode() == -signal.SIGKILL
    return tick, request, first


def _relaunch_after_the_delay(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    tick: dg.SensorResult,
    request: dg.RunRequest,
) -> None:
    """The files `tick` launched with `request`, relaunched once the delay passed, and run."""
    state = json.loads(tick.cursor or "{}")
    for launched in state["in_flight"].values():
        launched[0] -= RELAUNCH_AFTER_SECONDS  # the clock moved on by the relaunch delay
    [relaunch] = _tick(defs, instance, json.dumps(state)).run_requests or []
    assert relaunch.run_key == f"{request.run_key}#relaunch1"
    rerun = _launch(defs, instance, relaunch)
    assert rerun is not None
    assert _execute(defs, instance, rerun)


def _files_of(request: dg.RunRequest) -> list[str]:
    config = request.run_config
    assert isinstance(config, dict)
    return list(config["ops"][f"push_{GROUP}_files"]["config"]["files"])


def _assert_each_file_once(home: Path, files: Dropped) -> None:
    """Every file's rows are in the table exactly once, and every file was filed away."""
    expected = files.rows.select(KEY)
    table = read_independently(FeatureStore(home).table(GROUP)).select(KEY)
    assert table.height == expected.height, f"{table.height} rows for {expected.height} pushed"
    assert table.sort(KEY).equals(expected.sort(KEY))
    assert _zone(home).pending(GROUP) == []
    processed = home / "landing" / PROCESSED / GROUP
    assert sorted(p.name.split("-", 1)[1] for p in processed.iterdir()) == sorted(files.names)


def test_sensor_restarts_launch_each_file_once_and_each_file_lands_once(
    landing_home: Path, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    files = Dropped(landing_home, hours=FILES_PER_RUN + 4)  # two runs' worth

    first = _tick(defs, instance, None)
    assert [len(_files_of(r)) for r in first.run_requests or []] == [FILES_PER_RUN, 4]
    runs = [_launch(defs, instance, r) for r in first.run_requests or []]
    assert all(runs)

    # The sensor restarts with its stored cursor while both runs are in flight: nothing new.
    restarted = _tick(defs, instance, first.cursor)
    assert restarted.run_requests == []
    # Its cursor is lost (a new deployment, a wiped instance): every file looks new again, but
    # the requests carry the same run keys, so the daemon launches nothing.
    lost = _tick(defs, instance, None)
    assert [r.run_key for r in lost.run_requests or []] == [
        r.run_key for r in first.run_requests or []
    ]
    assert [_launch(defs, instance, r) for r in lost.run_requests or []] == [None, None]

    for run in runs:
        assert run is not None
        assert _execute(defs, instance, run)
    _assert_each_file_once(landing_home, files)

    # Later ticks, with either cursor, find nothing left to launch.
    assert _tick(defs, instance, lost.cursor).run_requests == []
    assert _tick(defs, instance, None).run_requests == []
    assert json.loads(_tick(defs, instance, first.cursor).cursor or "{}") == {"in_flight": {}}


def test_a_push_run_killed_after_its_commit_is_relaunched_and_lands_once(
    landing_home: Path, defs: dg.Definitions, instance: dg.DagsterInstance, pool: Pool
) -> None:
    files = Dropped(landing_home, hours=2)
    # The run's process pushes the first file and is killed before filing it away.
    tick, request, first = _launch_and_kill(landing_home, defs, instance, pool, "after_commit")
    assert first in {f.key for f in _zone(landing_home).pending(GROUP)}  # not filed away ...
    assert len(FeatureStore(landing_home).table(GROUP).snapshots()) == 1  # ... but committed

    # Ticks before the relaunch delay launch nothing; after it, the files are relaunched.
    assert _tick(defs, instance, tick.cursor).run_requests == []
    _relaunch_after_the_delay(defs, instance, tick, request)

    _assert_each_file_once(landing_home, files)


def test_a_lost_cursor_while_a_run_is_in_flight_does_not_push_a_file_twice(
    landing_home: Path,
    tmp_path: Path,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    pool: Pool,
) -> None:
    first = Dropped(landing_home, hours=1)
    tick = _tick(defs, instance, None)
    [request] = tick.run_requests or []
    assert _launch(defs, instance, request) is not None  # in flight: queued, not yet started

    # A new file lands, and the sensor's cursor is lost.
    second = Dropped(landing_home, hours=1, now=NOW + dt.timedelta(hours=1))
    [again] = _tick(defs, instance, None).run_requests or []
    assert _files_of(again)[0] == _files_of(request)[0]  # the file in flight, and the new one
    assert len(_files_of(again)) == 2
    assert again.run_key != request.run_key
    assert _launch(defs, instance, again) is not None  # so the daemon launches it too

    # Both runs execute at once, each in its own process, as a run launcher starts them.
    contended = _files_of(request)[0]
    barrier = str(tmp_path / "barrier")
    outcomes = pool.run_together(
        workers.push_run_at,
        [
            (str(landing_home), GROUP, _files_of(request), contended, barrier),
            (str(landing_home), GROUP, _files_of(again), contended, barrier),
        ],
    )

    # Exactly one of them claimed the contended file; the other found it taken.
    assert sorted(outcome[contended] for outcome in outcomes) == ["gone", "pushed"]
    _assert_each_file_once(landing_home, first + second)


def test_a_push_run_killed_between_claim_and_archive_leaves_the_file_pending(
    landing_home: Path, defs: dg.Definitions, instance: dg.DagsterInstance, pool: Pool
) -> None:
    """kill -9 after the run claimed (and read) a file, before anything was committed or filed
    away: the file waits, claimed, under the key it was launched with, and lands once when
    relaunched. A producer replacing the file meanwhile makes a new file, pushed as well."""
    files = Dropped(landing_home, hours=2)
    tick, request, first = _launch_and_kill(landing_home, defs, instance, pool, "after_claim")
    name = first.split("/", 1)[1].rsplit("@", 1)[0]

    folder = landing_home / "landing" / GROUP
    assert not (folder / name).exists()  # claimed: out of the producer's way ...
    assert [p.name.split("-", 1)[1] for p in (folder.parent / CLAIMED / GROUP).iterdir()] == [name]
    assert first in {f.key for f in _zone(landing_home).pending(GROUP)}  # ... still pending
    assert FeatureStore(landing_home).table(GROUP).snapshots() == []  # nothing committed
    # The sensor sees the claimed file under the key it launched: nothing is launched twice.
    assert _tick(defs, instance, tick.cursor).run_requests == []

    # The producer now replaces the file of that name (atomically, as producers should).
    replacement = Dropped(landing_home, hours=1, now=NOW + dt.timedelta(hours=3))
    (folder / replacement.names[0]).replace(folder / name)
    replacement.names = [name]
    [new] = _tick(defs, instance, tick.cursor).run_requests or []  # a new file: launched now
    assert len(_files_of(new)) == 1
    assert _files_of(new)[0] != first
    new_run = _launch(defs, instance, new)
    assert new_run is not None
    assert _execute(defs, instance, new_run)

    # After the relaunch delay, the killed run's files are relaunched and land once.
    _relaunch_after_the_delay(defs, instance, tick, request)

    _assert_each_file_once(landing_home, files + replacement)
    assert list((folder.parent / CLAIMED / GROUP).iterdir()) == []
