"""Atomic window replacement and appends on an Iceberg table, safe under concurrent writers.

pyiceberg retries a commit that lost a race (`commit.retry.num-retries`), but refuses to retry an
overwrite whose deleted region changed underneath it (`ValidationException`). Replacing a window
is a pure function of the window, so for those we reload the table and redo the whole operation:
the last writer's rows win and no window is ever doubled.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import And, BooleanExpression, GreaterThanOrEqual, LessThan
from pyiceberg.table import Table
from sqlalchemy.exc import OperationalError

from feature_platform.errors import CommitConflictError
from feature_platform.time_windows import TimeWindow

logger = logging.getLogger(__name__)

RETRYABLE = (CommitFailedException, ValidationException, OperationalError)
OUTER_ATTEMPTS = 6


@dataclass(frozen=True)
class WriteResult:
    """What one write did, as reported in Dagster metadata and returned to callers."""

    table: str
    rows_written: int
    rows_replaced: int
    files_added: int
    files_removed: int
    bytes_added: int
    snapshot_id: int | None
    table_location: str
    metadata_location: str
    window: TimeWindow | None = None
    committed: bool = True

    @property
    def empty(self) -> bool:
        return self.rows_written == 0


def window_filter(column: str, window: TimeWindow) -> BooleanExpression:
    """`start <= column < end` as an Iceberg expression (ISO strings keep microseconds)."""
    return And(
        GreaterThanOrEqual(term=column, value=window.start.isoformat()),
        LessThan(term=column, value=window.end.isoformat()),
    )


def replace_window(
    load_table: Callable[[], Table],
    data: pa.Table,
    time_column: str,
    window: TimeWindow,
) -> WriteResult:
    """Replace every row of `window` with `data` in one atomic commit.

    An empty `data` deletes the window's rows (the window's content is now empty), and writes no
    data file. When neither old nor new rows exist, nothing is committed.
    """
    predicate = window_filter(time_column, window)

    def attempt(table: Table) -> bool:
        has_rows = bool(_files_in(table, predicate))
        if data.num_rows and has_rows:
            table.overwrite(data, overwrite_filter=predicate)
        elif data.num_rows:
            # An append into an empty window is not validated against concurrent appends into
            # the same window (fast appends never conflict), so check afterwards: files in the
            # window that this commit did not add mean a concurrent writer filled it too, and
            # the window is replaced again, now by an overwrite that Iceberg does validate.
            table.append(data)
            return _files_in(load_table(), predicate) <= _files_added_by(table)
        elif has_rows:
            table.delete(predicate)
        return True

    return _commit_with_retry(load_table, attempt, window=window, rows=data.num_rows)


def _files_in(table: Table, predicate: BooleanExpression) -> set[str]:
    return {task.file.file_path for task in table.scan(row_filter=predicate).plan_files()}


def _files_added_by(table: Table) -> set[str]:
    """Data files added by the table's current snapshot (the commit just made)."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return set()
    return {
        entry.data_file.file_path
        for manifest in snapshot.manifests(table.io)
        if manifest.added_snapshot_id == snapshot.snapshot_id
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
        if entry.snapshot_id == snapshot.snapshot_id
    }


def append(load_table: Callable[[], Table], data: pa.Table) -> WriteResult:
    """Append rows in one commit; an empty frame commits nothing (no empty data files)."""

    def attempt(table: Table) -> bool:
        if data.num_rows:
            table.append(data)
        return True

    return _commit_with_retry(load_table, attempt, window=None, rows=data.num_rows)


def _commit_with_retry(
    load_table: Callable[[], Table],
    operation: Callable[[Table], bool],
    *,
    window: TimeWindow | None,
    rows: int,
) -> WriteResult:
    for attempt in range(OUTER_ATTEMPTS):
        table = load_table()
        before = table.current_snapshot()
        try:
            if not operation(table):
                logger.warning(
                    "a concurrent writer filled the same window of %s; replacing it again",
                    table.name(),
                )
                continue
        except RETRYABLE as exc:
            if attempt == OUTER_ATTEMPTS - 1:
                raise CommitConflictError(
                    f"could not commit to {table.name()} after {OUTER_ATTEMPTS} attempts because "
                    f"concurrent writers kept changing it ({exc}); lower the write concurrency or "
                    "raise commit_retries"
                ) from exc
            pause = min(0.05 * 2**attempt, 2.0) * (1 + random.random())
            logger.warning(
                "commit to %s conflicted (%s); retrying in %.2fs", table.name(), exc, pause
            )
            time.sleep(pause)
            continue
        return _result(
            table,
            before_id=None if before is None else before.snapshot_id,
            window=window,
            rows=rows,
        )
    raise CommitConflictError(
        f"could not replace {window} of {'.'.join(table.name())}: concurrent writers kept filling "
        f"it during {OUTER_ATTEMPTS} attempts; lower the write concurrency"
    )


def _result(
    table: Table, *, before_id: int | None, window: TimeWindow | None, rows: int
) -> WriteResult:
    """Sum the summaries of the snapshots this write added (an overwrite adds two)."""
    current = table.current_snapshot()
    added_ids: list[int] = []
    snapshot = current
    while snapshot is not None and snapshot.snapshot_id != before_id:
        added_ids.append(snapshot.snapshot_id)
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
    totals = {
        "added-data-files": 0,
        "deleted-data-files": 0,
        "added-files-size": 0,
        "deleted-records": 0,
    }
    for snapshot_id in added_ids:
        found = table.snapshot_by_id(snapshot_id)
        summary = found.summary.additional_properties if found and found.summary else {}
        for key in totals:
            totals[key] += int(summary.get(key, 0))
    return WriteResult(
        table=".".join(table.name()),
        rows_written=rows,
        rows_replaced=totals["deleted-records"],
        files_added=totals["added-data-files"],
        files_removed=totals["deleted-data-files"],
        bytes_added=totals["added-files-size"],
        snapshot_id=current.snapshot_id if added_ids and current else None,
        table_location=table.location(),
        metadata_location=table.metadata_location,
        window=window,
        committed=bool(added_ids),
    )
