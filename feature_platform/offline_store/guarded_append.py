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

import functools
from typing import TYPE_CHECKING

from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation

from feature_platform.offline_store.iceberg_internals import (
    RacedCommits,
    check_schema_compatible,
    commit_snapshot,
)

if TYPE_CHECKING:
    import pyarrow as pa


def refuse_if_write_committed(raced: RacedCommits, write_id_property: str, write_id: str) -> None:
    """Refuse a commit whose write id a commit it raced with already carries.

    Raises:
        ValidationException: A snapshot committed since the commit began has that write id.
    """
    if not write_id:
        return
    for snapshot in raced.snapshots():
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
    check_schema_compatible(table, data)
    write_id = properties[write_id_property]
    written: list[DataFile] = []
    try:
        with commit_snapshot(
            table,
            Operation.APPEND,
            properties,
            functools.partial(
                refuse_if_write_committed, write_id_property=write_id_property, write_id=write_id
            ),
            append_only=True,
        ) as commit:
            written = commit.write(data)
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
