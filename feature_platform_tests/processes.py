"""Separate writer processes for the concurrency tests, started the safe way.

Processes are spawned, not forked: forking a process that has loaded polars, pyarrow or Dagster
(which run threads) can deadlock the child on a lock some vanished thread held. Each worker
imports what the test needs first, so the writes themselves start together.
"""

from __future__ import annotations

import importlib
import multiprocessing
import time
from collections.abc import Callable, Sequence
from typing import Any


def _warm_up(modules: Sequence[str]) -> None:
    for module in modules:
        importlib.import_module(module)
    time.sleep(0.5)  # hold this worker so that every worker receives one warm-up task


def run_together(
    function: Callable[..., Any], jobs: Sequence[tuple[Any, ...]], modules: Sequence[str]
) -> list[Any]:
    """Call ``function(*job, start_at)`` for every job, each in its own process, all at once.

    `function` must sleep until `start_at` (a `time.time()` value) before it writes.
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(jobs)) as pool:
        pool.map(_warm_up, [list(modules)] * len(jobs), chunksize=1)
        start_at = time.time() + 0.5
        return pool.starmap(function, [(*job, start_at) for job in jobs])


def spawn_process(function: Callable[..., Any], *args: Any) -> multiprocessing.process.BaseProcess:
    """Start `function(*args)` in a fresh spawned process."""
    process = multiprocessing.get_context("spawn").Process(target=function, args=args)
    process.start()
    return process
