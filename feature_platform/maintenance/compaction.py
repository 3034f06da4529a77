"""Bin-pack compaction: rewrite a partition's many small files into few, sorted, right-sized ones.

Each partition is rewritten in its own commit that removes exactly the files it read and adds
the rewritten ones, so a reader sees either all old files or all new ones. pyiceberg validates
the commit: if a concurrent writer deleted any of those files (a window overwrite) or added
files meanwhile, the commit is refused, the new files are removed, and the partition is planned
again on fresh state (or skipped with a message). Nothing a concurrent writer committed is lost.

The commit is a ``replace`` snapshot, as Iceberg's RewriteFiles makes: the table's rows did not
change, so incremental readers (Spark's `readStream`, an incremental scan) skip it instead of
failing on an ``overwrite`` they cannot stream. Only a compaction that dropped duplicate rows
(`dedupe`) changed the rows, and commits an ``overwrite``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Operation

from feature_platform.errors import ContentChangedError
from feature_platform.maintenance.files import StorageReport
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.maintenance.rewrite import refuse_rewrite_conflicts
from feature_platform.offline_store.iceberg_internals import commit_snapshot, write_data_files
from feature_platform.offline_store.writes import OPERATION_PROPERTY, WRITE_ID_PROPERTY

logger = logging.getLogger(__name__)

COMPACTION_ATTEMPTS = 3


@dataclass(frozen=True)
class PartitionPlan:
    """The small files of one partition that one commit will replace."""

    partition: str
    files: tuple[DataFile, ...]

    @property
    def rows(self) -> int:
        return sum(f.record_count for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(f.file_size_in_bytes for f in self.files)


@dataclass
class CompactionReport(StorageReport):
    """What a compaction did (or, in a dry run, would do), counting the partitions it rewrote."""

    partitions: list[str] = field(default_factory=list)
    rows_rewritten: int = 0
    duplicates_dropped: int = 0
    skipped: list[str] = field(default_factory=list)


def plan_compaction(table: Table, policy: MaintenancePolicy) -> list[PartitionPlan]:
    """Partitions holding more than `min_small_files` files below `small_file_bytes`."""
    small: dict[str, list[DataFile]] = defaultdict(list)
    for task in table.scan().plan_files():
        data_file = task.file
        if task.delete_files:
            # Another engine's merge-on-read deletes apply to this file; rewriting it without
            # them would resurrect deleted rows, so it is left for that engine's compaction.
            continue
        if data_file.file_size_in_bytes < policy.small_file_bytes:
            small[_partition_name(table, data_file)].append(data_file)
    return [
        PartitionPlan(partition, tuple(sorted(files, key=lambda f: f.file_path)))
        for partition, files in sorted(small.items())
        if len(files) > policy.min_small_files
    ]


def _partition_name(table: Table, data_file: DataFile) -> str:
    spec = table.specs()[data_file.spec_id]
    return spec.partition_to_path(data_file.partition, table.schema()) or "unpartitioned"


def content_checksum(frame: pl.DataFrame) -> tuple[int, int]:
    """Row count and an order-independent hash of every row: equal before and after a rewrite."""
    if frame.is_empty():
        return (0, 0)
    hashes = frame.hash_rows(seed=0).to_numpy()
    return (frame.height, int(np.sum(hashes, dtype=np.uint64)))


def compact(
    load_table: Callable[[], Table],
    sort_columns: Sequence[str],
    policy: MaintenancePolicy,
    *,
    dry_run: bool = False,
) -> CompactionReport:
    """Compact every partition that needs it, one commit per partition."""
    started = time.perf_counter()
    report = CompactionReport(dry_run=dry_run)
    for plan in plan_compaction(load_table(), policy):
        if dry_run:
            _count(report, plan, files_after=_expected_files(plan, policy), bytes_after=plan.bytes)
            continue
        _compact_partition(load_table, plan.partition, sort_columns, policy, report)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _count(
    report: CompactionReport, plan: PartitionPlan, *, files_after: int, bytes_after: int
) -> None:
    report.partitions.append(plan.partition)
    report.files_before += len(plan.files)
    report.bytes_before += plan.bytes
    report.files_after += files_after
    report.bytes_after += bytes_after
    report.rows_rewritten += plan.rows


def _expected_files(plan: PartitionPlan, policy: MaintenancePolicy) -> int:
    return max(1, -(-plan.bytes // policy.target_file_bytes))


def _compact_partition(
    load_table: Callable[[], Table],
    partition: str,
    sort_columns: Sequence[str],
    policy: MaintenancePolicy,
    report: CompactionReport,
) -> None:
    for attempt in range(1, COMPACTION_ATTEMPTS + 1):
        table = load_table()
        plan = next((p for p in plan_compaction(table, policy) if p.partition == partition), None)
        if plan is None:
            return  # a concurrent writer (or compaction) already left it with few small files
        rows, dropped = _rewrite_rows(table, plan, sort_columns, policy.dedupe)
        expected = content_checksum(_as_frame(rows))
        new_files = _write_files(table, rows, plan, policy)
        try:
            _verify_written(table, new_files, expected)
            with commit_snapshot(
                table,
                # A rewrite that dropped duplicate rows changed the rows: not a ``replace``.
                Operation.REPLACE if dropped == 0 else Operation.OVERWRITE,
                {WRITE_ID_PROPERTY: uuid.uuid4().hex, OPERATION_PROPERTY: "compaction"},
                refuse_rewrite_conflicts,
            ) as rewrite:
                for old in plan.files:
                    rewrite.remove(old)
                for new in new_files:
                    rewrite.add(new)
        except ContentChangedError:
            for new in new_files:
                table.io.delete(new.file_path)
            raise
        except (CommitFailedException, ValidationException) as exc:
            for new in new_files:  # never committed: remove them rather than leave orphans
                table.io.delete(new.file_path)
            message = f"partition {partition}: concurrent change ({exc})"
            if attempt == COMPACTION_ATTEMPTS:
                report.skipped.append(message + "; skipped, the next run compacts it")
                logger.warning("compaction %s; skipped", message)
                return
            logger.info("compaction %s; planning again", message)
            continue
        _count(
            report,
            plan,
            files_after=len(new_files),
            bytes_after=sum(f.file_size_in_bytes for f in new_files),
        )
        report.duplicates_dropped += dropped
        return


def _rewrite_rows(
    table: Table,
    plan: PartitionPlan,
    sort_columns: Sequence[str],
    dedupe: bool,
) -> tuple[pa.Table, int]:
    """Read the plan's files in the current schema, sort, optionally dedupe, verify content."""
    frame = _read_files(table, plan.files)
    before = content_checksum(frame)
    rows = frame.sort(list(sort_columns))
    dropped = 0
    if dedupe:
        # Exact duplicates only (every column equal): rows that differ in any value are data.
        rows = rows.unique(maintain_order=True)
        dropped = frame.height - rows.height
    elif content_checksum(rows) != before:  # pragma: no cover - a sort never changes content
        raise ContentChangedError(f"compaction of {plan.partition} would change its content")
    return rows.to_arrow().cast(table.schema().as_arrow()), dropped


def _read_files(table: Table, files: Sequence[DataFile]) -> pl.DataFrame:
    """Rows of the given data files, projected to the table's current schema."""
    scan = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue())
    return _as_frame(scan.to_table([FileScanTask(f) for f in files]))


def _as_frame(data: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _verify_written(table: Table, files: Sequence[DataFile], expected: tuple[int, int]) -> None:
    """Read the new parquet files back before committing: exactly the expected rows, or nothing
    is committed. (They are read as plain parquet: they are not in the table yet.)"""
    schema = table.schema().as_arrow()
    parts = []
    for data_file in files:
        with table.io.new_input(data_file.file_path).open() as stream:
            parts.append(pq.read_table(stream).select(schema.names).cast(schema))
    found = content_checksum(_as_frame(pa.concat_tables(parts))) if parts else (0, 0)
    if found != expected:
        raise ContentChangedError(
            f"rewritten files hold {found[0]} rows (checksum {found[1]}), expected "
            f"{expected[0]} (checksum {expected[1]}); nothing was committed"
        )


def _write_files(
    table: Table, rows: pa.Table, plan: PartitionPlan, policy: MaintenancePolicy
) -> list[DataFile]:
    """Write the rows as files of about `target_file_bytes` on disk.

    pyiceberg bins by in-memory size, so the target is scaled by the compression the partition's
    parquet files show.
    """
    compression = plan.bytes / max(rows.nbytes, 1)
    in_memory_target = max(1, int(policy.target_file_bytes / max(compression, 1e-6)))
    metadata = table.metadata.model_copy(
        update={
            "properties": {
                **table.metadata.properties,
                "write.target-file-size-bytes": str(in_memory_target),
            }
        }
    )
    return write_data_files(metadata, rows, table.io, uuid.uuid4())
