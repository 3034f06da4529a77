"""Experiments: a changed transformation backfilled into a branch and promoted, against the
same backfill straight onto main.

A daily group (int64 user key, three features) holds `--days` days of `--rows-per-day` rows on
main (transformation v1). Then, measured:
  * backfill of every day with transformation v2 into experiment ``v2`` (`write_window(...,
    experiment="v2")`): seconds and bytes written;
  * `experiment diff` of v2 against main over those days (rows per side = days x rows per day),
    the statistics and the HTML report;
  * promotion of ``v2``: seconds, bytes written and data files written (it should write
    metadata only: manifests, manifest lists, metadata JSON);
  * the same v2 backfill straight onto main (`write_window` without an experiment), the path
    without isolation: seconds and bytes written.
Bytes written are the sizes of the files that appeared under the table's location in the
phase (files are immutable: a new path is a write). Feast has no isolated backfill to compare
with (its offline writes go to the one production table), so the peer here is our own direct
backfill, run in the same process on the same table.

Run:  uv run python -m benchmarks.experiments [--days 30 --rows-per-day 333334]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore, StoreConfig
from feature_platform.experiments.diff import diff_experiment
from feature_platform.experiments.promotion import promote_experiment
from feature_platform.experiments.report import html_report

START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
NAME = "engagement"
GROUP = FeatureGroup(
    name=NAME,
    entity=Entity("user", ["user_id"], key_dtypes={"user_id": "int64"}),
    features=[Feature("clicks", "int64"), Feature("ctr", "float64"), Feature("dwell", "float64")],
    created_time="computed_at",
    start=START,
)
T = TypeVar("T")


def day_frame(day: int, rows: int, version: int) -> pl.DataFrame:
    """One day's rows; version 2 is the changed transformation (ctr smoothed, dwell capped)."""
    rng = np.random.default_rng(day)
    at = START + dt.timedelta(days=day)
    impressions = rng.integers(1, 60, rows)
    clicks = rng.binomial(impressions, 0.08)
    dwell = rng.lognormal(3.4, 0.9, rows)
    ctr = (clicks + 1) / (impressions + 10) if version == 2 else clicks / impressions
    return pl.DataFrame(
        {
            "user_id": np.arange(rows, dtype=np.int64),
            "event_time": pl.Series(rng.integers(0, 86_400_000_000, rows)).cast(pl.Duration("us"))
            + at,
            "computed_at": [at + dt.timedelta(days=1, hours=version)] * rows,
            "clicks": clicks,
            "ctr": ctr,
            "dwell": np.minimum(dwell, 600.0) if version == 2 else dwell,
        }
    )


def files_under(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def measured(root: Path, action: Callable[[], T]) -> tuple[T, float, int, int, int]:
    """`action`'s result, seconds, and bytes, files and parquet files that appeared."""
    before = files_under(root)
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    new = {path: size for path, size in files_under(root).items() if path not in before}
    parquet = sum(1 for path in new if path.endswith(".parquet"))
    return result, seconds, sum(new.values()), len(new), parquet


def backfill(store: FeatureStore, days: int, rows: int, experiment: str | None) -> None:
    for day in range(days):
        start = START + dt.timedelta(days=day)
        frame = day_frame(day, rows, 2)
        store.write_window(NAME, frame, start, start + dt.timedelta(days=1), experiment=experiment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows-per-day", type=int, default=333_334)
    args = parser.parse_args()
    days, rows = args.days, args.rows_per_day
    with tempfile.TemporaryDirectory() as home:
        store = FeatureStore(config=StoreConfig.embedded(home, offline_buffer_rows=0))
        store.apply(GROUP)
        started = time.perf_counter()
        for day in range(days):
            start = START + dt.timedelta(days=day)
            store.write_window(NAME, day_frame(day, rows, 1), start, start + dt.timedelta(days=1))
        print(f"main (v1): {days} days x {rows:,} rows in {time.perf_counter() - started:.1f}s")
        root = Path(home) / "warehouse"

        _, exp_s, exp_bytes, exp_files, exp_parquet = measured(
            root, lambda: backfill(store, days, rows, "v2")
        )
        diff, diff_s, _, _, _ = measured(root, lambda: diff_experiment(store, "v2"))
        page, html_s, _, _, _ = measured(root, lambda: html_report(diff))
        report, promote_s, promote_bytes, promote_files, promote_parquet = measured(
            root, lambda: promote_experiment(store, "v2")
        )
        _, main_s, main_bytes, main_files, main_parquet = measured(
            root, lambda: backfill(store, days, rows, None)
        )
    promoted_rows = sum(r.rows_written for r in report.windows[NAME])
    ctr = next(f for f in diff.features if f.feature == "ctr")
    print(f"\n| {days} days x {rows:,} rows | seconds | bytes written | files | data files |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| backfill into experiment v2 | {exp_s:.1f} | {exp_bytes:,} | {exp_files} "
        f"| {exp_parquet} |"
    )
    print(
        f"| promote v2 ({len(report.windows[NAME])} windows, {promoted_rows:,} rows) "
        f"| {promote_s:.2f} | {promote_bytes:,} | {promote_files} | {promote_parquet} |"
    )
    print(
        f"| experiment total (backfill + promote) | {exp_s + promote_s:.1f} "
        f"| {exp_bytes + promote_bytes:,} | | |"
    )
    print(
        f"| same backfill straight onto main | {main_s:.1f} | {main_bytes:,} | {main_files} "
        f"| {main_parquet} |"
    )
    print(
        f"\nexperiment path / direct: {(exp_s + promote_s) / main_s:.2f}x the time, "
        f"{(exp_bytes + promote_bytes) / main_bytes:.3f}x the bytes; promotion wrote "
        f"{promote_bytes / exp_bytes:.4%} of the backfill's bytes"
    )
    side = ctr.experiment.rows
    print(
        f"experiment diff: {side:,} rows per side, {len(diff.features)} features in "
        f"{diff_s:.2f}s, HTML report {html_s * 1000:.0f} ms ({len(page):,} bytes); "
        f"ctr PSI {ctr.psi:.3f}"
    )


if __name__ == "__main__":
    main()
