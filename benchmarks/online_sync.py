"""Offline→online sync throughput: our `sync_online` vs Feast's `materialize`, side by side.

What is measured, in one process and one run, for the same generated rows:

* **embedded**: our sync (`feature_platform.sync.sync_online`, what the `online/<group>` asset
  runs) from the Iceberg table into the default embedded online store (SQLite under the
  store's home), against Feast 0.67's `FeatureStore.materialize` from its file offline store
  (one parquet file) into its SQLite online store;
* **DynamoDB**: our sync into `DynamoDBOnlineStore` against Feast's `materialize` into Feast's
  DynamoDB online store (`feast[aws]`), both on the same dynalite server (DynamoDB on Node.js,
  in memory) on 127.0.0.1, started and stopped here.

Workload: one daily group keyed by an int64 `user_id` with five features (two int64, two
float64, one string), `--entities` users with a row on each of `--days` days (so the sync keeps
the latest of several rows per entity), no ttl (Feast's ``ttl=timedelta(0)``). Two syncs per
system and round: a **bootstrap** (every entity new online: ours from no cursor, Feast's
`materialize` over the whole range) and an **incremental** sync after a new day's rows change
`--changed` of the entities (ours from the bootstrap's cursor, Feast's `materialize_incremental`
from the bootstrap's end). Then a **resync** with nothing changed, as after a lost cursor, a
raised ttl or an interrupted sync: ours from no cursor (every entity's latest row is sent; a
DynamoDB write of 100 items or more reads the stored versions first and puts only what would
win, here nothing), Feast's `materialize` over the whole range again. Items are the online items
written (one per entity), for the resync the entities synced; items/s is items over the wall time
of the call, which for both includes reading the offline store.

Each round builds fresh offline tables and online tables for every system (untimed), then runs
the bootstrap of every system, the systems' order rotating each round, then the change, then the
incremental syncs in the same rotated order; a first, smaller round warms imports and
connections and is not counted. Per sync the benchmark records the process's CPU
(`time.process_time`, all threads) and, on dynalite, the server's CPU (utime + stime from
``/proc/<pid>/stat``), both per item, and counts the DynamoDB requests at each client with a
botocore ``before-parameter-build`` hook (operations, and the items they carry).

Correctness before the figures: after every sync, each system's `get_online_features` on a
sample of entities (changed ones and two unknown keys included) equals the generated latest
rows: integers and strings exactly, floats to 1e-12 relative tolerance, nulls for unknown keys;
so all four systems also agree with each other.

Last, the online requests a backfill makes: a daily group with ttl=7d and `--backfill-days`
windows (ending yesterday) on dynalite is bootstrapped, then every window is recomputed (new
values) with one `write_window` per day, as a Dagster backfill commits them: first the windows
older than the ttl, then the recent ones, each followed by a sync from the cursor. The requests
counted at the DynamoDB client must be 0 for the old windows; the recent windows' items are
checked against the live rows.

Run:  python3 -m uv run --group bench python -m benchmarks.online_sync
          [--entities 5000] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from benchmarks.online_reads import Dynalite, dynalite, same_value, versions
from feature_platform import Entity, Feature, FeatureGroup, FeatureStore, StoreConfig
from feature_platform.online_store.dynamodb import DynamoDBOnlineStore
from feature_platform.sync import SyncReport, sync_online

GROUP = "user_daily"
BACKFILL_GROUP = "user_daily_ttl"
KEY = "user_id"
FEATURES: Mapping[str, str] = {
    "clicks_1d": "int64",
    "impressions_1d": "int64",
    "ctr_1d": "float64",
    "avg_dwell_1d": "float64",
    "top_category": "string",
}
REFS = [f"{GROUP}:{name}" for name in FEATURES]
CATEGORIES = np.array(["world", "politics", "business", "tech", "science", "sports"], dtype=object)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
BACKFILL_TTL = dt.timedelta(days=7)
OURS_EMBEDDED = "ours embedded"
FEAST_SQLITE = "Feast SQLite"
OURS_DYNAMODB = "ours DynamoDB"
FEAST_DYNAMODB = "Feast DynamoDB"
# Tables turn ACTIVE at once: Feast's `apply` waits with boto3's `table_exists` waiter, which
# sleeps 20 s whenever its first DescribeTable still sees CREATING (dynalite's default 500 ms).
INSTANT_TABLES = ("--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
PAIRS = ((OURS_EMBEDDED, FEAST_SQLITE), (OURS_DYNAMODB, FEAST_DYNAMODB))
PHASES = ("bootstrap", "incremental", "resync")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
REGION = "us-east-1"
# DynamoDB operations that read or write items; the rest (DescribeTable, ...) are table admin.
WRITE_OPERATIONS = (
    "PutItem",
    "DeleteItem",
    "UpdateItem",
    "BatchWriteItem",
    "BatchExecuteStatement",
    "ExecuteStatement",
    "TransactWriteItems",
)


# --- data ------------------------------------------------------------------------------------


def rows(users: np.ndarray, day_start: dt.datetime, seed: int) -> pl.DataFrame:
    """One row per user in `users` on the day starting at `day_start`, deterministic in `seed`."""
    rng = np.random.default_rng(seed)
    n = len(users)
    offsets = rng.integers(0, 86_400_000_000 - 3_600_000_000, n)  # created_at stays in the day
    impressions = rng.integers(1, 200, n)
    clicks = rng.binomial(impressions, 0.08)
    return pl.DataFrame(
        {
            KEY: users.astype(np.int64),
            "event_time": pl.Series(offsets).cast(pl.Duration("us")) + day_start,
            "created_at": pl.Series(offsets + 3_600_000_000).cast(pl.Duration("us")) + day_start,
            "clicks_1d": clicks,
            "impressions_1d": impressions,
            "ctr_1d": clicks / impressions,
            "avg_dwell_1d": rng.lognormal(3.5, 0.8, n),  # full float64 precision
            "top_category": CATEGORIES[rng.integers(0, len(CATEGORIES), n)],
        }
    )


@dataclass(frozen=True)
class Workload:
    """The base days (every entity each day) and the change day (some entities)."""

    days: list[pl.DataFrame]
    change: pl.DataFrame
    entities: int

    @property
    def base_end(self) -> dt.datetime:
        return START + dt.timedelta(days=len(self.days))

    @property
    def change_end(self) -> dt.datetime:
        return self.base_end + dt.timedelta(days=1)


def workload(entities: int, days: int, changed: float, seed: int) -> Workload:
    users = np.arange(entities, dtype=np.int64)
    frames = [rows(users, START + dt.timedelta(days=d), seed + d) for d in range(days)]
    rng = np.random.default_rng(seed - 1)
    moved = np.sort(rng.choice(users, size=round(entities * changed), replace=False))
    change = rows(moved, START + dt.timedelta(days=days), seed + days)
    return Workload(frames, change, entities)


def latest_rows(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Each entity's latest row (by event_time, then created_at)."""
    frame = pl.concat(frames).sort(KEY, "event_time", "created_at")
    return frame.group_by(KEY, maintain_order=True).last()


def latest(frames: Sequence[pl.DataFrame]) -> dict[int, tuple[Any, ...]]:
    """Each entity's feature values of its latest row (by event_time, then created_at)."""
    last = latest_rows(frames)
    return {row[0]: tuple(row[1:]) for row in last.select(KEY, *FEATURES).rows()}


# --- request counting ------------------------------------------------------------------------


class RequestCounter:
    """DynamoDB API calls of a botocore client, and the items they carry.

    Counted on ``before-parameter-build``, which botocore emits once per API call with the
    call's own parameters (``before-call`` sees the serialized request instead); retries of a
    call inside botocore are not counted again.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self)

    def __call__(self, model: Any, params: Mapping[str, Any], **_: Any) -> None:
        name = model.name
        self.calls[name] += 1
        tables = params.get("RequestItems", {})
        if name == "BatchWriteItem":
            self.items[name] += sum(len(requests) for requests in tables.values())
        elif name == "BatchGetItem":
            self.items[name] += sum(len(request["Keys"]) for request in tables.values())
        elif name == "BatchExecuteStatement":
            self.items[name] += len(params.get("Statements", ()))
        elif name == "TransactWriteItems":
            self.items[name] += len(params.get("TransactItems", ()))
        else:
            self.items[name] += 1

    def snapshot(self) -> tuple[Counter[str], Counter[str]]:
        return Counter(self.calls), Counter(self.items)

    def since(self, before: tuple[Counter[str], Counter[str]]) -> dict[str, tuple[int, int]]:
        """{operation: (calls, items)} since `before` (a `snapshot`)."""
        calls, items = self.calls - before[0], self.items - before[1]
        return {op: (calls[op], items[op]) for op in sorted(calls)}


def write_requests(ops: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
    """(calls, items) of the item-writing operations in `ops`."""
    chosen = [ops[op] for op in WRITE_OPERATIONS if op in ops]
    return sum(c for c, _ in chosen), sum(i for _, i in chosen)


# --- dynalite --------------------------------------------------------------------------------


# --- systems ---------------------------------------------------------------------------------


class Reader(Protocol):
    """Something whose online values `check` can read."""

    name: str

    def read(self, entity_rows: list[dict[str, int]]) -> dict[str, list[Any]]: ...


class System(Reader, Protocol):
    """One side of a pair: a store with the workload's rows offline, synced on demand."""

    counter: RequestCounter | None  # DynamoDB requests of its client (None: not DynamoDB)

    def bootstrap(self, data: Workload) -> int: ...  # the sync of every entity; items
    def change(self, data: Workload) -> None: ...  # commit the change day offline (untimed)
    def incremental(self, data: Workload) -> int: ...  # the sync of the change; items
    def resync(self, data: Workload) -> int: ...  # a full sync, nothing changed; entities
    def close(self) -> None: ...


def user_group(name: str, ttl: dt.timedelta | None, start: dt.datetime) -> FeatureGroup:
    return FeatureGroup(
        name,
        Entity("user", [KEY], key_dtypes={KEY: "int64"}),
        [Feature(feature, dtype) for feature, dtype in FEATURES.items()],
        created_time="created_at",
        partitioning="daily",
        start=start,
        ttl=ttl,
        online=True,
    )


def dynamodb_config(home: Path, endpoint: str, prefix: str) -> StoreConfig:
    return StoreConfig.embedded(
        home,
        online_store="dynamodb",
        online_settings={
            "endpoint_url": endpoint,
            "region_name": REGION,
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
            "table_prefix": prefix,
            "manage_ttl": False,  # dynalite has no UpdateTimeToLive
        },
    )


def write_days(store: FeatureStore, name: str, frames: Sequence[pl.DataFrame]) -> None:
    """Each frame (one day's rows) as its day's window: one commit per day, as a backfill."""
    for frame in frames:
        first = frame["event_time"].min()
        assert isinstance(first, dt.datetime)
        start = first.replace(hour=0, minute=0, second=0, microsecond=0)
        store.write_window(name, frame, start, start + dt.timedelta(days=1))


def counted_client(store: FeatureStore) -> RequestCounter | None:
    """A request counter on the DynamoDB client of our online store (None: not DynamoDB)."""
    online = store.online
    client = getattr(online, "client", None) if isinstance(online, DynamoDBOnlineStore) else None
    if client is None:
        return None
    counter = RequestCounter()
    counter.attach(client)
    return counter


class Ours:
    """Our store: the group's offline Iceberg table, synced with `sync_online`."""

    def __init__(self, name: str, config: StoreConfig, data: Workload) -> None:
        self.name = name
        self.store = FeatureStore(config=config)
        self.store.apply(user_group(GROUP, None, START))
        write_days(self.store, GROUP, data.days)
        self.cursor: int | None = None
        self.counter = counted_client(self.store)
        self.store.online.ensure_table(user_group(GROUP, None, START))  # as Feast's apply does

    def _sync(self, expected: int, cursor: int | None = None) -> int:
        report = sync_online(self.store, GROUP, cursor)
        if report.items_written != expected:
            raise AssertionError(f"{self.name}: wrote {report.items_written} of {expected} items")
        self.cursor = report.to_snapshot_id
        return report.items_written

    def bootstrap(self, data: Workload) -> int:
        return self._sync(data.entities)

    def change(self, data: Workload) -> None:
        write_days(self.store, GROUP, [data.change])

    def incremental(self, data: Workload) -> int:
        return self._sync(data.change.height, self.cursor)

    def resync(self, data: Workload) -> int:
        # No cursor (as after a lost cursor, a raised ttl or an interrupted sync): every
        # entity's latest row is sent again. All are current online: the embedded store
        # rewrites them (an upsert in SQLite costs next to nothing), DynamoDB reads the stored
        # items of a large write first and puts none (the write-request column shows it).
        report = sync_online(self.store, GROUP, None)
        if report.online_requests != data.entities:
            raise AssertionError(f"{self.name}: resynced {report.online_requests} entities")
        self.cursor = report.to_snapshot_id
        return data.entities

    def read(self, entity_rows: list[dict[str, int]]) -> dict[str, list[Any]]:
        return self.store.get_online_features(REFS, entity_rows).to_dict(as_series=False)

    def close(self) -> None:
        self.store.close()


class Feast:
    """A Feast 0.67 repo in code: file registry, file offline store (one parquet), an online
    store (SQLite or DynamoDB); `materialize` and `materialize_incremental` sync it."""

    def __init__(
        self,
        name: str,
        repo: Path,
        parquet: Path,
        online: dict[str, Any],
        ttl: dt.timedelta | None = None,
    ) -> None:
        from feast import Entity as FeastEntity
        from feast import FeatureStore as FeastStore
        from feast import FeatureView, Field, FileSource, ValueType
        from feast.repo_config import RegistryConfig, RepoConfig
        from feast.types import Float64, Int64, String

        self.name = name
        self.parquet = parquet
        repo.mkdir()
        config = RepoConfig(
            project=repo.name,  # also the DynamoDB table prefix: unique per repo
            provider="local",
            registry=RegistryConfig(path=str(repo / "registry.db")),
            offline_store={"type": "file"},
            online_store=online,
            repo_path=repo,
            entity_key_serialization_version=3,
        )
        self.store = FeastStore(config=config)
        types = {"int64": Int64, "float64": Float64, "string": String}
        user = FeastEntity(name="user", join_keys=[KEY], value_type=ValueType.INT64)
        view = FeatureView(
            name=GROUP,
            entities=[user],
            schema=[Field(name=f, dtype=types[t]) for f, t in FEATURES.items()],
            source=FileSource(
                name=f"{GROUP}_source",
                path=str(parquet),
                timestamp_field="event_time",
                created_timestamp_column="created_at",
            ),
            ttl=ttl or dt.timedelta(0),  # no ttl is Feast's "forever", timedelta(0)
            online=True,
        )
        with contextlib.redirect_stdout(sys.stderr):  # Feast prints its progress
            self.store.apply([user, view])  # creates the online table
        self.counter: RequestCounter | None = None
        if online["type"] == "dynamodb":
            self.counter = RequestCounter()
            # Feast's boto3 resource, made by `apply` and kept by its online store.
            resource = getattr(self.store.provider.online_store, "_dynamodb_resource")  # noqa: B009
            self.counter.attach(resource.meta.client)

    def materialize(self, start: dt.datetime, end: dt.datetime) -> None:
        with contextlib.redirect_stdout(sys.stderr):
            self.store.materialize(start_date=start, end_date=end)

    def bootstrap(self, data: Workload) -> int:
        self.materialize(START, data.base_end)
        return data.entities

    def change(self, data: Workload) -> None:
        pass  # the shared parquet file is rewritten once per round (`write_parquet`)

    def incremental(self, data: Workload) -> int:
        with contextlib.redirect_stdout(sys.stderr):
            self.store.materialize_incremental(end_date=data.change_end)
        return data.change.height

    def resync(self, data: Workload) -> int:
        self.materialize(START, data.change_end)  # the whole range again: every entity
        return data.entities

    def read(self, entity_rows: list[dict[str, int]]) -> dict[str, list[Any]]:
        answer = self.store.get_online_features(features=REFS, entity_rows=entity_rows)
        result: dict[str, list[Any]] = answer.to_dict()
        return result

    def close(self) -> None:
        pass  # nothing long-lived: Feast's sync clients are closed with the process


def write_parquet(path: Path, frames: Sequence[pl.DataFrame]) -> None:
    """Feast's offline data: the rows as one parquet file, rewritten whole (its append)."""
    pl.concat(frames).to_pandas().to_parquet(path)


# --- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRun:
    """What one timed sync call did."""

    system: str
    phase: str
    round: int
    items: int
    seconds: float
    cpu_seconds: float  # this process, all threads
    server_cpu_seconds: float | None  # dynalite's, for DynamoDB systems
    requests: dict[str, tuple[int, int]]  # DynamoDB operation: (calls, items)

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds


def timed(
    system: System, phase: str, number: int, data: Workload, server: Dynalite | None
) -> SyncRun:
    """One sync of `system` (`phase`): wall, this process's CPU, dynalite's CPU, requests."""
    counter = system.counter
    before = counter.snapshot() if counter else None
    server = server if counter else None
    server_before = server.cpu_seconds() if server else 0.0
    run = {"bootstrap": system.bootstrap, "incremental": system.incremental}.get(
        phase, system.resync
    )
    cpu_started = time.process_time()
    started = time.perf_counter()
    items = run(data)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return SyncRun(
        system=system.name,
        phase=phase,
        round=number,
        items=items,
        seconds=seconds,
        cpu_seconds=cpu,
        server_cpu_seconds=server.cpu_seconds() - server_before if server else None,
        requests=counter.since(before) if counter and before else {},
    )


def check(system: Reader, truth: Mapping[int, tuple[Any, ...]], sample: Sequence[int]) -> int:
    """`system`'s online values of `sample` equal `truth` (None where absent); values compared.

    Raises:
        AssertionError: A column is missing or a value differs (raised explicitly, so that
            ``python -O`` does not skip the check).
    """
    answer = system.read([{KEY: key} for key in sample])
    nulls = (None,) * len(FEATURES)
    compared = 0
    for index, (name, dtype) in enumerate(FEATURES.items()):
        if name not in answer:
            raise AssertionError(f"{system.name}: no column {name!r} in {sorted(answer)}")
        for key, got in zip(sample, answer[name], strict=True):
            want = truth.get(key, nulls)[index]
            if not same_value(got, want, dtype):
                raise AssertionError(
                    f"{system.name}: {KEY}={key}, {name}: got {got!r}, expected {want!r}"
                )
            compared += 1
    return compared


def sample_keys(data: Workload, size: int, seed: int) -> list[int]:
    """Changed entities, others at random, and two unknown keys."""
    rng = np.random.default_rng(seed)
    changed = data.change[KEY].to_list()[: size // 2]
    others = rng.choice(data.entities, size=min(size - len(changed), data.entities), replace=False)
    return [*changed, *(int(k) for k in others), -1, data.entities + 10]


def run_round(
    data: Workload, number: int, workdir: Path, server: Dynalite, sample_size: int
) -> tuple[list[SyncRun], int]:
    """Fresh stores, then every system's bootstrap, the change, every incremental; rotated."""
    began = time.perf_counter()
    workdir.mkdir()
    parquet = workdir / "feast_rows.parquet"
    write_parquet(parquet, data.days)
    feast_sqlite = {"type": "sqlite", "path": str(workdir / "feast_online.db")}
    feast_dynamodb = {"type": "dynamodb", "region": REGION, "endpoint_url": server.endpoint}
    systems: list[System] = [
        Ours(OURS_EMBEDDED, StoreConfig.embedded(workdir / "ours_embedded"), data),
        Feast(FEAST_SQLITE, workdir / f"feast_sqlite_r{number}", parquet, feast_sqlite),
        Ours(
            OURS_DYNAMODB,
            dynamodb_config(workdir / "ours_dynamodb", server.endpoint, f"r{number}."),
            data,
        ),
        Feast(FEAST_DYNAMODB, workdir / f"feast_dynamodb_r{number}", parquet, feast_dynamodb),
    ]
    print(f"  stores set up in {time.perf_counter() - began:.1f}s", file=sys.stderr)
    shift = number % len(systems)
    order = systems[shift:] + systems[:shift]
    sample = sample_keys(data, sample_size, number)
    runs: list[SyncRun] = []
    compared = 0
    truth = latest(data.days)
    for system in order:
        runs.append(timed(system, "bootstrap", number, data, server))
        compared += check(system, truth, sample)
    for system in systems:
        system.change(data)
    write_parquet(parquet, [*data.days, data.change])
    truth = latest([*data.days, data.change])
    for system in order:
        runs.append(timed(system, "incremental", number, data, server))
        compared += check(system, truth, sample)
    for system in order:
        runs.append(timed(system, "resync", number, data, server))
        compared += check(system, truth, sample)
    for system in systems:
        system.close()
    return runs, compared


# --- the backfill's online requests ----------------------------------------------------------


@dataclass(frozen=True)
class BackfillRequests:
    """The syncs around a backfill of a ttl group on dynalite, and what they sent."""

    days: int
    ttl_days: int
    rows_per_day: int
    bootstrap_items: int
    old_windows: int
    old_report: dict[str, Any]
    old_requests: dict[str, tuple[int, int]]
    recent_windows: int
    recent_report: dict[str, Any]
    recent_requests: dict[str, tuple[int, int]]
    recent_live_entities: int  # entities whose latest row is live after the backfill
    recent_gone_entities: int  # entities live before the backfill and without a live row now
    values_checked: int
    feast_items: int | None  # Feast's `materialize` over the backfilled range: items written
    feast_requests: dict[str, tuple[int, int]] | None


def backfill_days(days: int, entities: int, per_day: int, seed: int) -> list[pl.DataFrame]:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - dt.timedelta(days=days)
    rng = np.random.default_rng(seed)
    return [
        rows(
            np.sort(rng.choice(entities, size=per_day, replace=False)),
            start + dt.timedelta(days=d),
            seed + 1 + d,
        )
        for d in range(days)
    ]


def backfill_requests(
    workdir: Path, server: Dynalite, days: int, entities: int, per_day: int, with_feast: bool
) -> BackfillRequests:
    """Bootstrap a ttl=7d group, then backfill (recompute) every window: old ones, then recent."""
    initial = backfill_days(days, entities, per_day, seed=1_000)
    recomputed = backfill_days(days, entities, per_day, seed=2_000)  # same days, new values
    first = initial[0]["event_time"].min()
    assert isinstance(first, dt.datetime)
    start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(days=days)
    store = FeatureStore(config=dynamodb_config(workdir / "ours", server.endpoint, "backfill."))
    group = user_group(BACKFILL_GROUP, BACKFILL_TTL, start)
    store.apply(group)
    store.write_window(BACKFILL_GROUP, pl.concat(initial), start, end)
    counter = counted_client(store)
    now = dt.datetime.now(dt.UTC)
    bootstrap = sync_online(store, BACKFILL_GROUP, None, now=now)
    live_from = now - BACKFILL_TTL

    def window_end(frame: pl.DataFrame) -> dt.datetime:
        first = frame["event_time"].min()
        assert isinstance(first, dt.datetime)
        return first.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)

    old = [f for f in recomputed if window_end(f) <= live_from]
    recent = [f for f in recomputed if window_end(f) > live_from]
    results = []
    cursor = bootstrap.to_snapshot_id
    for frames in (old, recent):
        began = time.perf_counter()
        write_days(store, BACKFILL_GROUP, frames)
        print(
            f"  backfilled {len(frames)} windows in {time.perf_counter() - began:.1f}s",
            file=sys.stderr,
        )
        before = counter.snapshot() if counter else None
        report = sync_online(store, BACKFILL_GROUP, cursor, now=now)
        requests = counter.since(before) if counter and before else {}
        cursor = report.to_snapshot_id
        results.append((report, requests))
    (old_report, old_requests), (recent_report, recent_requests) = results
    if old_report.online_requests or old_requests:
        raise AssertionError(
            f"the sync after backfilling {len(old)} windows older than the ttl made online "
            f"requests: {old_report.online_requests} items, {old_requests} at the client"
        )
    last = latest_rows(recomputed)
    live = last.filter(pl.col("event_time") >= live_from)
    was_live = set(latest_rows(initial).filter(pl.col("event_time") >= live_from)[KEY])
    gone = len(was_live - set(live[KEY]))
    # Every live entity gets its recomputed row: written, or corrected where the backfill took
    # away the row the bootstrap wrote; entities left with no live row are deleted.
    got = (recent_report.items_written + recent_report.items_corrected, recent_report.items_deleted)
    if got != (live.height, gone):
        raise AssertionError(
            f"the sync after backfilling the recent windows wrote or corrected {got[0]} items "
            f"and deleted {got[1]}; expected {live.height} (entities whose latest row is live) "
            f"and {gone} (entities live before, none now)"
        )
    calls, items = write_requests(recent_requests)
    if counter is not None and items != recent_report.online_requests:
        raise AssertionError(
            f"the client sent {items} items in {calls} write requests, the report says "
            f"{recent_report.online_requests}"
        )
    # Values: live entities read back; expired ones read as missing (ttl on read).
    margin = dt.timedelta(minutes=15)  # away from the cutoff, which moves with the clock
    truth = {row[0]: tuple(row[1:]) for row in live.select(KEY, *FEATURES).rows()}
    clear = last.filter(
        (pl.col("event_time") - live_from).abs() > margin
    )  # not within the margin of the cutoff
    sample = [int(k) for k in clear[KEY].sample(min(200, clear.height), seed=3).to_list()]
    reader = _Reader(BACKFILL_GROUP, store)
    compared = check(reader, truth, sample)
    store.close()
    feast_items: int | None = None
    feast_requests: dict[str, tuple[int, int]] | None = None
    if with_feast:
        parquet = workdir / "feast_backfill.parquet"
        write_parquet(parquet, recomputed)
        online = {"type": "dynamodb", "region": REGION, "endpoint_url": server.endpoint}
        feast = Feast("Feast", workdir / "feast_backfill", parquet, online, BACKFILL_TTL)
        assert feast.counter is not None
        before = feast.counter.snapshot()
        feast.materialize(start, end)
        feast_requests = feast.counter.since(before)
        feast_items = write_requests(feast_requests)[1]
    return BackfillRequests(
        days=days,
        ttl_days=BACKFILL_TTL.days,
        rows_per_day=per_day,
        bootstrap_items=bootstrap.items_written,
        old_windows=len(old),
        old_report=_report(old_report),
        old_requests=old_requests,
        recent_windows=len(recent),
        recent_report=_report(recent_report),
        recent_requests=recent_requests,
        recent_live_entities=live.height,
        recent_gone_entities=gone,
        values_checked=compared,
        feast_items=feast_items,
        feast_requests=feast_requests,
    )


@dataclass
class _Reader:
    """`check`'s view of one of our stores on another group."""

    group: str
    store: FeatureStore
    name: str = "ours DynamoDB (backfill)"

    def read(self, entity_rows: list[dict[str, int]]) -> dict[str, list[Any]]:
        refs = [f"{self.group}:{f}" for f in FEATURES]
        answer = self.store.get_online_features(refs, entity_rows)
        return answer.to_dict(as_series=False)


def _report(report: SyncReport) -> dict[str, Any]:
    return {**report.as_metadata(), "online_requests": report.online_requests}


# --- report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """One system's syncs of one phase over the counted rounds (medians)."""

    system: str
    phase: str
    rounds: int
    items: int
    seconds: float
    items_per_second: float
    items_per_second_min: float
    items_per_second_max: float
    client_cpu_ms_per_item: float
    server_cpu_ms_per_item: float | None
    write_calls: int | None  # DynamoDB write requests of the last round, and the items they carry
    write_items: int | None
    read_calls: int = 0  # BatchGetItem requests of the last round (our version checks)
    read_items: int = 0


def summarise(runs: Sequence[SyncRun]) -> list[Summary]:
    out = []
    for phase in PHASES:
        for system in (name for pair in PAIRS for name in pair):
            mine = [r for r in runs if r.system == system and r.phase == phase]
            rates = [r.items_per_second for r in mine]
            servers = [r.server_cpu_seconds / r.items for r in mine if r.server_cpu_seconds]
            dynamo = bool(mine[-1].requests) or system in (OURS_DYNAMODB, FEAST_DYNAMODB)
            calls, items = write_requests(mine[-1].requests)
            out.append(
                Summary(
                    system=system,
                    phase=phase,
                    rounds=len(mine),
                    items=mine[-1].items,
                    seconds=round(statistics.median(r.seconds for r in mine), 3),
                    items_per_second=round(statistics.median(rates)),
                    items_per_second_min=round(min(rates)),
                    items_per_second_max=round(max(rates)),
                    client_cpu_ms_per_item=round(
                        statistics.median(1000 * r.cpu_seconds / r.items for r in mine), 3
                    ),
                    server_cpu_ms_per_item=(
                        round(1000 * statistics.median(servers), 3) if servers else None
                    ),
                    write_calls=calls if dynamo else None,
                    write_items=items if dynamo else None,
                    read_calls=mine[-1].requests.get("BatchGetItem", (0, 0))[0],
                    read_items=mine[-1].requests.get("BatchGetItem", (0, 0))[1],
                )
            )
    return out


def ratios(summaries: Sequence[Summary]) -> list[dict[str, Any]]:
    """Ours / Feast in items/s per pair and phase (>1: ours is faster)."""
    by_key = {(s.system, s.phase): s for s in summaries}
    return [
        {
            "ours": ours,
            "feast": feast,
            "phase": phase,
            "ours_over_feast": round(
                by_key[(ours, phase)].items_per_second / by_key[(feast, phase)].items_per_second, 2
            ),
        }
        for phase in PHASES
        for ours, feast in PAIRS
    ]


def print_report(
    summaries: Sequence[Summary], ratio_rows: Sequence[Mapping[str, Any]], backfill: Any
) -> None:
    print(
        f"{'system':15} {'sync':11} {'items':>6} {'median s':>9} {'items/s':>8} "
        f"{'(min-max)':>13} {'client CPU':>10} {'dynalite CPU':>12} {'write requests':>15}"
    )
    print(f"{'':57}{'ms/item':>10} {'ms/item':>12} {'(items)':>15}")
    for s in summaries:
        server = f"{s.server_cpu_ms_per_item:.3f}" if s.server_cpu_ms_per_item else "-"
        requests = f"{s.write_calls:,} ({s.write_items:,})" if s.write_calls is not None else "-"
        print(
            f"{s.system:15} {s.phase:11} {s.items:>6,} {s.seconds:>9.3f} "
            f"{s.items_per_second:>8,.0f} "
            f"{s.items_per_second_min:>6,.0f}-{s.items_per_second_max:<6,.0f} "
            f"{s.client_cpu_ms_per_item:>10.3f} {server:>12} {requests:>15}"
        )
    for s in summaries:
        if s.read_calls:
            print(
                f"  {s.system} {s.phase}: {s.read_calls:,} BatchGetItem requests read the stored "
                f"versions of {s.read_items:,} items before writing"
            )
    print()
    for row in ratio_rows:
        print(
            f"ours / Feast, items/s, {row['phase']:11} {row['ours']:>14} vs {row['feast']:15}: "
            f"{row['ours_over_feast']:.2f}x"
        )
    if backfill is None:
        return
    b: BackfillRequests = backfill
    old_calls = sum(c for c, _ in b.old_requests.values())
    recent_calls, recent_items = write_requests(b.recent_requests)
    print()
    print(
        f"backfill of {b.days} daily windows ({b.rows_per_day:,} rows each) of a ttl={b.ttl_days}d "
        f"group on dynalite, synced after the old windows, then after the recent ones:"
    )
    print(
        f"  {b.old_windows} windows older than the ttl: {b.old_report['online_requests']} online "
        f"items, {old_calls} requests at the DynamoDB client "
        f"({b.old_report['windows_expired']} of {b.old_report['windows_examined']} windows "
        f"examined were past the ttl, {b.old_report['rows_read']} rows read)"
    )
    print(
        f"  {b.recent_windows} recent windows: {b.recent_report['online_requests']:,} online items "
        f"({b.recent_report['items_written']:,} written, {b.recent_report['items_corrected']:,} "
        f"corrected, {b.recent_report['items_deleted']:,} deleted: {b.recent_live_entities:,} "
        f"entities have a live latest row, {b.recent_gone_entities:,} had one before and none "
        f"now), {recent_calls:,} write requests ({recent_items:,} items) at the client"
    )
    print(f"  (the bootstrap before the backfill wrote {b.bootstrap_items:,} items)")
    if b.feast_items is not None and b.feast_requests is not None:
        feast_calls = write_requests(b.feast_requests)[0]
        print(
            f"  Feast: `materialize` over the backfilled {b.days} days writes "
            f"{b.feast_items:,} items in {feast_calls:,} BatchWriteItem requests, "
            f"{b.feast_items - b.recent_live_entities:,} of them for entities with no row "
            f"within the ttl (it has no change tracking and ignores the ttl here; "
            f"`materialize_incremental` would skip the backfill, whose rows are older than its "
            f"last end)"
        )
    print(f"  values checked after the backfill: {b.values_checked:,} equal to the live rows")


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entities", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=3, help="days of rows per entity, offline")
    parser.add_argument("--changed", type=float, default=0.1, help="share changed incrementally")
    parser.add_argument("--rounds", type=int, default=3, help="counted rounds")
    parser.add_argument("--warmup-entities", type=int, default=500, help="of the uncounted round")
    parser.add_argument("--sample", type=int, default=200, help="entities checked per sync")
    parser.add_argument("--backfill-days", type=int, default=90)
    parser.add_argument("--backfill-rows-per-day", type=int, default=1_000)
    parser.add_argument("--no-feast-backfill", action="store_true", help="skip Feast's re-run")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    for name, value in CREDENTIALS.items():  # Feast's DynamoDB clients use boto3's chain
        os.environ.setdefault(name, value)

    load_at_start = os.getloadavg()
    started = time.perf_counter()
    data = workload(args.entities, args.days, args.changed, args.seed)
    warmup = workload(args.warmup_entities, args.days, args.changed, args.seed + 100)
    runs: list[SyncRun] = []
    compared = 0
    with tempfile.TemporaryDirectory(prefix="fp-sync-bench-") as tmp:
        workdir = Path(tmp)
        with dynalite(workdir / "dynalite.log", INSTANT_TABLES) as server:
            print(
                f"[{_since(started)}] warm-up round: {args.warmup_entities:,} entities",
                file=sys.stderr,
            )
            _, checked = run_round(warmup, 0, workdir / "round0", server, args.sample)
            compared += checked
            for number in range(1, args.rounds + 1):
                print(
                    f"[{_since(started)}] round {number}/{args.rounds}: {args.entities:,} entities",
                    file=sys.stderr,
                )
                counted, checked = run_round(
                    data, number, workdir / f"round{number}", server, args.sample
                )
                runs += counted
                compared += checked
                for run in counted:
                    print(
                        f"  {run.system:15} {run.phase:11} {run.items:>6,} items "
                        f"{run.seconds:7.3f}s {run.items_per_second:9,.0f}/s",
                        file=sys.stderr,
                    )
            load_after_syncs = os.getloadavg()
            backfill = None
            if args.backfill_days:
                print(
                    f"[{_since(started)}] backfill: {args.backfill_days} days, ttl 7d",
                    file=sys.stderr,
                )
                backfill = backfill_requests(
                    workdir / "backfill",
                    server,
                    args.backfill_days,
                    args.entities,
                    args.backfill_rows_per_day,
                    with_feast=not args.no_feast_backfill,
                )
    load_at_end = os.getloadavg()
    summaries = summarise(runs)
    ratio_rows = ratios(summaries)
    print(
        f"load average (1/5/15 min): at start {_fmt(load_at_start)}, after the syncs "
        f"{_fmt(load_after_syncs)}, at the end {_fmt(load_at_end)}; {os.cpu_count()} cores; "
        f"{args.entities:,} entities x {len(FEATURES)} features ({args.days} days of rows), "
        f"incremental: {data.change.height:,} changed; median of {args.rounds} rounds after a "
        f"{args.warmup_entities:,}-entity warm-up round; {compared:,} values checked after the "
        f"syncs, equal to the generated rows in every system; {time.perf_counter() - started:.0f}s"
    )
    print_report(summaries, ratio_rows, backfill)
    if args.json:
        report = {
            "versions": versions(),
            "settings": {**vars(args), "json": str(args.json)},
            "load_average": {
                "start": load_at_start,
                "after_syncs": load_after_syncs,
                "end": load_at_end,
            },
            "values_checked": compared,
            "runs": [{**asdict(r), "items_per_second": r.items_per_second} for r in runs],
            "summary": [asdict(s) for s in summaries],
            "ratios": ratio_rows,
            "backfill": asdict(backfill) if backfill else None,
        }
        args.json.write_text(json.dumps(report, indent=2, default=str))


def _since(started: float) -> str:
    return f"{time.perf_counter() - started:.0f}s"


def _fmt(load: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.2f}" for v in load)


if __name__ == "__main__":
    main()
