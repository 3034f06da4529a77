"""An append that refuses to land on top of a concurrent commit of the same write.

pyiceberg's fast append never validates: when its commit loses a race, pyiceberg rebuilds it on
the new head and commits again. That is wrong for an append under a caller-named write id (a
landing file pushed by two runs at once): both see no snapshot with that id and both append.
Here an append refuses if a snapshot committed in the meantime carries its write id, so the
writer's retry finds that commit and stops. (A window replace, a first write into an empty
window included, is validated against its window instead: `window_overwrite`.)

A refusal is a `ValidationException`, after which pyiceberg deletes the attempt's manifests and
this module its data files (the commit cannot have landed), and the store's retry loop decides
again on the fresh table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation, Snapshot
from pyiceberg.table.update.snapshot import CommitWindow, _FastAppendFiles, _SnapshotProducer

if TYPE_CHECKING:
    import pyarrow as pa


class GuardedAppend(_FastAppendFiles):
    """A fast append whose retries are validated against the commits it raced with."""

    write_id_property: str = ""
    write_id: str = ""

    def _validate_concurrency(self) -> None:
        raced_window(self, self.write_id_property, self.write_id)


def raced_window(
    producer: _SnapshotProducer[Any], write_id_property: str, write_id: str
) -> CommitWindow | None:
    """The commits `producer` raced with, after refusing it if one of them carries its write id.

    None when it raced with none (its first attempt, or nothing was committed meanwhile).

    Raises:
        ValidationException: A snapshot committed since the commit began has that write id.
    """
    window = producer._commit_window
    if window is None or window.is_empty() or window.head is None:
        return None
    refuse_if_write_committed(producer._transaction._table, window, write_id_property, write_id)
    return window


def refuse_if_write_committed(
    table: Table, window: CommitWindow, write_id_property: str, write_id: str
) -> None:
    """Refuse a commit whose write id a commit it raced with already carries.

    Raises:
        ValidationException: A snapshot committed since the commit began has that write id.
    """
    if not write_id or window.head is None:
        return
    for snapshot in _committed_since(table, window.head, window.base):
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        if summary.get(write_id_property) == write_id:
            raise ValidationException(
                f"write {write_id} was committed concurrently (snapshot {snapshot.snapshot_id})"
            )


def guarded_append(
    table: Table,
    data: pa.Table,
    properties: dict[str, str],
    write_id_property: str,
) -> None:
    """Append `data` in one commit, refused (`ValidationException`) on a conflicting race.

    Args:
        table: The table, as loaded for this attempt.
        data: Rows matching the table's schema; at least one.
        properties: Snapshot summary properties, including the write id.
        write_id_property: The summary property that holds the write id.
    """
    # Imported here: pyiceberg's pyarrow IO imports pyarrow.dataset and with it pandas (~1 s),
    # which commands that only read specs (`feature-platform list`) must not pay for.
    from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible, _dataframe_to_data_files

    _check_pyarrow_schema_compatible(
        table.metadata.schema(),
        provided_schema=data.schema,
        format_version=table.metadata.format_version,
    )
    written: list[DataFile] = []
    try:
        with table.transaction() as transaction:
            producer = GuardedAppend(
                operation=Operation.APPEND,
                transaction=transaction,
                io=table.io,
                snapshot_properties=properties,
            )
            producer.write_id_property = write_id_property
            producer.write_id = properties[write_id_property]
            with producer:
                written = list(
                    _dataframe_to_data_files(
                        table_metadata=transaction.table_metadata,
                        write_uuid=producer.commit_uuid,
                        df=data,
                        io=table.io,
                    )
                )
                for data_file in written:
                    producer.append_data_file(data_file)
    except (CommitFailedException, ValidationException):
        remove_unlanded(table, written)
        raise


def remove_unlanded(table: Table, files: list[DataFile]) -> None:
    """Delete the data files of a commit that was refused.

    Only after `CommitFailedException` or `ValidationException`: pyiceberg raises both only when
    the commit did not land (the catalog guard reports a lost answer to a commit that did land
    as committed), so the files are nobody's, and each retry would otherwise leave an orphan.
    """
    for data_file in files:
        table.io.delete(data_file.file_path)


def _committed_since(table: Table, head: Snapshot, base: Snapshot | None) -> list[Snapshot]:
    """Snapshots from `head` back to, not including, `base` (all of them when `base` is None)."""
    found: list[Snapshot] = []
    snapshot: Snapshot | None = head
    while snapshot is not None and (base is None or snapshot.snapshot_id != base.snapshot_id):
        found.append(snapshot)
        parent = snapshot.parent_snapshot_id
        snapshot = table.metadata.snapshot_by_id(parent) if parent is not None else None
    return found
