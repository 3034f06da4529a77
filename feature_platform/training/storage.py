"""Training sets as Iceberg tables, each snapshot labelled with the feature snapshots it used.

Stored in the catalog next to the feature groups (namespace ``<namespace>_training_sets``), a
training set is readable by every engine that reads the feature tables, and its snapshot summary
answers "which feature data was this model trained on?" long after the features have changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.table import Table
from pyiceberg.table.refs import MAIN_BRANCH

from feature_platform.config import StoreConfig
from feature_platform.errors import InvalidRequestError, NameClashError
from feature_platform.identifiers import refuse_latest_suffix, validate_identifier
from feature_platform.offline_store.branches import experiment_branch
from feature_platform.offline_store.catalog import table_location, table_properties
from feature_platform.training.retrieval import TrainingSet

SOURCES_PROPERTY = "feature-platform.training-set.sources"
# Per group, the branch its rows were read from (main, or an experiment's exp_<name>).
BRANCHES_PROPERTY = "feature-platform.training-set.branches"


def training_set_namespace(config: StoreConfig) -> str:
    return f"{config.namespace}_training_sets"


@dataclass(frozen=True)
class TrainingSetWrite:
    """Where a training set was stored and what it was built from."""

    table: str
    snapshot_id: int | None
    metadata_location: str
    rows: int
    sources: dict[str, int | None]
    branch: str = MAIN_BRANCH


def write_training_set(
    catalog: Catalog,
    config: StoreConfig,
    name: str,
    training_set: TrainingSet,
    *,
    experiment: str | None = None,
) -> TrainingSetWrite:
    """Replace the table's content with `training_set` in one commit.

    The schema follows the frame: columns that appear are added, and a frame whose column types
    changed incompatibly replaces the table's schema by recreating it (a training set has no
    history worth keeping across a redefinition; the previous snapshots go with it).
    An empty training set writes no data file.

    Training sets and feature groups share one name space in SQL (`run_sql` registers both by
    their bare names), so the name may not be a feature group's, nor end in ``_latest`` (a
    group's latest-value view). Checked here, where the catalog tells which groups exist.

    With an `experiment`, the set is stored on the table's branch ``exp_<experiment>`` and
    main's training set is left as it is (a column the experiment adds is added table-wide,
    null on main, and an incompatible redefinition is refused rather than recreating the table).

    Raises:
        InvalidIdentifierError: `name` (or `experiment`) is not a safe identifier.
        NameClashError: `name` ends in ``_latest`` or is a feature group's; nothing is written.
    """
    branch = MAIN_BRANCH if experiment is None else experiment_branch(experiment)
    identifier = (training_set_namespace(config), validate_identifier(name, "training set"))
    refuse_latest_suffix(name, "training set")
    if catalog.table_exists((config.namespace, name)):
        raise NameClashError(
            f"training set {name!r} has the name of feature group {name!r} "
            f"({config.namespace}.{name}); training sets and groups share one name space in "
            f"SQL, so it would shadow the group: name it e.g. {(name + '_training')[:63]!r}"
        )
    data = _iceberg_compatible(training_set.frame)
    table = _table_for(catalog, config, identifier, data.schema, recreate=branch == MAIN_BRANCH)
    properties = {SOURCES_PROPERTY: json.dumps(training_set.snapshot_ids, sort_keys=True)}
    if training_set.branches:
        properties[BRANCHES_PROPERTY] = json.dumps(dict(training_set.branches), sort_keys=True)
    with table.transaction() as transaction:
        if table.snapshot_by_name(branch) is not None:
            transaction.delete(AlwaysTrue(), snapshot_properties=properties, branch=branch)
        if data.num_rows:
            transaction.append(data, snapshot_properties=properties, branch=branch)
    table = table.refresh()
    snapshot = table.snapshot_by_name(branch)
    return TrainingSetWrite(
        table=".".join(identifier),
        snapshot_id=snapshot.snapshot_id if snapshot else None,
        metadata_location=table.metadata_location,
        rows=data.num_rows,
        sources=training_set.snapshot_ids,
        branch=branch,
    )


def _table_for(
    catalog: Catalog,
    config: StoreConfig,
    identifier: tuple[str, str],
    schema: pa.Schema,
    *,
    recreate: bool = True,
) -> Table:
    catalog.create_namespace_if_not_exists(identifier[0])
    location = table_location(config, *identifier)
    if catalog.table_exists(identifier):
        table = catalog.load_table(identifier)
        try:
            with table.update_schema() as update:
                update.union_by_name(schema)
            return table
        except (ValueError, TypeError) as exc:
            if not recreate:  # an experiment's set must not drop main's
                raise InvalidRequestError(
                    f"training set {identifier[1]!r}: the experiment's columns do not fit the "
                    f"stored table's ({exc}); build it under another name"
                ) from exc
            catalog.drop_table(identifier)  # incompatible redefinition: start afresh
    return catalog.create_table(
        identifier, schema=schema, properties=table_properties(config), location=location
    )


def _iceberg_compatible(frame: pl.DataFrame) -> pa.Table:
    """Arrow types Iceberg lacks become their nearest Iceberg type.

    Unsigned integers widen to int64 (checked), and timestamps become microseconds, Iceberg
    v2's finest unit (nanoseconds are truncated, the one lossy step, as in every v2 writer).
    """
    data = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    columns = []
    for column, field in zip(data.columns, data.schema, strict=True):
        kind = field.type
        if pa.types.is_unsigned_integer(kind):
            column = column.cast(pa.int64())
        elif pa.types.is_timestamp(kind):
            column = column.cast(pa.timestamp("us", tz="UTC" if kind.tz else None), safe=False)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=data.column_names)
