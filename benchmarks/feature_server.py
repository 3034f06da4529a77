"""HTTP feature serving: `feature-platform serve` against `feast serve`, side by side.

The same 5,000 users x 5 features (int64 key; int64, float64 and string features, one latest
row each) are loaded into four servers, each started as a user would, one worker each:

* **ours, embedded** (SQLite under the home) against **Feast 0.67, SQLite online store**;
* **ours, DynamoDB** against **Feast, DynamoDB online store**, both on one dynalite server
  (DynamoDB on Node.js, 127.0.0.1).

Measured per system, on loopback, over keep-alive HTTP/1.1 (`http.client`):

* **latency**: one client, requests of 1 and of 100 entities (about 2% unknown keys), p50 and
  p99 of `--calls` timed requests after `--warmup` untimed ones; the systems take turns in
  blocks of `--block` requests, so a burst of outside load lands on all alike;
* **throughput**: requests/s of 1 entity with 8 and 32 concurrent clients for `--seconds`
  each, from a load generator of `--processes` processes (each with its share of the clients
  as threads), so the client is not the bottleneck; the generator's own CPU use is reported
  next to the server's.

Before timing, every system's answers to the same requests are checked to carry the same
values (Feast's protocol is the same shape: `metadata.feature_names`, `results[].values`).

Run:  python3 -m uv run --group bench python -m benchmarks.feature_server
          [--calls 1000] [--seconds 10] [--processes 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import multiprocessing
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.online_reads import dynalite

USERS = 5_000
GROUP = "user_stats"
KEY = "user_id"
FEATURES = {
    "clicks_7d": "int64",
    "views_7d": "int64",
    "ctr_7d": "float64",
    "dwell_7d": "float64",
    "top_category": "string",
}
REFS = [f"{GROUP}:{name}" for name in FEATURES]
CATEGORIES = np.array(["world", "politics", "business", "tech", "science", "sports"], dtype=object)
LATEST = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
BIN = Path(sys.executable).parent
OURS_EMBEDDED, FEAST_SQLITE = "ours, embedded", "Feast, SQLite"
OURS_DYNAMODB, FEAST_DYNAMODB = "ours, DynamoDB (dynalite)", "Feast, DynamoDB (dynalite)"
PAIRS = ((OURS_EMBEDDED, FEAST_SQLITE), (OURS_DYNAMODB, FEAST_DYNAMODB))


# --- data and servers ---------------------------------------------------------------------------


def generate(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    back = rng.integers(0, 28 * 86_400_000_000, USERS)
    event = LATEST - pl.Series(back).cast(pl.Duration("us"))
    views = rng.integers(1, 5_000, USERS)
    return pl.DataFrame(
        {
            KEY: np.arange(USERS, dtype=np.int64),
            "event_time": event,
            "created_at": event + dt.timedelta(minutes=5),
            "clicks_7d": rng.binomial(views, 0.05),
            "views_7d": views,
            "ctr_7d": rng.random(USERS),
            "dwell_7d": rng.lognormal(4.0, 1.0, USERS),
            "top_category": CATEGORIES[rng.integers(0, len(CATEGORIES), USERS)],
        }
    )


@dataclass
class Server:
    """A server process on a free loopback port."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    startup_seconds: float = 0.0

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process and its workers so far.

        A worker that exited (Feast's gunicorn replaces each after `--max-requests`) counts in
        its parent's reaped-children times (``/proc/<pid>/stat`` fields 16 and 17).
        """
        total = 0.0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, command: list[str], env: Mapping[str, str], port: int, log: Path) -> Server:
    """Start a server and wait until ``GET /health`` answers 200."""
    began = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(command, env=dict(env), stdout=output, stderr=subprocess.STDOUT)
    server = Server(name, process, port)
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start: {log.read_text()[-3000:]}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                connection.close()
                server.startup_seconds = time.perf_counter() - began
                return server
        time.sleep(0.05)


def ours(name: str, home: Path, rows: pl.DataFrame, online: Mapping[str, str], log: Path) -> Server:
    from feature_platform import Entity, Feature, FeatureGroup, FeatureStore, StoreConfig

    env = {k: v for k, v in os.environ.items() if not k.startswith("FEATURE_PLATFORM_")}
    env.update(FEATURE_PLATFORM_HOME=str(home), **online)
    group = FeatureGroup(
        GROUP,
        Entity("user", [KEY], key_dtypes={KEY: "int64"}),
        [Feature(feature, dtype) for feature, dtype in FEATURES.items()],
        created_time="created_at",
        start="2026-01-01",
        online=True,
    )
    with FeatureStore(config=StoreConfig.from_env(env)) as store:
        store.apply(group)
        store.write(GROUP, rows, to="online")
    port = free_port()
    command = [str(BIN / "feature-platform"), "serve", "--port", str(port)]
    return start(name, command, env, port, log)


def feast(
    name: str, repo: Path, rows: pl.DataFrame, online: Mapping[str, str], log: Path
) -> Server:
    """A Feast repo (file registry and offline store, `online` store) served by `feast serve`."""
    repo.mkdir()
    config = {
        "project": repo.name,
        "provider": "local",
        "registry": str(repo / "registry.db"),
        "offline_store": {"type": "file"},
        "online_store": dict(online),
        "entity_key_serialization_version": 3,
    }
    (repo / "feature_store.yaml").write_text(json.dumps(config))  # JSON is YAML
    parquet = repo / "rows.parquet"
    rows.write_parquet(parquet)
    loader = textwrap.dedent(
        f"""\
        import datetime as dt, pandas as pd
        from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
        from feast.types import Float64, Int64, String
        types = {{"int64": Int64, "float64": Float64, "string": String}}
        store = FeatureStore(repo_path={str(repo)!r})
        user = Entity(name="user", join_keys=[{KEY!r}], value_type=ValueType.INT64)
        view = FeatureView(
            name={GROUP!r}, entities=[user], ttl=dt.timedelta(0), online=True,
            schema=[Field(name=f, dtype=types[t]) for f, t in {FEATURES!r}.items()],
            source=FileSource(name="rows", path={str(parquet)!r}, timestamp_field="event_time",
                              created_timestamp_column="created_at"),
        )
        store.apply([user, view])
        store.write_to_online_store({GROUP!r}, pd.read_parquet({str(parquet)!r}))
        """
    )
    env = {**os.environ, **CREDENTIALS, "AWS_DEFAULT_REGION": REGION}
    loaded = subprocess.run([sys.executable, "-c", loader], env=env, capture_output=True, text=True)
    if loaded.returncode != 0:
        raise RuntimeError(f"loading {name} failed: {loaded.stderr[-3000:]}")
    port = free_port()
    command = [str(BIN / "feast"), "-c", str(repo), "serve", "-p", str(port), "--no-access-log"]
    return start(name, command, env, port, log)


# --- requests ------------------------------------------------------------------------------------


def bodies(entities: int, count: int, seed: int) -> list[bytes]:
    """Request bodies of `entities` user ids each; about 2% of the ids are unknown."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, USERS, (count, entities))
    unknown = rng.random((count, entities)) < 0.02
    ids = np.where(unknown, USERS + rng.integers(0, 1_000, (count, entities)), ids)
    return [
        json.dumps({"features": REFS, "entities": {KEY: [int(v) for v in row]}}).encode()
        for row in ids
    ]


class Client:
    """One keep-alive connection to one server."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Content-Type": "application/json"}

    def post(self, body: bytes) -> bytes:
        try:
            self.connection.request("POST", "/get-online-features", body, self.headers)
            response = self.connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self.connection.close()  # the server closed an idle connection: open another
            self.connection.request("POST", "/get-online-features", body, self.headers)
            response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:500]!r}")
        return data


def values_by_name(answer: bytes) -> dict[str, list[Any]]:
    parsed = json.loads(answer)
    names = parsed["metadata"]["feature_names"]
    return {n: r["values"] for n, r in zip(names, parsed["results"], strict=True)}


def check_answers(servers: Sequence[Server], requests: Sequence[bytes]) -> int:
    """Every server answers every request with the same values; returns the values checked."""
    clients = {s.name: Client(s.port) for s in servers}
    checked = 0
    for body in requests:
        answers = {name: values_by_name(c.post(body)) for name, c in clients.items()}
        reference = answers[servers[0].name]
        for name, answer in answers.items():
            for column in [KEY, *FEATURES]:
                got, want = answer[column], reference[column]
                if FEATURES.get(column) == "float64":
                    same = all(
                        (a is None and b is None)
                        or (
                            a is not None
                            and b is not None
                            and abs(a - b) <= 1e-12 * max(1.0, abs(b))
                        )
                        for a, b in zip(got, want, strict=True)
                    )
                else:
                    same = got == want
                if not same:
                    raise AssertionError(f"{name} differs from {servers[0].name} on {column}")
                checked += len(got)
    return checked


# --- latency -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    system: str
    entities: int
    calls: int
    p50_ms: float
    p99_ms: float
    mean_ms: float


def measure_latency(
    servers: Sequence[Server], entities: int, calls: int, warmup: int, block: int, seed: int
) -> list[Latency]:
    requests = bodies(entities, calls, seed)
    clients = {s.name: Client(s.port) for s in servers}
    for client in clients.values():
        for body in bodies(entities, warmup, seed + 1):
            client.post(body)
    timings: dict[str, list[int]] = {name: [] for name in clients}
    order = list(clients)
    for start_at in range(0, calls, block):
        for name in order:
            client, times = clients[name], timings[name]
            for body in requests[start_at : start_at + block]:
                began = time.perf_counter_ns()
                client.post(body)
                times.append(time.perf_counter_ns() - began)
        order = order[1:] + order[:1]
    results = []
    for name, times in timings.items():
        ms = np.array(times) / 1e6
        results.append(
            Latency(
                name,
                entities,
                len(times),
                round(float(np.percentile(ms, 50)), 3),
                round(float(np.percentile(ms, 99)), 3),
                round(float(ms.mean()), 3),
            )
        )
    return results


# --- throughput ----------------------------------------------------------------------------------


def _load_process(port: int, threads: int, seconds: float, seed: int, queue: Any) -> None:
    """One load-generator process: `threads` keep-alive clients posting 1-entity requests."""
    requests = bodies(1, 2_000, seed)
    counts = [0] * threads
    errors: list[str] = []
    start_at = time.time() + 0.5
    stop_at = start_at + seconds

    def run(index: int) -> None:
        client = Client(port)
        position = index * 97
        time.sleep(max(0.0, start_at - time.time()))
        while time.time() < stop_at:
            try:
                client.post(requests[position % len(requests)])
            except Exception as exc:  # counted, reported, and the run is refused
                errors.append(repr(exc))
                client = Client(port)
                continue
            counts[index] += 1
            position += 1

    cpu_before = time.process_time()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((sum(counts), errors[:3], len(errors), time.process_time() - cpu_before))


@dataclass(frozen=True)
class Throughput:
    system: str
    clients: int
    seconds: float
    requests: int
    requests_per_second: float
    server_cpu_percent: float
    generator_cpu_percent: float
    errors: int


def measure_throughput(
    server: Server, clients: int, seconds: float, processes: int, seed: int
) -> Throughput:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = min(processes, clients)
    shares = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    children = [
        context.Process(target=_load_process, args=(server.port, n, seconds, seed + i, queue))
        for i, n in enumerate(shares)
    ]
    cpu_before = server.cpu_seconds()
    for child in children:
        child.start()
    results = [queue.get(timeout=seconds + 120) for _ in children]
    for child in children:
        child.join()
    server_cpu = server.cpu_seconds() - cpu_before - 0.0
    done = sum(r[0] for r in results)
    errors = sum(r[2] for r in results)
    if errors:
        print(f"{server.name}: {errors} errors, e.g. {results[0][1]}", file=sys.stderr)
    return Throughput(
        system=server.name,
        clients=clients,
        seconds=seconds,
        requests=done,
        requests_per_second=round(done / seconds, 1),
        server_cpu_percent=round(100 * server_cpu / (seconds + 0.5), 1),
        generator_cpu_percent=round(100 * sum(r[3] for r in results) / seconds, 1),
        errors=errors,
    )


# --- run -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def servers(workdir: Path, rows: pl.DataFrame) -> Iterator[list[Server]]:
    started: list[Server] = []
    with dynalite(workdir / "dynalite.log") as dynamo:
        try:
            started.append(ours(OURS_EMBEDDED, workdir / "ours", rows, {}, workdir / "ours.log"))
            sqlite = {"type": "sqlite", "path": str(workdir / "feast_sqlite" / "online.db")}
            started.append(
                feast(FEAST_SQLITE, workdir / "feast_sqlite", rows, sqlite, workdir / "fs.log")
            )
            online = {
                "FEATURE_PLATFORM_ONLINE_STORE": "dynamodb",
                "FEATURE_PLATFORM_ONLINE__ENDPOINT_URL": dynamo.endpoint,
                "FEATURE_PLATFORM_ONLINE__REGION_NAME": REGION,
                "FEATURE_PLATFORM_ONLINE__AWS_ACCESS_KEY_ID": "local",
                "FEATURE_PLATFORM_ONLINE__AWS_SECRET_ACCESS_KEY": "local",
                "FEATURE_PLATFORM_ONLINE__TABLE_PREFIX": "ours.",
                "FEATURE_PLATFORM_ONLINE__MANAGE_TTL": "false",
            }
            home = workdir / "ours_dynamodb"
            started.append(ours(OURS_DYNAMODB, home, rows, online, workdir / "od.log"))
            dynamodb = {"type": "dynamodb", "region": REGION, "endpoint_url": dynamo.endpoint}
            repo = workdir / "feast_dynamodb"
            started.append(feast(FEAST_DYNAMODB, repo, rows, dynamodb, workdir / "fd.log"))
            yield started
        finally:
            for server in started:
                server.stop()


def ratios(latencies: Sequence[Latency], rates: Sequence[Throughput]) -> list[dict[str, Any]]:
    rows = []
    for ours_name, feast_name in PAIRS:
        for entities in sorted({lat.entities for lat in latencies}):
            a = next(x for x in latencies if x.system == ours_name and x.entities == entities)
            b = next(x for x in latencies if x.system == feast_name and x.entities == entities)
            rows.append(
                {
                    "pair": f"{ours_name} / {feast_name}",
                    "measure": f"{entities} entit{'y' if entities == 1 else 'ies'}",
                    "p50_faster": round(b.p50_ms / a.p50_ms, 2),
                    "p99_faster": round(b.p99_ms / a.p99_ms, 2),
                }
            )
        for clients in sorted({r.clients for r in rates}):
            a2 = next(r for r in rates if r.system == ours_name and r.clients == clients)
            b2 = next(r for r in rates if r.system == feast_name and r.clients == clients)
            rows.append(
                {
                    "pair": f"{ours_name} / {feast_name}",
                    "measure": f"{clients} clients",
                    "requests_per_second_ratio": round(
                        a2.requests_per_second / max(b2.requests_per_second, 0.1), 2
                    ),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", default="8,32")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = generate(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="feature-server-bench-"))
    try:
        with servers(workdir, rows) as started:
            for server in started:
                print(f"{server.name}: healthy {server.startup_seconds:.1f} s after start")
            checked = check_answers(started, bodies(100, 20, args.seed + 5))
            print(f"answers agree: {checked} values on 20 requests of 100 entities")
            latencies = [
                lat
                for entities in (1, 100)
                for lat in measure_latency(
                    started, entities, args.calls, args.warmup, args.block, args.seed + entities
                )
            ]
            rates = [
                measure_throughput(server, int(clients), args.seconds, args.processes, args.seed)
                for clients in args.clients.split(",")
                for server in started
            ]
            startup = {s.name: round(s.startup_seconds, 2) for s in started}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load": os.getloadavg(),
            "python": platform.python_version(),
        },
        "startup_seconds": startup,
        "values_checked": checked,
        "latency": [asdict(x) for x in latencies],
        "throughput": [asdict(x) for x in rates],
        "ratios": ratios(latencies, rates),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
