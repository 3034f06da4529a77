"""Checking a label ("entity") frame before a point-in-time join.

A training set is only as correct as the instants it is joined at, so a frame whose timestamps
are naive, missing or not timestamps at all is refused with a fix, never guessed at.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from polars._typing import TimeUnit

from feature_platform.dtypes import polars_dtype
from feature_platform.errors import (
    NaiveTimestampError,
    NullKeyError,
    SchemaMismatchError,
)
from feature_platform.offline_store.validation import as_polars
from feature_platform.specs import FeatureGroup

DEFAULT_TIMESTAMP_COLUMN = "event_timestamp"
# Internal column names; the prefix keeps them clear of any user column.
JOIN_INSTANT = "__feature_platform_t"


def load_entity_frame(frame: Any, timestamp_column: str) -> pl.DataFrame:
    """The entity frame as polars, with a UTC-aware timestamp column and no duplicate names.

    Raises:
        SchemaMismatchError: The timestamp column is missing or not a datetime.
        NaiveTimestampError: The timestamps have no time zone.
        NullKeyError: Some rows have no timestamp.
    """
    entities = as_polars(frame)
    if timestamp_column not in entities.columns:
        raise SchemaMismatchError(
            f"the entity frame has no timestamp column {timestamp_column!r} (it has "
            f"{entities.columns}); add it, or name it with timestamp_column=..."
        )
    dtype = entities.schema[timestamp_column]
    if not isinstance(dtype, pl.Datetime):
        raise SchemaMismatchError(
            f"entity column {timestamp_column!r} is {dtype}, not a datetime; convert it, e.g. "
            f"pl.col({timestamp_column!r}).str.to_datetime(time_zone='UTC')"
        )
    if dtype.time_zone is None:
        raise NaiveTimestampError(
            f"entity column {timestamp_column!r} has no time zone, so its instants are "
            f"ambiguous; attach one, e.g. pl.col({timestamp_column!r}).dt.replace_time_zone('UTC')"
        )
    missing = entities[timestamp_column].null_count()
    if missing:
        raise NullKeyError(
            f"entity column {timestamp_column!r} is null in {missing} rows; every row needs the "
            "instant its features are wanted at"
        )
    return entities


def join_frame(
    entities: pl.DataFrame, group: FeatureGroup, timestamp_column: str, row_index: str
) -> pl.DataFrame:
    """Row index, the group's join keys in the table's dtypes, and the join instant (UTC).

    The instant keeps the entity frame's precision when it is finer than the table's
    microseconds (casting it down would move rows across the inclusive ttl bound).

    Raises:
        SchemaMismatchError: A join key is missing or cannot be converted to the key's dtype.
        NullKeyError: A join key is null in some rows.
    """
    keys = group.join_keys
    missing = [k for k in keys if k not in entities.columns]
    if missing:
        raise SchemaMismatchError(
            f"the entity frame lacks join keys {missing} of feature group {group.name!r} "
            f"(entity {group.entity.name!r}, keys {list(keys)}); it has {entities.columns}"
        )
    columns: list[pl.Expr] = [pl.int_range(pl.len(), dtype=pl.UInt32).alias(row_index)]
    for key in keys:
        columns.append(_key_column(entities, group, key))
    timestamps = entities[timestamp_column]
    assert isinstance(timestamps.dtype, pl.Datetime)
    unit: TimeUnit = "ns" if timestamps.dtype.time_unit == "ns" else "us"
    columns.append(
        pl.col(timestamp_column)
        .dt.convert_time_zone("UTC")
        .dt.cast_time_unit(unit)
        .alias(JOIN_INSTANT)
    )
    return entities.select(columns)


def _key_column(entities: pl.DataFrame, group: FeatureGroup, key: str) -> pl.Expr:
    source = entities[key]
    nulls = source.null_count()
    if nulls:
        raise NullKeyError(
            f"entity join key {key!r} is null in {nulls} rows; drop those rows or fill the key"
        )
    target = polars_dtype(group.entity.key_dtype(key))
    if source.dtype == target:
        return pl.col(key)
    try:
        source.cast(target, strict=True)
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise SchemaMismatchError(
            f"entity join key {key!r} is {source.dtype}, which does not convert to the "
            f"{group.entity.key_dtype(key)} keys of feature group {group.name!r}: {exc}"
        ) from exc
    if target == pl.String and source.dtype.is_float():
        raise SchemaMismatchError(
            f"entity join key {key!r} is {source.dtype}; floats do not name keys exactly, "
            f"convert it to {group.entity.key_dtype(key)}"
        )
    return pl.col(key).cast(target, strict=True)
