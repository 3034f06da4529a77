"""A file rewrite's conflict rules: Iceberg's RewriteFiles rules, which pyiceberg 0.12 lacks.

pyiceberg's overwrite producer validates like a DELETE: under the default serializable isolation
it refuses the commit if any data file was added anywhere since the operation began, so with
appends every 43 s a compaction of yesterday would keep failing. A rewrite changes no data, so
(as in Java Iceberg's RewriteFiles) it only has to check that the files it replaces still exist
and got no new delete files; appends elsewhere, or into the same partition, are unaffected.
"""

from __future__ import annotations

from feature_platform.offline_store.iceberg_internals import RacedCommits


def refuse_rewrite_conflicts(raced: RacedCommits) -> None:
    """Refuse a rewrite whose replaced files a commit it raced with removed or added deletes to.

    Raises:
        ValidationException: A replaced file is gone or has new delete files.
    """
    raced.refuse_changed_removed_files(None)
