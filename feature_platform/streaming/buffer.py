"""Micro-batching of pushed rows into offline commits.

Every Iceberg commit writes new metadata, and a table's metadata grows with its snapshots, so a
stream that committed each small push would slow every later commit and read (and need constant
compaction). The buffer gathers a group's pushed rows and commits them together once enough rows
or enough time has accumulated. A background thread enforces the time limit even when pushes
stop; `flush` and `close` commit what is left, so nothing is lost on a clean exit.

Rows are committed in batches, each under its own write id, fixed when the batch is opened. A
commit that fails may still have landed (its answer was lost), so a batch takes no more rows
once a commit of it was attempted, and retrying it is idempotent: the retry finds the write id
and does not commit the rows a second time.

A push never fails because of an earlier push's commit, and a push's rows, once accepted, are
never dropped: a failed commit leaves the batch buffered and is retried by the timer, the next
due push, `flush` or `close`. `flush` and `close` raise if they cannot commit; a push reports the
failure in `failure(group)` instead, because raising there would invite the caller to send the
same rows again.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from feature_platform.errors import ConfigurationError, StoreClosedError
from feature_platform.offline_store.writes import WriteResult

logger = logging.getLogger(__name__)

Commit = Callable[[str, pl.DataFrame, str], WriteResult]  # (group, rows, write id)


@dataclass
class _Batch:
    write_id: str
    since: float
    frames: list[pl.DataFrame] = field(default_factory=list)
    rows: int = 0
    attempted: bool = False  # a commit was tried: it may have landed, so no more rows join


class OfflineBuffer:
    """Buffers validated rows per group and commits them with `commit(group, rows, write_id)`.

    Args:
        commit: Appends one batch of a group's rows to its offline table in one commit,
            idempotently under the write id.
        max_rows: Commit a group once this many rows are pending (0: commit every add).
        max_seconds: Commit a group once its oldest pending row is this old.
        clock: Monotonic seconds; replaceable in tests.

    Raises:
        ConfigurationError: A limit is negative, not a number, or (seconds) not finite: a NaN
            limit made the timer spin without sleeping, an infinite one overflowed its waits.
    """

    def __init__(
        self,
        commit: Commit,
        max_rows: int,
        max_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 0:
            raise ConfigurationError(f"max_rows must be a whole number >= 0, not {max_rows!r}")
        if isinstance(max_seconds, bool) or not (
            isinstance(max_seconds, int | float) and math.isfinite(max_seconds) and max_seconds >= 0
        ):
            raise ConfigurationError(
                f"max_seconds must be a finite number of seconds >= 0, not {max_seconds!r}"
            )
        self._commit = commit
        self._max_rows = max_rows
        self._max_seconds = max_seconds
        self._clock = clock
        self._pending: dict[str, list[_Batch]] = {}
        self._failures: dict[str, Exception] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._closed = False

    def add(self, group: str, rows: pl.DataFrame) -> list[WriteResult]:
        """Buffer `rows`; returns the commits this add made (none while below the limits).

        A commit that fails here is not raised: the rows stay buffered and are retried, and
        `failure(group)` says what went wrong.

        Raises:
            StoreClosedError: The buffer was closed; the rows were not accepted.
        """
        with self._lock:
            if self._closed:
                raise StoreClosedError(
                    f"cannot buffer rows of {group!r}: this store was closed (its buffered rows "
                    "were committed); open a new FeatureStore to write"
                )
            batches = self._pending.setdefault(group, [])
            if not batches or batches[-1].attempted:
                batches.append(_Batch(write_id=uuid.uuid4().hex, since=self._clock()))
            batch = batches[-1]
            batch.frames.append(rows)
            batch.rows += rows.height
            results: list[WriteResult] = []
            if self.pending_rows(group) >= self._max_rows or self._age(group) >= self._max_seconds:
                results, _ = self._commit_group(group)
            waiting = bool(self._pending.get(group))
        if waiting:
            self._start_timer()
        return results

    def flush(self, group: str | None = None) -> list[WriteResult]:
        """Commit pending rows now: of `group`, or of every group.

        Raises:
            Exception: The first commit that failed (after every group was tried); the rows
                that could not be committed stay buffered.
        """
        with self._lock:
            names = [group] if group is not None else list(self._pending)
            results: list[WriteResult] = []
            errors: list[Exception] = []
            for name in names:
                committed, error = self._commit_group(name)
                results.extend(committed)
                if error is not None:
                    errors.append(error)
        if errors:
            raise errors[0]
        return results

    def pending_rows(self, group: str | None = None) -> int:
        with self._lock:
            names = [group] if group is not None else list(self._pending)
            return sum(b.rows for name in names for b in self._pending.get(name, []))

    def failure(self, group: str) -> Exception | None:
        """Why the group's last commit failed, while its rows are still buffered; else None."""
        with self._lock:
            return self._failures.get(group)

    def close(self) -> list[WriteResult]:
        """Refuse further rows, stop the timer and commit everything pending."""
        with self._lock:
            self._closed = True
        self._stop.set()
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.join(timeout=max(self._max_seconds, 1.0) + 5)
        return self.flush()

    def _commit_group(self, group: str) -> tuple[list[WriteResult], Exception | None]:
        """Commit the group's batches, oldest first, up to the first failure (with the lock)."""
        batches = self._pending.get(group, [])
        results: list[WriteResult] = []
        while batches:
            batch = batches[0]
            batch.attempted = True
            # Frames of one batch may differ in columns: a feature added by another process
            # between pushes. Missing columns become nulls; the commit fills any the table has.
            rows = pl.concat(batch.frames, how="diagonal_relaxed")
            try:
                results.append(self._commit(group, rows, batch.write_id))
            except Exception as exc:
                self._failures[group] = exc
                logger.warning(
                    "offline commit of %d buffered rows of %s failed (%s); they stay buffered "
                    "and are retried",
                    batch.rows,
                    group,
                    exc,
                )
                return results, exc
            batches.pop(0)
        self._pending.pop(group, None)
        self._failures.pop(group, None)
        return results, None

    def _age(self, group: str) -> float:
        batches = self._pending.get(group)
        return self._clock() - batches[0].since if batches else 0.0

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
                for group in [g for g in self._pending if self._age(g) >= self._max_seconds]:
                    self._commit_group(group)  # a failure is kept in `failure(group)`
