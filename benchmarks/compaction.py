"""Compaction: a day of micro-batch appends, queried before and after maintenance.

Builds the `user_engagement` demo group's table from 2,000 appends (one every 43 s of event
time, a day of streaming), then measures file count, bytes and two queries before and after
`compact`:
  * latest value per entity (the online-store bootstrap query),
  * a point-in-time join of 50,000 label rows (polars `join_asof` over the scanned table).
Both query results are checked to be identical before and after.

Run:  uv run python -m benchmarks.compaction [--batches 2000 --rows-per-batch 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from feature_platform import FeatureStore
from feature_platform.demo.feature_groups import USER_ENGAGEMENT
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.maintenance.runner import compact_group

DAY = dt.datetime(2026, 11, 10, tzinfo=dt.UTC)
NAME = USER_ENGAGEMENT.name


def batch(i: int, rows: int, users: int) -> pl.DataFrame:
    rng = np.random.default_rng(i)
    at = DAY + dt.timedelta(seconds=43 * i)
    impressions = rng.integers(1, 50, rows)
    clicks = rng.binomial(impressions, 0.1)
    return pl.DataFrame(
        {
            "user_id": [f"u{u:06d}" for u in rng.integers(0, users, rows)],
            "event_time": pl.Series(rng.integers(0, 43_000_000, rows)).cast(pl.Duration("us")) + at,
            "computed_at": [at + dt.timedelta(seconds=43)] * rows,
            "impressions_1d": impressions,
            "clicks_1d": clicks,
            "ctr_1d": clicks / impressions,
            "clicks_7d": clicks * 5,
            "avg_dwell_7d": np.round(rng.lognormal(3.5, 0.8, rows), 1),
            "top_category_7d": rng.choice(["world", "tech", "sports", "science"], rows),
        }
    )


def latest_per_entity(store: FeatureStore) -> pl.DataFrame:
    rows = store.read(NAME)
    return (
        rows.sort("event_time", "created_at")
        .group_by("user_id")
        .agg(pl.all().last())
        .sort("user_id")
    )


def point_in_time(store: FeatureStore, labels: pl.DataFrame) -> pl.DataFrame:
    rows = store.read(NAME).sort("event_time", "created_at")
    return (
        labels.sort("label_time")
        .join_asof(
            rows,
            left_on="label_time",
            right_on="event_time",
            by="user_id",
            strategy="backward",
            check_sortedness=False,  # both sides are sorted on the time columns just above
        )
        .sort("label_id")
    )


def timed(query: Callable[[], pl.DataFrame], repeats: int = 3) -> tuple[float, pl.DataFrame]:
    seconds = []
    result = pl.DataFrame()
    for _ in range(repeats):
        started = time.perf_counter()
        result = query()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def table_state(store: FeatureStore) -> tuple[int, int]:
    """Live data files of the current snapshot and their total size."""
    tasks = list(store.table(NAME).scan().plan_files())
    return len(tasks), sum(task.file.file_size_in_bytes for task in tasks)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--rows-per-batch", type=int, default=500)
    parser.add_argument("--users", type=int, default=50_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fp-compaction-") as tmp:
        store = FeatureStore(Path(tmp))
        store.apply(USER_ENGAGEMENT)
        started = time.perf_counter()
        for i in range(args.batches):
            store.write(NAME, batch(i, args.rows_per_batch, args.users))
        appends = time.perf_counter() - started
        rng = np.random.default_rng(0)
        labels = pl.DataFrame(
            {
                "label_id": np.arange(50_000),
                "user_id": [f"u{u:06d}" for u in rng.integers(0, args.users, 50_000)],
                "label_time": pl.Series(rng.integers(0, 86_400_000_000, 50_000)).cast(
                    pl.Duration("us")
                )
                + DAY,
            }
        )

        files_before, bytes_before = table_state(store)
        latest_before_s, latest_before = timed(lambda: latest_per_entity(store))
        pit_before_s, pit_before = timed(lambda: point_in_time(store, labels))

        report = compact_group(store, NAME, MaintenancePolicy())

        files_after, bytes_after = table_state(store)
        latest_after_s, latest_after = timed(lambda: latest_per_entity(store))
        pit_after_s, pit_after = timed(lambda: point_in_time(store, labels))

    assert latest_after.equals(latest_before), "latest values changed by compaction"
    assert pit_after.equals(pit_before), "point-in-time join changed by compaction"
    rows = args.batches * args.rows_per_batch
    print(f"{args.batches} appends of {args.rows_per_batch} rows ({rows:,} rows) in {appends:.1f}s")
    print(f"{'':28} {'before':>12} {'after':>12} {'ratio':>8}")
    for label, before, after in [
        ("data files", files_before, files_after),
        ("bytes", bytes_before, bytes_after),
        ("latest per entity (s)", round(latest_before_s, 3), round(latest_after_s, 3)),
        ("point-in-time join (s)", round(pit_before_s, 3), round(pit_after_s, 3)),
    ]:
        print(f"{label:28} {before:>12,} {after:>12,} {before / after:>7.1f}x")
    print(
        f"compaction: {report.rows_rewritten:,} rows in {report.seconds:.2f}s = "
        f"{report.rows_rewritten / report.seconds:,.0f} rows/s "
        f"({len(report.partitions)} partition(s))"
    )


if __name__ == "__main__":
    main()
