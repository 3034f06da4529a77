"""What expectations cost a window write: the same days written to a group without expectations
and to one with six (two ranges, allowed values, a null fraction, a range on a float and the row
count against the same day a week earlier), side by side in one store, writes interleaved.

Feast has no expectations on its write path (its data-quality validation of saved datasets is
a separate, deprecated step), so the peer here is our own unaudited write: the ratio is the
audit's overhead. Also timed on their own: `audit_window` on a prepared day and the week-earlier
count from the manifests.

Run:  uv run python -m benchmarks.expectation_audit [--days 14 --rows-per-day 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.backfill_throughput import FEATURES, START, day_frame
from feature_platform import Entity, Feature, FeatureGroup, FeatureStore
from feature_platform.expectations import (
    AllowedValues,
    MaxNullFraction,
    RowCountVsLastWeek,
    ValueRange,
)
from feature_platform.offline_store.audit import audit_window
from feature_platform.offline_store.validation import prepare_frame
from feature_platform.offline_store.window_counts import previous_week_rows
from feature_platform.time_windows import TimeWindow

EXPECTED = {
    "clicks_1d": [ValueRange(min=0)],
    "impressions_1d": [ValueRange(1, 1_000)],
    "ctr_1d": [ValueRange(0, 1), MaxNullFraction(0.01)],
    "avg_dwell_1d": [ValueRange(min=0)],
    "top_category": [AllowedValues(["world", "politics", "business", "tech", "science", "sports"])],
}


def _group(name: str, audited: bool) -> FeatureGroup:
    return FeatureGroup(
        name=name,
        entity=Entity("user", ["user_id"], key_dtypes={"user_id": "int64"}),
        features=[
            Feature(f, dtype, expectations=EXPECTED[f] if audited else [])
            for f, dtype in FEATURES.items()
        ],
        created_time="created_at_src",
        start=START,
        expectations=[RowCountVsLastWeek(1.5)] if audited else [],
    )


def run(workdir: Path, days: int, rows: int, entities: int) -> dict[str, object]:
    store = FeatureStore(workdir)
    groups = {"plain": _group("plain", False), "audited": _group("audited", True)}
    for group in groups.values():
        store.apply(group)
    seconds: dict[str, list[float]] = {name: [] for name in groups}
    for day in range(days):
        frame = day_frame(day, rows, entities).rename({"created_at": "created_at_src"})
        start = START + dt.timedelta(days=day)
        order = list(groups) if day % 2 == 0 else list(reversed(groups))
        for name in order:
            began = time.perf_counter()
            written = store.write_window(name, frame, start, start + dt.timedelta(days=1))
            seconds[name].append(time.perf_counter() - began)
            assert name == "plain" or (written.expectations and written.expectations.passed)
    audited = groups["audited"]
    last = TimeWindow(START + dt.timedelta(days=days - 1), START + dt.timedelta(days=days))
    prepared = prepare_frame(audited, day_frame(days - 1, rows, entities).rename(
        {"created_at": "created_at_src"}), window=last)  # fmt: skip
    table = store.table("audited")
    audit_s, count_s = [], []
    for _ in range(5):
        began = time.perf_counter()
        earlier = previous_week_rows(table, audited, last)
        count_s.append(time.perf_counter() - began)
        began = time.perf_counter()
        audit_window(audited, prepared, last, previous_week_rows=earlier)
        audit_s.append(time.perf_counter() - began)
    plain, checked = statistics.median(seconds["plain"]), statistics.median(seconds["audited"])
    return {
        "days": days,
        "rows_per_day": rows,
        "write_s_median_plain": round(plain, 3),
        "write_s_median_audited": round(checked, 3),
        "ratio_audited_to_plain": round(checked / plain, 3),
        "audit_window_s_median": round(statistics.median(audit_s), 4),
        "previous_week_count_s_median": round(statistics.median(count_s), 4),
        "previous_week_rows": earlier,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--rows-per-day", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = run(Path(folder), args.days, args.rows_per_day, args.entities)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
