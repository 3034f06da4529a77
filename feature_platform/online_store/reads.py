"""The backend-neutral half of an online read: what to fetch, and the frame to return.

Backends only look items up by hash key and hand back each found item as a tuple
``(event_time_us, *raw_values)``; this module turns the request into hash keys and those tuples
into a frame with one row per request row, in request order, with the group's dtypes and nulls
for missing or expired entities. Keeping that here makes both backends return the same frame.

Raw values are what a backend can produce cheapest: integers for bools (0/1), days since the
epoch for dates and microseconds since the epoch for timestamps; `RAW_DTYPES` says how each is
built into a polars column and cast to the feature's dtype.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from feature_platform.dtypes import converts_losslessly, polars_dtype
from feature_platform.errors import (
    InvalidFrameError,
    InvalidRequestError,
    NaiveTimestampError,
    SchemaMismatchError,
)
from feature_platform.specs import EVENT_TIME_COLUMN, FeatureGroup

EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND: Final = dt.timedelta(microseconds=1)
TIMESTAMP: Final = pl.Datetime("us", "UTC")

# The polars type a column of raw values is built with, per canonical feature dtype.
# Where raw and final types agree, the very same instance, so `assemble` skips the cast.
RAW_DTYPES: Final[Mapping[str, pl.DataType]] = {
    "int32": polars_dtype("int32"),
    "int64": polars_dtype("int64"),
    "float32": polars_dtype("float64"),
    "float64": polars_dtype("float64"),
    "bool": pl.Int8(),
    "string": polars_dtype("string"),
    "date": pl.Int32(),
    "timestamp": pl.Int64(),
}

FoundItems = Mapping[str, Sequence[Any]]


@dataclass(frozen=True, eq=False)
class ReadPlan:
    """A validated read of some features of one group.

    Attributes:
        group: The feature group read.
        features: The requested feature names, in output order.
        dtypes: Their canonical dtypes.
        ttl_us: The group's ttl in microseconds, or None.
    """

    group: FeatureGroup
    features: tuple[str, ...]
    dtypes: tuple[str, ...]
    ttl_us: int | None
    raw_dtypes: tuple[pl.DataType, ...] = ()
    polars_dtypes: tuple[pl.DataType, ...] = ()


def plan_read(group: FeatureGroup, features: Sequence[str]) -> ReadPlan:
    """Check the requested features exist, once, so that repeated reads skip the checks.

    Raises:
        UnknownFeatureError: A feature is not in the group.
        InvalidRequestError: A feature is requested twice.
    """
    names = tuple(features)
    group.check_features(names)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidRequestError(f"features {repeated} are requested more than once")
    ttl_us = None if group.ttl is None else group.ttl // MICROSECOND
    dtypes = tuple(str(group.feature(name).dtype) for name in names)
    return ReadPlan(
        group=group,
        features=names,
        dtypes=dtypes,
        ttl_us=ttl_us,
        raw_dtypes=tuple(RAW_DTYPES[dtype] for dtype in dtypes),
        polars_dtypes=tuple(polars_dtype(dtype) for dtype in dtypes),
    )


def key_columns(group: FeatureGroup, entity_keys: pl.DataFrame) -> list[pl.Series]:
    """The join-key columns of a request, in the entity's key dtypes.

    Other columns of `entity_keys` are ignored.

    Raises:
        SchemaMismatchError: A join key is missing or has a type that does not convert.
    """
    if not isinstance(entity_keys, pl.DataFrame):
        raise InvalidFrameError(
            f"entity keys must be a polars DataFrame, got {type(entity_keys).__name__}"
        )
    columns = []
    for key in group.join_keys:
        if key not in entity_keys.columns:
            raise SchemaMismatchError(
                f"entity keys for feature group {group.name!r} lack join key {key!r}; "
                f"give columns {list(group.join_keys)}"
            )
        series = entity_keys.get_column(key)
        target = group.entity.key_dtype(key)
        wanted = polars_dtype(target)
        if series.dtype != wanted:
            if not converts_losslessly(series.dtype, target):
                raise SchemaMismatchError(
                    f"join key {key!r} is {series.dtype}; feature group {group.name!r} keys it "
                    f"by {target}"
                )
            series = series.cast(wanted)
        columns.append(series)
    return columns


def cutoff_us(plan: ReadPlan, now: dt.datetime | None) -> int | None:
    """The oldest live event time in epoch microseconds, or None when the group has no ttl.

    Raises:
        NaiveTimestampError: `now` has no time zone.
    """
    if plan.ttl_us is None:
        return None
    if now is None:
        now = dt.datetime.now(dt.UTC)
    elif now.tzinfo is None:
        raise NaiveTimestampError("now must be a timezone-aware datetime")
    return (now - EPOCH) // MICROSECOND - plan.ttl_us


def assemble(
    plan: ReadPlan,
    keys: list[pl.Series],
    pks: Sequence[str | None],
    found: FoundItems,
    cutoff: int | None,
) -> pl.DataFrame:
    """One output row per request row: join keys, ``event_time`` and the features.

    A row is all-null (but its keys) when its entity is missing, has a null key, or its value
    is older than the ttl (``event_time < cutoff``).
    """
    width = len(plan.features) + 1
    empty: Sequence[Any] = (None,) * width
    rows = []
    for pk in pks:
        item = None if pk is None else found.get(pk)
        if item is None or (cutoff is not None and item[0] < cutoff):
            item = empty
        rows.append(item)
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * width
    series = [*keys, pl.Series(EVENT_TIME_COLUMN, columns[0], dtype=pl.Int64).cast(TIMESTAMP)]
    for name, raw, wanted, values in zip(
        plan.features, plan.raw_dtypes, plan.polars_dtypes, columns[1:], strict=True
    ):
        built = pl.Series(name, values, dtype=raw)
        series.append(built if raw is wanted else built.cast(wanted))
    return pl.DataFrame(series)
