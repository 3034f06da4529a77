"""`write_window` replaces exactly one window atomically; reruns give identical content."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore, TimeWindow
from feature_platform.errors import InvalidWindowError, UnknownFeatureGroupError
from feature_platform.offline_store.validation import prepare_frame
from feature_platform.offline_store.writes import replace_window, window_filter
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

DAY_2 = NEXT_DAY
DAY_3 = NEXT_DAY + dt.timedelta(days=1)


@pytest.fixture
def applied(store: FeatureStore) -> FeatureStore:
    store.apply(user_group())
    return store


def test_window_write_is_read_back_by_an_independent_reader(applied: FeatureStore) -> None:
    frame = user_frame()
    result = applied.write_window("user_stats", frame, DAY_START, NEXT_DAY)

    table = applied.table("user_stats")
    assert result.rows_written == 5
    assert result.files_added == 1
    assert result.bytes_added > 0
    assert result.snapshot_id == table.current_snapshot().snapshot_id
    assert result.metadata_location == table.metadata_location
    expected = frame.rename({"computed_at": "created_at"}).select(
        "user_id", "event_time", "created_at", "clicks", "ctr", "segment", "is_subscriber"
    )
    assert_frame_equal(canonical(read_independently(table)), canonical(expected))


def test_rerun_of_a_window_gives_identical_table_content(applied: FeatureStore) -> None:
    applied.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    first = applied.read("user_stats")
    rerun = applied.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)

    assert rerun.rows_replaced == 5
    assert rerun.files_removed == 1
    assert_frame_equal(canonical(applied.read("user_stats")), canonical(first))
    assert len(data_files(applied.table("user_stats"))) == 1


def test_window_write_replaces_only_its_own_window(applied: FeatureStore) -> None:
    applied.write_window("user_stats", user_frame(DAY_START), DAY_START, DAY_2)
    applied.write_window("user_stats", user_frame(DAY_2), DAY_2, DAY_3)
    applied.write_window("user_stats", user_frame(DAY_2, users=2, offset=100), DAY_2, DAY_3)

    day_1 = applied.read("user_stats", start=DAY_START, end=DAY_2)
    day_2 = applied.read("user_stats", start=DAY_2, end=DAY_3)
    assert day_1.get_column("clicks").sort().to_list() == [0, 1, 2, 3, 4]
    assert day_2.get_column("clicks").sort().to_list() == [100, 101]


def test_overwrite_is_one_atomic_commit_of_one_snapshot(applied: FeatureStore) -> None:
    applied.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    table = applied.table("user_stats")
    log_before = len(table.metadata.metadata_log)
    snapshots_before = len(table.snapshots())
    applied.write_window("user_stats", user_frame(offset=1), DAY_START, NEXT_DAY)
    table = applied.table("user_stats")
    # One metadata file and one OVERWRITE snapshot: no timestamp shows the window empty.
    assert len(table.metadata.metadata_log) == log_before + 1
    assert len(table.snapshots()) == snapshots_before + 1
    assert table.snapshots()[-1].summary.operation.value == "overwrite"


def test_sub_partition_window_keeps_the_rest_of_the_partition(applied: FeatureStore) -> None:
    applied.write_window("user_stats", user_frame(users=24), DAY_START, NEXT_DAY)
    noon = DAY_START + dt.timedelta(hours=12)
    late = user_frame(users=24, offset=50).filter(pl.col("event_time") >= noon)
    applied.write_window("user_stats", late, noon, NEXT_DAY)

    rows = applied.read("user_stats").sort("event_time")
    assert rows.height == 24
    assert rows.filter(pl.col("event_time") < noon).get_column("clicks").max() == 11
    assert rows.filter(pl.col("event_time") >= noon).get_column("clicks").min() == 62


def test_empty_window_deletes_old_rows_and_writes_no_file(applied: FeatureStore) -> None:
    applied.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    result = applied.write_window("user_stats", user_frame().head(0), DAY_START, NEXT_DAY)

    assert result.empty
    assert result.rows_replaced == 5
    assert result.files_added == 0
    assert applied.read("user_stats").is_empty()
    assert data_files(applied.table("user_stats")) == []
    assert_no_empty_files(applied.table("user_stats"))


def test_empty_window_on_empty_table_commits_nothing(applied: FeatureStore) -> None:
    result = applied.write_window("user_stats", user_frame().head(0), DAY_START, NEXT_DAY)
    table = applied.table("user_stats")
    assert not result.committed
    assert result.snapshot_id is None
    assert table.current_snapshot() is None


def test_no_write_ever_produces_an_empty_data_file(applied: FeatureStore) -> None:
    applied.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    applied.write("user_stats", user_frame(DAY_2, users=1))
    applied.write("user_stats", user_frame(DAY_2).head(0))
    applied.write_window("user_stats", user_frame(users=3), DAY_START, NEXT_DAY)
    applied.write_window("user_stats", user_frame().head(0), DAY_START, NEXT_DAY)
    assert_no_empty_files(applied.table("user_stats"))


def test_table_creation_writes_no_data_file(applied: FeatureStore) -> None:
    table = applied.table("user_stats")
    assert table.current_snapshot() is None
    assert data_files(table) == []


def test_append_stamps_created_at_when_the_group_has_no_created_time(store: FeatureStore) -> None:
    store.apply(user_group(created_time=None))
    before = dt.datetime.now(dt.UTC)
    store.write("user_stats", user_frame().drop("computed_at"))
    after = dt.datetime.now(dt.UTC)

    stamps = store.read("user_stats").get_column("created_at")
    assert stamps.n_unique() == 1
    assert before <= stamps.item(0) <= after


def test_append_takes_created_at_from_the_created_time_column(applied: FeatureStore) -> None:
    applied.write("user_stats", user_frame())
    assert applied.read("user_stats").get_column("created_at").unique().to_list() == [NEXT_DAY]


def test_custom_event_time_column_is_stored_as_event_time(store: FeatureStore) -> None:
    store.apply(user_group(event_time="ts"))
    store.write_window("user_stats", user_frame().rename({"event_time": "ts"}), DAY_START, NEXT_DAY)
    assert "event_time" in store.read("user_stats").columns


def test_hourly_group_writes_hour_partitions(store: FeatureStore) -> None:
    store.apply(user_group(partitioning="hourly"))
    hour = DAY_START + dt.timedelta(hours=5)
    frame = user_frame(users=3).with_columns(
        event_time=pl.lit(hour) + pl.duration(minutes=pl.int_range(3))
    )
    store.write_window("user_stats", frame, hour, hour + dt.timedelta(hours=1))
    table = store.table("user_stats")
    partitions = table.inspect.partitions().column("partition").to_pylist()
    assert partitions == [{"event_time_hour": int(hour.timestamp()) // 3600}]


def test_window_and_unknown_group_errors(applied: FeatureStore) -> None:
    with pytest.raises(InvalidWindowError, match="must be after start"):
        applied.write_window("user_stats", user_frame(), NEXT_DAY, DAY_START)
    with pytest.raises(InvalidWindowError, match="no time zone"):
        applied.write_window("user_stats", user_frame(), dt.datetime(2026, 11, 10), NEXT_DAY)
    with pytest.raises(UnknownFeatureGroupError, match="apply it first"):
        applied.write_window("nope", user_frame(), DAY_START, NEXT_DAY)


def test_time_window_accepts_dates_and_iso_strings() -> None:
    window = TimeWindow.of(dt.date(2026, 11, 10), "2026-11-11T00:00:00+00:00")
    assert (window.start, window.end) == (DAY_START, NEXT_DAY)
    assert TimeWindow.of("2026-11-10", "2026-11-11") == window
    with pytest.raises(InvalidWindowError, match="no time zone"):
        TimeWindow.of("2026-11-10T00:00:00", "2026-11-11")


def test_first_write_racing_another_first_write_of_the_window_leaves_one_copy(
    applied: FeatureStore,
) -> None:
    """Two writers both see the window empty; the one that commits second notices and replaces."""

    stale = applied.table("user_stats")  # sees the window empty
    applied.write_window("user_stats", user_frame(offset=100), DAY_START, NEXT_DAY)
    tables = iter([stale])

    def load_table() -> object:
        return next(tables, None) or applied.table("user_stats")

    window = TimeWindow.of(DAY_START, NEXT_DAY)
    prepared = prepare_frame(applied.get_feature_group("user_stats"), user_frame())
    data = applied._arrow_for(stale, prepared)
    replace_window(load_table, data, "event_time", window)  # type: ignore[arg-type]

    rows = applied.read("user_stats")
    assert sorted(rows.get_column("clicks").to_list()) == [0, 1, 2, 3, 4]
    files = list(
        applied.table("user_stats")
        .scan(row_filter=window_filter("event_time", window))
        .plan_files()
    )
    assert len(files) == 1
