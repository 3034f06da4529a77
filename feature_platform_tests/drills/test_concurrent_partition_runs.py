"""Drills: many partition runs of one group at once, and two runs racing on one partition.

Writers run in spawned processes, each with its own store and catalog connection, as Dagster's
run launchers would start them, and all write at one common instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform_tests.drills import workers
from feature_platform_tests.drills.integrity import assert_every_snapshot_whole, content
from feature_platform_tests.drills.pool import Pool
from feature_platform_tests.helpers import (
    assert_no_empty_files,
    canonical,
    unbuffered_store,
    user_group,
)

pytestmark = [pytest.mark.drill, pytest.mark.integration]

PARTITIONS = 16  # days DAY_START - 9 ... DAY_START + 6, all within the group and the past
# Each process runs PARTITIONS / PROCESSES partition writers as threads, each with its own store
# and catalog connection: 16 concurrent commits, at the start-up cost of 4 processes (a spawned
# process spends seconds importing the stack; 16 of them cost minutes on a busy 2-core machine).
PROCESSES = 4
ROWS = 300
DAYS = list(range(-9, PARTITIONS - 9))


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The columns that tell rows and writes apart, in a canonical order."""
    return canonical(frame.select("user_id", "event_time", "clicks"))


def test_sixteen_partitions_written_at_once_from_four_processes_all_land_exactly_once(
    store: FeatureStore, home: Path, pool: Pool
) -> None:
    store.apply(user_group())
    per_process = PARTITIONS // PROCESSES
    jobs = [(str(home), DAYS[i::PROCESSES], ROWS) for i in range(PROCESSES)]
    assert sorted(d for job in jobs for d in job[1]) == DAYS
    assert all(len(job[1]) == per_process for job in jobs)

    written = pool.run_together(workers.write_windows_at, jobs)

    assert [n for rows in written for n in rows] == [ROWS] * PARTITIONS
    table = store.table(workers.GROUP)
    rows = content(table)  # the same through the catalog and from the metadata file alone
    assert rows.height == ROWS * PARTITIONS
    expected = pl.concat([workers.window_frame(day, ROWS, 1_000 * day) for day in DAYS])
    assert _rows(rows).equals(_rows(expected))  # every window's rows, each exactly once
    assert_every_snapshot_whole(table)
    assert_no_empty_files(table)
    # One commit per partition, each adding its whole window: never a window in pieces.
    added = [int(s.summary["added-records"]) for s in table.snapshots() if s.summary]
    assert added == [ROWS] * PARTITIONS


RACE = {  # (users, offset) of each write; distinct sizes: a doubled or mixed window shows
    "a1": (300, 100_000),
    "b1": (500, 200_000),
    "a2": (400, 300_000),
    "b2": (200, 400_000),
}


@dataclass(frozen=True)
class Race:
    store: FeatureStore
    first_phase_end: int  # the snapshot the two writes into the empty window ended on


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory, pool: Pool) -> Race:
    """Two processes write day 0 at once into the empty window, then both overwrite it at once."""
    folder = tmp_path_factory.mktemp("race")
    home = str(folder / "home")
    store = unbuffered_store(home)
    store.apply(user_group())
    barriers = str(folder / "barriers")
    jobs = [
        (home, RACE["a1"], RACE["a2"], barriers),
        (home, RACE["b1"], RACE["b2"], barriers),
    ]
    snapshot_ids = pool.run_together(workers.write_twice_at, jobs)
    order = [s.snapshot_id for s in store.table(workers.GROUP).snapshots()]
    return Race(store, max((ids[0] for ids in snapshot_ids), key=order.index))


def _window_at(store: FeatureStore, snapshot_id: int | None) -> str:
    """Which one write's rows the window holds at a snapshot ("" when it is empty)."""
    rows = _rows(store.read(workers.GROUP, as_of=snapshot_id))
    if rows.is_empty():
        return ""
    for name, frame in RACE.items():
        if rows.equals(_rows(workers.window_frame(0, *frame))):
            return name
    raise AssertionError(f"snapshot {snapshot_id}: {rows.height} rows, none of {list(RACE)}")


def test_two_processes_racing_on_one_partition_end_with_exactly_one_copy(race: Race) -> None:
    assert _window_at(race.store, race.first_phase_end) in ("a1", "b1")
    assert _window_at(race.store, None) in ("a2", "b2")
    table = race.store.table(workers.GROUP)
    # The final state reads back the same from the metadata file alone.
    final = _rows(content(table))
    assert any(final.equals(_rows(workers.window_frame(0, *RACE[w]))) for w in ("a2", "b2"))
    assert_every_snapshot_whole(table)
    assert_no_empty_files(table)


def test_no_reader_ever_sees_a_raced_window_twice(race: Race) -> None:
    table = race.store.table(workers.GROUP)
    ever_current = [entry.snapshot_id for entry in table.metadata.snapshot_log]
    seen = {snapshot_id: _window_at(race.store, snapshot_id) for snapshot_id in ever_current}
    # A replace is one snapshot, so no snapshot that was ever current shows the window empty
    # (which another engine time-travelling to it would read); each shows exactly one write's
    # rows, which `_window_at` already checks.
    assert set(seen.values()) <= set(RACE)
