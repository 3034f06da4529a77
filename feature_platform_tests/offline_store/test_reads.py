"""`read` pushes column and time filters into the scan and travels back in time."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from feature_platform import FeatureStore, TimeWindow
from feature_platform.errors import InvalidWindowError, UnknownFeatureError
from feature_platform_tests.helpers import DAY_START, NEXT_DAY, user_frame, user_group
from feature_platform_tests.offline_store.legacy_writes import legacy_replace


@pytest.fixture
def three_days(store: FeatureStore) -> FeatureStore:
    store.apply(user_group())
    for day in range(3):
        start = DAY_START + dt.timedelta(days=day)
        store.write_window(
            "user_stats", user_frame(start, offset=10 * day), start, start + dt.timedelta(days=1)
        )
    return store


def test_time_range_reads_only_matching_partitions(three_days: FeatureStore) -> None:
    table = three_days.table("user_stats")
    from feature_platform.offline_store.reads import time_range_filter

    planned = list(
        table.scan(row_filter=time_range_filter("event_time", NEXT_DAY, None)).plan_files()
    )
    assert len(planned) == 2  # the first day's file is pruned by partition
    rows = three_days.read("user_stats", start=NEXT_DAY, end=NEXT_DAY + dt.timedelta(days=1))
    assert sorted(rows.get_column("clicks").to_list()) == [10, 11, 12, 13, 14]


def test_selected_features_only(three_days: FeatureStore) -> None:
    rows = three_days.read("user_stats", features=["ctr"])
    assert rows.columns == ["user_id", "event_time", "created_at", "ctr"]
    with pytest.raises(UnknownFeatureError, match="has no features \\['nope'\\]"):
        three_days.read("user_stats", features=["nope"])


def test_as_of_snapshot_and_timestamp(three_days: FeatureStore) -> None:
    table = three_days.table("user_stats")
    first_snapshot = table.snapshots()[0].snapshot_id
    time.sleep(0.01)
    moment = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    three_days.write_window("user_stats", user_frame(offset=100), DAY_START, NEXT_DAY)

    assert three_days.read("user_stats", as_of=first_snapshot).height == 5
    at_moment = three_days.read("user_stats", as_of=moment)
    assert at_moment.height == 15
    assert at_moment.get_column("clicks").max() == 24
    assert three_days.read("user_stats").get_column("clicks").max() == 104
    before_any = three_days.read("user_stats", as_of=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert before_any.is_empty()
    assert before_any.columns == three_days.read("user_stats").columns


def test_time_travel_never_lands_inside_a_two_snapshot_overwrite(three_days: FeatureStore) -> None:
    """Tables written before window replaces were one snapshot hold a delete and an append
    snapshot per replace; the delete was never visible on its own: as_of skips over it."""
    from feature_platform.offline_store.reads import _whole_commit, resolve_snapshot

    before = three_days.table("user_stats").current_snapshot()
    window = TimeWindow(DAY_START, NEXT_DAY)
    legacy_replace(three_days, "user_stats", user_frame(offset=100), window, "legacy-write")
    table = three_days.table("user_stats")
    delete, append = table.snapshots()[-2:]
    assert delete.summary.operation.value == "delete"
    assert _whole_commit(table, delete).snapshot_id == before.snapshot_id
    assert _whole_commit(table, append).snapshot_id == append.snapshot_id

    # The moment between the two snapshots' timestamps resolves to the state before the write.
    for moment_ms in {delete.timestamp_ms, append.timestamp_ms - 1} - {append.timestamp_ms}:
        moment = dt.datetime.fromtimestamp(moment_ms / 1000, dt.UTC)
        resolved = resolve_snapshot(table, moment)
        assert resolved is not None
        assert resolved.snapshot_id == before.snapshot_id
        assert three_days.read("user_stats", as_of=moment).height == 15
    after = dt.datetime.fromtimestamp(append.timestamp_ms / 1000, dt.UTC)
    assert resolve_snapshot(table, after).snapshot_id == append.snapshot_id


def test_time_travel_to_any_moment_of_a_replace_sees_the_window_whole(
    three_days: FeatureStore,
) -> None:
    """A window replace is one snapshot: every moment reads the old window or the new one."""
    three_days.write_window("user_stats", user_frame(offset=100), DAY_START, NEXT_DAY)
    table = three_days.table("user_stats")
    replace = table.snapshots()[-1]
    assert replace.summary.operation.value == "overwrite"
    for moment_ms in (replace.timestamp_ms - 1, replace.timestamp_ms):
        moment = dt.datetime.fromtimestamp(moment_ms / 1000, dt.UTC)
        day = three_days.read("user_stats", start=DAY_START, end=NEXT_DAY, as_of=moment)
        assert day.height == 5
        assert day.get_column("clicks").min() in {0, 100}


def test_bad_read_arguments(three_days: FeatureStore) -> None:
    with pytest.raises(InvalidWindowError, match="no snapshot 42"):
        three_days.read("user_stats", as_of=42)
    with pytest.raises(InvalidWindowError, match="must be after start"):
        three_days.read("user_stats", start=NEXT_DAY, end=DAY_START)
    with pytest.raises(InvalidWindowError, match="no time zone"):
        three_days.read("user_stats", start=dt.datetime(2026, 11, 10))


def test_empty_table_reads_as_empty_frame_with_schema(store: FeatureStore) -> None:
    store.apply(user_group())
    rows = store.read("user_stats")
    assert rows.is_empty()
    assert rows.columns == [
        "user_id",
        "event_time",
        "created_at",
        "clicks",
        "ctr",
        "segment",
        "is_subscriber",
    ]
