"""Cold start of the `feature-platform` inspection commands: CPU and wall time of a fresh process.

Every shell call pays the interpreter start plus the imports of the command's code path, and
those imports (Dagster's, pandas') used to cost several times the work the command does. Each
command runs as its own child process on a demo home; the child's CPU time (user + sys, from
`os.wait4`, so it counts only that child) and the wall time are reported as medians of `--repeat`
runs, next to the bare interpreter start (`python -c pass`) as the floor.

Two bytecode situations are measured, since they differ by a factor of about two:

- ``compiled``: Python's bytecode cache is used (what a user sees from the second call on: the
  first import writes ``__pycache__``). The cache goes to a private folder
  (``PYTHONPYCACHEPREFIX``), so the virtual environment is not modified.
- ``source``: every module is compiled from source on each call, as under
  ``PYTHONDONTWRITEBYTECODE=1`` with an environment installed without bytecode (uv's default).

Run:  uv run python -m benchmarks.cli_cold_start [--home DIR] [--repeat 5] [--json out.json]
      [--code DIR]   (another checkout's folder holding `feature_platform/`, e.g. the code before
                      a change, exported with `git archive <rev> feature_platform | tar -x -C DIR`)

Without `--home`, a demo home is built first in a temporary folder (`feature-platform demo
--no-ui --days 1`, outside the timing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: dict[str, list[str]] = {
    "list": ["list"],
    "describe": ["describe", "user_engagement"],
    "search": ["search", "clicks"],
    "sql": ["sql", "select count(*) as n from user_engagement"],
}
MODES = ("compiled", "source")


def _cli() -> list[str]:
    """The console script next to this interpreter (what a user runs), else ``python -m``."""
    script = Path(sys.executable).with_name("feature-platform")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "feature_platform.cli"]


def _run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds of the child, wall seconds); raises if the command fails."""
    started = time.perf_counter()
    with subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as child:
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}):\n{stderr}")
    return usage.ru_utime + usage.ru_stime, wall


def _environment(home: Path, mode: str, cache: Path, code: Path | None) -> dict[str, str]:
    env = {**os.environ, "FEATURE_PLATFORM_HOME": str(home)}
    env.setdefault("DAGSTER_HOME", str(home / "dagster"))
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    if mode == "compiled":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def measure(
    home: Path, repeat: int, cache: Path, code: Path | None = None
) -> dict[str, dict[str, float]]:
    runs: dict[str, list[str]] = {"python -c pass": [sys.executable, "-c", "pass"]}
    runs |= {f"feature-platform {name}": _cli() + args for name, args in COMMANDS.items()}
    results: dict[str, dict[str, float]] = {}
    print(f"{'':28}" + "".join(f"{mode + ' cpu':>14}{mode + ' wall':>14}" for mode in MODES))
    for label, argv in runs.items():
        figures: dict[str, float] = {}
        for mode in MODES:
            env = _environment(home, mode, cache, code)
            _run_once(argv, env)  # warm the page cache (and, compiled, the bytecode cache)
            samples = [_run_once(argv, env) for _ in range(repeat)]
            figures[f"{mode}_cpu_s"] = round(statistics.median(s[0] for s in samples), 2)
            figures[f"{mode}_wall_s"] = round(statistics.median(s[1] for s in samples), 2)
        results[label] = figures
        print(f"{label:28}" + "".join(f"{value:14.2f}" for value in figures.values()), flush=True)
    return results


def _build_demo_home(folder: Path) -> Path:
    home = folder / "home"
    env = {**os.environ, "FEATURE_PLATFORM_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    subprocess.run(
        [*_cli(), "demo", "--no-ui", "--days", "1"], env=env, check=True, stdout=subprocess.DEVNULL
    )
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="an existing demo home")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--code", type=Path, default=None, help="run this feature_platform")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cli_cold_start_"))
    try:
        if args.home is None:
            print(f"building a demo home in {folder} ...", flush=True)
            args.home = _build_demo_home(folder)
        results = measure(args.home, args.repeat, folder / "pycache", args.code)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
