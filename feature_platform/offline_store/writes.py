"""Atomic window replacement and appends on an Iceberg table, safe under concurrent writers.

A window replace is one snapshot (`window_overwrite`): every engine, time-travelling to any
timestamp, sees the window as it was before or after it, never empty. pyiceberg retries a commit
that lost a race (`commit.retry.num-retries`), but a replace whose window changed underneath it
is refused (`ValidationException`). Replacing a window is a pure function of the window, so we
then reload the table and redo the whole operation: the last writer's rows win and no window is
ever doubled. Appends (a streaming micro-batch, a landing file) are validated against a
concurrent commit of the same write id (`guarded_append`), which pyiceberg's fast append is not.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import botocore.exceptions
import pyarrow as pa
import requests.exceptions
from pyiceberg.exceptions import (
    CommitFailedException,
    CommitStateUnknownException,
    ValidationException,
)
from pyiceberg.expressions import And, BooleanExpression, GreaterThanOrEqual, LessThan
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Snapshot
from sqlalchemy.exc import OperationalError

from feature_platform.errors import CommitConflictError
from feature_platform.offline_store.guarded_append import guarded_append
from feature_platform.offline_store.window_overwrite import (
    overwrite_window,
    scan_branch,
    swap_window_files,
)
from feature_platform.time_windows import TimeWindow

if TYPE_CHECKING:
    from feature_platform.offline_store.audit import ExpectationReport

logger = logging.getLogger(__name__)

# Errors after which a commit may or may not have landed, or surely did not: the write-id check
# before the retry tells which. CommitStateUnknownException: a REST catalog answered 5xx;
# OperationalError: the SQL catalog's database connection; botocore's connection and HTTP
# errors: Glue or S3 unreachable or timing out; requests': a REST catalog's transport.
RETRYABLE = (
    CommitFailedException,
    CommitStateUnknownException,
    ValidationException,
    OperationalError,
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)
OUTER_ATTEMPTS = 6
WRITE_ID_PROPERTY = "feature-platform.write-id"
# Snapshot summary property naming the maintenance step that committed a snapshot (e.g.
# "compaction"), so readers of the history can tell a rewrite from new data.
OPERATION_PROPERTY = "feature-platform.operation"


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
    # The window's audit (`offline_store.audit`): None when the group declares no expectations.
    expectations: ExpectationReport | None = None

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
    properties: Mapping[str, str] | None = None,
    branch: str = MAIN_BRANCH,
) -> WriteResult:
    """Replace every row of `window` with `data` in one atomic commit of one snapshot.

    `properties` go into the snapshot summary (e.g. the expectations it failed in warn mode).
    An empty `data` deletes the window's rows (the window's content is now empty), and writes no
    data file. When neither old nor new rows exist, nothing is committed. A first write into an
    empty window is refused if a concurrent writer filled the window meanwhile: the retry then
    sees its rows and replaces them, so no snapshot ever holds the window twice.
    With a `branch` (an experiment's), the window of that branch is replaced; main is untouched.
    """
    predicate = window_filter(time_column, window)

    def attempt(table: Table, tag: dict[str, str]) -> None:
        candidates = _files_in(table, predicate, branch)
        overwrite_window(table, data, predicate, tag, WRITE_ID_PROPERTY, candidates, branch)

    return _commit_with_retry(
        load_table, attempt, window=window, rows=data.num_rows, properties=properties
    )


FilePlan = Callable[[Table, BooleanExpression], tuple[list[DataFile], list[DataFile]]]


def replace_window_files(
    load_table: Callable[[], Table],
    time_column: str,
    window: TimeWindow,
    plan: FilePlan,
    properties: dict[str, str],
) -> WriteResult:
    """Replace `window`'s live files on main with existing data files, in one snapshot.

    `plan` is called on the freshly loaded table of each attempt and returns the files to
    remove and to add; it may raise to refuse (e.g. main changed the window meanwhile). Counts
    in the result are the snapshot summary's: rows added and rows removed.
    """
    predicate = window_filter(time_column, window)

    def attempt(table: Table, tag: dict[str, str]) -> None:
        removed, added = plan(table, predicate)
        swap_window_files(
            table, removed, added, predicate, {**properties, **tag}, WRITE_ID_PROPERTY
        )

    result = _commit_with_retry(load_table, attempt, window=window, rows=0)
    table = load_table()
    mine = snapshots_of_write(table, _write_id_of(table, result.snapshot_id))
    summary = mine[-1].summary.additional_properties if mine and mine[-1].summary else {}
    return replace(
        result,
        rows_written=int(summary.get("added-records", 0)),
        rows_replaced=int(summary.get("deleted-records", 0)),
    )


def _write_id_of(table: Table, snapshot_id: int | None) -> str:
    snapshot = table.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
    if snapshot is None or snapshot.summary is None:
        return ""
    return snapshot.summary.additional_properties.get(WRITE_ID_PROPERTY, "")


def append(
    load_table: Callable[[], Table], data: pa.Table, write_id: str | None = None
) -> WriteResult:
    """Append rows in one commit; an empty frame commits nothing (no empty data files).

    With a `write_id` (e.g. derived from a landing file's name), an append that already
    committed under that id is not repeated: rerunning a crashed ingest is idempotent, and of
    two runs pushing the same file at once only one commits.
    """

    def attempt(table: Table, tag: dict[str, str]) -> None:
        if data.num_rows:
            guarded_append(table, data, tag, WRITE_ID_PROPERTY)

    return _commit_with_retry(
        load_table, attempt, window=None, rows=data.num_rows, write_id=write_id
    )


def _files_in(
    table: Table, predicate: BooleanExpression, branch: str = MAIN_BRANCH
) -> list[FileScanTask]:
    """The live data files that may hold rows of the window: a replace's look at the window,
    on the table state (of `branch`) its commit is validated against."""
    return list(scan_branch(table, predicate, branch).plan_files())


def _commit_with_retry(
    load_table: Callable[[], Table],
    operation: Callable[[Table, dict[str, str]], None],
    *,
    window: TimeWindow | None,
    rows: int,
    write_id: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> WriteResult:
    """Run `operation` until it commits, on fresh table state after each conflict.

    Every snapshot of one logical write carries the same write id, so the result (and time
    travel) can tell this write's snapshots from those of writers it raced with. Before each
    retry (and before the first attempt of a caller-named write) the table is checked for that
    id: a commit that succeeded but reported failure (a lost response), or that a concurrent
    writer of the same write id made, is not applied twice.
    """
    tag = {**(properties or {}), WRITE_ID_PROPERTY: write_id or uuid.uuid4().hex}
    conflicts = 0
    while True:
        try:
            table = load_table()
            if (conflicts or write_id) and snapshots_of_write(table, tag[WRITE_ID_PROPERTY]):
                break
            operation(table, tag)
            break
        except RETRYABLE as exc:
            conflicts += 1
            if conflicts >= OUTER_ATTEMPTS:
                if _landed_after_all(load_table, tag[WRITE_ID_PROPERTY]):
                    table = load_table()  # the last attempt's answer was lost, not its commit
                    break
                raise CommitConflictError(
                    f"could not commit to {_name(load_table)} after {OUTER_ATTEMPTS} attempts "
                    f"({type(exc).__name__}: {exc}); if writers are racing, lower the write "
                    "concurrency or raise commit_retries, else check the catalog is reachable"
                ) from exc
            pause = min(0.05 * 2**conflicts, 2.0) * (1 + random.random())
            logger.warning(
                "commit to %s failed (%s); retrying in %.2fs", _name(load_table), exc, pause
            )
            time.sleep(pause)
    # `table` holds the committed state: pyiceberg updates it in place on commit.
    return _result(table, tag[WRITE_ID_PROPERTY], window=window, rows=rows)


def _landed_after_all(load_table: Callable[[], Table], write_id: str) -> bool:
    """Whether a write whose every attempt reported failure committed anyway (its last
    answer was lost); False when that cannot be found out either."""
    try:
        return bool(snapshots_of_write(load_table(), write_id))
    except Exception:  # the catalog is unreachable: report the write as failed
        return False


def _name(load_table: Callable[[], Table]) -> str:
    try:
        return ".".join(load_table().name())
    except Exception:  # only for messages: never mask the error being reported
        return "the table"


def snapshots_of_write(table: Table, write_id: str) -> list[Snapshot]:
    """The snapshots one write committed, oldest first."""
    return [
        snapshot
        for snapshot in table.snapshots()
        if snapshot.summary is not None
        and snapshot.summary.additional_properties.get(WRITE_ID_PROPERTY) == write_id
    ]


def _result(table: Table, write_id: str, *, window: TimeWindow | None, rows: int) -> WriteResult:
    """Sum the summaries of this write's snapshots: one, or two (a delete and an append) for a
    window replace committed before replaces were single snapshots."""
    mine = snapshots_of_write(table, write_id)
    totals = dict.fromkeys(
        (
            "added-data-files",
            "deleted-data-files",
            "added-files-size",
            "added-records",
            "deleted-records",
        ),
        0,
    )
    for snapshot in mine:
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        for key in totals:
            totals[key] += int(summary.get(key, 0))
    return WriteResult(
        table=".".join(table.name()),
        rows_written=rows,
        # Files of a partition the window only covers in part are rewritten with the rows
        # outside the window: those rows were deleted and added back, not replaced.
        rows_replaced=totals["deleted-records"] - (totals["added-records"] - rows),
        files_added=totals["added-data-files"],
        files_removed=totals["deleted-data-files"],
        bytes_added=totals["added-files-size"],
        snapshot_id=mine[-1].snapshot_id if mine else None,
        table_location=table.location(),
        metadata_location=table.metadata_location,
        window=window,
        committed=bool(mine),
    )
