"""Landing runs tell a bad file from a store that cannot take good rows right now.

A bad file is quarantined, since pushing it again would fail the same way. A catalog outage
(every commit attempt failing) must leave a good file pending and fail the run retryably, so a
run retry or the sensor's relaunch pushes it later, exactly once. The outage is injected where
it happens, in pyiceberg's `SqlCatalog.commit_table`, as the drills do.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException
from sqlalchemy.exc import OperationalError

from feature_platform import FeatureStore, StoreConfig
from feature_platform.demo.feature_groups import ARTICLE_POPULARITY
from feature_platform.demo.landing import write_demo_landing_files
from feature_platform.offline_store.writes import WRITE_ID_PROPERTY
from feature_platform.orchestration.landing_sensors import evaluate_landing
from feature_platform.streaming.landing import LandingZone
from feature_platform.streaming.landing_launches import RELAUNCH_AFTER_SECONDS
from feature_platform_tests.helpers import read_independently
from feature_platform_tests.streaming.push_runs import run_push

NOW = dt.datetime(2026, 11, 10, 15, 20, tzinfo=dt.UTC)
GROUP = ARTICLE_POPULARITY.name
OP = f"push_{GROUP}_files"


def outage(error: str) -> Exception:
    """What a commit sees while the catalog is unavailable."""
    if error == "commit-failed":
        return CommitFailedException("catalog unavailable")
    return OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))


@pytest.fixture
def landing_home(home: Path) -> Path:
    """The group's table without pyiceberg's commit retries (a table property, set when it is
    created): the store's own retries remain, so a commit fails after a few seconds, not a
    minute of pyiceberg backoff."""
    with FeatureStore(config=StoreConfig.embedded(home, commit_retries=0)) as store:
        store.apply(ARTICLE_POPULARITY)
    return home


@pytest.mark.parametrize("error", ["commit-failed", "operational-error"])
def test_a_catalog_outage_leaves_good_files_pending_and_a_later_run_lands_them_once(
    landing_home: Path, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    zone = LandingZone.from_config(StoreConfig.embedded(landing_home))
    # A file with a bad schema, dropped first, and then a good one.
    folder = landing_home / "landing" / GROUP
    folder.mkdir(parents=True)
    bad = folder / "partial.csv"
    bad.write_text("article_id\na1\n")
    [good] = write_demo_landing_files(StoreConfig.embedded(landing_home), now=NOW, hours=1)
    rows = pl.read_parquet(good)
    os.utime(bad, ns=(good.stat().st_mtime_ns - 10**9,) * 2)  # listed, and pushed, first
    assert [f.name for f in zone.pending(GROUP)] == [bad.name, good.name]
    tick = evaluate_landing(zone, GROUP, None, now=0.0)
    [request] = tick.run_requests

    attempts = []

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        attempts.append(1)
        raise outage(error)

    monkeypatch.setattr(SqlCatalog, "commit_table", unavailable)
    result = run_push(landing_home, request)
    monkeypatch.undo()  # the catalog is back

    assert attempts  # the outage happened
    assert not result.success
    # The good file is left where it was, waiting; nothing of it was committed.
    assert [f.name for f in zone.pending(GROUP)] == [good.name]
    assert FeatureStore(landing_home).table(GROUP).snapshots() == []
    # The bad file was still quarantined, with its reason beside it.
    quarantine = landing_home / "landing" / "_quarantine" / GROUP
    [reason] = quarantine.glob("*.error.txt")
    assert reason.name.endswith(f"{bad.name}.error.txt")
    assert "missing columns" in reason.read_text()
    assert [p.name for p in quarantine.iterdir() if p.name.endswith(".parquet")] == []
    # The run's failure says which is which.
    failure = result.failure_data_for_node(OP)
    assert failure is not None
    assert failure.user_failure_data is not None
    metadata = failure.user_failure_data.metadata
    assert metadata["pending"].value == [good.name]
    [quarantined] = metadata["quarantined"].value
    assert quarantined.startswith(f"{bad.name}: ")

    # The sensor relaunches the pending file once its run is overdue; that run lands it.
    assert evaluate_landing(zone, GROUP, tick.cursor, now=10.0).run_requests == []
    later = evaluate_landing(zone, GROUP, tick.cursor, now=RELAUNCH_AFTER_SECONDS)
    [relaunch] = later.run_requests
    assert run_push(landing_home, relaunch).success
    # A rerun of the failed run (Dagster's run retry, late) finds nothing left to do.
    assert run_push(landing_home, request).success

    table = FeatureStore(landing_home).table(GROUP)
    key = ["article_id", "event_time"]
    assert read_independently(table).select(key).sort(key).equals(rows.select(key).sort(key))
    [snapshot] = table.snapshots()  # committed once
    assert snapshot.summary is not None
    assert snapshot.summary.additional_properties[WRITE_ID_PROPERTY].startswith("landing-")
    assert zone.pending(GROUP) == []
    done = evaluate_landing(zone, GROUP, later.cursor, now=RELAUNCH_AFTER_SECONDS + 30)
    assert done.run_requests == []
    assert json.loads(done.cursor or "{}") == {"in_flight": {}}
    processed = landing_home / "landing" / "_processed" / GROUP
    assert [p.name.split("-", 1)[1] for p in processed.iterdir()] == [good.name]
