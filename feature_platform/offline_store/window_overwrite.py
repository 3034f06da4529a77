"""Replace one time window of an Iceberg table in a single snapshot, as Iceberg's OverwriteFiles.

pyiceberg's `overwrite(df, overwrite_filter=...)` commits a window replace as two snapshots in
one metadata update: a DELETE and then an APPEND (and a third, OVERWRITE, when a file straddles
the filter). Our own reader never stops between them, but another engine time-travelling to a
timestamp that falls between the two snapshots' timestamps (DuckDB's `iceberg_scan(...,
snapshot_from_timestamp=...)`, Spark's `TIMESTAMP AS OF`) reads the window empty: a state no
writer meant and no reader could have seen live.

Here the files lying wholly inside the window are removed, the files straddling its bounds are
rewritten with their rows outside the window (copy-on-write), and the new rows are added, all in
one snapshot: operation ``overwrite`` when files are removed and added, ``delete`` when the new
window is empty, ``append`` when nothing had to be removed. At every timestamp any engine sees
the window either as it was before the write or as it is after it.

The commit is validated against the commits it raced with as Iceberg's OverwriteFiles is with
a conflict-detection filter under serializable isolation (as `guarded_append` validates an
append): it is refused (`ValidationException`) when a concurrent commit added rows to the window,
removed rows from it, or removed a file this commit removes or rewrites. The store's retry loop
then plans the replace again on the fresh table, so the last writer's rows win and the window is
never doubled. Commits elsewhere in the table (another window's append) do not conflict:
pyiceberg rebuilds the snapshot on the new head and commits.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysFalse, AlwaysTrue, BooleanExpression
from pyiceberg.manifest import DataFile
from pyiceberg.table import DataScan, FileScanTask, Table
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Operation

from feature_platform.offline_store.guarded_append import refuse_if_write_committed, remove_unlanded
from feature_platform.offline_store.iceberg_internals import (
    RacedCommits,
    SnapshotCommit,
    all_rows_match,
    check_schema_compatible,
    commit_snapshot,
    rows_not_matching,
)

if TYPE_CHECKING:
    import pyarrow as pa


def refuse_window_conflicts(
    raced: RacedCommits, window_filter: BooleanExpression, write_id_property: str, write_id: str
) -> None:
    """Refuse a window replace that a commit it raced with makes wrong.

    Raises:
        ValidationException: A raced commit carries this write id, changed the window's rows,
            or removed or rewrote a file this replace removes.
    """
    refuse_if_write_committed(raced, write_id_property, write_id)
    # Rows added to, or removed from, the window since this replace was planned: replacing
    # the window now would drop the new rows or bring back the removed ones unseen.
    raced.refuse_added_rows(window_filter)
    raced.refuse_deleted_rows(window_filter)
    if raced.removed:
        # A file this commit removes was removed or rewritten meanwhile (e.g. compacted).
        raced.refuse_changed_removed_files(window_filter)


def overwrite_window(
    table: Table,
    data: pa.Table,
    window_filter: BooleanExpression,
    properties: dict[str, str],
    write_id_property: str,
    candidates: Iterable[FileScanTask] | None = None,
    branch: str = MAIN_BRANCH,
) -> bool:
    """Replace the rows matching `window_filter` with `data` in one snapshot.

    Args:
        table: The table, as loaded for this attempt; the replace is planned on its state.
        data: The window's new rows, matching the table's schema; may be empty (the window is
            then emptied).
        window_filter: The window, as an Iceberg expression every row of `data` satisfies.
        properties: Snapshot summary properties, including the write id.
        write_id_property: The summary property that holds the write id.
        candidates: The scan tasks of the live files that may hold rows of the window, planned
            on `table` (by default, planned here).
        branch: The branch whose window is replaced (an experiment's); `candidates` must be
            planned on it.

    Returns:
        Whether a snapshot was committed (nothing is, when the window held no rows and `data`
        is empty).

    Raises:
        ValidationException: A concurrent commit conflicts with this replace; nothing landed
            and the data files written for it were removed.
    """
    check_schema_compatible(table, data)
    if candidates is None:
        candidates = scan_branch(table, window_filter, branch).plan_files()
    removed, kept = _plan_removals(table, window_filter, candidates)
    rows = data if kept is None else _concat(table, [data, kept])
    if not removed and rows.num_rows == 0:
        return False
    written: list[DataFile] = []
    try:
        with _window_commit(
            table, removed, rows.num_rows > 0, window_filter, properties, write_id_property, branch
        ) as commit:
            for data_file in removed:
                commit.remove(data_file)
            if rows.num_rows:  # never a 0-row file
                written = commit.write(rows)
    except (CommitFailedException, ValidationException):
        remove_unlanded(table, written)
        raise
    return True


def _window_commit(
    table: Table,
    removed: list[DataFile],
    adds: bool,
    window_filter: BooleanExpression,
    properties: dict[str, str],
    write_id_property: str,
    branch: str,
) -> AbstractContextManager[SnapshotCommit]:
    """The one snapshot of a window replace, named for what it does and validated against the
    commits it races with (`refuse_window_conflicts`)."""
    if removed and adds:
        operation = Operation.OVERWRITE
    else:
        operation = Operation.DELETE if removed else Operation.APPEND
    validation = functools.partial(
        refuse_window_conflicts,
        window_filter=window_filter,
        write_id_property=write_id_property,
        write_id=properties[write_id_property],
    )
    return commit_snapshot(table, operation, properties, validation, branch=branch)


def scan_branch(table: Table, row_filter: BooleanExpression, branch: str) -> DataScan:
    """A scan of `branch`'s head (main's current snapshot for main); a branch not made yet
    scans nothing."""
    if branch == MAIN_BRANCH:
        return table.scan(row_filter=row_filter)
    head = table.snapshot_by_name(branch)
    if head is None:
        return table.scan(row_filter=AlwaysFalse())
    return table.scan(row_filter=row_filter, snapshot_id=head.snapshot_id)


def _plan_removals(
    table: Table, window_filter: BooleanExpression, candidates: Iterable[FileScanTask]
) -> tuple[list[DataFile], pa.Table | None]:
    """The live data files holding rows of the window, and their rows outside it.

    A file whose statistics prove every row lies in the window is removed unread. Any other file
    that may hold window rows is read: if it does, it is removed and its other rows are
    returned, to be written back in the same snapshot; if it does not, it stays.
    """
    from pyiceberg.io.pyarrow import ArrowScan

    schema = table.schema()
    inside = all_rows_match(schema, window_filter)
    outside = rows_not_matching(schema, window_filter)
    removed: list[DataFile] = []
    kept: list[pa.Table] = []
    for task in candidates:
        if inside(task.file):
            removed.append(task.file)
            continue
        rows = ArrowScan(table.metadata, table.io, schema, AlwaysTrue()).to_table([task])
        others = rows.filter(outside)
        if others.num_rows == rows.num_rows:
            continue  # its statistics overlap the window, but none of its rows is in it
        removed.append(task.file)
        if others.num_rows:
            kept.append(others)
    return removed, (_concat(table, kept) if kept else None)


def _concat(table: Table, parts: list[pa.Table]) -> pa.Table:
    """Row sets read or given in the table's schema, as one table of exactly that schema."""
    import pyarrow as pa

    schema = table.schema().as_arrow()
    return pa.concat_tables([part.select(schema.names).cast(schema) for part in parts])


def swap_window_files(
    table: Table,
    removed: list[DataFile],
    added: list[DataFile],
    window_filter: BooleanExpression,
    properties: dict[str, str],
    write_id_property: str,
) -> bool:
    """Replace a window's live files with existing data files in one snapshot, writing no data.

    The promotion of an experiment: the files its branch holds for the window join main as
    they are (only a manifest and a manifest list are written). Validated against raced commits
    as a window replace is.

    Returns:
        Whether a snapshot was committed (nothing is when there is nothing to swap).

    Raises:
        ValidationException: A concurrent commit changed the window.
    """
    if not removed and not added:
        return False
    with _window_commit(
        table, removed, bool(added), window_filter, properties, write_id_property, MAIN_BRANCH
    ) as commit:
        for data_file in removed:
            commit.remove(data_file)
        for data_file in added:
            commit.add(data_file)
    return True
