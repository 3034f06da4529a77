"""Micro-batching of pushed rows into offline commits.

Every Iceberg commit writes new metadata, and a table's metadata grows with its snapshots, so a
stream that committed each small push would slow every later commit and read (and need constant
compaction). The buffer gathers a group's pushed rows and commits them together once enough rows
or enough time has accumulated. A background thread enforces the time limit even when pushes
stop; `flush` and `close` commit what is left, so nothing is lost on a clean exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from feature_platform.offline_store.writes import WriteResult

Commit = Callable[[str, pl.DataFrame], WriteResult]


@dataclass
class _Pending:
    frames: list[pl.DataFrame] = field(default_factory=list)
    rows: int = 0
    since: float = 0.0


class OfflineBuffer:
    """Buffers validated rows per group and commits them with `commit(group, rows)`.

    Args:
        commit: Appends one group's rows to its offline table in one commit.
        max_rows: Commit a group once this many rows are pending (0: commit every add).
        max_seconds: Commit a group once its oldest pending row is this old.
        clock: Monotonic seconds; replaceable in tests.
    """

    def __init__(
        self,
        commit: Commit,
        max_rows: int,
        max_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._commit = commit
        self._max_rows = max_rows
        self._max_seconds = max_seconds
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._failure: BaseException | None = None

    def add(self, group: str, rows: pl.DataFrame) -> list[WriteResult]:
        """Buffer `rows`; returns the commits this add triggered (none while below the limits).

        Raises:
            Exception: A background commit failed since the last call; its rows are still
                buffered and are retried by this call's commit or the next `flush`.
        """
        self._raise_background_failure()
        with self._lock:
            pending = self._pending.setdefault(group, _Pending())
            if not pending.frames:
                pending.since = self._clock()
            pending.frames.append(rows)
            pending.rows += rows.height
            due = pending.rows >= self._max_rows or self._age(pending) >= self._max_seconds
            results = [self._commit_group(group)] if due else []
        if not due:
            self._start_timer()
        return results

    def flush(self, group: str | None = None) -> list[WriteResult]:
        """Commit pending rows now: of `group`, or of every group."""
        with self._lock:
            names = [group] if group is not None else list(self._pending)
            results = [self._commit_group(name) for name in names if self.pending_rows(name)]
        self._failure = None  # whatever failed in the background is committed (or raised) now
        return results

    def pending_rows(self, group: str | None = None) -> int:
        with self._lock:
            if group is not None:
                return self._pending[group].rows if group in self._pending else 0
            return sum(p.rows for p in self._pending.values())

    def close(self) -> list[WriteResult]:
        """Stop the timer and commit everything pending."""
        self._stop.set()
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.join(timeout=max(self._max_seconds, 1.0) + 5)
        return self.flush()

    def _commit_group(self, group: str) -> WriteResult:
        pending = self._pending[group]
        rows = pl.concat(pending.frames, how="vertical_relaxed")
        result = self._commit(group, rows)  # on failure the rows stay pending
        del self._pending[group]
        return result

    def _age(self, pending: _Pending) -> float:
        return self._clock() - pending.since if pending.frames else 0.0

    def _start_timer(self) -> None:
        with self._lock:
            if self._timer is not None or self._stop.is_set():
                return
            self._timer = threading.Thread(
                target=self._run_timer, name="feature-platform-offline-buffer", daemon=True
            )
            self._timer.start()

    def _run_timer(self) -> None:
        interval = max(min(self._max_seconds / 4, 5.0), 0.05)
        while not self._stop.wait(interval):
            with self._lock:
                due = [g for g, p in self._pending.items() if self._age(p) >= self._max_seconds]
                for group in due:
                    try:
                        self._commit_group(group)
                    except Exception as exc:  # reported to the next add/flush caller
                        self._failure = exc

    def _raise_background_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
