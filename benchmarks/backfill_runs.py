"""Backfill wall time: a 30-day backfill as one run against the multi-run policy, 2 runs at once.

Each variant is a real backfill on this machine, launched through Dagster's GraphQL API as the
UI launches it, on the deployment's Dagster (feature_platform_tests/deploy/dagster_stack.py):
the image's code server, `dagster-webserver` and `dagster-daemon` on deploy/ecs/dagster.yaml's
instance (PostgreSQL storage, `QueuedRunCoordinator`) with a local process per run and at most
2 runs at once; the store's Iceberg catalog is on the same PostgreSQL server (Debian's
`postgresql`, started as the tests start it). The demo's `demo/click_events` is ingested once,
for the days and the 6 days of lookback before them. Then each variant, `partitions_per_run`
30, 15 and 5 (1, 2 and 6 runs of the demo's daily `features/user_engagement`), gets a fresh
stack (its own Dagster database) and a fresh feature table (its own Iceberg namespace); the
daemon starts right after the launch, so its first iteration takes the backfill at once.

Measured per variant, from the Dagster instance's records:
  * wall: from the launch until the backfill is COMPLETED (the backfill record's timestamps).
    The daemon looks at a backfill every 30 s, so this includes up to 30 s after the last run
    ended, as a user watching the UI sees it;
  * to last run end: from the launch until the last run ended (without that wait; with the
    daemon's own start, a few seconds, in every variant);
  * run seconds: the sum of the runs' durations, each from its launch off the queue (a process
    is spawned and loads the code: the start of a run) to its end; work seconds: the same from
    the code loaded (the run record's start) to the end;
  * runs at once: the most runs launched at one instant (what the coordinator limits) and the
    most past their start, working, at one instant.
After each variant every window must be materialized exactly once and written exactly once
(one row per user and event time, exactly the backfilled days); the tables of all variants must
be equal.

`--scale N` ingests N times the demo's users and impressions per day, to see how the
comparison moves as each partition's work grows against the start of a run.

Run:  uv run python -m benchmarks.backfill_runs [--days 30] [--per-run 30,15,5] [--scale 1]
      [--json out.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg
import polars as pl
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore, StoreConfig
from feature_platform.demo.feature_groups import CLICK_EVENTS, DEMO_FEATURE_GROUPS, DEMO_START
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.deploy.dagster_stack import (
    deployment_settings,
    dequeued_at,
    most_at_once,
    running_stack,
    wait_for_backfill,
)
from feature_platform_tests.postgres import PostgresServer, running_postgres

ENGAGEMENT = next(d for d in DEMO_FEATURE_GROUPS if d.name == "user_engagement")
ASSET = ["features", "user_engagement"]
# The first day whose 6 days of lookback the demo's event log has (it starts at DEMO_START).
FIRST_DAY = (DEMO_START + ENGAGEMENT.lookback).date()
MAX_RUNS = 2


@dataclass(frozen=True, order=True)
class RunTimes:
    """One run of a backfill: its partitions, and its times in seconds after the launch."""

    first: str
    last: str
    queued: float  # created, in the coordinator's queue
    dequeued: float  # taken off the queue: the run process is launched
    started: float  # the run process has loaded the code and begins the steps
    ended: float


@dataclass
class Variant:
    name: str
    partitions_per_run: int
    runs: int
    most_runs_at_once: int  # run processes working (code loaded to end) at one instant
    most_runs_launched_at_once: int  # runs the coordinator held (launch to end) at one instant
    wall_seconds: float  # launch -> backfill COMPLETED
    to_last_run_end_seconds: float  # launch -> the last run's end
    first_run_start_seconds: float  # launch -> the first run process started
    run_seconds_sum: float  # each run from its launch (dequeue) to its end, summed
    work_seconds_sum: float  # each run process from its start (code loaded) to its end, summed
    timeline: list[RunTimes]
    rows: int
    load_before: float
    load_after: float
    stack_start_seconds: float


@contextmanager
def environment(settings: Mapping[str, str]) -> Iterator[None]:
    """`settings` in this process's environment (inherited by the stack), restored afterwards."""
    saved = dict(os.environ)
    os.environ.update(settings)
    os.environ.pop("FEATURE_PLATFORM_ENV", None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def ingest_events(config: StoreConfig, days: list[dt.date], scale: int) -> int:
    """The demo's click events of `days` and of the lookback before them, once; `scale` times
    the demo's users and impressions per day (the feature runs read whatever the table holds)."""
    start = dt.datetime.combine(days[0], dt.time(), dt.UTC) - ENGAGEMENT.lookback
    end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(), dt.UTC)
    world = CLICK_EVENTS.config
    events = dataclasses.replace(
        CLICK_EVENTS,
        config=dataclasses.replace(
            world, users=world.users * scale, impressions_per_day=world.impressions_per_day * scale
        ),
    )
    return events.ingest(FeatureStore(config=config), TimeWindow(start, end)).rows_written


def run_variant(
    postgres: PostgresServer,
    workdir: Path,
    catalog_uri: str,
    home: Path,
    days: list[dt.date],
    per_run: int,
) -> tuple[Variant, pl.DataFrame]:
    """One backfill of `days` at `per_run` partitions per run on a fresh stack; its figures and
    the table it wrote."""
    runs_expected = math.ceil(len(days) / per_run)
    name = f"{runs_expected} run{'s' if runs_expected > 1 else ''} of {per_run}"
    folder = workdir / f"per_run_{per_run}"
    dagster_db = f"dagster_per_run_{per_run}"
    postgres.create_database(dagster_db)
    namespace = f"per_run_{per_run}"  # a fresh feature table; the event log is in `raw`
    settings = deployment_settings(
        postgres,
        dagster_db=dagster_db,
        catalog_uri=catalog_uri,
        home=home,
        dagster_home=folder / "dagster_home",
        per_run=per_run,
        max_runs=MAX_RUNS,
    )
    settings["FEATURE_PLATFORM_NAMESPACE"] = namespace
    print(f"{name}: starting the stack", file=sys.stderr)
    with environment(settings):
        started = time.monotonic()
        with running_stack(folder / "dagster.log") as stack:
            stack_start = time.monotonic() - started
            load_before = os.getloadavg()[0]
            print(f"{name}: stack up in {stack_start:.0f}s, launching", file=sys.stderr)
            backfill_id = stack.launch_backfill(ASSET, [day.isoformat() for day in days])
            stack.start_daemon()
            status = wait_for_backfill(stack.ui, backfill_id, timeout=900)
            load_after = os.getloadavg()[0]
        if status != "COMPLETED_SUCCESS":
            raise RuntimeError(f"{name}: the backfill ended {status}:\n{stack.ui.log_tail()}")
        with dg.DagsterInstance.get() as instance:
            backfill = instance.get_backfill(backfill_id)
            assert backfill is not None
            assert backfill.backfill_end_timestamp is not None
            records = instance.get_run_records()
            dequeued = {
                r.dagster_run.run_id: dequeued_at(instance, r.dagster_run.run_id) for r in records
            }
            materialized = Counter(
                record.partition_key
                for record in instance.fetch_materializations(
                    dg.AssetKey(ASSET), limit=10 * len(days)
                ).records
            )
        store = FeatureStore(config=StoreConfig.from_env())
        table = store.read(ENGAGEMENT.name)
        store.close()

    # Exactly the backfill's runs, all successful, each window materialized once.
    assert {r.dagster_run.tags.get("dagster/backfill") for r in records} == {backfill_id}
    assert all(r.dagster_run.is_success for r in records), [r.dagster_run for r in records]
    assert len(records) == runs_expected, (len(records), runs_expected)
    assert materialized == Counter(day.isoformat() for day in days), materialized
    # ...and written once: one row per user and event time, exactly the days.
    assert table.select("user_id", "event_time").is_duplicated().sum() == 0
    assert table.get_column("event_time").dt.date().unique().sort().to_list() == days

    launched = backfill.backfill_timestamp
    intervals = [(r.start_time or 0.0, r.end_time or 0.0) for r in records]
    held = [(dequeued[r.dagster_run.run_id], r.end_time or 0.0) for r in records]
    timeline = sorted(
        RunTimes(
            first=r.dagster_run.tags["dagster/asset_partition_range_start"],
            last=r.dagster_run.tags["dagster/asset_partition_range_end"],
            queued=round(r.create_timestamp.timestamp() - launched, 1),
            dequeued=round(dequeued[r.dagster_run.run_id] - launched, 1),
            started=round((r.start_time or 0.0) - launched, 1),
            ended=round((r.end_time or 0.0) - launched, 1),
        )
        for r in records
    )
    variant = Variant(
        name=name,
        partitions_per_run=per_run,
        runs=len(records),
        most_runs_at_once=most_at_once(intervals),
        most_runs_launched_at_once=most_at_once(held),
        wall_seconds=round(backfill.backfill_end_timestamp - launched, 1),
        to_last_run_end_seconds=round(max(end for _, end in intervals) - launched, 1),
        first_run_start_seconds=round(min(start for start, _ in intervals) - launched, 1),
        run_seconds_sum=round(sum(end - start for start, end in held), 1),
        work_seconds_sum=round(sum(end - start for start, end in intervals), 1),
        timeline=timeline,
        rows=table.height,
        load_before=round(load_before, 2),
        load_after=round(load_after, 2),
        stack_start_seconds=round(stack_start, 1),
    )
    print(f"{name}: {asdict(variant)}", file=sys.stderr)
    return variant, table


def comparable(table: pl.DataFrame) -> pl.DataFrame:
    """The table's rows in one order, to compare the tables of two variants."""
    return table.sort("user_id", "event_time")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--per-run",
        help="partitions per run of each variant, comma-separated (default: all the days, "
        "half of them, a sixth of them: 30,15,5)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="times the demo's users and impressions per day (2,000 and 20,000) in the event log",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(args.days)]
    if days[-1] >= dt.datetime.now(dt.UTC).date():
        parser.error(f"--days {args.days} reaches {days[-1]}: the last partition must have ended")
    per_runs = (
        [int(n) for n in args.per_run.split(",")]
        if args.per_run
        else [args.days, math.ceil(args.days / 2), math.ceil(args.days / 6)]
    )

    print(
        f"{args.days} daily partitions ({days[0]}...{days[-1]}), {args.scale}x the demo's "
        f"events, at most {MAX_RUNS} runs at once, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}",
        file=sys.stderr,
    )
    variants: list[Variant] = []
    tables: list[pl.DataFrame] = []
    with running_postgres() as postgres, tempfile.TemporaryDirectory(prefix="fp-runs-") as tmp:
        workdir = Path(tmp)
        catalog_uri = postgres.create_database("iceberg_backfill_runs")
        home = workdir / "home"
        started = time.monotonic()
        events = ingest_events(
            StoreConfig.embedded(home, catalog_uri=catalog_uri), days, args.scale
        )
        print(f"{events:,} events ingested in {time.monotonic() - started:.1f}s", file=sys.stderr)
        for per_run in per_runs:
            variant, table = run_variant(postgres, workdir, catalog_uri, home, days, per_run)
            variants.append(variant)
            tables.append(table)
    for table in tables[1:]:
        assert_frame_equal(comparable(table), comparable(tables[0]))  # raises with the diff

    base = variants[0]
    print(
        f"{'variant':14} {'runs':>5} {'at once':>8} {'wall s':>8} {'ratio':>7} "
        f"{'to last run end s':>18} {'ratio':>7} {'run s (sum)':>12} {'work s (sum)':>13} "
        f"{'load':>11}"
    )
    for v in variants:
        at_once = f"{v.most_runs_launched_at_once}/{v.most_runs_at_once}"
        print(
            f"{v.name:14} {v.runs:>5} {at_once:>8} {v.wall_seconds:>8.1f} "
            f"{v.wall_seconds / base.wall_seconds:>6.2f}x {v.to_last_run_end_seconds:>18.1f} "
            f"{v.to_last_run_end_seconds / base.to_last_run_end_seconds:>6.2f}x "
            f"{v.run_seconds_sum:>12.1f} {v.work_seconds_sum:>13.1f} "
            f"{v.load_before:>5.2f}-{v.load_after:<5.2f}"
        )
    print(
        f"all {len(variants)} tables equal: {base.rows:,} rows, {args.days} windows each "
        "materialized and written once; ratio < 1: faster than one run. at once: most runs "
        "launched / working at one instant; run s: each run from its launch off the queue to "
        "its end; work s: from its code loaded to its end"
    )
    print("runs, seconds after the launch (queued / launched / code loaded / ended):")
    for v in variants:
        for r in v.timeline:
            print(
                f"  {v.name:14} {r.first}...{r.last}  {r.queued:5.1f} / {r.dequeued:5.1f} / "
                f"{r.started:5.1f} / {r.ended:5.1f}"
            )
    if args.json:
        args.json.write_text(json.dumps([asdict(v) for v in variants], indent=2))


if __name__ == "__main__":
    main()
