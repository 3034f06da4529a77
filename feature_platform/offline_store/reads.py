"""Scans of the offline table with column and time-range pushdown and time travel."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, GreaterThanOrEqual, LessThan
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from feature_platform.errors import InvalidWindowError
from feature_platform.offline_store.writes import WRITE_ID_PROPERTY, snapshots_of_write
from feature_platform.time_windows import to_utc


def resolve_snapshot(table: Table, as_of: int | dt.datetime | str | None) -> Snapshot | None:
    """The snapshot to read: current, a snapshot id, or the one current at a timestamp.

    Returns None when the table had no data at that point (a read of it is empty).

    Raises:
        InvalidWindowError: The snapshot id does not exist or the timestamp is naive.
    """
    if as_of is None:
        return table.current_snapshot()
    if isinstance(as_of, bool):
        raise InvalidWindowError("as_of must be a snapshot id or a timestamp, not a bool")
    if isinstance(as_of, int):
        snapshot = table.snapshot_by_id(as_of)
        if snapshot is None:
            raise InvalidWindowError(
                f"table {'.'.join(table.name())} has no snapshot {as_of}; it may have expired"
            )
        return snapshot
    instant = to_utc(as_of, "as_of")
    epoch_ms = (instant - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)
    snapshot = _whole_commit(table, table.snapshot_as_of_timestamp(epoch_ms))
    if snapshot is None and _history_truncated(table):
        raise InvalidWindowError(
            f"as_of {instant.isoformat()} is before the oldest retained snapshot of "
            f"{'.'.join(table.name())}: older snapshots have expired, so that state cannot be read"
        )
    return snapshot


def _history_truncated(table: Table) -> bool:
    """Whether snapshot expiry removed the table's first snapshots.

    Expiry also clears the oldest survivor's parent id, so the sign is its sequence number: the
    first snapshot of a v2 table has number 1.
    """
    numbers = [s.sequence_number or 0 for s in table.snapshots()]
    return bool(numbers) and min(numbers) > 1


def _whole_commit(table: Table, snapshot: Snapshot | None) -> Snapshot | None:
    """Never a state inside one write: an overwrite commits a delete and an append snapshot at
    once, and a timestamp can fall between their timestamps. Readers never saw the window
    empty, so step back to the state before that write."""
    if snapshot is None or snapshot.summary is None:
        return snapshot
    write_id = snapshot.summary.additional_properties.get(WRITE_ID_PROPERTY)
    if write_id is None:
        return snapshot
    same_write = snapshots_of_write(table, write_id)
    if same_write[-1].snapshot_id == snapshot.snapshot_id:
        return snapshot
    parent = same_write[0].parent_snapshot_id
    return table.snapshot_by_id(parent) if parent is not None else None


def time_range_filter(
    column: str, start: dt.datetime | None, end: dt.datetime | None
) -> BooleanExpression:
    expression: BooleanExpression = AlwaysTrue()
    if start is not None:
        expression = And(expression, GreaterThanOrEqual(term=column, value=start.isoformat()))
    if end is not None:
        expression = And(expression, LessThan(term=column, value=end.isoformat()))
    return expression


def scan_table(
    table: Table,
    *,
    columns: list[str],
    time_column: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    as_of: int | dt.datetime | str | None = None,
    row_filter: BooleanExpression | None = None,
) -> pl.DataFrame:
    """Read `columns` of rows with `start <= time_column < end` (and `row_filter`, e.g. on
    join keys) from the chosen snapshot.

    The filter prunes partitions and row groups inside pyiceberg, so only the needed files are
    opened; an empty table yields an empty frame of the right schema.
    """
    if start is not None and end is not None and end <= start:
        raise InvalidWindowError(
            f"read end {end.isoformat()} must be after start {start.isoformat()}"
        )
    snapshot = resolve_snapshot(table, as_of)
    schema = table.schema()
    if snapshot is None:
        return _from_arrow(schema.select(*columns).as_arrow().empty_table())
    # A scan at an older snapshot projects that snapshot's schema (pyiceberg's rule), so columns
    # added since then are missing there: select what existed and fill the rest with nulls.
    travelling = as_of is not None
    historic_schema = schema
    if travelling and snapshot.schema_id is not None:
        historic_schema = table.schemas().get(snapshot.schema_id, schema)
    available = [c for c in columns if c in historic_schema.column_names]
    time_filter = time_range_filter(time_column, start, end)
    scan = table.scan(
        row_filter=time_filter if row_filter is None else And(time_filter, row_filter),
        selected_fields=tuple(available),
        snapshot_id=snapshot.snapshot_id if travelling else None,
    )
    frame = _from_arrow(scan.to_arrow())
    missing = schema.select(*[c for c in columns if c not in available]).as_arrow()
    if missing.names:
        frame = frame.with_columns(_from_arrow(missing.empty_table()).clear(frame.height))
    return frame.select(columns)


def _from_arrow(data: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame


def utc_or_none(value: dt.datetime | dt.date | str | None, what: str) -> dt.datetime | None:
    return None if value is None else to_utc(value, what)
