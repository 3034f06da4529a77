"""Spawned child processes for the drills, started ahead of use so their imports overlap.

A spawned child spends several CPU-seconds importing the stack (polars, pyarrow, pyiceberg,
boto3) before it can do anything; the drills use about fifteen of them. Started one at a time
they leave the second core idle while the test waits, so the pool keeps a worker or two
starting in the background: by the time a drill takes one, it is usually ready.

Calls and results go through a pipe, so arguments must pickle: the drills synchronize their
workers through files (`workers.wait_for_all`, `workers.mark`), not multiprocessing primitives.
Each worker is a fresh process (spawned, never forked, as in `feature_platform_tests.processes`)
that runs exactly one call and leaves with `os._exit`, or is killed by the drill: no state
carries from one drill to the next.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

READY_TIMEOUT_SECONDS = 300
CALL_TIMEOUT_SECONDS = 300
WORKER_MODULE = "feature_platform_tests.drills.workers"


def _serve(conn: multiprocessing.connection.Connection) -> None:
    code = 1
    try:
        __import__(WORKER_MODULE)
        conn.send(("ready", None))
        function, args = conn.recv()
        conn.send(("ok", function(*args)))
        code = 0
    except BaseException:  # reported to the test, which fails with it
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()
        os._exit(code)


class Worker:
    """One spawned process that imports the stack, then runs one call when told to."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_end = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_end,))
        self.process.start()
        child_end.close()
        self._ready = False

    def wait_ready(self) -> None:
        if not self._ready:
            assert self._receive(READY_TIMEOUT_SECONDS) is None
            self._ready = True

    def start(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` in the worker; returns at once."""
        self.wait_ready()
        self._conn.send((function, args))

    def result(self, timeout: float = CALL_TIMEOUT_SECONDS) -> Any:
        """The call's return value; raises with the worker's traceback if it raised."""
        value = self._receive(timeout)
        self.process.join(10)
        return value

    def exitcode(self, timeout: float = CALL_TIMEOUT_SECONDS) -> int:
        """Wait for the worker to end; negative: killed by that signal."""
        self.process.join(timeout)
        if self.process.is_alive():
            self.kill()
            raise TimeoutError(f"worker {self.process.pid} did not end within {timeout}s")
        assert self.process.exitcode is not None
        return self.process.exitcode

    def kill(self) -> None:
        """SIGKILL, as ``kill -9``."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()

    def _receive(self, timeout: float) -> Any:
        if not self._conn.poll(timeout):
            self.kill()
            raise TimeoutError(f"worker {self.process.pid} sent nothing within {timeout}s")
        status, value = self._conn.recv()
        if status == "error":
            raise RuntimeError(f"a drill worker process failed:\n{value}")
        return value


class Pool:
    """Hands out ready (or starting) workers and keeps `ahead` more starting meanwhile."""

    def __init__(self, ahead: int = 1) -> None:
        self._ahead = ahead
        self._spare: deque[Worker] = deque()
        self._fill()

    def take(self, count: int = 1) -> list[Worker]:
        """`count` ready workers; the next spare starts once they are ready, so that it does
        not compete with them for the CPU while they start."""
        taken = [self._spare.popleft() if self._spare else Worker() for _ in range(count)]
        for worker in taken:
            worker.wait_ready()
        self._fill()
        return taken

    def run_together(
        self, function: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]
    ) -> list[Any]:
        """``function(*job, start_at)`` for every job, each in its own worker, all at once
        (as `feature_platform_tests.processes.run_together`, on pooled workers)."""
        workers = self.take(len(jobs))
        try:
            start_at = time.time() + 0.2
            for worker, job in zip(workers, jobs, strict=True):
                worker.start(function, *job, start_at)
            return [worker.result() for worker in workers]
        finally:
            for worker in workers:
                worker.kill()

    def close(self) -> None:
        while self._spare:
            self._spare.popleft().kill()

    def _fill(self) -> None:
        while len(self._spare) < self._ahead:
            self._spare.append(Worker())
