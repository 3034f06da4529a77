"""Compaction rewrites many small files into few without changing a single row."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore
from feature_platform.maintenance.compaction import content_checksum, plan_compaction
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.maintenance.runner import compact_group
from feature_platform_tests.helpers import (
    DAY_START,
    NEXT_DAY,
    assert_no_empty_files,
    canonical,
    data_files,
    read_independently,
    user_frame,
    user_group,
)

POLICY = MaintenancePolicy(min_small_files=3)


def _micro_batches(store: FeatureStore, batches: int, day: dt.datetime = DAY_START) -> None:
    for i in range(batches):
        frame = user_frame(day + dt.timedelta(minutes=i), users=7, offset=100 * i)
        store.write("user_stats", frame)


@pytest.fixture
def fragmented(store: FeatureStore) -> FeatureStore:
    store.apply(user_group())
    _micro_batches(store, 12, DAY_START)
    _micro_batches(store, 2, NEXT_DAY)  # few files: below the threshold, left alone
    return store


def test_plan_picks_partitions_with_too_many_small_files(fragmented: FeatureStore) -> None:
    plans = plan_compaction(fragmented.table("user_stats"), POLICY)
    assert [(p.partition, len(p.files), p.rows) for p in plans] == [
        ("event_time_day=2026-11-10", 12, 84)
    ]


def test_compaction_rewrites_files_and_keeps_every_row(fragmented: FeatureStore) -> None:
    before = read_independently(fragmented.table("user_stats"))
    snapshot_before = fragmented.table("user_stats").current_snapshot().snapshot_id

    report = compact_group(fragmented, "user_stats", POLICY)

    table = fragmented.table("user_stats")
    after = read_independently(table)
    assert report.partitions == ["event_time_day=2026-11-10"]
    assert (report.files_before, report.files_after) == (12, 1)
    assert report.rows_rewritten == 84
    assert report.bytes_after < report.bytes_before
    assert content_checksum(after) == content_checksum(before)
    assert_frame_equal(canonical(after), canonical(before))
    assert len(data_files(table)) == 1 + 2  # the other day's two files are untouched
    assert_no_empty_files(table)
    # Rows within the new file are sorted by keys and event time.
    day = fragmented.read("user_stats", start=DAY_START, end=NEXT_DAY)
    assert day.equals(day.sort("user_id", "event_time", "created_at"))
    # Time travel to the snapshot before compaction still works and is unchanged.
    old = fragmented.read("user_stats", as_of=snapshot_before)
    assert_frame_equal(canonical(old), canonical(fragmented.read("user_stats")))


def test_dry_run_changes_nothing(fragmented: FeatureStore) -> None:
    metadata = fragmented.table("user_stats").metadata_location
    report = compact_group(fragmented, "user_stats", POLICY, dry_run=True)
    assert report.dry_run
    assert report.partitions == ["event_time_day=2026-11-10"]
    assert (report.files_before, report.files_after) == (12, 1)
    assert fragmented.table("user_stats").metadata_location == metadata


def test_second_run_has_nothing_to_do(fragmented: FeatureStore) -> None:
    compact_group(fragmented, "user_stats", POLICY)
    again = compact_group(fragmented, "user_stats", POLICY)
    assert again.partitions == []
    assert again.files_before == 0


def test_dedupe_drops_only_exact_duplicates(store: FeatureStore) -> None:
    store.apply(user_group())
    for _ in range(4):
        store.write("user_stats", user_frame(users=3))  # the same rows four times
    store.write("user_stats", user_frame(users=3, offset=1))  # same keys and times, new values
    report = compact_group(store, "user_stats", MaintenancePolicy(min_small_files=3, dedupe=True))
    rows = store.read("user_stats")
    assert report.duplicates_dropped == 9
    assert rows.height == 6
    assert sorted(rows.get_column("clicks").to_list()) == [0, 1, 1, 2, 2, 3]


def test_compaction_keeps_columns_added_after_old_files(store: FeatureStore) -> None:
    from feature_platform import Feature

    store.apply(user_group())
    _micro_batches(store, 3)
    store.apply(user_group(features=[*user_group().features, Feature("dwell", "float64")]))
    for i in range(3):
        frame = user_frame(DAY_START + dt.timedelta(hours=1, minutes=i), users=7)
        store.write("user_stats", frame.with_columns(dwell=pl.lit(2.5)))
    before = read_independently(store.table("user_stats"))
    compact_group(store, "user_stats", POLICY)
    after = read_independently(store.table("user_stats"))
    assert_frame_equal(canonical(after), canonical(before))
    assert after.get_column("dwell").null_count() == 21
