"""Separate writer processes for the concurrency tests, started and ended the safe way.

Processes are spawned, not forked: forking a process that has loaded polars, pyarrow or Dagster
(which run threads) can deadlock the child. Each child imports what it needs, reports ready,
and all start their writes at one instant. A child leaves with `os._exit` once its result is
sent: threads that libraries leave behind (Dagster's among them) must not keep it, and the
test, waiting at interpreter shutdown.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

TIMEOUT_SECONDS = 300


def _child(
    function: Callable[..., Any], args: tuple[Any, ...], modules: Sequence[str], conn: Connection
) -> None:
    code = 1
    try:
        for module in modules:
            importlib.import_module(module)
        conn.send(("ready", None))
        start_at = conn.recv()
        conn.send(("ok", function(*args, start_at)))
        code = 0
    except BaseException:  # reported to the parent, which fails the test with it
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()
        os._exit(code)


def run_together(
    function: Callable[..., Any], jobs: Sequence[tuple[Any, ...]], modules: Sequence[str]
) -> list[Any]:
    """Call ``function(*job, start_at)`` for every job, each in its own process, all at once.

    `function` must sleep until `start_at` (a `time.time()` value) before it writes.
    """
    context = multiprocessing.get_context("spawn")
    children = []
    for job in jobs:
        parent_end, child_end = context.Pipe()
        process = context.Process(target=_child, args=(function, job, list(modules), child_end))
        process.start()
        children.append((process, parent_end))
    try:
        for _, conn in children:
            _receive(conn, expect="ready")
        start_at = time.time() + 0.2
        for _, conn in children:
            conn.send(start_at)
        return [_receive(conn, expect="ok") for _, conn in children]
    finally:
        for process, _ in children:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()


def _receive(conn: Connection, *, expect: str) -> Any:
    if not conn.poll(TIMEOUT_SECONDS):
        raise TimeoutError(f"a writer process sent nothing within {TIMEOUT_SECONDS}s")
    status, value = conn.recv()
    if status == "error":
        raise RuntimeError(f"a writer process failed:\n{value}")
    assert status == expect, (status, expect)
    return value


def _exit_after(function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    code = 1
    try:
        function(*args)
        code = 0
    finally:
        os._exit(code)


def spawn_process(function: Callable[..., Any], *args: Any) -> multiprocessing.process.BaseProcess:
    """Start `function(*args)` in a fresh spawned process; its exit code says if it raised."""
    process = multiprocessing.get_context("spawn").Process(
        target=_exit_after, args=(function, args)
    )
    process.start()
    return process
