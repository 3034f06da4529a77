"""Item versions: the stored item a conditional replace or delete is allowed to act on.

An item's version is its ``(event_time, created_at)``. Latest-wins writes can never put an
older row over a newer one, yet the offline sync must do exactly that when a backfill removes
an entity's newest row. It names the version it wrote before, and the store acts only when the
stored item still has that version: a newer value pushed online since (``store.write(...,
to="online")``) has another version, so it is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from feature_platform.errors import InvalidRequestError, SchemaMismatchError
from feature_platform.online_store.keys import encode_keys
from feature_platform.online_store.writes import check_no_null_keys, normalise
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup

#: ``(event_time, created_at)`` in epoch microseconds.
Version = tuple[int, int]


@dataclass(frozen=True)
class Versions:
    """Validated versions, one per entity.

    Attributes:
        by_pk: Encoded hash key to the version the stored item must have.
        rows: Rows the caller handed in (one per entity).
    """

    by_pk: dict[str, Version]
    rows: int


def version_columns(group: FeatureGroup) -> list[str]:
    """The columns that name an item and its version: join keys, event_time, created_at."""
    return [*group.join_keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN]


def prepare_versions(group: FeatureGroup, frame: pl.DataFrame, action: str) -> Versions:
    """Validate a frame of versions (other columns are ignored, so rows may be passed whole).

    Args:
        group: The feature group whose items are named.
        frame: Join keys, ``event_time`` and ``created_at`` (tz-aware), one row per entity.
        action: Names the request in errors, e.g. "online delete".

    Raises:
        SchemaMismatchError: A column is missing or of a type that would lose data.
        NaiveTimestampError: A time column has no time zone.
        NullKeyError: A join key or time is null.
        InvalidRequestError: An entity is named twice (which version would be meant?).
    """
    if not isinstance(frame, pl.DataFrame):
        raise SchemaMismatchError(f"{action} takes a polars DataFrame, got {type(frame).__name__}")
    columns = version_columns(group)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaMismatchError(
            f"{action} to {group.name!r}: missing columns {missing}; the stored items are "
            f"named by {columns}"
        )
    versions = normalise(group, frame, columns, action)
    check_no_null_keys(group, versions, action)
    pks = encode_keys([versions.get_column(k).to_list() for k in group.join_keys])
    times = zip(
        versions.get_column(EVENT_TIME_COLUMN).cast(pl.Int64).to_list(),
        versions.get_column(CREATED_AT_COLUMN).cast(pl.Int64).to_list(),
        strict=True,
    )
    by_pk = {pk: version for pk, version in zip(pks, times, strict=True) if pk is not None}
    if len(by_pk) != frame.height:
        raise InvalidRequestError(
            f"{action} to {group.name!r} names {frame.height - len(by_pk)} entities more than "
            "once; give one row per entity (the version its stored item must have)"
        )
    return Versions(by_pk=by_pk, rows=frame.height)
