"""A file-rewrite commit with Iceberg's RewriteFiles conflict rules, which pyiceberg 0.12 lacks.

pyiceberg's overwrite producer validates like a DELETE: under the default serializable isolation
it refuses the commit if any data file was added anywhere since the operation began, so with
appends every 43 s a compaction of yesterday would keep failing. A rewrite changes no data, so
(as in Java Iceberg's RewriteFiles) it only has to check that the files it replaces still exist
and got no new delete files; appends elsewhere, or into the same partition, are unaffected.
"""

from __future__ import annotations

from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update.snapshot import _OverwriteFiles
from pyiceberg.table.update.validate import (
    _validate_data_files_exist,
    _validate_no_new_deletes_for_data_files,
)


class RewriteFiles(_OverwriteFiles):
    """Replace data files by files holding the same rows, in one OVERWRITE snapshot."""

    def _validate_concurrency(self) -> None:
        window = self._commit_window
        if window is None or window.is_empty() or window.head is None:
            return
        table = self._transaction._table
        _validate_data_files_exist(table, window.head, self._deleted_data_files, window.base)
        _validate_no_new_deletes_for_data_files(
            table, window.head, None, self._deleted_data_files, window.base
        )


REWRITE_OPERATION = Operation.OVERWRITE  # pyiceberg cannot yet summarise a REPLACE snapshot
