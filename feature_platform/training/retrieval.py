"""Building a training set: label rows joined point-in-time to several feature groups.

Every group is read at one snapshot, resolved once before any data is read, and the snapshot ids
are part of the result: with them (`as_of`) the same training set can be rebuilt bit for bit
after the feature tables have moved on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from feature_platform.errors import InvalidRequestError, InvalidWindowError
from feature_platform.offline_store.branches import ExperimentView, experiment_view
from feature_platform.offline_store.reads import resolve_snapshot
from feature_platform.references import GroupRequest, plan_requests
from feature_platform.specs import FeatureGroup
from feature_platform.training.entity_frame import (
    DEFAULT_TIMESTAMP_COLUMN,
    join_frame,
    load_entity_frame,
)
from feature_platform.training.point_in_time import (
    DEFAULT_MAX_ROWS_PER_READ,
    GroupJoinStats,
    join_group,
)

AsOf = int | dt.datetime | str
_ROW_INDEX = "__feature_platform_row"


@dataclass(frozen=True)
class TrainingSet:
    """A point-in-time joined frame and the table states it was built from."""

    frame: pl.DataFrame
    groups: tuple[GroupJoinStats, ...]
    # Per group, the branch read: ``main``, or an experiment's ``exp_<name>``.
    branches: Mapping[str, str] = field(default_factory=dict)
    engine: str = "polars"
    statement: str | None = None  # the SQL that built it (engine duckdb or snowflake)
    table: str | None = None  # the Snowflake table holding it (engine snowflake)

    @property
    def snapshot_ids(self) -> dict[str, int | None]:
        """Per group, the snapshot read (None: the table had no data); pass as `as_of`."""
        return {stats.group: stats.snapshot_id for stats in self.groups}


def build_training_set(
    entity_df: Any,
    features: Iterable[str],
    *,
    load_table: Callable[[str], Table],
    spec_of: Callable[[Table], FeatureGroup],
    full_feature_names: bool = False,
    timestamp_column: str = DEFAULT_TIMESTAMP_COLUMN,
    as_of: AsOf | Mapping[str, AsOf] | None = None,
    max_rows_per_read: int = DEFAULT_MAX_ROWS_PER_READ,
    experiment: str | None = None,
) -> TrainingSet:
    """Join `features` onto every row of `entity_df` as of the row's timestamp.

    With an `experiment`, each group it wrote is read at the head of its branch ``exp_<name>``
    (with its spec there), every other group at main's current snapshot.

    Output: the entity frame's columns unchanged and in order, then one column per feature in
    request order; one row per input row, in input order.

    Raises:
        InvalidFeatureReferenceError, UnknownFeatureGroupError, UnknownFeatureError,
        FeatureNameClashError: The feature list is wrong; nothing is read.
        SchemaMismatchError, NaiveTimestampError, NullKeyError: The entity frame is wrong.
        InvalidWindowError: `as_of` names no snapshot of a group, or predates its history.
        InvalidRequestError: Both `as_of` and `experiment` were given.
    """
    if experiment is not None and as_of is not None:
        raise InvalidRequestError(
            "pass as_of or experiment, not both: an experiment is read at its branches' heads"
        )
    entities = load_entity_frame(entity_df, timestamp_column)
    tables: dict[str, Table] = {}
    views: dict[str, ExperimentView] = {}

    def load_group(name: str) -> FeatureGroup:
        tables[name] = load_table(name)
        if experiment is not None:
            views[name] = experiment_view(tables[name], experiment)
            if views[name].spec is not None:
                return FeatureGroup.from_json(views[name].spec or "")
        return spec_of(tables[name])

    requests = plan_requests(
        features,
        load_group,
        full_feature_names=full_feature_names,
        entity_columns=entities.columns,
    )
    check_as_of_groups(as_of, requests)
    snapshots = {
        request.group.name: views[request.group.name].snapshot
        if experiment is not None
        else snapshot_for(tables[request.group.name], request.group.name, as_of, len(requests))
        for request in requests
    }
    labels = {
        request.group.name: join_frame(entities, request.group, timestamp_column, _ROW_INDEX)
        for request in requests  # all checked before the first (possibly long) read
    }
    output = entities
    stats = []
    for request in requests:
        name = request.group.name
        values, group_stats = join_group(
            tables[name],
            request,
            labels[name],
            _ROW_INDEX,
            snapshots[name],
            max_rows_per_read=max_rows_per_read,
        )
        output = output.hstack(values.drop(_ROW_INDEX).get_columns())
        stats.append(group_stats)
    branches = {name: view.branch for name, view in views.items()}
    return TrainingSet(output, tuple(stats), branches)


def check_as_of_groups(
    as_of: AsOf | Mapping[str, AsOf] | None, requests: Sequence[GroupRequest]
) -> None:
    if isinstance(as_of, Mapping):
        unrequested = sorted(set(as_of) - {request.group.name for request in requests})
        if unrequested:
            raise InvalidWindowError(
                f"as_of names groups {unrequested} that no requested feature comes from"
            )


def snapshot_for(
    table: Table, group: str, as_of: AsOf | Mapping[str, AsOf] | None, groups: int
) -> Snapshot | None:
    if isinstance(as_of, Mapping):
        return resolve_snapshot(table, as_of.get(group))
    if isinstance(as_of, int) and not isinstance(as_of, bool) and groups > 1:
        raise InvalidWindowError(
            "as_of is a snapshot id, which belongs to one table, but features come from "
            f"{groups} groups; pass a timestamp or as_of={{group: snapshot_id, ...}}"
        )
    return resolve_snapshot(table, as_of)
