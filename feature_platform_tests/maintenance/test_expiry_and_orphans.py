"""Snapshot expiry deletes what only expired snapshots reached; orphan removal stays in its lane."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore, TimeWindow
from feature_platform.maintenance.expiry import expire_snapshots
from feature_platform.maintenance.files import list_table_files, referenced_files
from feature_platform.maintenance.orphans import remove_orphan_files
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.maintenance.runner import maintain_group
from feature_platform_tests.helpers import (
    DAY_START,
    NEXT_DAY,
    canonical,
    read_independently,
    user_frame,
    user_group,
)
from feature_platform_tests.offline_store.legacy_writes import legacy_replace

LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)


def _path(uri: str) -> Path:
    return Path(urlparse(uri).path)


@pytest.fixture
def rewritten(store: FeatureStore) -> FeatureStore:
    """Five writes of one window (one snapshot each): four generations of data files are
    history only."""
    store.apply(user_group())
    for generation in range(5):
        store.write_window("user_stats", user_frame(offset=generation), DAY_START, NEXT_DAY)
    return store


def test_expiry_deletes_files_only_expired_snapshots_reached(rewritten: FeatureStore) -> None:
    table = rewritten.table("user_stats")
    current = read_independently(table)
    all_files_before = {f.uri for f in list_table_files(table)}
    policy = MaintenancePolicy(snapshot_retention=dt.timedelta(days=7), retain_last=3)

    report = expire_snapshots(lambda: rewritten.table("user_stats"), policy, now=LATER)

    table = rewritten.table("user_stats")
    assert report.snapshots_before == 5  # one append, then four overwrites
    assert len(report.snapshots_expired) == 2  # the newest three are kept
    assert len(table.snapshots()) == 3
    parquet_deleted = [u for u in report.files_deleted if u.endswith(".parquet")]
    assert len(parquet_deleted) == 2  # generations 0-1; generation 2 is in a retained snapshot
    assert all(not _path(u).exists() for u in report.files_deleted)
    assert all(u in all_files_before for u in report.files_deleted)
    # Every file a retained snapshot needs still exists, and the table reads the same.
    assert all(_path(u).exists() for u in referenced_files(table).all())
    assert_frame_equal(canonical(read_independently(table)), canonical(current))
    for snapshot in table.snapshots():
        rewritten.read("user_stats", as_of=snapshot.snapshot_id)


def test_recent_snapshots_are_never_expired(rewritten: FeatureStore) -> None:
    policy = MaintenancePolicy(retain_last=1)
    report = expire_snapshots(lambda: rewritten.table("user_stats"), policy)
    assert report.snapshots_expired == []
    assert [u for u in report.files_deleted if u.endswith(".parquet")] == []


def test_retention_cutoff_splits_history_but_never_a_write(store: FeatureStore) -> None:
    """Replaces written before they were single snapshots are (delete, append) pairs: expiry
    keeps or drops both halves of one, so time travel never meets half a write."""
    store.apply(user_group())
    window = TimeWindow(DAY_START, NEXT_DAY)
    for generation in range(6):
        frame = user_frame(offset=generation)
        legacy_replace(store, "user_stats", frame, window, f"legacy-{generation}")
        time.sleep(0.01)  # distinct snapshot timestamps
    table = store.table("user_stats")
    snapshots = sorted(table.snapshots(), key=lambda s: s.timestamp_ms)
    cutoff = snapshots[4]  # the append half of the second replace
    retention = dt.timedelta(days=7)
    now = dt.datetime.fromtimestamp(cutoff.timestamp_ms / 1000, dt.UTC) + retention

    report = expire_snapshots(
        lambda: store.table("user_stats"),
        MaintenancePolicy(snapshot_retention=retention, retain_last=1),
        now=now,
    )

    expired = set(report.snapshots_expired)
    assert expired == {s.snapshot_id for s in snapshots[:3]}  # its delete half (3) stays too
    assert all(s.timestamp_ms < cutoff.timestamp_ms for s in snapshots if s.snapshot_id in expired)
    remaining = store.table("user_stats").snapshots()
    assert len(remaining) == len(snapshots) - 3
    for snapshot in remaining:  # every state a reader saw (after each whole write) is readable
        if snapshot.summary.operation.value == "append":
            assert store.read("user_stats", as_of=snapshot.snapshot_id).height == 5


def test_as_of_before_the_oldest_retained_snapshot_is_an_error(rewritten: FeatureStore) -> None:
    from feature_platform.errors import InvalidWindowError

    first = min(s.timestamp_ms for s in rewritten.table("user_stats").snapshots())
    policy = MaintenancePolicy(retain_last=1)
    expire_snapshots(lambda: rewritten.table("user_stats"), policy, now=LATER)
    with pytest.raises(InvalidWindowError, match="before the oldest retained snapshot"):
        rewritten.read("user_stats", as_of=dt.datetime.fromtimestamp(first / 1000, dt.UTC))


def test_nothing_outside_the_table_folder_is_ever_deleted(rewritten: FeatureStore) -> None:
    from feature_platform.maintenance.files import delete_files

    table = rewritten.table("user_stats")
    sibling = table.location() + "_v2/data/x.parquet"
    with pytest.raises(ValueError, match="outside the table location"):
        delete_files(table, [sibling])


def test_expiry_dry_run_lists_without_deleting(rewritten: FeatureStore) -> None:
    metadata = rewritten.table("user_stats").metadata_location
    report = expire_snapshots(
        lambda: rewritten.table("user_stats"),
        MaintenancePolicy(retain_last=1),
        dry_run=True,
        now=LATER,
    )
    assert len(report.snapshots_expired) == 4  # all but the last write's snapshot
    assert report.files_deleted
    assert all(_path(u).exists() for u in report.files_deleted)
    assert rewritten.table("user_stats").metadata_location == metadata


def _plant(path: Path, age: dt.timedelta) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PAR1 not referenced by anything")
    stamp = time.time() - age.total_seconds()
    os.utime(path, (stamp, stamp))
    return path


def test_orphan_removal_respects_age_and_the_table_folder(store: FeatureStore) -> None:
    store.apply(user_group())
    store.apply(user_group(name="user_stats_v2"))  # a sibling sharing the name prefix
    store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    store.write_window("user_stats_v2", user_frame(), DAY_START, NEXT_DAY)
    location = _path(store.table("user_stats").location())
    sibling = _path(store.table("user_stats_v2").location())
    old_orphan = _plant(location / "data" / "crashed-write.parquet", dt.timedelta(days=4))
    young_orphan = _plant(location / "data" / "in-flight.parquet", dt.timedelta(hours=1))
    sibling_orphan = _plant(sibling / "data" / "other.parquet", dt.timedelta(days=9))
    outside = _plant(location.parent / "user_stats.parquet", dt.timedelta(days=9))
    before = read_independently(store.table("user_stats"))

    dry = remove_orphan_files(lambda: store.table("user_stats"), MaintenancePolicy(), dry_run=True)
    assert [_path(u) for u in dry.files_deleted] == [old_orphan]
    assert old_orphan.exists()

    report = remove_orphan_files(lambda: store.table("user_stats"), MaintenancePolicy())
    assert [_path(u) for u in report.files_deleted] == [old_orphan]
    assert report.too_young == 1
    assert not old_orphan.exists()
    assert young_orphan.exists()
    assert sibling_orphan.exists()
    assert outside.exists()
    assert_frame_equal(canonical(read_independently(store.table("user_stats"))), canonical(before))


def test_full_maintenance_after_micro_batches(store: FeatureStore) -> None:
    store.apply(user_group())
    for i in range(10):
        store.write("user_stats", user_frame(DAY_START + dt.timedelta(minutes=i), offset=10 * i))
    before = read_independently(store.table("user_stats"))
    policy = MaintenancePolicy(min_small_files=3, retain_last=1, orphan_min_age=dt.timedelta(0))

    report = maintain_group(store, "user_stats", policy, now=LATER)

    table = store.table("user_stats")
    assert report.compaction.files_after == 1
    assert len(table.snapshots()) == 1
    assert len(report.expiry.files_deleted) >= 10 + 10  # old data files and their manifests
    stored = {f.uri for f in list_table_files(table)}
    assert stored == referenced_files(table).all()  # nothing unreferenced is left behind
    assert_frame_equal(canonical(read_independently(table)), canonical(before))
