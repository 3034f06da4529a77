"""Online reads: our `get_online_features` vs Feast's, per-request latency, side by side.

Serving calls the online read once per request, so what matters is the latency of one call of
1 or 100 entity rows, at the median and in the tail. One process, one generated data set, and
the same requests for every system:

* **ours, embedded**: the default online store (SQLite under the store's home), read as a
  polars frame (`get_online_features`) and as a dict of lists (`get_online_features_dict`,
  the like-for-like twin of Feast's ``.to_dict()``);
* **ours, DynamoDB**: the production backend against dynalite (DynamoDB on Node.js) on
  127.0.0.1, started and stopped here; the frame read;
* **Feast 0.67**: `FeatureStore.get_online_features(...).to_dict()` on its SQLite online store
  (file registry, `FileSource` offline), its local default.

Workload: `user_engagement` (int64 `user_id`; int64, float64 and string features) and
`article_popularity` (int64 `article_id`; int64 and float64), one latest row per entity, no ttl
(Feast's online read ignores ttl anyway), five features from two groups per request. Requests
draw keys from a seeded generator; about 2% of the keys are unknown, so every system also
builds rows of nulls.

Loading is outside the timed region. Each system gets `--warmup` untimed calls first (plans,
prepared statements, connections, Feast's registry cache). Timed calls run in blocks of
`--block` calls per system, the systems' order rotating each round: on a shared 2-core machine a
burst of outside load then lands on every system alike, while each block still runs one
system's code back to back. The garbage collector stays on, as in a server; the time spent in
collections is reported per system (`gc.callbacks`), since in one process a collection may be
triggered by another system's garbage. Each call is timed with `time.perf_counter_ns`.

Before timing, every system's answers on a sample of requests (unknown keys included) are
checked against each other and against the generated rows: integers and strings exactly,
floats to 1e-12 relative tolerance, nulls where the key is unknown.

Run:  python3 -m uv run --group bench python -m benchmarks.online_reads
          [--calls 1000] [--json out.json] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import io
import json
import math
import os
import platform
import pstats
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore, StoreConfig

Row = dict[str, int]
Request = list[Row]
Reader = Callable[[Request], object]

DYNALITE_CLI = (
    Path(__file__).resolve().parents[1]
    / "feature_platform_tests"
    / "online_store"
    / "dynalite"
    / "node_modules"
    / "dynalite"
    / "cli.js"
)
# Tables stay CREATING/DELETING only briefly (dynalite's default is 500 ms).
FAST_TABLES = ("--createTableMs", "20", "--deleteTableMs", "20", "--updateTableMs", "20")
START = "2026-01-01"
LATEST = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
CATEGORIES = np.array(
    ["world", "politics", "business", "tech", "science", "sports", "culture"], dtype=object
)
GROUPS: Mapping[str, tuple[str, Mapping[str, str]]] = {
    # group name -> (join key, {feature: dtype})
    "user_engagement": (
        "user_id",
        {"clicks_7d": "int64", "dwell_seconds_7d": "float64", "top_category": "string"},
    ),
    "article_popularity": ("article_id", {"views_24h": "int64", "ctr_24h": "float64"}),
}
FEATURE_REFS = [f"{group}:{name}" for group, (_, features) in GROUPS.items() for name in features]
KEYS = [key for key, _ in GROUPS.values()]
FEATURE_DTYPES = {
    name: dtype for _, features in GROUPS.values() for name, dtype in features.items()
}
OURS_EMBEDDED = "ours embedded (frame)"
OURS_EMBEDDED_DICT = "ours embedded (dict)"
OURS_DYNAMODB = "ours dynalite (frame)"
FEAST = "Feast SQLite (.to_dict)"
FLOAT_TOLERANCE = 1e-12
MAX_LOAD_WAIT_SECONDS = 900.0
LOAD_THRESHOLD = 1.0


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """The generated latest rows of each group, and each entity's values for the checks."""

    frames: Mapping[str, pl.DataFrame]  # group -> key, event_time, computed_at, features
    truth: Mapping[str, Mapping[int, tuple[Any, ...]]]  # group -> key -> feature values
    sizes: Mapping[str, int]  # group -> number of entities


def generate(users: int, articles: int, seed: int) -> Dataset:
    """One latest row per user and per article, deterministic in `seed`."""
    rng = np.random.default_rng(seed)

    def times(n: int) -> tuple[pl.Series, pl.Series]:
        back = rng.integers(0, 28 * 86_400_000_000, n)  # event times in the last 28 days
        event = LATEST - pl.Series(back).cast(pl.Duration("us"))
        return event, event + dt.timedelta(minutes=10)

    user_event, user_created = times(users)
    user_clicks = rng.integers(0, 500, users)
    frames = {
        "user_engagement": pl.DataFrame(
            {
                "user_id": np.arange(users, dtype=np.int64),
                "event_time": user_event,
                "computed_at": user_created,
                "clicks_7d": user_clicks,
                "dwell_seconds_7d": rng.lognormal(4.0, 1.0, users),  # full float64 precision
                "top_category": CATEGORIES[rng.integers(0, len(CATEGORIES), users)],
            }
        ),
    }
    article_event, article_created = times(articles)
    views = rng.integers(1, 100_000, articles)
    frames["article_popularity"] = pl.DataFrame(
        {
            "article_id": np.arange(articles, dtype=np.int64),
            "event_time": article_event,
            "computed_at": article_created,
            "views_24h": views,
            "ctr_24h": rng.binomial(views, 0.04) / views,
        }
    )
    truth = {
        group: {
            row[0]: tuple(row[3:])
            for row in frames[group].select(key, "event_time", "computed_at", *features).rows()
        }
        for group, (key, features) in GROUPS.items()
    }
    return Dataset(frames, truth, {"user_engagement": users, "article_popularity": articles})


def make_requests(
    data: Dataset, entities: int, count: int, missing_rate: float, seed: int
) -> list[Request]:
    """`count` requests of `entities` rows; a key is unknown (beyond the ids) at `missing_rate`."""
    rng = np.random.default_rng(seed)
    columns = {}
    for group, (key, _) in GROUPS.items():
        known = data.sizes[group]
        ids = rng.integers(0, known, (count, entities))
        unknown = rng.random((count, entities)) < missing_rate
        columns[key] = np.where(unknown, known + rng.integers(0, 1_000, (count, entities)), ids)
    return [
        [{key: int(columns[key][i, j]) for key in KEYS} for j in range(entities)]
        for i in range(count)
    ]


# --- systems ---------------------------------------------------------------------------------


def feature_groups() -> list[FeatureGroup]:
    """Our two groups: latest values online, no ttl, like the Feast views (ttl 0 = forever)."""
    return [
        FeatureGroup(
            name,
            Entity(name.split("_")[0], [key], key_dtypes={key: "int64"}),
            [Feature(feature, dtype) for feature, dtype in features.items()],
            created_time="computed_at",
            partitioning="daily",
            start=START,
            ttl=None,
            online=True,
        )
        for name, (key, features) in GROUPS.items()
    ]


def open_ours(config: StoreConfig, data: Dataset) -> tuple[FeatureStore, float]:
    """Apply both groups and push their rows to the online store; the load's seconds."""
    store = FeatureStore(config=config)
    for group in feature_groups():
        store.apply(group)
    started = time.perf_counter()
    for name, frame in data.frames.items():
        report = store.write(name, frame, to="online").online
        if report is None or report.written != frame.height:
            raise RuntimeError(f"online load of {name} wrote {report} of {frame.height} rows")
    return store, time.perf_counter() - started


def open_feast(repo: Path, data: Dataset) -> tuple[Any, float]:
    """A Feast repo in code: file registry, FileSource offline, SQLite online; rows pushed.

    Rows go in with `write_to_online_store` (Feast's push path), the same latest rows as ours.
    No ttl is ``timedelta(0)``, Feast's "forever" (see `benchmarks.feast_repo`).
    """
    from feast import Entity as FeastEntity
    from feast import FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64, String

    from benchmarks.feast_repo import open_store as open_feast_store

    repo.mkdir()
    store = open_feast_store(repo, project="online_bench")
    types = {"int64": Int64, "float64": Float64, "string": String}
    objects: list[Any] = []
    frames = {}
    for name, (key, features) in GROUPS.items():
        path = repo / f"{name}.parquet"
        frames[name] = data.frames[name].to_pandas()
        frames[name].to_parquet(path)
        entity = FeastEntity(name=name.split("_")[0], join_keys=[key], value_type=ValueType.INT64)
        source = FileSource(
            name=f"{name}_source",
            path=str(path),
            timestamp_field="event_time",
            created_timestamp_column="computed_at",
        )
        view = FeatureView(
            name=name,
            entities=[entity],
            schema=[Field(name=f, dtype=types[t]) for f, t in features.items()],
            source=source,
            ttl=dt.timedelta(0),
            online=True,
        )
        objects += [entity, view]
    store.apply(objects)
    started = time.perf_counter()
    for name, frame in frames.items():
        store.write_to_online_store(name, frame)
    return store, time.perf_counter() - started


@dataclass(frozen=True)
class Dynalite:
    endpoint: str
    pid: int

    def cpu_seconds(self) -> float:
        """The server's user + system CPU so far (``/proc/<pid>/stat`` fields 14 and 15)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def dynalite(log: Path, table_delays: Sequence[str] = FAST_TABLES) -> Iterator[Dynalite]:
    """A dynalite server (in memory) on a free port of 127.0.0.1: its endpoint and pid."""
    node = shutil.which("node")
    if node is None or not DYNALITE_CLI.exists():
        raise RuntimeError(
            "dynalite needs Node.js and its npm package: "
            "npm ci --prefix feature_platform_tests/online_store/dynalite"
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    with log.open("w") as output:
        process = subprocess.Popen(
            [node, str(DYNALITE_CLI), "--host", "127.0.0.1", "--port", str(port), *table_delays],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dynalite did not start: {log.read_text()}") from None
                time.sleep(0.05)
        yield Dynalite(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def dynamodb_config(home: Path, endpoint: str) -> StoreConfig:
    return StoreConfig.embedded(
        home,
        online_store="dynamodb",
        online_settings={
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
            "table_prefix": "bench.",
            "manage_ttl": False,  # dynalite has no UpdateTimeToLive; no ttl here anyway
        },
    )


def readers(embedded: FeatureStore, dynamodb: FeatureStore, feast: Any) -> dict[str, Reader]:
    """The call each system's serving code would make per request, output included."""
    refs = list(FEATURE_REFS)
    return {
        OURS_EMBEDDED: lambda rows: embedded.get_online_features(refs, rows),
        OURS_EMBEDDED_DICT: lambda rows: embedded.get_online_features_dict(refs, rows),
        OURS_DYNAMODB: lambda rows: dynamodb.get_online_features(refs, rows),
        FEAST: lambda rows: feast.get_online_features(features=refs, entity_rows=rows).to_dict(),
    }


# --- correctness -----------------------------------------------------------------------------


def as_columns(answer: object) -> dict[str, list[Any]]:
    if isinstance(answer, pl.DataFrame):
        return answer.to_dict(as_series=False)
    if isinstance(answer, dict):
        return answer
    raise TypeError(f"unexpected answer type {type(answer).__name__}")


def expected(data: Dataset, request: Request) -> dict[str, list[Any]]:
    """What every system must return: the keys, then each feature, None for unknown keys."""
    columns: dict[str, list[Any]] = {key: [row[key] for row in request] for key in KEYS}
    for group, (key, features) in GROUPS.items():
        nulls = (None,) * len(features)
        values = [data.truth[group].get(row[key], nulls) for row in request]
        for index, name in enumerate(features):
            columns[name] = [v[index] for v in values]
    return columns


def check_answers(data: Dataset, systems: Mapping[str, Reader], requests: Sequence[Request]) -> int:
    """Every system's answer equals the generated rows; the number of values compared.

    Raises:
        AssertionError: A column is missing, or a value differs (raised explicitly, so that
            ``python -O`` does not skip the check).
    """
    compared = 0
    for number, request in enumerate(requests):
        want = expected(data, request)
        for name, read in systems.items():
            got = as_columns(read(request))
            for column, values in want.items():
                if column not in got:
                    raise AssertionError(f"{name}: no column {column!r} in {sorted(got)}")
                for row, (a, b) in enumerate(zip(got[column], values, strict=True)):
                    if not same_value(a, b, FEATURE_DTYPES.get(column, "int64")):
                        raise AssertionError(
                            f"{name}, request {number}, row {row} ({request[row]}), "
                            f"{column}: got {a!r}, expected {b!r}"
                        )
                    compared += 1
    return compared


def same_value(got: Any, want: Any, dtype: str) -> bool:
    """Exact for ints and strings (type included), close for floats; None only for None."""
    if want is None or got is None:
        return got is None and want is None
    if dtype == "float64":
        return isinstance(got, float) and math.isclose(got, want, rel_tol=FLOAT_TOLERANCE)
    kind = int if dtype == "int64" else str
    return type(got) is kind and got == want


# --- timing ----------------------------------------------------------------------------------


class GcTimer:
    """Time spent in garbage collections, charged to the system whose call was running."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.ns: dict[str, int] = {}
        self.full: dict[str, int] = {}
        self._started = 0

    def __call__(self, phase: str, info: Mapping[str, int]) -> None:
        if self.current is None:
            return
        if phase == "start":
            self._started = time.perf_counter_ns()
            return
        self.ns[self.current] = (
            self.ns.get(self.current, 0) + time.perf_counter_ns() - self._started
        )
        if info["generation"] == 2:
            self.full[self.current] = self.full.get(self.current, 0) + 1

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self)


def measure(
    systems: Mapping[str, Reader], requests: Sequence[Request], warmup: int, block: int
) -> tuple[dict[str, list[int]], GcTimer]:
    """Per-call nanoseconds of each system on the same requests after `warmup` calls.

    The first `warmup` requests are only for warming up; the rest are timed in blocks of
    `block` calls per system, the order of systems rotating each round.
    """
    names = list(systems)
    for name in names:
        for request in requests[:warmup]:
            systems[name](request)
    timed = requests[warmup:]
    samples: dict[str, list[int]] = {name: [] for name in names}
    with GcTimer() as gc_timer:
        for round_number, start in enumerate(range(0, len(timed), block)):
            chunk = timed[start : start + block]
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                read, out = systems[name], samples[name]
                gc_timer.current = name
                for request in chunk:
                    began = time.perf_counter_ns()
                    read(request)
                    out.append(time.perf_counter_ns() - began)
                gc_timer.current = None
    return samples, gc_timer


@dataclass
class Latency:
    """One system's latency over the timed calls of one request size, in milliseconds."""

    system: str
    entities: int
    calls: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    gc_ms: float  # total time in collections during this system's calls
    gc_full: int  # full (generation 2) collections during this system's calls


def summarise(system: str, entities: int, nanoseconds: Sequence[int], gc_timer: GcTimer) -> Latency:
    ms = np.asarray(nanoseconds, dtype=np.float64) / 1e6
    return Latency(
        system=system,
        entities=entities,
        calls=len(ms),
        p50_ms=round(float(np.percentile(ms, 50)), 4),
        p99_ms=round(float(np.percentile(ms, 99)), 4),
        mean_ms=round(float(ms.mean()), 4),
        min_ms=round(float(ms.min()), 4),
        max_ms=round(float(ms.max()), 4),
        gc_ms=round(gc_timer.ns.get(system, 0) / 1e6, 2),
        gc_full=gc_timer.full.get(system, 0),
    )


def wait_for_quiet(max_seconds: float, threshold: float) -> tuple[float, float]:
    """Poll until the 1-minute load average is below `threshold` (or give up); (load, waited).

    The machine is shared and has 2 cores: a busy neighbour shows up in every tail figure.
    """
    started = time.monotonic()
    while True:
        load = os.getloadavg()[0]
        waited = time.monotonic() - started
        if load < threshold or waited >= max_seconds:
            if load >= threshold:
                print(
                    f"  load still {load:.2f} after {waited:.0f}s; measuring anyway",
                    file=sys.stderr,
                )
            return load, waited
        print(f"  load average {load:.2f} >= {threshold}: waiting ({waited:.0f}s)", file=sys.stderr)
        time.sleep(min(20.0, max(1.0, max_seconds - waited)))


def profile_call(read: Reader, request: Request, calls: int) -> str:
    """cProfile of `calls` calls of one request: the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        read(request)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    cumulative = io.StringIO()
    pstats.Stats(profiler, stream=cumulative).sort_stats("cumulative").print_stats(
        "feature_platform", 25
    )
    return out.getvalue() + cumulative.getvalue()


# --- report ----------------------------------------------------------------------------------


def ratios(results: Sequence[Latency]) -> list[dict[str, Any]]:
    """Feast / ours at p50 and p99 for each of our variants and request size (>1: we are faster)."""
    by_key = {(r.system, r.entities): r for r in results}
    rows = []
    for entities in sorted({r.entities for r in results}):
        feast = by_key[(FEAST, entities)]
        for ours in (OURS_EMBEDDED, OURS_EMBEDDED_DICT, OURS_DYNAMODB):
            mine = by_key[(ours, entities)]
            rows.append(
                {
                    "ours": ours,
                    "entities": entities,
                    "p50_feast_over_ours": round(feast.p50_ms / mine.p50_ms, 2),
                    "p99_feast_over_ours": round(feast.p99_ms / mine.p99_ms, 2),
                }
            )
    return rows


def print_report(results: Sequence[Latency], ratio_rows: Sequence[Mapping[str, Any]]) -> None:
    print(
        f"{'system':26} {'entities':>8} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9} "
        f"{'max ms':>9} {'gc ms':>7} {'full gc':>7}"
    )
    for r in results:
        print(
            f"{r.system:26} {r.entities:>8} {r.p50_ms:>9.3f} {r.p99_ms:>9.3f} {r.mean_ms:>9.3f} "
            f"{r.max_ms:>9.3f} {r.gc_ms:>7.1f} {r.gc_full:>7}"
        )
    print()
    print(f"{'Feast / ours':26} {'entities':>8} {'p50':>7} {'p99':>7}")
    for row in ratio_rows:
        print(
            f"{row['ours']:26} {row['entities']:>8} {row['p50_feast_over_ours']:>6.2f}x "
            f"{row['p99_feast_over_ours']:>6.2f}x"
        )


def versions() -> dict[str, str]:
    from importlib.metadata import version

    packages = ("feast", "polars", "pyiceberg", "boto3", "protobuf", "pandas")
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": str(os.cpu_count()),
        **{name: version(name) for name in packages},
    }


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000, help="timed calls per system and size")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls first")
    parser.add_argument("--block", type=int, default=100, help="calls per system per round")
    parser.add_argument("--sizes", default="1,100", help="entity rows per request")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--missing-rate", type=float, default=0.02)
    parser.add_argument("--check-requests", type=int, default=50, help="per size, untimed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-wait", type=float, default=MAX_LOAD_WAIT_SECONDS)
    parser.add_argument("--profile", action="store_true", help="cProfile 1-entity reads of ours")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    load_at_start = os.getloadavg()
    data = generate(args.users, args.articles, args.seed)
    requests = {
        n: make_requests(data, n, args.warmup + args.calls, args.missing_rate, args.seed + n)
        for n in sizes
    }
    with tempfile.TemporaryDirectory(prefix="fp-online-bench-") as tmp:
        workdir = Path(tmp)
        with dynalite(workdir / "dynalite.log") as server:
            endpoint = server.endpoint
            print(f"loading {args.users:,} users and {args.articles:,} articles", file=sys.stderr)
            embedded, embedded_load = open_ours(StoreConfig.embedded(workdir / "ours"), data)
            dynamodb, dynamodb_load = open_ours(dynamodb_config(workdir / "dyn", endpoint), data)
            feast, feast_load = open_feast(workdir / "feast", data)
            print(
                f"  loaded: embedded {embedded_load:.1f}s, dynalite {dynamodb_load:.1f}s, "
                f"Feast {feast_load:.1f}s",
                file=sys.stderr,
            )
            systems = readers(embedded, dynamodb, feast)

            # Correctness first, untimed: a sample of each size plus a request of unknown keys.
            unknown = [{"user_id": -1, "article_id": 0}, {"user_id": 0, "article_id": 10**9}]
            sample = [unknown] + [
                request
                for n in sizes
                for request in requests[n][args.warmup : args.warmup + args.check_requests]
            ]
            compared = check_answers(data, systems, sample)
            print(
                f"  check: {len(sample)} requests, {compared:,} values equal across systems",
                file=sys.stderr,
            )

            load_before, waited = wait_for_quiet(args.max_wait, LOAD_THRESHOLD)
            load_before_all = os.getloadavg()
            results = []
            for n in sizes:
                print(f"timing {n}-entity requests: {args.calls} calls each", file=sys.stderr)
                samples, gc_timer = measure(systems, requests[n], args.warmup, args.block)
                results += [summarise(name, n, ns, gc_timer) for name, ns in samples.items()]
            load_after = os.getloadavg()

            profile = ""
            if args.profile:
                request = requests[1][args.warmup]
                profile = profile_call(systems[OURS_EMBEDDED], request, args.calls)
                profile += profile_call(systems[FEAST], request, args.calls)
            dynamodb.close()
        embedded.close()

    ratio_rows = ratios(results)
    print(
        f"load average (1/5/15 min): at start {_fmt(load_at_start)}, before timing "
        f"{_fmt(load_before_all)} (waited {waited:.0f}s), after timing {_fmt(load_after)}; "
        f"GC on; {args.calls} timed calls after {args.warmup} warm-up, blocks of {args.block}"
    )
    print_report(results, ratio_rows)
    if profile:
        print(profile)
    if args.json:
        report = {
            "versions": versions(),
            "settings": {**vars(args), "json": str(args.json), "gc_enabled": gc.isenabled()},
            "load_average": {
                "start": load_at_start,
                "before_timing": load_before_all,
                "after_timing": load_after,
                "waited_seconds": round(waited),
                "below_threshold": load_before < LOAD_THRESHOLD,
            },
            "load_seconds": {
                "embedded": round(embedded_load, 2),
                "dynalite": round(dynamodb_load, 2),
                "feast": round(feast_load, 2),
            },
            "values_checked": compared,
            "results": [asdict(r) for r in results],
            "ratios": ratio_rows,
        }
        args.json.write_text(json.dumps(report, indent=2))


def _fmt(load: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.2f}" for v in load)


if __name__ == "__main__":
    main()
