"""`TrainingSetDefinition`: a named, reproducible training set that Dagster can materialize.

A training set is labels (rows of join keys and an instant, from any query) joined to a fixed
feature list. Declaring it, rather than building it in a notebook, gives it lineage in the UI
(which feature groups fed it) and a table that records the snapshots it was built from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from feature_platform.errors import InvalidSpecError, NameClashError
from feature_platform.identifiers import refuse_latest_suffix, validate_identifier
from feature_platform.references import parse_references
from feature_platform.time_windows import TimeWindow
from feature_platform.training.entity_frame import DEFAULT_TIMESTAMP_COLUMN

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore

ENGINES = ("polars", "duckdb", "snowflake")
LabelQuery = Callable[["FeatureStore", TimeWindow], pl.DataFrame]


@dataclass(frozen=True)
class TrainingSetDefinition:
    """Labels of a time window joined point-in-time to `features`.

    Args:
        name: Table and asset name; ``^[a-z][a-z0-9_]{0,62}$``, neither a feature group's name
            nor ending in ``_latest``: in SQL, training sets, groups and the groups'
            ``<group>_latest`` views share one name space.
        features: ``"<group>:<feature>"`` references.
        labels: ``(store, window) -> entity frame`` with the join keys of every group and
            `timestamp_column`; deterministic for a window, so a rebuild gives the same rows.
        label_window: Default span of labels, ending at the start of the current UTC day.
        label_source: Dagster asset key of the labels' upstream, for lineage (optional).
        full_feature_names: Name columns ``<group>__<feature>``.
        timestamp_column: The labels' instant column.
        description: Shown in the Dagster UI.
        owner: An email or ``team:<name>``, shown in the Dagster UI.
        engine: Where the join runs: ``polars``, ``duckdb`` or ``snowflake`` (the registered
            Iceberg tables, through the ``snowflake`` resource); the same rows either way.
    """

    name: str
    features: Sequence[str]
    labels: LabelQuery
    label_window: dt.timedelta = dt.timedelta(days=7)
    label_source: Sequence[str] | None = None
    full_feature_names: bool = False
    timestamp_column: str = DEFAULT_TIMESTAMP_COLUMN
    description: str = ""
    owner: str | None = None
    engine: str = "polars"

    def __post_init__(self) -> None:
        validate_identifier(self.name, "training set")
        refuse_latest_suffix(self.name, "training set")
        parse_references(self.features)  # malformed or repeated references fail at definition
        object.__setattr__(self, "features", tuple(self.features))
        check_training_set_names([self], self.group_names)
        if self.engine not in ENGINES:
            raise InvalidSpecError(
                f"training set {self.name!r}: engine {self.engine!r} is not one of {list(ENGINES)}"
            )
        if self.label_window <= dt.timedelta(0):
            raise InvalidSpecError(f"training set {self.name!r}: label_window must be positive")

    @property
    def group_names(self) -> tuple[str, ...]:
        """The feature groups read, in first-use order."""
        return tuple(dict.fromkeys(group for group, _ in parse_references(self.features)))

    def default_window(self, now: dt.datetime | None = None) -> TimeWindow:
        now = now or dt.datetime.now(dt.UTC)
        end = dt.datetime(now.year, now.month, now.day, tzinfo=dt.UTC)
        return TimeWindow(end - self.label_window, end)


def check_training_set_names(
    training_sets: Iterable[TrainingSetDefinition], group_names: Iterable[str]
) -> None:
    """Refuse a training set named like a feature group of the same deployment.

    Both are tables of the store's SQL (a training set by that name would shadow the group) and
    assets whose names users search for. A definition checks the groups it reads itself; the
    registry, which knows every group, checks the others.

    Raises:
        NameClashError: A training set has a group's name; the message names both.
    """
    groups = set(group_names)
    for definition in training_sets:
        if definition.name in groups:
            raise NameClashError(
                f"training set {definition.name!r} has the name of feature group "
                f"{definition.name!r}; training sets and groups share one name space in SQL, "
                f"so it would shadow the group: name it e.g. "
                f"{(definition.name + '_training')[:63]!r}"
            )
