"""Data checks of a feature group's offline table, answerable from Iceberg metadata and cheap scans.

Each check returns a `CheckOutcome` (passed, and the numbers that explain it) and knows nothing
of Dagster, so the same checks back the asset checks in the UI and can run from a notebook.
Writes through the store already refuse null keys and naive times; these checks exist because a
table is also written by other engines, by older code, and by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow.compute as pc
from pyiceberg.table import Table

from feature_platform.offline_store.schema import iceberg_schema
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class CheckOutcome:
    """Whether a check passed, and the figures an operator needs to act on it."""

    passed: bool
    facts: dict[str, Any] = field(default_factory=dict)


def schema_matches_spec(table: Table, group: FeatureGroup) -> CheckOutcome:
    """Every column of the spec exists with the spec's type (extra retired columns are fine)."""
    expected = iceberg_schema(group)
    actual = {f.name: f for f in table.schema().fields}
    problems = []
    for wanted in expected.fields:
        found = actual.get(wanted.name)
        if found is None:
            problems.append(f"{wanted.name}: missing")
        elif found.field_type != wanted.field_type:
            problems.append(f"{wanted.name}: {found.field_type}, spec says {wanted.field_type}")
    return CheckOutcome(not problems, {"problems": problems})


def no_empty_data_files(table: Table) -> CheckOutcome:
    """No live data file holds 0 rows or 0 bytes (the file that broke Snowflake's reader)."""
    if table.current_snapshot() is None:
        return CheckOutcome(True, {"data_files": 0})
    files = table.inspect.files().select(["file_path", "record_count", "file_size_in_bytes"])
    empty = [
        f["file_path"]
        for f in files.to_pylist()
        if f["record_count"] == 0 or f["file_size_in_bytes"] == 0
    ]
    return CheckOutcome(not empty, {"data_files": files.num_rows, "empty_files": empty[:20]})


def event_times_inside_partitions(table: Table, group: FeatureGroup) -> CheckOutcome:
    """Each data file's event times lie inside the window of the partition it is filed under.

    A file outside its partition would be skipped by partition pruning: its rows would silently
    vanish from time-filtered reads and training sets.
    """
    if table.current_snapshot() is None:
        return CheckOutcome(True, {"data_files": 0})
    files = table.inspect.files()
    partitions = files.column("partition").to_pylist()
    metrics = files.column("readable_metrics").combine_chunks().field(EVENT_TIME_COLUMN)
    lows = metrics.field("lower_bound").to_pylist()
    highs = metrics.field("upper_bound").to_pylist()
    width = group.partition_width
    outside = []
    for partition, low, high in zip(partitions, lows, highs, strict=True):
        value = next(iter(partition.values())) if partition else None
        if value is None or low is None or high is None:
            continue
        start = _partition_start(value, width)
        if low < start or high >= start + width:
            outside.append(f"{start.isoformat()}: event times {low} .. {high}")
    return CheckOutcome(not outside, {"data_files": files.num_rows, "outside": outside[:20]})


def _partition_start(value: object, width: dt.timedelta) -> dt.datetime:
    """pyiceberg shows day partitions as dates and hour partitions as hours since the epoch."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return _EPOCH + int(str(value)) * width


def no_null_join_keys(table: Table, group: FeatureGroup) -> CheckOutcome:
    """No row lacks a join key (from the files' null counts: no data is read)."""
    if table.current_snapshot() is None:
        return CheckOutcome(True, {})
    metrics = table.inspect.files().column("readable_metrics").combine_chunks()
    nulls = {
        key: int(pc.sum(metrics.field(key).field("null_value_count")).as_py() or 0)
        for key in group.join_keys
    }
    return CheckOutcome(not any(nulls.values()), {"null_keys": nulls})


def no_duplicate_rows(table: Table, group: FeatureGroup, since: dt.datetime) -> CheckOutcome:
    """No two rows share (keys, event_time, created_at) among rows with event time >= `since`.

    Such rows make "the latest value" ambiguous. Only recent partitions are scanned, and only
    the key and time columns, so the check stays cheap as history grows.
    """
    if table.current_snapshot() is None:
        return CheckOutcome(True, {"rows_checked": 0})
    columns = [*group.join_keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN]
    rows = (
        pl.scan_iceberg(table).select(columns).filter(pl.col(EVENT_TIME_COLUMN) >= since).collect()
    )
    duplicated = rows.filter(rows.is_duplicated())
    sample = duplicated.head(10).to_dicts()
    return CheckOutcome(
        duplicated.is_empty(),
        {
            "rows_checked": rows.height,
            "since": since.isoformat(),
            "duplicates": duplicated.height,
            "sample": [{k: str(v) for k, v in row.items()} for row in sample],
        },
    )


def fresh(table: Table, max_age: dt.timedelta, now: dt.datetime | None = None) -> CheckOutcome:
    """The newest event time is at most `max_age` old (the group's cadence plus a grace)."""
    now = now or dt.datetime.now(dt.UTC)
    newest = newest_event_time(table)
    age = now - newest if newest is not None else None
    return CheckOutcome(
        age is not None and age <= max_age,
        {
            "newest_event_time": newest.isoformat() if newest else None,
            "age_hours": round(age / dt.timedelta(hours=1), 2) if age is not None else None,
            "max_age_hours": round(max_age / dt.timedelta(hours=1), 2),
        },
    )


def newest_event_time(table: Table) -> dt.datetime | None:
    """From the data files' upper bounds: no data is read."""
    if table.current_snapshot() is None:
        return None
    metrics = table.inspect.files().column("readable_metrics").combine_chunks()
    newest = pc.max(metrics.field(EVENT_TIME_COLUMN).field("upper_bound")).as_py()
    return newest if isinstance(newest, dt.datetime) else None
