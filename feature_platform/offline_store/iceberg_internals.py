"""The one door to pyiceberg's private API: everything else uses pyiceberg's public names only.

Pinned: pyiceberg 0.12.0 (``uv.lock``; ``pyproject.toml`` asks for ``==0.12.*``). Private names
may change in any release, so an upgrade means reading this module against the new release;
nothing else in `feature_platform` needs that. `feature_platform_tests/test_pyiceberg_door.py`
fails if another module imports a private pyiceberg name or touches a private attribute.

Why each private name is used, and the public API that would replace it:

- `_FastAppendFiles`, `_OverwriteFiles` (``table.update.snapshot``), subclassed here with their
  ``_validate_concurrency`` hook, ``_commit_window``, ``_deleted_data_files`` and
  ``_transaction._table``: pyiceberg's public appends and overwrites cannot add and remove
  chosen files in one snapshot, nor validate a retried commit against our own rules (a write id
  already committed; Iceberg's RewriteFiles rules for compaction). Public replacement: a
  ``table.update_snapshot().overwrite()``/``rewrite()`` accepting a conflict filter and validation
  options, as Java's OverwriteFiles/RewriteFiles do (not in 0.12).
- ``_summary`` of `_OverwriteFiles`: 0.12's summary builder refuses a ``replace`` operation, so
  a rewrite is summarised as an ``overwrite`` and relabelled. Public replacement: a
  rewrite-files producer that writes ``replace`` snapshots.
- `_validate_added_data_files`, `_validate_deleted_data_files`, `_validate_no_new_delete_files`,
  `_validate_data_files_exist`, `_validate_no_new_deletes_for_data_files`
  (``table.update.validate``): Iceberg's conflict checks between a commit and the commits it
  raced with. Public replacement: the validation options of such a producer.
- `_dataframe_to_data_files` (``io.pyarrow``): writes Arrow rows as data files without
  committing them, so they can join a snapshot that also removes files. Public replacement:
  ``Transaction.add_files`` takes existing parquet files but re-reads their footers; a public
  "write data files" API (not in 0.12).
- `_check_pyarrow_schema_compatible` (``io.pyarrow``): the schema check ``Table.append`` makes
  before writing, for rows we write through `_dataframe_to_data_files`. Public replacement:
  none in 0.12 short of ``Table.append`` itself.
- `_expression_to_complementary_pyarrow` (``io.pyarrow``): the Arrow filter for the rows
  outside an Iceberg expression, nulls included, which ``~expression_to_pyarrow(...)`` gets
  wrong. Public replacement: none in 0.12.
- `_StrictMetricsEvaluator` (``expressions.visitors``): proves from a file's column statistics
  that all its rows match, so a file wholly inside a window is removed unread. Public
  replacement: none in 0.12 (Java exposes StrictMetricsEvaluator).
- ``Catalog.commit_table`` replaced on the catalog object (`guard_commits`): public names, but
  it relies on pyiceberg's `Table` committing through it and on what pyiceberg does with the
  exceptions it raises. Public replacement: a commit-outcome hook or a catalog option to check
  a failed commit before retrying (not in 0.12).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import takewhile
from typing import TYPE_CHECKING, Any

from pyiceberg.expressions import BooleanExpression
from pyiceberg.expressions.visitors import ROWS_MUST_MATCH, _StrictMetricsEvaluator, bind
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.table import CommitTableResponse, Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Operation, Snapshot, Summary, ancestors_of
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.table.update.snapshot import _FastAppendFiles, _OverwriteFiles, _SnapshotProducer
from pyiceberg.table.update.validate import (
    _validate_added_data_files,
    _validate_data_files_exist,
    _validate_deleted_data_files,
    _validate_no_new_delete_files,
    _validate_no_new_deletes_for_data_files,
)
from pyiceberg.typedef import EMPTY_DICT

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyiceberg.catalog import Catalog


@dataclass(frozen=True)
class RacedCommits:
    """The commits a retried snapshot commit raced with, and the files that commit removes.

    Attributes:
        table: The table, refreshed to `head`.
        head: The newest commit raced with.
        base: The table's snapshot when the commit began (None for an empty table).
        removed: The data files the commit removes.
    """

    table: Table
    head: Snapshot
    base: Snapshot | None
    removed: frozenset[DataFile]

    def snapshots(self) -> Iterator[Snapshot]:
        """The snapshots committed meanwhile: `head` back to, not including, `base`."""
        base_id = None if self.base is None else self.base.snapshot_id
        return takewhile(
            lambda snapshot: snapshot.snapshot_id != base_id,
            ancestors_of(self.head, self.table.metadata),
        )

    def refuse_added_rows(self, conflict_filter: BooleanExpression) -> None:
        """Raises `ValidationException` if a raced commit added a file matching the filter."""
        _validate_added_data_files(self.table, self.head, conflict_filter, self.base)

    def refuse_deleted_rows(self, conflict_filter: BooleanExpression) -> None:
        """Raises `ValidationException` if a raced commit removed a file matching the filter, or
        added a delete file matching it."""
        _validate_deleted_data_files(self.table, self.head, conflict_filter, self.base)
        _validate_no_new_delete_files(self.table, self.head, conflict_filter, None, self.base)

    def refuse_changed_removed_files(self, conflict_filter: BooleanExpression | None) -> None:
        """Raises `ValidationException` if a file this commit removes was removed meanwhile, or
        got a delete file (matching `conflict_filter`, if one is given)."""
        removed = set(self.removed)
        _validate_data_files_exist(self.table, self.head, removed, self.base)
        _validate_no_new_deletes_for_data_files(
            self.table, self.head, conflict_filter, removed, self.base
        )


Validation = Callable[[RacedCommits], None]


class _ValidatedFastAppend(_FastAppendFiles):
    """pyiceberg's fast append, whose retries run `validation` on the commits raced with."""

    validation: Validation

    def _validate_concurrency(self) -> None:
        _validate_raced(self, self.validation)


class _ValidatedOverwrite(_OverwriteFiles):
    """pyiceberg's file overwrite, whose retries run `validation` instead of its own rules."""

    validation: Validation

    def _validate_concurrency(self) -> None:
        _validate_raced(self, self.validation)


class _ValidatedReplace(_ValidatedOverwrite):
    """An overwrite summarised with the same counts and totals, but as a ``replace``."""

    def _summary(self, snapshot_properties: dict[str, str] = EMPTY_DICT) -> Summary:
        summary = super()._summary(snapshot_properties)
        return Summary(Operation.REPLACE, **summary.additional_properties)


def _validate_raced(producer: _SnapshotProducer[Any], validation: Validation) -> None:
    """Run `validation` when the commit raced with others (never on its first attempt)."""
    window = producer._commit_window
    if window is None or window.is_empty() or window.head is None:
        return
    table = producer._transaction._table
    removed = frozenset(producer._deleted_data_files)
    validation(RacedCommits(table, window.head, window.base, removed))


class SnapshotCommit:
    """The files one snapshot adds and removes, gathered while its commit is open."""

    def __init__(self, table: Table, transaction: Transaction, producer: _SnapshotProducer[Any]):
        self._table = table
        self._transaction = transaction
        self._producer = producer

    def remove(self, data_file: DataFile) -> None:
        self._producer.delete_data_file(data_file)

    def add(self, data_file: DataFile) -> None:
        self._producer.append_data_file(data_file)

    def write(self, rows: pa.Table) -> list[DataFile]:
        """Write `rows` as data files named after this commit, and add them.

        Returns:
            The files written, for the caller to delete if the commit is refused.
        """
        written = write_data_files(
            self._transaction.table_metadata, rows, self._table.io, self._producer.commit_uuid
        )
        for data_file in written:
            self.add(data_file)
        return written


@contextmanager
def commit_snapshot(
    table: Table,
    operation: Operation,
    properties: dict[str, str],
    validation: Validation,
    *,
    append_only: bool = False,
    branch: str = MAIN_BRANCH,
) -> Iterator[SnapshotCommit]:
    """Commit the files added and removed inside the block as one snapshot, on leaving it.

    pyiceberg retries the commit when it loses a race, rebuilding the snapshot on the new head;
    before each retry `validation` sees the commits raced with and may refuse
    (`ValidationException`), after which pyiceberg deletes the attempt's manifests.

    Args:
        table: The table, as loaded for this attempt.
        operation: The snapshot's operation. A ``replace`` (a rewrite that changed no rows),
            which pyiceberg 0.12 cannot summarise, is built as an overwrite and relabelled.
        properties: Snapshot summary properties.
        validation: Refuses the commit when a commit it raced with conflicts.
        append_only: Only adds files: a fast append, which keeps the parent's manifests unread.
        branch: The branch the snapshot is committed to (an experiment's ``exp_<name>``).
    """
    with table.transaction() as transaction:
        producer_type: type[_ValidatedFastAppend | _ValidatedOverwrite]
        if append_only:
            producer_type = _ValidatedFastAppend
        elif operation == Operation.REPLACE:
            producer_type = _ValidatedReplace
        else:
            producer_type = _ValidatedOverwrite
        producer = producer_type(
            operation=Operation.OVERWRITE if operation == Operation.REPLACE else operation,
            transaction=transaction,
            io=table.io,
            snapshot_properties=properties,
            branch=branch,
        )
        producer.validation = validation
        with producer:
            yield SnapshotCommit(table, transaction, producer)


def write_data_files(
    metadata: TableMetadata, rows: pa.Table, io: FileIO, write_uuid: uuid.UUID
) -> list[DataFile]:
    """Write `rows` as data files of the table `metadata` describes, without committing them.

    The files are sized by the metadata's ``write.target-file-size-bytes`` and split by its
    partition spec.
    """
    # Imported here: pyiceberg's pyarrow IO imports pyarrow.dataset and with it pandas (~1 s),
    # which commands that only read specs (`feature-platform list`) must not pay for.
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    return list(
        _dataframe_to_data_files(table_metadata=metadata, df=rows, io=io, write_uuid=write_uuid)
    )


def check_schema_compatible(table: Table, rows: pa.Table) -> None:
    """Refuse rows that `Table.append` would refuse for their schema.

    Raises:
        ValueError: The rows' schema does not match the table's.
    """
    from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible

    _check_pyarrow_schema_compatible(
        table.metadata.schema(),
        provided_schema=rows.schema,
        format_version=table.metadata.format_version,
    )


def all_rows_match(schema: Schema, expression: BooleanExpression) -> Callable[[DataFile], bool]:
    """Whether a file's column statistics prove that every row of it matches `expression`."""
    evaluate = _StrictMetricsEvaluator(schema, expression).eval
    return lambda data_file: evaluate(data_file) == ROWS_MUST_MATCH


def rows_not_matching(schema: Schema, expression: BooleanExpression) -> pc.Expression:
    """The Arrow filter keeping the rows that do not match `expression`, rows with nulls in its
    columns included."""
    from pyiceberg.io.pyarrow import _expression_to_complementary_pyarrow

    return _expression_to_complementary_pyarrow(bind(schema, expression, True), schema)


CommitTable = Callable[
    [Table, tuple[TableRequirement, ...], tuple[TableUpdate, ...]], CommitTableResponse
]
CommitGuard = Callable[
    [CommitTable, Table, tuple[TableRequirement, ...], tuple[TableUpdate, ...]],
    CommitTableResponse,
]


def guard_commits(catalog: Catalog, guard: CommitGuard) -> None:
    """Send every table commit through `catalog` to `guard`, with the catalog's own commit.

    The catalog class's ``commit_table`` is looked up on each call, so the guard wraps whatever
    that class does at the time (a fault injected there, in the failure drills, included).
    """

    def commit_table(
        table: Table,
        requirements: tuple[TableRequirement, ...],
        updates: tuple[TableUpdate, ...],
    ) -> CommitTableResponse:
        catalog_commit = functools.partial(type(catalog).commit_table, catalog)
        return guard(catalog_commit, table, requirements, updates)

    catalog.commit_table = commit_table  # type: ignore[method-assign]
