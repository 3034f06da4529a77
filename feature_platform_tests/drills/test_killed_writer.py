"""Drill: `kill -9` of a writer process in the middle of a window write.

Afterwards the table must be readable (through the catalog and from its metadata file alone),
hold exactly the state before or after one complete write (never a partial or doubled window),
reference no missing file, and a rerun of the write must give the content of one clean write.
Files the killed writer left behind are orphans, which orphan removal deletes.
"""

from __future__ import annotations

import datetime as dt
import random
import signal
import time
from pathlib import Path

import polars as pl
import pytest

from feature_platform import FeatureStore, StoreConfig
from feature_platform.maintenance.orphans import remove_orphan_files
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform_tests.conftest import MOTO_CREDENTIALS
from feature_platform_tests.drills import workers
from feature_platform_tests.drills.integrity import (
    assert_every_snapshot_whole,
    content,
    orphans,
    which_state,
)
from feature_platform_tests.drills.pool import Pool
from feature_platform_tests.helpers import user_group

pytestmark = [pytest.mark.drill, pytest.mark.integration]

USERS = 20_000  # large enough that a write spends real time writing files before it commits
BEFORE = (USERS // 2, 0)  # (users, offset) of day 0 before the drill
FIRST = (USERS, 1_000_000)  # what the killed writer writes (and the rerun writes again)
SECOND = (USERS - 1_000, 2_000_000)  # what the looping writer alternates with
NEIGHBOUR = (500, 5_000_000)  # day 1: must come through every drill untouched
REMOVE_ORPHANS_NOW = MaintenancePolicy(orphan_min_age=dt.timedelta(0))
KILL_SEED = 2  # the delay of the kill into the loop of writes: fixed, so reruns are alike


def _states(
    tmp_path: Path, *names_and_states: tuple[str, tuple[int, int]]
) -> dict[str, pl.DataFrame]:
    """Each named state of the table (day 0 as given, day 1 as NEIGHBOUR), as rows read back
    from a clean table that got exactly one write per day: the reference the drill compares to."""
    reference = FeatureStore(
        config=StoreConfig.embedded(tmp_path / "reference", offline_buffer_rows=0)
    )
    reference.apply(user_group(name="reference"))
    states = {}
    for name, state in names_and_states:
        for day, (users, offset) in ((0, state), (1, NEIGHBOUR)):
            start = workers.DAY_START + day * workers.DAY
            frame = workers.window_frame(day, users, offset)
            reference.write_window("reference", frame, start, start + workers.DAY)
        states[name] = content(reference.table("reference"))
    return states


def _prepared_store(config: StoreConfig) -> FeatureStore:
    store = FeatureStore(config=config)
    store.apply(user_group())
    workers.write_window(store, 0, *BEFORE)
    workers.write_window(store, 1, *NEIGHBOUR)
    return store


def _rerun_is_idempotent(store: FeatureStore, clean: pl.DataFrame) -> None:
    """The run is retried: twice, to be sure, and each time the table is one clean write."""
    for _ in range(2):
        result = workers.write_window(store, 0, *FIRST)
        assert result.committed
        table = store.table(workers.GROUP)
        assert content(table).equals(clean)
        assert_every_snapshot_whole(table)


def _remove_orphans(store: FeatureStore, clean: pl.DataFrame) -> None:
    report = remove_orphan_files(lambda: store.table(workers.GROUP), REMOVE_ORPHANS_NOW)
    table = store.table(workers.GROUP)
    assert orphans(table) == set()
    assert report.files_after <= report.files_before
    assert content(table).equals(clean)


@pytest.mark.parametrize("kill_point", ["before_commit", "after_commit"])
def test_a_writer_killed_inside_its_commit_leaves_one_whole_state(
    tmp_path: Path, pool: Pool, kill_point: str
) -> None:
    config = StoreConfig.embedded(tmp_path / "home", offline_buffer_rows=0)
    store = _prepared_store(config)
    [child] = pool.take()
    child.start(workers.write_then_die, config, *FIRST, kill_point)
    states = _states(tmp_path, ("before", BEFORE), ("after", FIRST))  # while the child writes
    assert child.exitcode() == -signal.SIGKILL

    table = store.table(workers.GROUP)
    expected = "before" if kill_point == "before_commit" else "after"
    assert which_state(table, states) == expected
    left = orphans(table)  # also: no snapshot references a missing file
    if kill_point == "before_commit":
        # It really died mid-write: its data file and manifests exist, nothing references them.
        assert any(path.endswith(".parquet") for path in left), left
    else:
        assert not any(path.endswith(".parquet") for path in left), left

    _rerun_is_idempotent(store, states["after"])
    _remove_orphans(store, states["after"])


def test_a_writer_killed_at_any_point_of_back_to_back_writes_on_s3_leaves_one_whole_state(
    tmp_path: Path, moto_endpoint: str, s3_bucket: str, pool: Pool
) -> None:
    """The commit kills above use the local warehouse; this one kills a writer at an arbitrary
    point (a fixed, seeded delay into a loop of writes) with the table on S3 (moto)."""
    config = StoreConfig.embedded(
        tmp_path / "home",
        offline_buffer_rows=0,
        warehouse=f"s3://{s3_bucket}/features",
        catalog_properties={
            "s3.endpoint": moto_endpoint,
            "s3.region": "us-east-1",
            "s3.access-key-id": MOTO_CREDENTIALS["aws_access_key_id"],
            "s3.secret-access-key": MOTO_CREDENTIALS["aws_secret_access_key"],
        },
    )
    store = _prepared_store(config)
    started = tmp_path / "started"
    [child] = pool.take()
    try:
        child.start(workers.write_in_a_loop, config, [FIRST, SECOND], str(started))
        states = _states(tmp_path, ("first", FIRST), ("second", SECOND))  # while it writes
        deadline = time.monotonic() + 120
        while not started.exists():
            assert time.monotonic() < deadline, "the looping writer never committed a write"
            time.sleep(0.01)
        time.sleep(random.Random(KILL_SEED).uniform(0.0, 1.5))  # some point of some write
    finally:
        child.kill()
    assert child.exitcode() == -signal.SIGKILL

    table = store.table(workers.GROUP)
    assert which_state(table, states) in ("first", "second")
    orphans(table)  # no snapshot references a missing file
    _rerun_is_idempotent(store, states["first"])
    _remove_orphans(store, states["first"])
