"""An append that refuses to land on top of a concurrent commit it conflicts with.

pyiceberg's fast append never validates: when its commit loses a race, pyiceberg rebuilds it on
the new head and commits again. That is wrong for two of our writes:

- A first write into an empty window. Two partition runs racing into the same window would both
  append, and every reader would see the window twice until one of them replaced it again. Here
  an append refuses if data files were added to its window since it began (as an overwrite
  does under serializable isolation), and the writer then replaces the window, validated.
- An append under a caller-named write id (a landing file pushed by two runs at once). Both see
  no snapshot with that id and both append. Here an append refuses if a snapshot committed in
  the meantime carries its write id, so the writer's retry finds that commit and stops.

A refusal is a `ValidationException`, after which pyiceberg deletes the attempt's files (the
commit cannot have landed) and the store's retry loop decides again on the fresh table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiceberg.exceptions import ValidationException
from pyiceberg.expressions import BooleanExpression
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation, Snapshot
from pyiceberg.table.update.snapshot import _FastAppendFiles
from pyiceberg.table.update.validate import _validate_added_data_files

if TYPE_CHECKING:
    import pyarrow as pa


class GuardedAppend(_FastAppendFiles):
    """A fast append whose retries are validated against the commits it raced with."""

    conflict_filter: BooleanExpression | None = None
    write_id_property: str = ""
    write_id: str = ""

    def _validate_concurrency(self) -> None:
        window = self._commit_window
        if window is None or window.is_empty() or window.head is None:
            return
        table = self._transaction._table
        if self.write_id:
            for snapshot in _committed_since(table, window.head, window.base):
                summary = snapshot.summary.additional_properties if snapshot.summary else {}
                if summary.get(self.write_id_property) == self.write_id:
                    raise ValidationException(
                        f"write {self.write_id} was committed concurrently "
                        f"(snapshot {snapshot.snapshot_id})"
                    )
        if self.conflict_filter is not None:
            _validate_added_data_files(table, window.head, self.conflict_filter, window.base)


def guarded_append(
    table: Table,
    data: pa.Table,
    properties: dict[str, str],
    write_id_property: str,
    conflict_filter: BooleanExpression | None = None,
) -> None:
    """Append `data` in one commit, refused (`ValidationException`) on a conflicting race.

    Args:
        table: The table, as loaded for this attempt.
        data: Rows matching the table's schema; at least one.
        properties: Snapshot summary properties, including the write id.
        write_id_property: The summary property that holds the write id.
        conflict_filter: Rows this append must be the only writer of (its window).
    """
    # Imported here: pyiceberg's pyarrow IO imports pyarrow.dataset and with it pandas (~1 s),
    # which commands that only read specs (`feature-platform list`) must not pay for.
    from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible, _dataframe_to_data_files

    _check_pyarrow_schema_compatible(
        table.metadata.schema(),
        provided_schema=data.schema,
        format_version=table.metadata.format_version,
    )
    with table.transaction() as transaction:
        producer = GuardedAppend(
            operation=Operation.APPEND,
            transaction=transaction,
            io=table.io,
            snapshot_properties=properties,
        )
        producer.conflict_filter = conflict_filter
        producer.write_id_property = write_id_property
        producer.write_id = properties[write_id_property]
        with producer:
            for data_file in _dataframe_to_data_files(
                table_metadata=transaction.table_metadata,
                write_uuid=producer.commit_uuid,
                df=data,
                io=table.io,
            ):
                producer.append_data_file(data_file)


def _committed_since(table: Table, head: Snapshot, base: Snapshot | None) -> list[Snapshot]:
    """Snapshots from `head` back to, not including, `base` (all of them when `base` is None)."""
    found: list[Snapshot] = []
    snapshot: Snapshot | None = head
    while snapshot is not None and (base is None or snapshot.snapshot_id != base.snapshot_id):
        found.append(snapshot)
        parent = snapshot.parent_snapshot_id
        snapshot = table.metadata.snapshot_by_id(parent) if parent is not None else None
    return found
