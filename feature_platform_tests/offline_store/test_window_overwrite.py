"""A window replace is one snapshot, copy-on-write for straddling files, validated like
Iceberg's OverwriteFiles: races are made to happen by committing between a writer's load of the
table and its commit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import polars as pl
import pyarrow as pa
import pytest
from pyiceberg.exceptions import ValidationException
from pyiceberg.table import Table

from feature_platform import FeatureStore, TimeWindow
from feature_platform.maintenance.files import list_table_files, referenced_files
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.maintenance.runner import compact_group
from feature_platform.offline_store.validation import prepare_frame
from feature_platform.offline_store.window_overwrite import overwrite_window
from feature_platform.offline_store.writes import (
    WRITE_ID_PROPERTY,
    replace_window,
    snapshots_of_write,
    window_filter,
)
from feature_platform_tests.helpers import (
    DAY_START,
    NEXT_DAY,
    assert_no_empty_files,
    data_files,
    user_frame,
    user_group,
)

NOON = DAY_START + dt.timedelta(hours=12)
ONE = DAY_START + dt.timedelta(hours=13)
DAY_2 = NEXT_DAY
DAY_3 = NEXT_DAY + dt.timedelta(days=1)


@pytest.fixture
def day(store: FeatureStore) -> FeatureStore:
    """One daily-partitioned day of 24 rows, one per hour, in one file."""
    store.apply(user_group())
    store.write_window("user_stats", user_frame(users=24), DAY_START, NEXT_DAY)
    return store


def _arrow(store: FeatureStore, frame: pl.DataFrame, window: TimeWindow) -> pa.Table:
    rows = prepare_frame(store.get_feature_group("user_stats"), frame, window=window)
    return store._arrow_for(store.table("user_stats"), rows)


def _clicks(store: FeatureStore) -> list[int]:
    return sorted(store.read("user_stats").get_column("clicks").to_list())


def _no_unreferenced_data_files(store: FeatureStore) -> None:
    table = store.table("user_stats")
    stored = {f.uri for f in list_table_files(table) if f.uri.endswith(".parquet")}
    assert stored <= referenced_files(table).data


def test_straddling_file_is_rewritten_in_the_same_snapshot(day: FeatureStore) -> None:
    before = len(day.table("user_stats").snapshots())
    new_rows = user_frame(NOON, users=1, offset=500)
    result = day.write_window("user_stats", new_rows, NOON, ONE)

    table = day.table("user_stats")
    assert len(table.snapshots()) == before + 1
    snapshot = table.snapshots()[-1]
    assert snapshot.summary.operation.value == "overwrite"
    assert result.snapshot_id == snapshot.snapshot_id
    # The day's file held the window's row and 23 others: 24 deleted, 23 + 1 added, 1 replaced.
    assert (result.rows_replaced, result.rows_written) == (1, 1)
    assert (result.files_removed, result.files_added) == (1, 1)
    assert _clicks(day) == sorted([*range(12), 500, *range(13, 24)])
    assert_no_empty_files(table)


def test_emptying_part_of_a_file_keeps_its_other_rows_in_one_snapshot(day: FeatureStore) -> None:
    result = day.write_window("user_stats", user_frame().head(0), NOON, NEXT_DAY)

    snapshot = day.table("user_stats").snapshots()[-1]
    assert snapshot.summary.operation.value == "overwrite"
    assert (result.rows_replaced, result.files_removed, result.files_added) == (12, 1, 1)
    assert _clicks(day) == list(range(12))


def test_emptying_whole_files_is_one_delete_snapshot(day: FeatureStore) -> None:
    result = day.write_window("user_stats", user_frame().head(0), DAY_START, NEXT_DAY)

    snapshot = day.table("user_stats").snapshots()[-1]
    assert snapshot.summary.operation.value == "delete"
    assert (result.rows_replaced, result.files_removed, result.files_added) == (24, 1, 0)
    assert data_files(day.table("user_stats")) == []


def test_file_overlapping_the_window_without_rows_in_it_is_left_alone(
    store: FeatureStore,
) -> None:
    """Its statistics span the window (rows at 11:00 and 14:00), but none of its rows is in it."""
    store.apply(user_group())
    around = user_frame(users=2).with_columns(
        event_time=pl.Series([NOON - dt.timedelta(hours=1), ONE + dt.timedelta(hours=1)])
    )
    store.write_window("user_stats", around, DAY_START, NEXT_DAY)
    file_before = data_files(store.table("user_stats"))[0]["file_path"]

    nothing = store.write_window("user_stats", user_frame().head(0), NOON, ONE)
    assert not nothing.committed
    result = store.write_window("user_stats", user_frame(NOON, users=1, offset=7), NOON, ONE)

    assert store.table("user_stats").snapshots()[-1].summary.operation.value == "append"
    assert (result.rows_replaced, result.files_removed, result.files_added) == (0, 0, 1)
    assert file_before in {f["file_path"] for f in data_files(store.table("user_stats"))}
    assert _clicks(store) == [0, 1, 7]


def _tag() -> dict[str, str]:
    return {WRITE_ID_PROPERTY: uuid.uuid4().hex}


def test_concurrent_replace_of_the_same_window_is_refused(day: FeatureStore) -> None:
    stale = day.table("user_stats")
    window = TimeWindow(DAY_START, NEXT_DAY)
    day.write_window("user_stats", user_frame(users=24, offset=100), DAY_START, NEXT_DAY)
    data = _arrow(day, user_frame(users=24, offset=200), window)

    with pytest.raises(ValidationException):
        overwrite_window(
            stale, data, window_filter("event_time", window), _tag(), WRITE_ID_PROPERTY
        )

    assert _clicks(day) == list(range(100, 124))
    _no_unreferenced_data_files(day)  # the refused attempt's file was removed


def test_concurrent_append_into_the_window_is_refused(day: FeatureStore) -> None:
    stale = day.table("user_stats")
    window = TimeWindow(NOON, ONE)
    day.write("user_stats", user_frame(NOON, users=1, offset=300))
    data = _arrow(day, user_frame(NOON, users=1, offset=500), window)

    with pytest.raises(ValidationException):
        overwrite_window(
            stale, data, window_filter("event_time", window), _tag(), WRITE_ID_PROPERTY
        )


def test_concurrent_compaction_of_the_window_is_refused(store: FeatureStore) -> None:
    store.apply(user_group())
    for minute in range(4):
        store.write("user_stats", user_frame(DAY_START + dt.timedelta(minutes=minute), users=3))
    stale = store.table("user_stats")
    report = compact_group(store, "user_stats", MaintenancePolicy(min_small_files=2))
    assert report.files_after == 1
    window = TimeWindow(DAY_START, NEXT_DAY)
    data = _arrow(store, user_frame(users=3, offset=900), window)

    with pytest.raises(ValidationException):
        overwrite_window(
            stale, data, window_filter("event_time", window), _tag(), WRITE_ID_PROPERTY
        )
    assert store.read("user_stats").height == 12


def test_concurrent_append_into_another_window_commits_both(day: FeatureStore) -> None:
    stale = day.table("user_stats")
    day.write("user_stats", user_frame(DAY_2, users=3, offset=700))
    window = TimeWindow(DAY_START, NEXT_DAY)
    data = _arrow(day, user_frame(users=24, offset=200), window)

    assert overwrite_window(
        stale, data, window_filter("event_time", window), _tag(), WRITE_ID_PROPERTY
    )

    assert _clicks(day) == [*range(200, 224), 700, 701, 702]
    assert day.table("user_stats").snapshots()[-1].summary.operation.value == "overwrite"


def _racing(store: FeatureStore, race: Callable[[], object]) -> Callable[[], Table]:
    """A table loader whose first load is taken just before `race` commits."""
    calls = {"n": 0}

    def load() -> Table:
        calls["n"] += 1
        table = store.table("user_stats")
        if calls["n"] == 1:
            race()
        return table

    return load


def test_replace_that_lost_a_race_for_its_window_is_redone_and_wins(day: FeatureStore) -> None:
    window = TimeWindow(DAY_START, NEXT_DAY)
    other = user_frame(users=24, offset=100)
    load = _racing(day, lambda: day.write_window("user_stats", other, DAY_START, NEXT_DAY))
    data = _arrow(day, user_frame(users=24, offset=200), window)

    result = replace_window(load, data, "event_time", window)

    assert _clicks(day) == list(range(200, 224))  # the last writer's rows, once
    assert result.rows_replaced == 24
    table = day.table("user_stats")
    assert len(snapshots_of_write(table, table.snapshots()[-1].summary[WRITE_ID_PROPERTY])) == 1
    _no_unreferenced_data_files(day)


def test_concurrent_commit_of_the_same_write_id_is_refused(day: FeatureStore) -> None:
    stale = day.table("user_stats")
    window = TimeWindow(DAY_2, DAY_3)
    tag = _tag()
    data = _arrow(day, user_frame(DAY_2, users=2), window)
    overwrite_window(
        day.table("user_stats"), data, window_filter("event_time", window), tag, WRITE_ID_PROPERTY
    )

    with pytest.raises(ValidationException, match="committed concurrently"):
        overwrite_window(stale, data, window_filter("event_time", window), tag, WRITE_ID_PROPERTY)
    assert day.read("user_stats", start=DAY_2).height == 2
