"""Local SQL on the offline store: pushdown into the Iceberg scan vs reading the table whole.

A 10M-row `user_engagement` table (the demo group's schema, 30 daily partitions, 200k users) is
queried through `feature-platform sql`'s engine (`run_sql`) two ways:

- with pushdown: tables are lazy `scan_iceberg` frames, so the filter and column list reach the
  parquet scan (files and row groups that cannot match are skipped);
- without pushdown: each table is read whole first, then queried (``pushdown=False``);

and against the plain baseline an analyst would write: a full-table scan into polars
(`table.scan().to_arrow()`), then the same filter in polars. Two queries: one user's latest
values (a point lookup through the `_latest` view) and one day's aggregate.

Run:  uv run python -m benchmarks.local_sql [--rows 10000000] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore, StoreConfig
from feature_platform.demo.feature_groups import USER_ENGAGEMENT
from feature_platform.sql import latest_live_rows, run_sql

START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
DAYS = 30
USERS = 200_000
CATEGORIES = np.array(["world", "politics", "business", "tech", "science", "sports"], dtype=object)


def build(home: Path, rows: int) -> FeatureStore:
    """`rows` rows of user_engagement over 30 days, one commit per day (outside the timing)."""
    store = FeatureStore(config=StoreConfig.embedded(home, offline_buffer_rows=0))
    store.apply(USER_ENGAGEMENT)
    per_day = rows // DAYS
    for day in range(DAYS):
        rng = np.random.default_rng(day)
        start = START + dt.timedelta(days=day)
        offsets = np.sort(rng.integers(0, 86_400_000_000, per_day))
        impressions = rng.integers(1, 200, per_day)
        clicks = rng.binomial(impressions, 0.08)
        frame = pl.DataFrame(
            {
                "user_id": pl.Series(rng.integers(0, USERS, per_day)).cast(pl.String).str.zfill(6),
                "event_time": pl.Series(offsets).cast(pl.Duration("us")) + start,
                "computed_at": pl.Series(offsets + 1).cast(pl.Duration("us")) + start,
                "impressions_1d": impressions,
                "clicks_1d": clicks,
                "ctr_1d": clicks / impressions,
                "clicks_7d": clicks * 7,
                "avg_dwell_7d": np.round(rng.lognormal(3.5, 0.8, per_day), 1),
                "top_category_7d": CATEGORIES[rng.integers(0, len(CATEGORIES), per_day)],
            }
        )
        store.write_window(USER_ENGAGEMENT.name, frame, start, start + dt.timedelta(days=1))
    return store


def _time(run: Callable[[], pl.DataFrame], repeat: int) -> tuple[float, pl.DataFrame]:
    """Median seconds over `repeat` runs (each a fresh query: no cached scans)."""
    seconds, result = [], pl.DataFrame()
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--home", type=Path, default=None, help="reuse a built table")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    home = args.home or Path(tempfile.mkdtemp(prefix="fp-sql-")) / "home"
    if not (home / "catalog.db").exists():
        print(f"building {args.rows:,} rows in {home}", file=sys.stderr)
        build(home, args.rows)
    store = FeatureStore(home)
    table = store.table(USER_ENGAGEMENT.name)
    user = str(run_sql(store, "SELECT user_id FROM user_engagement LIMIT 1").item())
    day = START + dt.timedelta(days=DAYS // 2)
    # `now` for the ttl: the end of the data, so the latest view holds live rows.
    now = START + dt.timedelta(days=DAYS)
    point = f"SELECT * FROM user_engagement_latest WHERE user_id = '{user}'"
    aggregate = (
        "SELECT top_category_7d, count(*) AS rows, avg(ctr_1d) AS ctr "
        f"FROM user_engagement WHERE event_time >= '{day.isoformat()}' "
        f"AND event_time < '{(day + dt.timedelta(days=1)).isoformat()}' "
        "GROUP BY top_category_7d ORDER BY top_category_7d"
    )

    def full_scan(query: str) -> pl.DataFrame:
        frame = pl.from_arrow(table.scan().to_arrow())
        assert isinstance(frame, pl.DataFrame)
        if query == "point":
            live = latest_live_rows(frame.lazy(), USER_ENGAGEMENT, now)
            return live.filter(pl.col("user_id") == user).collect()
        in_day = frame.filter(
            pl.col("event_time").is_between(day, day + dt.timedelta(days=1), "left")
        )
        return (
            in_day.group_by("top_category_7d")
            .agg(pl.len().alias("rows"), pl.col("ctr_1d").mean().alias("ctr"))
            .sort("top_category_7d")
        )

    results = []
    for name, query in (
        ("point lookup (latest values of one user)", point),
        ("day aggregate", aggregate),
    ):
        kind = "point" if query == point else "aggregate"
        pushed, pushed_rows = _time(lambda q=query: run_sql(store, q, now=now), args.repeat)
        whole, whole_rows = _time(
            lambda q=query: run_sql(store, q, pushdown=False, now=now), args.repeat
        )
        scan, scan_rows = _time(lambda k=kind: full_scan(k), args.repeat)
        assert pushed_rows.height == whole_rows.height == scan_rows.height > 0, name
        assert_frame_equal(pushed_rows.select(scan_rows.columns), scan_rows, check_dtypes=False)
        assert_frame_equal(whole_rows, pushed_rows)
        results.append(
            {
                "query": name,
                "pushdown_s": round(pushed, 3),
                "no_pushdown_s": round(whole, 3),
                "full_scan_polars_s": round(scan, 3),
                "speedup_vs_full_scan": round(scan / pushed, 1),
                "speedup_vs_no_pushdown": round(whole / pushed, 1),
            }
        )
    rows = int(table.current_snapshot().summary.additional_properties["total-records"])  # type: ignore[union-attr]
    print(f"table: {rows:,} rows, {DAYS} daily partitions; median of {args.repeat} runs")
    print(f"{'query':44} {'pushdown':>10} {'no pushdown':>12} {'full scan':>10} {'vs scan':>8}")
    for r in results:
        print(
            f"{r['query']:44} {r['pushdown_s']:>9.3f}s {r['no_pushdown_s']:>11.3f}s "
            f"{r['full_scan_polars_s']:>9.3f}s {r['speedup_vs_full_scan']:>7.1f}x"
        )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
