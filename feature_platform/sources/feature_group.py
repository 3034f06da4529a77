"""`FeatureGroupSource`: another feature group's offline table as the input of a group.

Chaining groups (hourly counts -> daily aggregates) keeps each computation small, and the
lineage shows the upstream group's asset as the input. The upstream group's asset is the
platform's own (``features/<group>``), so this source defines none, and its completeness is
what Dagster knows about that asset's materialized partitions: the source itself reports it as
unknown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from feature_platform.errors import FeaturePlatformError, InvalidSpecError
from feature_platform.sources.base import (
    Completeness,
    SourceObservation,
    source_error,
    validated_columns,
)
from feature_platform.sources.rows import checked_rows
from feature_platform.specs import EVENT_TIME_COLUMN, FeatureGroup, Partitioning
from feature_platform.time_windows import TimeWindow

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore

FEATURES_PREFIX = "features"


@dataclass(frozen=True)
class FeatureGroupSource:
    """The offline rows of an upstream feature group.

    Args:
        group: The upstream group's spec; its name, partitioning and start become the
            source's. The spec itself (which holds a dict of tags) is not part of the source's
            identity: two sources over the same group and features are equal.
        features: The upstream features to read (default all); join keys, ``event_time``
            and ``created_at`` always come along.
        description: Shown in the Dagster UI; a sentence naming the group by default.

    Raises:
        InvalidSpecError: `group` is not a `FeatureGroup`, or a feature is not one of its.
    """

    group: FeatureGroup = field(compare=False, repr=False)
    features: tuple[str, ...] | None = None
    description: str = ""
    group_name: str = field(init=False)
    partitioning: Partitioning = field(init=False)
    start: dt.datetime = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.group, FeatureGroup):
            raise InvalidSpecError(
                f"FeatureGroupSource: group must be the upstream FeatureGroup, not {self.group!r}"
            )
        what = f"FeatureGroupSource({self.group.name!r})"
        features = validated_columns(self.features, EVENT_TIME_COLUMN, what)
        unknown = [f for f in features or () if f not in self.group.feature_names]
        if unknown:
            raise InvalidSpecError(
                f"{what}: features {unknown} are not features of {self.group.name}; it has "
                f"{list(self.group.feature_names)}"
            )
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "group_name", self.group.name)
        object.__setattr__(self, "partitioning", self.group.partitioning)
        object.__setattr__(self, "start", self.group.start_time)
        if not self.description:
            object.__setattr__(
                self,
                "description",
                f"Feature group {self.group.name} (its offline table, time column "
                f"{EVENT_TIME_COLUMN})",
            )

    # --- Source --------------------------------------------------------------------------------

    @property
    def key(self) -> tuple[str, ...]:
        return (FEATURES_PREFIX, self.group_name)

    @property
    def defines_asset(self) -> bool:
        return False

    @property
    def name(self) -> str:
        """How messages name the source: ``features/user_stats (feature group)``."""
        return f"{'/'.join(self.key)} (feature group)"

    def read(self, store: FeatureStore, window: TimeWindow) -> pl.DataFrame:
        """The group's offline rows of `window` (as of its current snapshot).

        Raises:
            SourceError: The group is not applied to `store`, or its table cannot be read.
        """
        try:
            frame = store.read(
                self.group_name,
                start=window.start,
                end=window.end,
                features=None if self.features is None else list(self.features),
            )
        except FeaturePlatformError as exc:
            raise source_error(
                self.name, f"cannot read the upstream group's offline table: {exc}"
            ) from exc
        return checked_rows(self.name, frame, EVENT_TIME_COLUMN, window, None)

    def completeness(self, store: FeatureStore, window: TimeWindow) -> Completeness:
        """Unknown here: the upstream asset's materialized partitions decide."""
        return Completeness.unknown(
            f"judged from the materialized partitions of {'/'.join(self.key)}"
        )

    def observe(self, store: FeatureStore) -> SourceObservation | None:
        return None
