"""Turning a list of records (dicts) into a frame typed by the feature group's spec.

Streaming producers emit one dict per event, with timestamps as datetimes or as ISO-8601 text
(JSON has no time type). Letting polars infer the types would guess wrong in both directions:
every integer becomes Int64 (refused for an int32 feature), a bool passes as an integer, and a
timestamp string stays a string. So each column is built with the spec's type, after each value
was checked against it; the frame then goes through the same validation as any other.
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from feature_platform.dtypes import polars_dtype
from feature_platform.errors import InvalidFrameError, NaiveTimestampError, SchemaMismatchError
from feature_platform.offline_store.column_checks import UNKNOWN_FEATURES_HINT, column_mismatches


def is_records(frame: object) -> bool:
    """Whether `frame` is a list (or tuple) of records rather than a frame."""
    return isinstance(frame, list | tuple)


def records_frame(group: str, columns: Mapping[str, str], records: Sequence[Any]) -> pl.DataFrame:
    """A frame with exactly `columns` (name -> canonical type), one row per record.

    Args:
        group: The feature group's name, for the messages.
        columns: Every column a record must have, by its source name, with its canonical type.
        records: Mappings from column name to value; ``None`` is a null.

    Raises:
        InvalidFrameError: An item is not a mapping.
        SchemaMismatchError: A record lacks a column, has one the group does not know, or holds
            a value of the wrong type.
        NaiveTimestampError: A timestamp has no time zone (or its text no offset).
    """
    expected = set(columns)
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise InvalidFrameError(
                f"record {index} for feature group {group!r} is a {type(record).__name__}; "
                "write a list of dicts (one per row) or a polars, pandas or pyarrow frame"
            )
        if record.keys() != expected:
            _refuse_keys(group, index, record, list(columns))
    series = []
    for name, dtype in columns.items():
        values = [record[name] for record in records]
        series.append(_column(group, name, dtype, values))
    return pl.DataFrame(series)


def _refuse_keys(group: str, index: int, record: Mapping[Any, Any], columns: list[str]) -> None:
    parts = column_mismatches(columns, record, UNKNOWN_FEATURES_HINT)
    raise SchemaMismatchError(
        f"record {index} for feature group {group!r} has "
        + "; ".join(parts)
        + f"; every record needs exactly {columns} (None for a missing value)"
    )


def _column(group: str, name: str, dtype: str, values: list[Any]) -> pl.Series:
    if dtype == "timestamp":
        values = [_utc(group, name, index, v) for index, v in enumerate(values)]
    else:
        accepts = _ACCEPTS[dtype]
        for index, value in enumerate(values):
            if value is not None and not accepts(value):
                raise SchemaMismatchError(
                    f"record {index} for feature group {group!r} has {name}={value!r} "
                    f"({type(value).__name__}), but the spec says {dtype}"
                )
    try:
        return pl.Series(name, values, dtype=polars_dtype(dtype), strict=True)
    except (TypeError, OverflowError, pl.exceptions.PolarsError) as exc:
        # The types were right, so a value is out of the type's range (an int32 overflow).
        raise SchemaMismatchError(
            f"column {name!r} of the records for feature group {group!r} does not fit {dtype}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc


def _utc(group: str, name: str, index: int, value: Any) -> dt.datetime | None:
    """An aware datetime, or ISO-8601 text with an offset or ``Z``, as a UTC datetime."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise SchemaMismatchError(
                f"record {index} for feature group {group!r} has {name}={value!r}, which is not "
                "an ISO-8601 timestamp, e.g. '2026-11-10T12:00:00Z'"
            ) from exc
    else:
        raise SchemaMismatchError(
            f"record {index} for feature group {group!r} has {name}={value!r} "
            f"({type(value).__name__}); a timestamp must be a time-zone-aware datetime or "
            "ISO-8601 text with an offset, e.g. '2026-11-10T12:00:00Z'"
        )
    if stamp.utcoffset() is None:
        raise NaiveTimestampError(
            f"record {index} for feature group {group!r} has a naive timestamp {name}={value!r}; "
            "give its offset ('2026-11-10T12:00:00Z', '...+02:00') or an aware datetime "
            "(tzinfo=datetime.UTC)"
        )
    return stamp.astimezone(dt.UTC)


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


# Python values each canonical type takes (numpy scalars register with `numbers`).
_ACCEPTS: dict[str, Callable[[Any], bool]] = {
    "int32": _is_integer,
    "int64": _is_integer,
    "float32": _is_real,
    "float64": _is_real,
    "bool": lambda value: isinstance(value, bool),
    "string": lambda value: isinstance(value, str),
    "date": _is_date,
}
