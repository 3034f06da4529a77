"""`ParquetSource` on local folders: partition pruning by path, completeness by folders."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore
from feature_platform.errors import SourceError
from feature_platform.sources import ParquetSource
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.sources.conftest import (
    DAYS,
    WEEK_START,
    day,
    events,
    week,
    week_of_events,
    write_hive,
)


@pytest.fixture
def clicks(tmp_path: Path) -> Path:
    """A week of events as ``dt=YYYY-MM-DD/part-0.parquet``."""
    root = tmp_path / "clicks"
    write_hive(root, week_of_events())
    return root


def source(root: Path, **settings: object) -> ParquetSource:
    return ParquetSource(str(root), start=WEEK_START, **settings)  # type: ignore[arg-type]


def test_a_read_returns_exactly_the_window_from_its_folders_only(
    store: FeatureStore, clicks: Path
) -> None:
    # A corrupt file in another day's folder: a read that opened it would fail.
    (clicks / "dt=2026-11-02" / "part-1.parquet").write_bytes(b"not parquet")
    parquet = source(clicks)
    assert_frame_equal(parquet.read(store, day(4)), events(day(4)))
    window = TimeWindow(day(4).start + dt.timedelta(hours=6), day(5).start + dt.timedelta(hours=3))
    expected = week_of_events().filter(
        (pl.col("event_time") >= window.start) & (pl.col("event_time") < window.end)
    )
    assert_frame_equal(parquet.read(store, window), expected)
    with pytest.raises(SourceError, match=r"source .*clicks \(parquet\): cannot read"):
        parquet.read(store, day(1))


def test_columns_are_projected_and_the_time_column_always_comes(
    store: FeatureStore, clicks: Path
) -> None:
    assert source(clicks, columns=("amount",)).read(store, day(0)).columns == [
        "amount",
        "event_time",
    ]
    with pytest.raises(SourceError, match=r"has no columns \['clicks'\]"):
        source(clicks, columns=("clicks",)).read(store, day(0))


def test_a_template_layout_and_hourly_folders(store: FeatureStore, tmp_path: Path) -> None:
    root = tmp_path / "nested"
    write_hive(root, week_of_events(), template="{date:%Y/%m/%d}")
    nested = source(root, layout="template", partition_template="{date:%Y/%m/%d}")
    assert_frame_equal(nested.read(store, day(2)), events(day(2)))
    assert nested.completeness(store, week()).complete

    hourly_root = tmp_path / "hourly"
    rows = events(day(0))
    for (start,), part in rows.group_by(pl.col("event_time").dt.truncate("1h")):
        assert isinstance(start, dt.datetime)
        folder = hourly_root / start.strftime("dt=%Y-%m-%d/hour=%H")
        folder.mkdir(parents=True)
        part.write_parquet(folder / "part-0.parquet")
    hourly = source(hourly_root, partitioning="hourly")
    assert hourly.folder(day(0)) == "dt=2026-11-01/hour=00"
    window = TimeWindow(day(0).start + dt.timedelta(hours=5), day(0).start + dt.timedelta(hours=8))
    assert_frame_equal(hourly.read(store, window), rows.slice(5, 3))
    assert hourly.completeness(store, day(0)).complete
    assert hourly.completeness(store, day(1)).missing[0] == "dt=2026-11-02/hour=00"


def test_completeness_names_exactly_the_missing_partition_folder(
    store: FeatureStore, clicks: Path
) -> None:
    parquet = source(clicks)
    complete = parquet.completeness(store, week())
    assert complete.complete
    assert complete.evidence.startswith("7 of 7 partition folders dt=2026-11-01 .. dt=2026-11-07")
    shutil.rmtree(clicks / "dt=2026-11-05")
    verdict = parquet.completeness(store, week())
    assert verdict.known
    assert verdict.missing == ("dt=2026-11-05",)
    assert "6 of 7 partition folders" in verdict.evidence
    # The read of the week still works: a missing folder contributes nothing.
    assert parquet.read(store, week()).height == (DAYS - 1) * events(day(0)).height


def test_a_success_marker_decides_arrival_and_a_quiet_day_is_complete(
    store: FeatureStore, clicks: Path
) -> None:
    for index in range(DAYS):
        (clicks / day(index).start.strftime("dt=%Y-%m-%d") / "_SUCCESS").touch()
    (clicks / "dt=2026-11-03" / "_SUCCESS").unlink()  # still being written
    quiet = clicks / "dt=2026-11-08"
    quiet.mkdir()
    (quiet / "_SUCCESS").touch()  # a day with no events
    marked = source(clicks, success_marker="_SUCCESS")
    eight_days = TimeWindow(week().start, week().end + dt.timedelta(days=1))
    verdict = marked.completeness(store, eight_days)
    assert verdict.missing == ("dt=2026-11-03",)
    assert "with _SUCCESS" in verdict.evidence
    assert marked.completeness(store, day(7)).complete
    assert marked.read(store, day(7)).height == 0
    # Without a marker, an empty folder is a quiet period too.
    assert source(clicks).completeness(store, day(7)).complete
    observation = marked.observe(store)
    assert observation is not None
    assert observation.newest_partition == "2026-11-08"
    assert observation.details["partition_folders"] == 7  # not 2026-11-03, no marker


def test_observe_reports_the_newest_partition(store: FeatureStore, clicks: Path) -> None:
    (clicks / "not_a_partition").mkdir()
    observation = source(clicks).observe(store)
    assert observation is not None
    assert observation.newest_partition == "2026-11-07"
    assert observation.details["newest_folder"] == "dt=2026-11-07"
    assert observation.details["partition_folders"] == DAYS


def test_a_flat_layout_reads_all_files_and_uses_a_watermark(
    store: FeatureStore, tmp_path: Path
) -> None:
    root = tmp_path / "flat"
    root.mkdir()
    for index in range(DAYS):
        events(day(index)).write_parquet(root / f"batch-{index}.parquet", row_group_size=6)
    (root / "_SUCCESS").touch()
    flat = source(root, layout="flat", partitioning=None)
    assert_frame_equal(flat.read(store, day(3)), events(day(3)))
    newest = day(DAYS - 1).end - dt.timedelta(minutes=30)
    assert flat.completeness(store, day(DAYS - 2)).complete
    last = flat.completeness(store, day(DAYS - 1))
    assert last.missing == (f"[{newest.isoformat()}, {day(DAYS - 1).end.isoformat()})",)
    late = source(root, layout="flat", allowed_lateness=dt.timedelta(days=1))
    assert not late.completeness(store, day(DAYS - 2)).complete
    observation = late.observe(store)
    assert observation is not None
    assert observation.complete_through == newest - dt.timedelta(days=1)


def test_files_in_the_wrong_partition_folder_are_refused(store: FeatureStore, clicks: Path) -> None:
    events(day(5)).head(3).write_parquet(clicks / "dt=2026-11-05" / "part-9.parquet")
    parquet = source(clicks)
    with pytest.raises(
        SourceError,
        match=r"3 rows lie outside the partition of their folder \(dt=2026-11-05\), the first "
        r"at 2026-11-06 00:30:00\+00:00",
    ):
        parquet.read(store, day(4))
    with pytest.raises(SourceError, match="outside the partition of their folder"):
        parquet.read(store, week())  # inside the window, but still in the wrong folder


def test_naive_times_need_their_zone(store: FeatureStore, tmp_path: Path) -> None:
    root = tmp_path / "naive"
    naive = week_of_events().with_columns(pl.col("event_time").dt.replace_time_zone(None))
    write_hive(root, naive)
    with pytest.raises(SourceError, match="naive timestamp"):
        source(root).read(store, day(1))
    assert_frame_equal(source(root, naive_timezone="UTC").read(store, day(1)), events(day(1)))


def test_text_and_missing_time_columns_are_refused(store: FeatureStore, tmp_path: Path) -> None:
    root = tmp_path / "text"
    write_hive(root, week_of_events())
    text = events(day(1)).with_columns(pl.col("event_time").dt.to_string())
    text.write_parquet(root / "dt=2026-11-02" / "part-0.parquet")
    with pytest.raises(SourceError, match=r"source .*text \(parquet\): .*holds text"):
        source(root).read(store, day(1))
    with pytest.raises(SourceError, match="has no time column 'ts'"):
        source(root, time_column="ts").read(store, day(0))


def test_null_times_are_refused(store: FeatureStore, clicks: Path) -> None:
    nulls = events(day(2)).head(4).with_columns(pl.lit(None).alias("event_time"))
    nulls.write_parquet(clicks / "dt=2026-11-03" / "part-1.parquet")
    with pytest.raises(SourceError, match="4 of 28 rows have no 'event_time'"):
        source(clicks).read(store, day(2))


def test_a_path_that_does_not_exist_is_named(store: FeatureStore, tmp_path: Path) -> None:
    missing = source(tmp_path / "nowhere")
    for call in (missing.read, missing.completeness):
        with pytest.raises(SourceError, match=r"nowhere \(parquet\): .* is not a folder"):
            call(store, day(0))
