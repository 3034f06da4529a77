"""Pushed rows reach the offline table in micro-batches, by rows or seconds, and are never lost."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from feature_platform import FeatureStore, StoreConfig
from feature_platform.streaming.buffer import OfflineBuffer
from feature_platform_tests.helpers import read_independently, user_frame, user_group


def _buffered(home: Path, rows: int = 10, seconds: float = 3600.0) -> FeatureStore:
    config = StoreConfig.embedded(home, offline_buffer_rows=rows, offline_buffer_seconds=seconds)
    store = FeatureStore(config=config)
    store.apply(user_group())
    return store


def _snapshots(store: FeatureStore) -> int:
    return len(store.catalog.load_table(("feature_platform", "user_stats")).snapshots())


def test_small_pushes_are_committed_together_once_enough_rows_wait(home: Path) -> None:
    store = _buffered(home, rows=10)
    results = [store.write("user_stats", user_frame(users=3, offset=i)) for i in range(3)]
    assert [r.offline_commits for r in results] == [(), (), ()]
    assert [r.offline_pending_rows for r in results] == [3, 6, 9]
    assert _snapshots(store) == 0  # nothing committed yet

    fourth = store.write("user_stats", user_frame(users=3, offset=3))
    assert len(fourth.offline_commits) == 1
    assert fourth.offline_commits[0].rows_written == 12
    assert fourth.offline_pending_rows == 0
    assert _snapshots(store) == 1  # four pushes, one commit
    assert read_independently(store.table("user_stats")).height == 12


def test_the_time_limit_commits_without_further_pushes(home: Path) -> None:
    store = _buffered(home, rows=1_000, seconds=0.2)
    store.write("user_stats", user_frame(users=2))
    deadline = time.monotonic() + 10
    while _snapshots(store) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _snapshots(store) == 1
    assert store._buffer.pending_rows() == 0


def test_reads_through_the_same_store_see_its_pushes(home: Path) -> None:
    store = _buffered(home, rows=1_000)
    store.write("user_stats", user_frame(users=4))
    assert store.read("user_stats").height == 4  # flushed for the read


def test_close_and_a_clean_exit_commit_what_is_buffered(home: Path, tmp_path: Path) -> None:
    store = _buffered(home, rows=1_000)
    store.write("user_stats", user_frame(users=2))
    store.close()
    assert _snapshots(store) == 1

    script = tmp_path / "push.py"
    script.write_text(
        "import sys\n"
        "from feature_platform import FeatureStore, StoreConfig\n"
        "from feature_platform_tests.helpers import NEXT_DAY, user_frame\n"
        "config = StoreConfig.embedded(sys.argv[1], offline_buffer_rows=1000,"
        " offline_buffer_seconds=3600)\n"
        "FeatureStore(config=config).write('user_stats', user_frame(NEXT_DAY, users=3))\n"
    )
    subprocess.run([sys.executable, str(script), str(home)], check=True, cwd=Path.cwd())
    assert read_independently(FeatureStore(home).table("user_stats")).height == 5


def test_a_failed_commit_keeps_the_rows_for_the_next_flush() -> None:
    attempts: list[int] = []

    def commit(group: str, rows: pl.DataFrame) -> object:
        attempts.append(rows.height)
        if len(attempts) == 1:
            raise RuntimeError("catalog unreachable")
        return rows.height

    buffer = OfflineBuffer(commit, max_rows=2, max_seconds=3600)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="catalog unreachable"):
        buffer.add("g", pl.DataFrame({"x": [1, 2]}))
    assert buffer.pending_rows("g") == 2
    assert buffer.flush() == [2]
    assert attempts == [2, 2]
    assert buffer.pending_rows() == 0


def test_bad_rows_are_refused_at_push_time_not_at_commit_time(home: Path) -> None:
    store = _buffered(home, rows=1_000)
    with pytest.raises(Exception, match="user_id"):
        store.write("user_stats", user_frame().with_columns(user_id=None))
    assert store._buffer.pending_rows() == 0
