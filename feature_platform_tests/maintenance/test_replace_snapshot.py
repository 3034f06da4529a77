"""Compaction commits a `replace` snapshot (as Iceberg's RewriteFiles), which incremental
readers skip; only a compaction that dropped duplicate rows changed data and is an overwrite."""

from __future__ import annotations

import datetime as dt

import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.maintenance.runner import compact_group
from feature_platform.offline_store.writes import OPERATION_PROPERTY
from feature_platform_tests.helpers import (
    DAY_START,
    NEXT_DAY,
    canonical,
    read_independently,
    user_frame,
    user_group,
)

POLICY = MaintenancePolicy(min_small_files=3)


@pytest.fixture
def fragmented(store: FeatureStore) -> FeatureStore:
    store.apply(user_group())
    for i in range(5):
        store.write("user_stats", user_frame(DAY_START + dt.timedelta(minutes=i), offset=10 * i))
    return store


def test_compaction_is_a_replace_snapshot_with_the_same_totals(fragmented: FeatureStore) -> None:
    before = fragmented.table("user_stats").current_snapshot()
    rows_before = read_independently(fragmented.table("user_stats"))

    compact_group(fragmented, "user_stats", POLICY)

    table = fragmented.table("user_stats")
    snapshot = table.current_snapshot()
    assert snapshot.parent_snapshot_id == before.snapshot_id
    summary = snapshot.summary
    assert summary.operation.value == "replace"
    assert summary[OPERATION_PROPERTY] == "compaction"
    assert (summary["deleted-data-files"], summary["added-data-files"]) == ("5", "1")
    assert summary["deleted-records"] == summary["added-records"] == "25"
    assert summary["total-records"] == before.summary["total-records"] == "25"
    assert summary["total-data-files"] == "1"
    # Readable by a reader that knows the table only by its metadata file, unchanged.
    assert_frame_equal(canonical(read_independently(table)), canonical(rows_before))


def test_writes_after_a_replace_snapshot_keep_correct_totals(fragmented: FeatureStore) -> None:
    compact_group(fragmented, "user_stats", POLICY)
    fragmented.write("user_stats", user_frame(NEXT_DAY, users=2))
    fragmented.write_window("user_stats", user_frame(users=3), DAY_START, NEXT_DAY)

    summary = fragmented.table("user_stats").current_snapshot().summary
    assert summary.operation.value == "overwrite"
    assert summary["total-records"] == "5"
    assert fragmented.read("user_stats").height == 5


def test_compaction_that_dropped_duplicates_is_an_overwrite(store: FeatureStore) -> None:
    store.apply(user_group())
    for _ in range(4):
        store.write("user_stats", user_frame(users=3))  # the same rows four times

    report = compact_group(store, "user_stats", MaintenancePolicy(min_small_files=3, dedupe=True))

    assert report.duplicates_dropped == 9
    summary = store.table("user_stats").current_snapshot().summary
    assert summary.operation.value == "overwrite"  # rows were removed: not a pure rewrite
    assert (summary["deleted-records"], summary["added-records"]) == ("12", "3")
