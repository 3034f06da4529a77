"""Pushed rows reach the offline table in micro-batches, by rows or seconds, and are never lost."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.exc import OperationalError

from feature_platform import Feature, FeatureStore, StoreConfig
from feature_platform.errors import StoreClosedError
from feature_platform.offline_store import writes
from feature_platform.streaming.buffer import OfflineBuffer
from feature_platform_tests.helpers import (
    DAY_START,
    NEXT_DAY,
    read_independently,
    user_frame,
    user_group,
)


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


class FlakyCommit:
    """A commit that fails its first `failures` calls (nothing committed) and records the rest."""

    def __init__(self, failures: int = 1) -> None:
        self.failures = failures
        self.calls: list[tuple[int, str]] = []
        self.committed: dict[str, int] = {}

    def __call__(self, group: str, rows: pl.DataFrame, write_id: str) -> object:
        self.calls.append((rows.height, write_id))
        if len(self.calls) <= self.failures:
            raise RuntimeError("catalog unreachable")
        self.committed.setdefault(write_id, rows.height)  # an idempotent commit, by write id
        return rows.height


def test_a_failed_commit_is_not_raised_by_the_push_and_is_retried_under_its_write_id() -> None:
    commit = FlakyCommit()
    buffer = OfflineBuffer(commit, max_rows=2, max_seconds=3600)  # type: ignore[arg-type]
    assert buffer.add("g", pl.DataFrame({"x": [1, 2]})) == []  # accepted; the commit failed
    assert buffer.pending_rows("g") == 2
    assert str(buffer.failure("g")) == "catalog unreachable"
    # Rows pushed after the failed attempt form a new batch: the attempt may have landed, and
    # its retry must commit exactly its own rows again, under its own write id.
    assert buffer.add("g", pl.DataFrame({"x": [3]})) == [2, 1]  # due again: both batches
    (first, first_id), (retry, retry_id), (second, second_id) = commit.calls
    assert (first, retry, second) == (2, 2, 1)
    assert first_id == retry_id != second_id
    assert buffer.pending_rows() == 0
    assert buffer.failure("g") is None


def test_flush_raises_what_still_fails_and_keeps_the_rows() -> None:
    buffer = OfflineBuffer(FlakyCommit(failures=2), max_rows=100, max_seconds=3600)  # type: ignore[arg-type]
    buffer.add("g", pl.DataFrame({"x": [1]}))
    with pytest.raises(RuntimeError, match="catalog unreachable"):
        buffer.flush()
    with pytest.raises(RuntimeError, match="catalog unreachable"):
        buffer.close()
    assert buffer.pending_rows("g") == 1
    assert buffer.flush() == [1]


def _catalog_down(monkeypatch: pytest.MonkeyPatch, store: FeatureStore) -> None:
    """Every commit fails with an error whose outcome is unknown; retries do not wait."""

    def unreachable(*args: object, **kwargs: object) -> None:
        raise OperationalError("COMMIT", {}, Exception("could not connect to the catalog"))

    monkeypatch.setattr(type(store.catalog), "commit_table", unreachable)
    monkeypatch.setattr(writes.time, "sleep", lambda seconds: None)


def test_a_push_is_accepted_while_the_catalog_is_down_and_lands_once_it_is_back(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _buffered(home, rows=5)
    _catalog_down(monkeypatch, store)
    first = store.write("user_stats", user_frame(users=5))  # due: its commit fails
    second = store.write("user_stats", user_frame(NEXT_DAY, users=4))
    assert first.offline_commits == second.offline_commits == ()
    assert "could not connect" in (first.offline_error or "")
    assert second.offline_pending_rows == 9  # nothing dropped, nothing to send again
    monkeypatch.undo()

    [retried, later] = store.flush()
    assert (retried.rows_written, later.rows_written) == (5, 4)
    assert read_independently(store.table("user_stats")).height == 9
    assert store.write("user_stats", user_frame(NEXT_DAY, users=1, offset=9)).offline_error is None


def test_a_commit_that_landed_but_whose_every_answer_was_lost_is_committed_once(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _buffered(home, rows=1_000)
    store.write("user_stats", user_frame(users=5))
    commit_table = type(store.catalog).commit_table
    calls: list[int] = []

    def lost_on_the_last_attempt(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) < writes.OUTER_ATTEMPTS:  # nothing applied
            raise OperationalError("COMMIT", {}, Exception("could not connect"))
        commit_table(*args, **kwargs)  # applied, and its answer lost
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(type(store.catalog), "commit_table", lost_on_the_last_attempt)
    monkeypatch.setattr(writes.time, "sleep", lambda seconds: None)
    [result] = store.flush()
    monkeypatch.undo()

    assert result.committed
    assert result.rows_written == 5
    assert len(calls) == writes.OUTER_ATTEMPTS
    store.close()
    assert read_independently(store.table("user_stats")).height == 5


def test_pushes_before_and_after_a_feature_was_added_elsewhere_commit_together(
    home: Path,
) -> None:
    pusher = _buffered(home, rows=1_000)
    pusher.write("user_stats", user_frame(users=3))  # buffered under the old spec
    with_score = user_group(features=[*user_group().features, Feature("score", "float64")])
    FeatureStore(home).apply(with_score)  # another process adds a feature
    pusher.write("user_stats", user_frame(NEXT_DAY, users=2).with_columns(score=pl.lit(0.5)))

    pusher.flush()

    rows = read_independently(pusher.table("user_stats")).sort("event_time", "user_id")
    assert rows["score"].to_list() == [None, None, None, 0.5, 0.5]


def test_a_window_write_replaces_pushes_still_in_the_buffer_too(home: Path) -> None:
    store = _buffered(home, rows=1_000)
    store.write("user_stats", user_frame(users=5))  # buffered
    result = store.write_window("user_stats", user_frame(users=5, offset=100), DAY_START, NEXT_DAY)
    assert result.rows_replaced == 5  # the pushed rows were committed first, then replaced
    day = read_independently(store.table("user_stats"))
    assert day.height == 5
    assert store._buffer.pending_rows() == 0


def test_a_closed_store_refuses_writes_instead_of_dropping_them(home: Path) -> None:
    store = _buffered(home, rows=1_000)
    store.write("user_stats", user_frame(users=2))
    store.close()
    with pytest.raises(StoreClosedError, match="open a new FeatureStore"):
        store.write("user_stats", user_frame(NEXT_DAY, users=3))
    assert read_independently(store.table("user_stats")).height == 2


def test_bad_rows_are_refused_at_push_time_not_at_commit_time(home: Path) -> None:
    store = _buffered(home, rows=1_000)
    with pytest.raises(Exception, match="user_id"):
        store.write("user_stats", user_frame().with_columns(user_id=None))
    assert store._buffer.pending_rows() == 0
