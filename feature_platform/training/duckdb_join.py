"""Running the SQL point-in-time join in DuckDB, over the Iceberg tables at their snapshots.

DuckDB's Iceberg extension is built per DuckDB version and fetched from the network; the Python
module here (2.0) has none it could load offline. So each table's state is planned by pyiceberg
(the same planning our polars join uses: the snapshot, and the files whose event-time statistics
can hold rows up to the latest label) and DuckDB reads exactly those Parquet files with
``read_parquet([...], union_by_name = true)`` (columns added later read as null in older files).
A table whose planned files carry delete files (written by other engines; pyiceberg writes
copy-on-write), or lie in object storage (DuckDB's ``httpfs`` extension is not loadable offline
either), is read through pyiceberg into Arrow instead, so deletes are applied.

DuckDB spills sorts, joins and windows to ``temp_directory`` once ``memory_limit`` is reached,
so label sets and histories larger than memory still join
(https://duckdb.org/docs/configuration/overview, https://duckdb.org/docs/guides/performance/how_to_tune_workloads).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import polars as pl
import pyarrow as pa

from feature_platform.offline_store.reads import time_range_filter
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN
from feature_platform.training.point_in_time import GroupJoinStats
from feature_platform.training.sql_join import (
    ROW_COLUMN,
    GroupRead,
    GroupSource,
    LabelSource,
    historic_columns,
    training_set_select,
)

if TYPE_CHECKING:
    import duckdb

LABEL_RELATION = "FP_LABEL_ROWS"


@dataclass(frozen=True)
class DuckDBOptions:
    """How much memory DuckDB may use before spilling, and where it spills.

    Args:
        memory_limit: e.g. ``"2GB"``; DuckDB's default (80% of RAM) when None.
        temp_directory: Spill folder; a ``feature_platform_duckdb`` folder in the system's
            temporary directory when None.
        threads: Worker threads; DuckDB's default (all cores) when None.
    """

    memory_limit: str | None = None
    temp_directory: str | None = None
    threads: int | None = None


def join_in_duckdb(
    labels: pl.DataFrame,
    label_source: LabelSource,
    reads: Sequence[GroupRead],
    options: DuckDBOptions | None = None,
) -> tuple[pl.DataFrame, str, tuple[GroupJoinStats, ...]]:
    """Feature columns for every label row, in label order; the statement; what was read.

    Args:
        labels: ``FP_ROW``, ``FP_T`` and the groups' key columns, as `label_source` names them.
        label_source: The label columns (its relation is replaced by the registered frame).
        reads: Per group, in request order, the table and snapshot to read.
        options: Memory limit and spill folder.
    """
    import duckdb

    connection = duckdb.connect(config=_config(options or DuckDBOptions()))
    try:
        connection.register(LABEL_RELATION, labels.to_arrow())
        earliest, latest = labels["FP_T"].min(), labels["FP_T"].max()
        sources, stats = [], []
        for index, read in enumerate(reads):
            group_source, group_stats = _group_source(connection, index, read, earliest, latest)
            sources.append(group_source)
            stats.append(group_stats)
        source = LabelSource(
            relation=f'"{LABEL_RELATION}"',
            timestamp=label_source.timestamp,
            keys=label_source.keys,
            row=label_source.row,
        )
        statement = training_set_select(source, sources, "duckdb")
        result = connection.sql(statement).to_arrow_table()
    finally:
        connection.close()
    frame = pl.from_arrow(result)
    assert isinstance(frame, pl.DataFrame)
    return frame.drop(ROW_COLUMN), statement, tuple(stats)


def _config(options: DuckDBOptions) -> dict[str, Any]:
    temp = options.temp_directory or str(Path(tempfile.gettempdir()) / "feature_platform_duckdb")
    Path(temp).mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"temp_directory": temp, "preserve_insertion_order": False}
    if options.memory_limit is not None:
        config["memory_limit"] = options.memory_limit
    if options.threads is not None:
        config["threads"] = options.threads
    return config


def _group_source(
    connection: duckdb.DuckDBPyConnection,
    index: int,
    read: GroupRead,
    earliest: object,
    latest: object,
) -> tuple[GroupSource, GroupJoinStats]:
    """The group's rows as a DuckDB relation: the planned Parquet files, or Arrow."""
    group, snapshot = read.request.group, read.snapshot
    features = list(read.request.features)
    columns = [*group.join_keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN]
    if snapshot is None:
        return _arrow_source(connection, index, read, columns, [], None)
    historic = historic_columns(read)
    readable = [feature for feature in features if feature in historic]
    assert isinstance(earliest, dt.datetime)
    assert isinstance(latest, dt.datetime)
    start = None if group.ttl is None else earliest - group.ttl
    scan = read.table.scan(
        row_filter=time_range_filter(
            EVENT_TIME_COLUMN, start, latest + dt.timedelta(microseconds=1)
        ),
        selected_fields=(*columns, *readable),
        snapshot_id=snapshot.snapshot_id,
    )
    tasks = list(scan.plan_files())
    rows = sum(task.file.record_count for task in tasks)
    stats = GroupJoinStats(group.name, snapshot.snapshot_id, len(tasks), 1, rows)
    paths = [_local_path(task.file.file_path) for task in tasks]
    if not tasks or any(task.delete_files for task in tasks) or None in paths:
        source, _ = _arrow_source(connection, index, read, columns, readable, scan)
        return source, stats
    files = ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths)
    relation = f"read_parquet([{files}], union_by_name = true)"
    return GroupSource(read.request, relation, tuple(readable)), stats


def _arrow_source(
    connection: duckdb.DuckDBPyConnection,
    index: int,
    read: GroupRead,
    columns: list[str],
    readable: list[str],
    scan: Any,
) -> tuple[GroupSource, GroupJoinStats]:
    schema = read.table.schema().select(*columns, *readable).as_arrow()
    data: pa.Table = scan.to_arrow() if scan is not None else schema.empty_table()
    name = f"FP_G{index}_ARROW"
    connection.register(name, data)
    snapshot_id = read.snapshot.snapshot_id if read.snapshot else None
    stats = GroupJoinStats(read.request.group.name, snapshot_id, 0, 1, data.num_rows)
    return GroupSource(read.request, f'"{name}"', tuple(readable)), stats


def _local_path(location: str) -> str | None:
    """A data file's local path, or None for object storage (read through pyiceberg)."""
    if location.startswith("file://"):
        return unquote(location.removeprefix("file://"))
    return None if "://" in location else location
