"""Which row of an entity is its latest: the one rule the sync, the online store and SQL share.

An entity's latest row is the one with the largest ``(event_time, created_at)``: a later event
wins, and of two computations of the same event the later one (a recomputation) wins. Rows
equal in both are duplicates; the last of them in the frame wins, so a caller that appends
newer data after older data gets the newer copy. The Snowflake ``<group>_latest`` view orders
by `LATEST_ORDER` too, so every reader agrees on which value is current.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import polars as pl

from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN

LATEST_ORDER = (EVENT_TIME_COLUMN, CREATED_AT_COLUMN)
"""The columns that order an entity's rows, oldest first; the last row is the latest."""

Rows = TypeVar("Rows", pl.DataFrame, pl.LazyFrame)


def latest_per_entity(rows: Rows, keys: Sequence[str], *, ordered_by_entity: bool = True) -> Rows:
    """The latest row of each entity (one row per distinct `keys` value; null keys are a value).

    Args:
        rows: Rows holding `keys` and the `LATEST_ORDER` columns.
        keys: The join keys that name an entity.
        ordered_by_entity: Return the rows sorted by `keys` (stable output, and what a merge
            with other per-entity frames wants). False skips sorting by the keys, which is
            cheaper, and returns the rows in `LATEST_ORDER` order instead.

    Returns:
        `rows`' columns, one row per entity.
    """
    order = [*keys, *LATEST_ORDER] if ordered_by_entity else list(LATEST_ORDER)
    # A stable sort, so that of rows equal in every sort column the last one in `rows` wins.
    return rows.sort(order, maintain_order=True).unique(
        subset=list(keys), keep="last", maintain_order=True
    )
