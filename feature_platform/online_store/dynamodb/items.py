"""Rows to DynamoDB items and back, in native attribute types so other tools can read them.

An item holds ``pk`` (the encoded join keys), each join key by name, ``event_time`` and
``created_at`` as Numbers (epoch microseconds: exact, and comparable in a condition expression),
optionally the TTL attribute (epoch seconds when the value expires) and one attribute per
non-null feature:

==========  ==========================================================
int, float  N (floats in their shortest round-trip text, so 0.1 stays "0.1")
bool        BOOL
string      S
date        S (ISO ``YYYY-MM-DD``, DynamoDB's documented convention)
timestamp   N (epoch microseconds, like ``event_time``)
null        attribute absent (an item written by another tool may hold NULL)
==========  ==========================================================

Conversion is hand-written rather than boto3's TypeSerializer/TypeDeserializer: the group says
each attribute's type, so a read parses ``"42"`` straight to an int instead of via Decimal,
which matters on the latency-critical read path; and floats never meet Decimal's context, whose
inexact-conversion trap rejects most binary floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from feature_platform.errors import OnlineStoreError
from feature_platform.online_store.limits import PK_ATTRIBUTE
from feature_platform.online_store.writes import PreparedWrite
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]
Decoder = Callable[[Mapping[str, Any]], Any]

_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()
_MICROS_PER_SECOND: Final = 1_000_000


def encode_items(
    group: FeatureGroup, prepared: PreparedWrite, ttl_attribute: str | None
) -> list[Item]:
    """One DynamoDB item per prepared row, in row order."""
    frame = prepared.frame
    names: list[str] = [PK_ATTRIBUTE, EVENT_TIME_COLUMN, CREATED_AT_COLUMN]
    # Prepared timestamps are UTC microseconds: their integer form is the epoch value.
    event_us = frame.get_column(EVENT_TIME_COLUMN).cast(pl.Int64)
    columns: list[list[Any]] = [
        [{"S": pk} for pk in prepared.pks],
        _numbers(event_us),
        _numbers(frame.get_column(CREATED_AT_COLUMN).cast(pl.Int64)),
    ]
    if group.ttl is not None and ttl_attribute is not None:
        ttl_us = group.ttl // dt.timedelta(microseconds=1)
        expires = (event_us + ttl_us + _MICROS_PER_SECOND - 1) // _MICROS_PER_SECOND
        names.append(ttl_attribute)
        columns.append(_numbers(expires))
    for key in group.join_keys:
        names.append(key)
        columns.append(_attributes(frame.get_column(key), group.entity.key_dtype(key)))
    for feature in group.features:
        names.append(feature.name)
        columns.append(_attributes(frame.get_column(feature.name), str(feature.dtype)))
    return [
        {name: value for name, value in zip(names, row, strict=True) if value is not None}
        for row in zip(*columns, strict=True)
    ]


def _numbers(series: pl.Series) -> list[Any]:
    return [None if v is None else {"N": str(v)} for v in series.to_list()]


def _attributes(series: pl.Series, dtype: str) -> list[Any]:
    """Attribute values of one column; None where the value is null (attribute left out)."""
    if dtype in ("int32", "int64"):
        return _numbers(series)
    if dtype in ("float32", "float64"):
        # polars prints the shortest text that round-trips in the column's own width
        # (float32 0.1 -> "0.1"); -0.0 is written as 0, which DynamoDB would store anyway.
        texts = series.cast(pl.String).to_list()
        return [None if v is None else {"N": "0" if v == "-0.0" else v} for v in texts]
    if dtype == "timestamp":
        return _numbers(series.cast(pl.Int64))
    if dtype == "bool":
        return [None if v is None else {"BOOL": v} for v in series.to_list()]
    if dtype == "date":
        series = series.cast(pl.String)
    return [None if v is None else {"S": v} for v in series.to_list()]


def decoders(features: Sequence[str], dtypes: Sequence[str]) -> list[tuple[str, Decoder]]:
    """Per requested feature, its attribute name and a function from attribute to raw value.

    Raw values are what `reads.assemble` expects: ints, floats, strings, 0/1 for bools, days
    since the epoch for dates, epoch microseconds for timestamps.
    """
    return [(name, _DECODERS[dtype]) for name, dtype in zip(features, dtypes, strict=True)]


def _date_days(value: Mapping[str, Any]) -> int:
    return dt.date.fromisoformat(value["S"]).toordinal() - _EPOCH_ORDINAL


_DECODERS: Final[Mapping[str, Decoder]] = {
    "int32": lambda value: int(value["N"]),
    "int64": lambda value: int(value["N"]),
    "float32": lambda value: float(value["N"]),
    "float64": lambda value: float(value["N"]),
    "bool": lambda value: 1 if value["BOOL"] else 0,
    "string": lambda value: value["S"],
    "date": _date_days,
    "timestamp": lambda value: int(value["N"]),
}


def decode_item(
    item: Mapping[str, Any], features: Sequence[tuple[str, Decoder]], table: str
) -> list[Any]:
    """``[event_time_us, *raw values]`` of one item; absent or NULL attributes are None.

    Raises:
        OnlineStoreError: An attribute is missing or has a type the group does not allow
            (the item was written by another tool, or before the group's dtype changed).
    """
    name = EVENT_TIME_COLUMN
    try:
        row: list[Any] = [int(item[name]["N"])]
        for name, decode in features:
            value = item.get(name)
            row.append(None if value is None or "NULL" in value else decode(value))
    except (KeyError, ValueError, TypeError) as exc:
        raise OnlineStoreError(
            f"item {item.get(PK_ATTRIBUTE)} of DynamoDB table {table!r} holds {name!r} as "
            f"{item.get(name)!r}, which does not fit the feature group; rewrite the item"
        ) from exc
    return row
