"""Compaction meeting a concurrent commit between its read and its commit, made to happen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.maintenance import compaction
from feature_platform.maintenance.files import list_table_files, referenced_files
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.maintenance.runner import compact_group
from feature_platform_tests.helpers import (
    DAY_START,
    NEXT_DAY,
    canonical,
    unbuffered_store,
    user_frame,
    user_group,
)

POLICY = MaintenancePolicy(min_small_files=2)


def _batch(i: int) -> pl.DataFrame:
    return user_frame(DAY_START + dt.timedelta(minutes=i), users=7, offset=1000 * i)


@pytest.fixture
def fragmented(store: FeatureStore) -> FeatureStore:
    store.apply(user_group())
    for i in range(5):
        store.write("user_stats", _batch(i))
    return store


def _interleave(monkeypatch: pytest.MonkeyPatch, concurrent: Callable[[], None]) -> None:
    """Run `concurrent` once, right after compaction wrote its files and before it commits."""
    original = compaction._write_files
    calls = {"n": 0}

    def write_then_race(*args: object, **kwargs: object) -> object:
        files = original(*args, **kwargs)  # type: ignore[arg-type]
        calls["n"] += 1
        if calls["n"] == 1:
            concurrent()
        return files

    monkeypatch.setattr(compaction, "_write_files", write_then_race)


def _no_unreferenced_data_files(store: FeatureStore) -> None:
    table = store.table("user_stats")
    stored = {f.uri for f in list_table_files(table) if f.uri.endswith(".parquet")}
    assert stored <= referenced_files(table).data


def test_append_racing_compaction_commits_both(
    fragmented: FeatureStore, monkeypatch: pytest.MonkeyPatch, home: object
) -> None:
    other_writer = unbuffered_store(fragmented.config.home)
    _interleave(monkeypatch, lambda: other_writer.write("user_stats", _batch(50)))

    report = compact_group(fragmented, "user_stats", POLICY)

    assert report.skipped == []
    assert (report.files_before, report.files_after) == (5, 1)  # the append did not conflict
    expected = pl.concat([_batch(i) for i in (0, 1, 2, 3, 4, 50)])
    rows = fragmented.read("user_stats").rename({"created_at": "computed_at"})
    assert canonical(rows).equals(canonical(expected.select(rows.columns)))
    _no_unreferenced_data_files(fragmented)


def test_window_overwrite_racing_compaction_wins_and_nothing_comes_back(
    fragmented: FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_writer = unbuffered_store(fragmented.config.home)
    _interleave(
        monkeypatch,
        lambda: other_writer.write_window("user_stats", _batch(70), DAY_START, NEXT_DAY),
    )

    report = compact_group(fragmented, "user_stats", POLICY)

    assert report.partitions == []  # refused, re-planned: one file left, nothing to compact
    rows = fragmented.read("user_stats").rename({"created_at": "computed_at"})
    assert canonical(rows).equals(canonical(_batch(70).select(rows.columns)))
    _no_unreferenced_data_files(fragmented)  # the refused attempt's files were removed
