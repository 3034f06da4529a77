"""Turning a frame handed to an online write into one row per entity, or refusing it.

Every backend writes an item as a whole (DynamoDB's PutItem, SQLite's upsert), so a frame must
carry every feature: a missing column would silently erase the stored value. All checks run
before anything is written; the frame is then reduced to the latest row per entity, because
sending superseded rows only costs requests and conditional-check failures.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from feature_platform.dtypes import converts_losslessly, polars_dtype
from feature_platform.errors import (
    InvalidFrameError,
    NaiveTimestampError,
    NullKeyError,
    SchemaMismatchError,
)
from feature_platform.offline_store.column_checks import column_mismatches
from feature_platform.offline_store.latest import latest_per_entity
from feature_platform.online_store.keys import encode_keys
from feature_platform.online_store.limits import check_item_limits, check_numbers
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup


@dataclass(frozen=True)
class PreparedWrite:
    """A validated write: the latest row of each entity, with its encoded hash key.

    Attributes:
        frame: Join keys, ``event_time``, ``created_at`` and the features, in the group's
            canonical dtypes (timestamps UTC microseconds), one row per entity.
        pks: The hash key of each row of `frame`, in the same order.
        rows: How many rows the caller handed in (before dropping superseded ones).
        replacing: Per row of `frame`, the ``(event_time, created_at)`` in epoch microseconds
            of a stored item the row replaces even though that item is newer (None: only
            latest wins); None when the write names no such items.
    """

    frame: pl.DataFrame
    pks: list[str]
    rows: int
    replacing: list[tuple[int, int] | None] | None = None

    @property
    def superseded(self) -> int:
        """Rows dropped because a newer row of the same entity was in the same frame."""
        return self.rows - self.frame.height


def write_columns(group: FeatureGroup) -> list[str]:
    """The columns an online write frame must have, in order."""
    return [*group.join_keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN, *group.feature_names]


def prepare_write(
    group: FeatureGroup, frame: pl.DataFrame, ttl_attribute: str | None
) -> PreparedWrite:
    """Validate `frame`, keep the latest row per entity and check DynamoDB's item limits.

    The latest row is the one with the largest ``(event_time, created_at)``; among rows equal
    in both, the last one in the frame.

    Args:
        group: The feature group written to.
        frame: Join keys, ``event_time``, ``created_at`` (tz-aware) and every feature.
        ttl_attribute: The expiry attribute items carry when the group has a ttl (counted in
            the item size), or None.

    Raises:
        SchemaMismatchError: A column is missing, unexpected or of a type that would lose data.
        NaiveTimestampError: ``event_time`` or ``created_at`` has no time zone.
        NullKeyError: A join key, ``event_time`` or ``created_at`` is null.
        InvalidValueError: A float is NaN, infinite or outside DynamoDB's number range.
        ItemTooLargeError: A row would exceed the 400 KB item or 2 KB key limit.
    """
    if not isinstance(frame, pl.DataFrame):
        raise InvalidFrameError(
            f"online writes take a polars DataFrame, got {type(frame).__name__}"
        )
    _check_columns(group, frame)
    normalised = normalise(group, frame, write_columns(group), "online write")
    check_no_null_keys(group, normalised, "online write")
    check_numbers(group, normalised)
    latest = normalised
    if normalised.height > 1:
        latest = latest_per_entity(normalised, group.join_keys, ordered_by_entity=False)
    pks = encode_keys([latest.get_column(k).to_list() for k in group.join_keys])
    keys = [pk for pk in pks if pk is not None]  # no nulls: checked above
    check_item_limits(group, latest, keys, ttl_attribute)
    return PreparedWrite(frame=latest, pks=keys, rows=frame.height)


def _check_columns(group: FeatureGroup, frame: pl.DataFrame) -> None:
    expected = write_columns(group)
    parts = column_mismatches(expected, frame.columns)
    if parts:
        raise SchemaMismatchError(
            f"online write to feature group {group.name!r}: "
            + "; ".join(parts)
            + f"; expected exactly {expected} (every feature, since items are replaced whole)"
        )


def normalise(
    group: FeatureGroup, frame: pl.DataFrame, columns: list[str], action: str
) -> pl.DataFrame:
    """`columns` of the frame, in order and canonical dtypes; columns already right are kept.

    Casting only what differs keeps a one-row push cheap (each polars expression costs).
    `action` names the request in errors, e.g. "online write".
    """
    changes = []
    schema = frame.schema
    for column in columns:
        actual = schema[column]
        if column in (EVENT_TIME_COLUMN, CREATED_AT_COLUMN):
            target = "timestamp"
        elif column in group.join_keys:
            target = group.entity.key_dtype(column)
        else:
            target = group.feature(column).dtype
        wanted = polars_dtype(target)
        if actual == wanted:
            continue
        if target == "timestamp" and isinstance(actual, pl.Datetime) and actual.time_zone is None:
            raise NaiveTimestampError(
                f"column {column!r} of the {action} to {group.name!r} has no time zone; "
                "use .dt.replace_time_zone('UTC') if its values are UTC"
            )
        if not converts_losslessly(actual, target):
            raise SchemaMismatchError(
                f"column {column!r} of the {action} to {group.name!r} is {actual}, which "
                f"does not convert to {target} without loss"
            )
        expression = pl.col(column)
        if target == "timestamp":
            expression = expression.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        changes.append(expression.cast(wanted))
    ordered = frame if frame.columns == columns else frame.select(columns)
    return ordered.with_columns(changes) if changes else ordered


def check_no_null_keys(group: FeatureGroup, frame: pl.DataFrame, action: str) -> None:
    """Refuse nulls in the join keys and times, which name an item and its version."""
    required = [*group.join_keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN]
    nulls = [column for column in required if frame.get_column(column).null_count()]
    if nulls:
        raise NullKeyError(
            f"{action} to {group.name!r}: columns {nulls} hold nulls; every row needs its "
            "join keys, event_time and created_at"
        )
