"""The point-in-time join of one feature group onto label rows, in bounded memory.

For each label (keys K, instant t) the winner is the group's row with keys K and the largest
``event_time <= t`` (and ``>= t - ttl`` when the group has a ttl), ties broken by the largest
``created_at``. The feature rows are read from Iceberg in time-ordered slices planned from the
data files' own statistics, and only the latest row per key is carried from one slice to the
next, so memory is bounded by one slice plus one row per label key, however long the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
from polars._typing import TimeUnit
from pyiceberg.conversions import from_bytes
from pyiceberg.expressions import And, In
from pyiceberg.schema import Schema
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.types import PrimitiveType

from feature_platform.offline_store.reads import time_range_filter
from feature_platform.references import GroupRequest
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN
from feature_platform.training.entity_frame import JOIN_INSTANT

if TYPE_CHECKING:
    from pyiceberg.io.pyarrow import ArrowScan

DEFAULT_MAX_ROWS_PER_READ = 4_000_000
# Label sets with at most this many distinct keys push an IN filter into the Iceberg scan, so
# a lookup of a few entities skips files and row groups whose key statistics exclude them.
KEY_PUSHDOWN_LIMIT = 1_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class GroupJoinStats:
    """What one group's join read, for training-set metadata and tuning."""

    group: str
    snapshot_id: int | None
    files: int
    slices: int
    rows_read: int


@dataclass(frozen=True)
class _Slice:
    tasks: tuple[FileScanTask, ...]
    start: dt.datetime | None  # inclusive; None = unbounded
    end: dt.datetime | None  # exclusive; None = unbounded


def join_group(
    table: Table,
    request: GroupRequest,
    labels: pl.DataFrame,
    row_index: str,
    snapshot: Snapshot | None,
    max_rows_per_read: int = DEFAULT_MAX_ROWS_PER_READ,
) -> tuple[pl.DataFrame, GroupJoinStats]:
    """Feature values for every label row: `row_index` plus one column per requested feature.

    Args:
        table: The group's offline table.
        request: The group and the features wanted from it.
        labels: `row_index`, the group's join keys (in its key dtypes) and `JOIN_INSTANT` (UTC).
        row_index: Name of the label row number column; the result is sorted by it.
        snapshot: The table state to read (None: the table had no data then).
        max_rows_per_read: Upper bound on the feature rows held at once, short of one data
            file's worth (a file is never split).
    """
    group = request.group
    keys = list(group.join_keys)
    features = list(request.features)
    empty = _empty_features(table, features)
    if labels.is_empty() or snapshot is None:
        return _all_null(labels, row_index, empty), GroupJoinStats(
            group.name, snapshot.snapshot_id if snapshot else None, 0, 0, 0
        )

    instants = labels[JOIN_INSTANT]
    unit = _time_unit(instants.dtype)
    earliest, latest = _as_datetime(instants.min()), _as_datetime(instants.max())
    read_start = None if group.ttl is None else earliest - group.ttl
    # Python datetimes stop at microseconds (a nanosecond instant is truncated), and event
    # times are microseconds: `< latest + 1 µs` is exactly `<= t` for the latest label.
    read_end = latest + _ONE_MICROSECOND
    label_keys = labels.select(keys).unique()
    row_filter = time_range_filter(EVENT_TIME_COLUMN, read_start, read_end)
    if label_keys.height <= KEY_PUSHDOWN_LIMIT and len(keys) == 1:
        row_filter = And(row_filter, In(term=keys[0], literals=set(label_keys[keys[0]].to_list())))

    historic_columns = _historic_columns(table, snapshot)
    readable = [c for c in features if c in historic_columns]
    scan = table.scan(
        row_filter=row_filter,
        selected_fields=(*keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN, *readable),
        snapshot_id=snapshot.snapshot_id,
    )
    tasks = list(scan.plan_files())
    slices = list(_plan_slices(table, tasks, read_start, read_end, max_rows_per_read))
    projected = scan.projection()
    # Imported on use: it loads pyarrow.dataset and pandas, which spec-only commands skip.
    from pyiceberg.io.pyarrow import ArrowScan

    reader = ArrowScan(scan.table_metadata, scan.io, projected, scan.row_filter)

    state = _candidates(_from_arrow(projected.as_arrow().empty_table()), keys, readable, unit)
    results: list[pl.DataFrame] = []
    rows_read = 0
    for part in slices:
        rows = _candidates(_read(reader, part.tasks, projected), keys, readable, unit)
        rows_read += rows.height
        rows = _for_keys(rows, label_keys, keys)
        window = _labels_in(labels, part)
        candidates = _in_key_order(pl.concat([state, rows], how="vertical"), keys)
        if not window.is_empty():
            results.append(_as_of_join(window, candidates, keys, group.ttl, row_index))
        state = candidates.filter(_last_of_run(keys))

    joined = pl.concat(results, how="vertical") if results else labels.select(row_index).clear()
    joined = joined.sort(row_index)
    assert joined.height == labels.height, "every label row must be joined exactly once"
    values = joined.select(row_index, *readable)
    missing = [c for c in features if c not in readable]  # added to the spec after `snapshot`
    if missing:
        values = values.with_columns(empty.select(missing).clear(values.height))
    output = values.select(row_index, *features).rename(request.renames)
    stats = GroupJoinStats(group.name, snapshot.snapshot_id, len(tasks), len(slices), rows_read)
    return output, stats


def _as_of_join(
    window: pl.DataFrame,
    candidates: pl.DataFrame,
    keys: list[str],
    ttl: dt.timedelta | None,
    row_index: str,
) -> pl.DataFrame:
    """Backward as-of join per key: inclusive at t, and at t - ttl (polars' tolerance is).

    `candidates` must be in key order (`_in_key_order`).
    """
    # One candidate per (keys, event_time): the last of a run, which has the largest created_at.
    winners = candidates.filter(_last_of_run([*keys, JOIN_INSTANT]))
    return (
        window.sort([*keys, JOIN_INSTANT])
        .join_asof(
            winners,
            on=JOIN_INSTANT,
            by=keys,
            strategy="backward",
            tolerance=ttl,
            check_sortedness=False,  # both sorted by (keys, instant): sorted within each key
        )
        .drop(JOIN_INSTANT, CREATED_AT_COLUMN)
    )


def _for_keys(rows: pl.DataFrame, wanted: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Only rows of keys some label asks for (a hash lookup; `is_in` is the faster one)."""
    if len(keys) == 1:
        return rows.filter(pl.col(keys[0]).is_in(wanted[keys[0]].implode()))
    return rows.join(wanted, on=keys, how="semi")


def _in_key_order(candidates: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sorted by keys, event time and created_at, cheaply when the data allows it.

    Files of a day-partitioned table are each sorted by keys and event time and, read in
    time order, follow one another in time; a stable sort by the keys alone then yields the
    full order. Overlapping files (streaming appends) break that, which one linear check finds,
    and a full sort follows.
    """
    ordered = candidates.sort(keys, maintain_order=True)
    same_key = pl.all_horizontal(pl.col(k) == pl.col(k).shift(1) for k in keys)
    instant, created = pl.col(JOIN_INSTANT), pl.col(CREATED_AT_COLUMN)
    backwards = same_key & (
        (instant < instant.shift(1))
        | ((instant == instant.shift(1)) & (created < created.shift(1)))
    )
    if ordered.select(backwards.any()).item():
        ordered = candidates.sort([*keys, JOIN_INSTANT, CREATED_AT_COLUMN])
    return ordered


def _last_of_run(columns: list[str]) -> pl.Expr:
    """True for the last row of each run of equal `columns` (in a frame sorted by them)."""
    return pl.any_horizontal(pl.col(c) != pl.col(c).shift(-1) for c in columns).fill_null(True)


def _plan_slices(
    table: Table,
    tasks: Sequence[FileScanTask],
    start: dt.datetime | None,
    end: dt.datetime,
    max_rows: int,
) -> Iterator[_Slice]:
    """Cut the planned files into time-ordered slices of at most about `max_rows` rows.

    A cut is made only between files whose event-time ranges do not overlap, so every file
    belongs to exactly one slice and each slice's rows all precede the next slice's.
    """
    field = table.schema().find_field(EVENT_TIME_COLUMN)
    field_type = field.field_type
    assert isinstance(field_type, PrimitiveType)
    bounded: list[tuple[int, int, FileScanTask]] = []
    for task in tasks:
        low = (task.file.lower_bounds or {}).get(field.field_id)
        high = (task.file.upper_bounds or {}).get(field.field_id)
        if low is None or high is None:  # no statistics: no safe cut
            yield _Slice(tuple(tasks), start, end)
            return
        bounded.append((int(from_bytes(field_type, low)), int(from_bytes(field_type, high)), task))
    bounded.sort(key=lambda item: item[0])
    current: list[FileScanTask] = []
    rows = 0
    highest: int | None = None
    slice_start = start
    for lower, upper, task in bounded:
        if current and rows >= max_rows and highest is not None and lower > highest:
            cut = _EPOCH + dt.timedelta(microseconds=lower)
            yield _Slice(tuple(current), slice_start, cut)
            current, rows, slice_start = [], 0, cut
        current.append(task)
        rows += task.file.record_count
        highest = upper if highest is None else max(highest, upper)
    yield _Slice(tuple(current), slice_start, end)


def _labels_in(labels: pl.DataFrame, part: _Slice) -> pl.DataFrame:
    condition = pl.lit(True)
    if part.start is not None:
        condition &= pl.col(JOIN_INSTANT) >= part.start
    if part.end is not None:
        condition &= pl.col(JOIN_INSTANT) < part.end
    return labels.filter(condition)


def _read(reader: ArrowScan, tasks: Iterable[FileScanTask], projected: Schema) -> pl.DataFrame:
    task_list = list(tasks)
    if not task_list:
        return _from_arrow(projected.as_arrow().empty_table())
    return _from_arrow(reader.to_table(task_list))


def _candidates(
    rows: pl.DataFrame, keys: list[str], features: list[str], unit: TimeUnit
) -> pl.DataFrame:
    """Rows in join form: keys, the event time as the join instant, created_at, features."""
    return rows.select(
        *keys,
        pl.col(EVENT_TIME_COLUMN).dt.cast_time_unit(unit).alias(JOIN_INSTANT),
        CREATED_AT_COLUMN,
        *features,
    )


def _empty_features(table: Table, features: list[str]) -> pl.DataFrame:
    return _from_arrow(table.schema().select(*features).as_arrow().empty_table())


def _all_null(labels: pl.DataFrame, row_index: str, empty: pl.DataFrame) -> pl.DataFrame:
    return labels.select(row_index).with_columns(empty.clear(labels.height))


def _historic_columns(table: Table, snapshot: Snapshot) -> set[str]:
    """Columns that existed at `snapshot`; a scan there projects that snapshot's schema."""
    schema = table.schema()
    if snapshot.schema_id is not None:
        schema = table.schemas().get(snapshot.schema_id, schema)
    return set(schema.column_names)


def _time_unit(dtype: pl.DataType) -> TimeUnit:
    assert isinstance(dtype, pl.Datetime)
    return "ns" if dtype.time_unit == "ns" else "us"


def _as_datetime(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime)
    return value


def _from_arrow(data: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame
