"""Source reads: one day through `IcebergSource` / `ParquetSource` vs reading everything.

A backfill of one partition should cost one partition's input, not the whole history. The same
generated events (int64 `user_id`, `event_time`, five numeric columns; `--days` x
`--rows-per-day`) are written once as (a) an Iceberg table partitioned by ``day(event_time)``
(one append per day) in the embedded SQLite catalog and (b) hive-partitioned Parquet folders
``dt=YYYY-MM-DD/``. Then one day is read four ways: through each source (partition pruning and
time pushdown) and as a full read of the same files (all rows, then filtered), each timed as the
median of `--repeats` runs. Bytes read are the sizes of the data files each read touches: the
files pyiceberg plans for the window, the files under the window's Parquet folders, all files
for the full reads.

Run:  uv run python -m benchmarks.source_reads [--days 90] [--rows-per-day 1000000]
Small: uv run python -m benchmarks.source_reads --days 5 --rows-per-day 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyiceberg.types import DoubleType, LongType, NestedField, TimestamptzType

from feature_platform import FeatureStore, StoreConfig
from feature_platform.sources import IcebergSource, ParquetSource
from feature_platform.sources.base import partition_windows
from feature_platform.time_windows import TimeWindow

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
TABLE = "raw.events"
VALUES = ("value_1", "value_2", "value_3", "value_4", "value_5")
SCHEMA = Schema(
    NestedField(1, "user_id", LongType(), required=False),
    NestedField(2, "event_time", TimestamptzType(), required=False),
    *(NestedField(3 + i, name, DoubleType(), required=False) for i, name in enumerate(VALUES)),
)
SPEC = PartitionSpec(PartitionField(2, 1000, DayTransform(), "event_day"))


def day_frame(day: int, rows: int) -> pl.DataFrame:
    """One day of events, deterministic in `day`, sorted by time as a producer writes them."""
    rng = np.random.default_rng(day)
    offsets = np.sort(rng.integers(0, 86_400_000_000, rows))
    return pl.DataFrame(
        {
            "user_id": rng.integers(0, 1_000_000, rows),
            "event_time": pl.Series(offsets).cast(pl.Duration("us")) + (START + day * DAY),
            **{name: rng.random(rows) for name in VALUES},
        }
    )


def write_data(workdir: Path, days: int, rows: int) -> tuple[FeatureStore, Table, Path]:
    """The same events as an Iceberg table (one append per day) and hive Parquet folders."""
    store = FeatureStore(config=StoreConfig.embedded(workdir / "home", offline_buffer_rows=0))
    store.catalog.create_namespace_if_not_exists("raw")
    table = store.catalog.create_table(TABLE, schema=SCHEMA, partition_spec=SPEC)
    parquet_root = workdir / "parquet"
    for day in range(days):
        frame = day_frame(day, rows)
        table.append(frame.to_arrow().cast(SCHEMA.as_arrow()))
        folder = parquet_root / (START + day * DAY).strftime("dt=%Y-%m-%d")
        folder.mkdir(parents=True)
        frame.write_parquet(folder / "part-0.parquet")
        if (day + 1) % 10 == 0 or day + 1 == days:
            print(f"  wrote {day + 1}/{days} days", file=sys.stderr, flush=True)
    return store, store.catalog.load_table(TABLE), parquet_root


@dataclass(frozen=True)
class Result:
    label: str
    seconds: float
    bytes_read: int
    rows: int


def timed(label: str, read: Callable[[], pl.DataFrame], bytes_read: int, repeats: int) -> Result:
    seconds = []
    rows = 0
    for _ in range(repeats):
        gc.collect()
        began = time.perf_counter()
        rows = read().height
        seconds.append(time.perf_counter() - began)
    return Result(label, statistics.median(seconds), bytes_read, rows)


def in_window(frame: pl.DataFrame, window: TimeWindow) -> pl.DataFrame:
    time_column = pl.col("event_time")
    return frame.filter((time_column >= window.start) & (time_column < window.end))


def measure(
    store: FeatureStore, table: Table, parquet_root: Path, window: TimeWindow, repeats: int
) -> list[tuple[Result, Result]]:
    iceberg = IcebergSource(TABLE)
    parquet = ParquetSource(str(parquet_root), start=START)
    all_iceberg_bytes = sum(task.file.file_size_in_bytes for task in table.scan().plan_files())
    planned_bytes = sum(task.file.file_size_in_bytes for task in iceberg.plan(table, window))
    all_files = sorted(parquet_root.rglob("*.parquet"))
    folders = [parquet_root / parquet.folder(p) for p in partition_windows("daily", START, window)]
    window_bytes = sum(f.stat().st_size for folder in folders for f in folder.glob("*.parquet"))

    def full_iceberg() -> pl.DataFrame:
        frame = pl.from_arrow(table.scan().to_arrow())
        assert isinstance(frame, pl.DataFrame)
        return in_window(frame, window)

    def full_parquet() -> pl.DataFrame:
        return in_window(pl.read_parquet(all_files), window)

    return [
        (
            timed("Iceberg", lambda: iceberg.read(store, window), planned_bytes, repeats),
            timed("Iceberg", full_iceberg, all_iceberg_bytes, repeats),
        ),
        (
            timed("Parquet", lambda: parquet.read(store, window), window_bytes, repeats),
            timed("Parquet", full_parquet, sum(f.stat().st_size for f in all_files), repeats),
        ),
    ]


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rows-per-day", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--day", type=int, help="which day to read (default: the middle one)")
    args = parser.parse_args()
    read_day = args.days // 2 if args.day is None else args.day
    window = TimeWindow(START + read_day * DAY, START + (read_day + 1) * DAY)
    with tempfile.TemporaryDirectory(prefix="source_reads_") as tmp:
        began = time.perf_counter()
        store, table, parquet_root = write_data(Path(tmp), args.days, args.rows_per_day)
        written = time.perf_counter() - began
        results = measure(store, table, parquet_root, window, args.repeats)
    total = args.days * args.rows_per_day
    print(
        f"source_reads: day {window.start:%Y-%m-%d} of {args.days} days x "
        f"{args.rows_per_day:,} rows ({total:,} rows; written in {written:.1f}s), "
        f"median of {args.repeats}"
    )
    print(
        f"{'source':8} {'read':6} {'one day':>12} {'full + filter':>14} {'ratio':>8}  "
        f"{'rows returned':>13}"
    )
    for selective, full in results:
        assert selective.rows == full.rows, (selective, full)  # same answer both ways
        print(
            f"{selective.label:8} {'time':6} {selective.seconds:>11.3f}s {full.seconds:>13.3f}s "
            f"{full.seconds / selective.seconds:>7.1f}x  {selective.rows:>13,}"
        )
        print(
            f"{'':8} {'bytes':6} {_size(selective.bytes_read):>12} {_size(full.bytes_read):>14} "
            f"{full.bytes_read / max(selective.bytes_read, 1):>7.1f}x"
        )


if __name__ == "__main__":
    main()
