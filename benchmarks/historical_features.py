"""Point-in-time retrieval: our `get_historical_features` vs Feast's, side by side.

Both engines get the same generated news data (`benchmarks.news_data`): `user_engagement` (int64
user keys, ttl 2 days) and `article_popularity` (string article keys, no ttl), 30 daily
partitions, label rows with user, article, timestamp, label and row id. Ours reads the Iceberg
tables (one `write_window` per day and group); Feast reads one parquet file per feature view
through its file (dask) offline store, `get_historical_features(...).to_df()`.

Each engine's retrieval runs in its own fresh child process (`python -m` this module), which
loads the label frame, opens its store, then times the one call. Its peak memory is that child's
own high-water mark, ``VmHWM`` of /proc/<pid>/status, so data generation and the other engine
never count. Not ``ru_maxrss``: Linux carries the parent's RSS at fork over the exec into the
child's ``ru_maxrss`` (a 13 MB child of a 1.5 GB parent reports 1.5 GB), which would credit
each engine with the generator's memory. The RSS just before the call (interpreter, imports,
label frame) is reported too. A child that exceeds the time limit or the memory cap (polled
from /proc, so the shared machine never reaches the kernel's OOM killer) is killed and the
outcome recorded instead of a figure.

On the sizes up to `--differential-max` (small and medium by default) both outputs are then
compared row by row (`benchmarks.feast_differential`).

Run:  python3 -m uv run --group bench python -m benchmarks.historical_features
          [--sizes small,medium,large] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Only the standard library at module level: the child processes import this module, and each
# must hold its own engine's imports only.

ENGINES = ("ours", "duckdb", "feast")
ENGINE_LABELS = {
    "ours": "feature_platform (polars)",
    "duckdb": "feature_platform (DuckDB SQL)",
    "feast": "Feast (file offline store)",
}
SIZE_ORDER = ("small", "medium", "large", "xlarge")
# DuckDB's memory limit in the benchmark: past it, its sorts and joins spill to disk.
DUCKDB_MEMORY_LIMIT = "4GB"
_POLL_SECONDS = 0.1


@dataclass
class Run:
    """One engine's retrieval on one size, as measured in its child process."""

    engine: str
    outcome: str  # "ok", or why there is no figure (timeout, memory cap, exit code)
    seconds: float | None  # wall clock of the call
    cpu_seconds: float | None  # CPU time of the call, all threads (robust to a busy machine)
    peak_mb: float  # VmHWM of the child: imports + label frame + retrieval
    before_call_mb: float | None  # RSS just before the timed call
    rows_out: int | None
    load_average: float  # mean 1-minute load average while the child ran (it counts itself)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass
class SizeResult:
    size: str
    feature_rows: int
    entity_rows: int
    generate_seconds: float
    write_ours_seconds: float
    write_feast_seconds: float
    runs: dict[str, Run]
    differential: dict[str, Any] | None = None
    ratios: dict[str, float | None] = field(default_factory=dict)


# --- children ----------------------------------------------------------------------------------


def _status_mb(field: str, pid: int | str = "self") -> float:
    """A memory figure (``VmRSS``, ``VmHWM``) of a process from /proc; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _retrieve_ours(job: dict[str, Any]) -> dict[str, float]:
    import polars as pl

    from feature_platform import FeatureStore

    labels = pl.read_parquet(job["labels"])
    store = FeatureStore(job["store"])
    before = _status_mb("VmRSS")
    started, cpu_started = time.perf_counter(), time.process_time()
    if job["engine"] == "duckdb":
        from feature_platform.training.duckdb_join import DuckDBOptions

        options = DuckDBOptions(
            memory_limit=DUCKDB_MEMORY_LIMIT, temp_directory=str(Path(job["out"]).parent / "spill")
        )
        frame = store.build_training_set(
            labels,
            features=job["features"],
            timestamp_column=job["timestamp_column"],
            engine="duckdb",
            duckdb=options,
        ).frame
    else:
        frame = store.get_historical_features(
            labels, features=job["features"], timestamp_column=job["timestamp_column"]
        )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    frame.write_parquet(job["out"])
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": frame.height, "before_call_mb": before}


def _retrieve_feast(job: dict[str, Any]) -> dict[str, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks.feast_repo import open_store, retrieve

    # Through Arrow, the timestamp column gets the pytz UTC dtype Feast's fast path checks for
    # (dask.py:224-230); a `pd.to_datetime(..., utc=True)` column would take a per-row apply.
    labels = pq.read_table(job["labels"]).to_pandas()
    store = open_store(Path(job["store"]), job["project"])
    before = _status_mb("VmRSS")
    started, cpu_started = time.perf_counter(), time.process_time()
    frame = retrieve(store, labels, job["features"])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), job["out"])
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": len(frame), "before_call_mb": before}


def _child(job_path: Path) -> None:
    """Entry point of a measuring child: one retrieval, its figures written next to the job."""
    job = json.loads(job_path.read_text())
    retrieve = _retrieve_feast if job["engine"] == "feast" else _retrieve_ours
    figures = retrieve(job)
    figures["peak_mb"] = _status_mb("VmHWM")
    Path(job["result"]).write_text(json.dumps(figures))


def run_child(job: dict[str, Any], workdir: Path, timeout: float, memory_cap_mb: float) -> Run:
    """Run one engine's retrieval in a fresh process; kill it past `timeout` or the memory cap."""
    engine = job["engine"]
    job_path = workdir / f"{engine}.job.json"
    job_path.write_text(json.dumps(job))
    log_path = workdir / f"{engine}.log"
    with log_path.open("w") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.historical_features", "--child", str(job_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
            start_new_session=True,  # its own process group: a kill reaches only it
        )
    deadline = time.monotonic() + timeout
    killed = None
    peak_seen = 0.0  # VmHWM as last polled: the figure left if the child must be killed
    loads = []
    while True:
        loads.append(os.getloadavg()[0])
        pid, status = os.waitpid(child.pid, os.WNOHANG)
        if pid:
            break
        peak_seen = max(peak_seen, _status_mb("VmHWM", child.pid))
        if _status_mb("VmRSS", child.pid) > memory_cap_mb:
            killed = f"killed at the memory cap ({memory_cap_mb / 1024:.0f} GB RSS)"
        elif time.monotonic() > deadline:
            killed = f"timeout after {timeout:.0f} s"
        if killed is not None:
            os.killpg(child.pid, signal.SIGKILL)
            pid, status = os.waitpid(child.pid, 0)
            break
        time.sleep(_POLL_SECONDS)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    load = round(sum(loads) / len(loads), 2)
    result_path = Path(job["result"])
    if killed is None and child.returncode == 0 and result_path.exists():
        result = json.loads(result_path.read_text())
        return Run(
            engine=engine,
            outcome="ok",
            seconds=round(result["seconds"], 3),
            cpu_seconds=round(result["cpu_seconds"], 3),
            peak_mb=round(result["peak_mb"]),
            before_call_mb=round(result["before_call_mb"]),
            rows_out=int(result["rows"]),
            load_average=load,
        )
    if killed is None:
        tail = log_path.read_text().strip().splitlines()[-1:] or ["(no output)"]
        killed = f"failed with exit code {child.returncode}: {tail[0][:200]}"
    return Run(engine, killed, None, None, round(peak_seen), None, None, load)


# --- parent ------------------------------------------------------------------------------------


def measure_size(
    name: str,
    root: Path,
    timeout: float,
    memory_cap_mb: float,
    differential: bool,
    engines: tuple[str, ...] = ENGINES,
) -> SizeResult:
    """Generate and write one size (untimed), then measure each engine in its own child."""
    from benchmarks import news_data

    size = news_data.SIZES[name]
    workdir = root / name
    workdir.mkdir()
    _log(f"[{name}] generating {size.feature_rows:,} feature rows, {size.entity_rows:,} labels")
    started = time.perf_counter()
    data = news_data.generate(size)
    generated = time.perf_counter() - started
    labels_path = workdir / "labels.parquet"
    data.labels.write_parquet(labels_path)
    _log(f"[{name}] writing the Iceberg tables (one window per day and group)")
    started = time.perf_counter()
    news_data.write_ours(workdir / "ours", data)
    wrote_ours = time.perf_counter() - started
    started = time.perf_counter()
    if "feast" in engines:
        _log(f"[{name}] writing Feast's parquet files and registry")
        news_data.write_feast(workdir / "feast", data, project="news")
    wrote_feast = time.perf_counter() - started
    result = SizeResult(
        size=name,
        feature_rows=data.feature_rows,
        entity_rows=data.labels.height,
        generate_seconds=round(generated, 2),
        write_ours_seconds=round(wrote_ours, 2),
        write_feast_seconds=round(wrote_feast, 2),
        runs={},
    )
    kept = data if differential else None
    del data
    gc.collect()

    common = {
        "labels": str(labels_path),
        "features": news_data.FEATURE_REFS,
        "timestamp_column": news_data.TIMESTAMP_COLUMN,
    }
    stores = {"ours": workdir / "ours", "duckdb": workdir / "ours", "feast": workdir / "feast"}
    for engine in engines:
        _log(f"[{name}] {ENGINE_LABELS[engine]}: get_historical_features")
        job = {
            **common,
            "engine": engine,
            "store": str(stores[engine]),
            "project": "news",
            "out": str(workdir / f"{engine}.out.parquet"),
            "result": str(workdir / f"{engine}.result.json"),
        }
        run = run_child(job, workdir, timeout, memory_cap_mb)
        result.runs[engine] = run
        _log(
            f"[{name}]   {run.outcome}: {run.seconds} s, peak {run.peak_mb:,.0f} MB, "
            f"load {run.load_average}"
        )

    _ratios(result, workdir)
    ours, feast = result.runs.get("ours"), result.runs.get("feast")
    if kept is not None and ours and feast and ours.ok and feast.ok:
        result.differential = _differential(kept, workdir)
    return result


def _ratios(result: SizeResult, workdir: Path) -> None:
    ours, feast = result.runs.get("ours"), result.runs.get("feast")
    if ours is None or ours.seconds is None:
        return
    if feast is not None and feast.seconds is not None:  # both ran to the end
        assert ours.cpu_seconds is not None
        assert feast.cpu_seconds is not None
        result.ratios = {
            "time_feast_over_ours": round(feast.seconds / ours.seconds, 2),
            "cpu_feast_over_ours": round(feast.cpu_seconds / ours.cpu_seconds, 2),
            "peak_memory_feast_over_ours": round(feast.peak_mb / ours.peak_mb, 2),
        }
    duck = result.runs.get("duckdb")
    if duck is not None and duck.seconds is not None:
        assert ours.cpu_seconds is not None
        assert duck.cpu_seconds is not None
        result.ratios |= {
            "time_duckdb_over_ours": round(duck.seconds / ours.seconds, 2),
            "cpu_duckdb_over_ours": round(duck.cpu_seconds / ours.cpu_seconds, 2),
            "peak_memory_duckdb_over_ours": round(duck.peak_mb / ours.peak_mb, 2),
            "duckdb_equals_ours": float(_same_output(workdir)),
        }


def _same_output(workdir: Path) -> bool:
    """The DuckDB SQL path's training set equals the polars path's, cell for cell, in order."""
    import polars as pl

    return pl.read_parquet(workdir / "ours.out.parquet").equals(
        pl.read_parquet(workdir / "duckdb.out.parquet")
    )


def _differential(data: Any, workdir: Path) -> dict[str, Any]:
    import polars as pl

    from benchmarks.feast_differential import compare, feast_to_polars

    ours = pl.read_parquet(workdir / "ours.out.parquet")
    feast = feast_to_polars(pl.read_parquet(workdir / "feast.out.parquet"))
    found = compare(data, ours, feast)
    _log(f"[{data.labels.height:,} labels] {found.summary()}")
    for problem in found.problems():
        _log(f"  PROBLEM: {problem}")
    if found.mismatches:
        _log(str(found.mismatch_sample))
    return {
        "summary": found.summary(),
        "rows_equal": found.equal,
        "rows_compared": found.compared,
        "feast_dropped": len(found.feast_dropped),
        "feast_dropped_by_group": found.dropped_by_group,
        "feast_dropped_with_candidates_in_another_group": found.dropped_with_candidates,
        "ambiguous_excluded": len(found.ambiguous),
        "ambiguous_by_group": found.ambiguous_by_group,
        "ambiguous_feast_picked_our_winner": found.ambiguous_feast_agrees,
        "problems": found.problems(),
    }


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    packages = ("feast", "dask", "pandas", "pyarrow", "polars", "pyiceberg", "duckdb")
    return {
        "python": platform.python_version(),
        "cpus": str(os.cpu_count()),
        **{p: version(p) for p in packages},
    }


def print_report(results: list[SizeResult]) -> None:
    print(
        f"{'size':7} {'feature rows':>12} {'labels':>9} {'system':30} {'seconds':>8} "
        f"{'CPU s':>7} {'peak MB':>8} {'MB before':>9} {'rows out':>9} {'load':>5}"
    )
    for r in results:
        for engine, run in r.runs.items():
            seconds = f"{run.seconds:.2f}" if run.seconds is not None else "-"
            cpu = f"{run.cpu_seconds:.2f}" if run.cpu_seconds is not None else "-"
            before = f"{run.before_call_mb:,.0f}" if run.before_call_mb is not None else "-"
            rows = f"{run.rows_out:,}" if run.rows_out is not None else "-"
            print(
                f"{r.size:7} {r.feature_rows:>12,} {r.entity_rows:>9,} "
                f"{ENGINE_LABELS[engine]:30} {seconds:>8} {cpu:>7} {run.peak_mb:>8,.0f} "
                f"{before:>9} {rows:>9} {run.load_average:>5.1f}"
            )
    for r in results:
        for peer, label in (("feast", "Feast"), ("duckdb", "DuckDB SQL")):
            if f"time_{peer}_over_ours" in r.ratios:
                print(
                    f"{r.size}: {label} / polars: time {r.ratios[f'time_{peer}_over_ours']:.2f}x, "
                    f"CPU {r.ratios[f'cpu_{peer}_over_ours']:.2f}x, "
                    f"peak memory {r.ratios[f'peak_memory_{peer}_over_ours']:.2f}x"
                )
        if "duckdb_equals_ours" in r.ratios:
            same = "equal" if r.ratios["duckdb_equals_ours"] else "DIFFERENT"
            print(f"{r.size}: DuckDB SQL vs polars training sets: {same}")
        for run in r.runs.values():
            if not run.ok:
                print(f"{r.size}: {ENGINE_LABELS[run.engine]}: {run.outcome}")
        if r.differential is not None:
            print(f"{r.size}: {r.differential['summary']}")
            for problem in r.differential["problems"]:
                print(f"{r.size}:   PROBLEM: {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="small,medium,large", help="comma-separated")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per retrieval")
    parser.add_argument("--memory-cap-gb", type=float, default=16.0, help="RSS cap per child")
    parser.add_argument(
        "--differential-max",
        default="medium",
        choices=SIZE_ORDER,
        help="compare both outputs row by row on sizes up to this one",
    )
    parser.add_argument(
        "--engines", default=",".join(ENGINES), help=f"comma-separated, of {list(ENGINES)}"
    )
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp dir)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child)
        return

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZE_ORDER]
    if unknown:
        parser.error(f"unknown sizes {unknown}; choose from {list(SIZE_ORDER)}")
    compare_up_to = SIZE_ORDER.index(args.differential_max)
    root = args.workdir or Path(tempfile.mkdtemp(prefix="fp-bench-hf-"))
    root.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for name in sizes:
            results.append(
                measure_size(
                    name,
                    root,
                    args.timeout,
                    args.memory_cap_gb * 1024,
                    SIZE_ORDER.index(name) <= compare_up_to,
                    tuple(e.strip() for e in args.engines.split(",") if e.strip()),
                )
            )
            if args.workdir is None:
                shutil.rmtree(root / name, ignore_errors=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    versions = _versions()
    print(", ".join(f"{k} {v}" for k, v in versions.items()))
    print_report(results)
    if args.json:
        args.json.write_text(
            json.dumps({"versions": versions, "results": [asdict(r) for r in results]}, indent=2)
        )


if __name__ == "__main__":
    main()
