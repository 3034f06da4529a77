"""Concurrent writers in separate processes: every window lands exactly once."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform_tests.helpers import (
    DAY_START,
    assert_no_empty_files,
    unbuffered_store,
    user_frame,
    user_group,
)
from feature_platform_tests.processes import run_together

pytestmark = pytest.mark.integration

WRITERS = 8


def _write_day(home: str, day: int, offset: int, start_at: float) -> int:
    """Runs in a child process: wait for the common start, then replace one day."""
    store = unbuffered_store(home)
    frame = user_frame(DAY_START + dt.timedelta(days=day), users=50, offset=offset)
    time.sleep(max(0.0, start_at - time.time()))
    start = DAY_START + dt.timedelta(days=day)
    return store.write_window("user_stats", frame, start, start + dt.timedelta(days=1)).rows_written


def _run_concurrently(home: Path, jobs: list[tuple[int, int]]) -> list[int]:
    return run_together(
        _write_day,
        [(str(home), day, offset) for day, offset in jobs],
        ["feature_platform", __name__],
    )


def test_eight_partitions_written_concurrently_all_land_exactly_once(
    store: FeatureStore, home: Path
) -> None:
    store.apply(user_group())
    written = _run_concurrently(home, [(day, 1000 * day) for day in range(WRITERS)])

    assert written == [50] * WRITERS
    rows = store.read("user_stats")
    assert rows.height == 50 * WRITERS
    per_day = rows.group_by(pl.col("event_time").dt.date()).agg(pl.len(), pl.col("clicks").min())
    assert sorted(per_day.rows()) == [
        (DAY_START.date() + dt.timedelta(days=d), 50, 1000 * d) for d in range(WRITERS)
    ]
    assert rows.select("user_id", "event_time").is_duplicated().sum() == 0
    assert_no_empty_files(store.table("user_stats"))


@pytest.mark.parametrize("window_had_rows", [True, False], ids=["overwrite", "first-write"])
def test_runs_writing_the_same_partition_at_once_leave_exactly_one_copy(
    store: FeatureStore, home: Path, window_had_rows: bool
) -> None:
    store.apply(user_group())
    if window_had_rows:
        store.write_window(
            "user_stats",
            user_frame(users=50, offset=7),
            DAY_START,
            DAY_START + dt.timedelta(days=1),
        )
    _run_concurrently(home, [(0, 100), (0, 200), (0, 300), (0, 400)])

    rows = store.read("user_stats")
    assert rows.height == 50
    assert rows.get_column("clicks").min() in {100, 200, 300, 400}
    assert rows.get_column("clicks").min() + 49 == rows.get_column("clicks").max()
