"""Training sets built by SQL, in DuckDB or Snowflake, with the polars join's exact result.

The steps are those of `retrieval.build_training_set` (plan the requests, resolve every
group's snapshot once, check the labels) and then one statement from `sql_join`, run by
`duckdb_join` or `snowflake_join`. In Snowflake every check (`sql_checks`) runs before the
first statement that writes. The result has the same columns, dtypes and row order as the
polars path: feature columns are cast back to the offline table's types (Snowflake returns
the narrowest integer type a batch fits; integers stay integers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from pyiceberg.table import Table

from feature_platform.errors import ConfigurationError, InvalidFrameError
from feature_platform.references import GroupRequest, plan_requests
from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform.specs import FeatureGroup
from feature_platform.training import snowflake_join, sql_checks
from feature_platform.training.duckdb_join import DuckDBOptions, join_in_duckdb
from feature_platform.training.entity_frame import (
    DEFAULT_TIMESTAMP_COLUMN,
    JOIN_INSTANT,
    join_frame,
    load_entity_frame,
)
from feature_platform.training.point_in_time import GroupJoinStats
from feature_platform.training.retrieval import (
    AsOf,
    TrainingSet,
    check_as_of_groups,
    snapshot_for,
)
from feature_platform.training.snowflake_join import SnowflakeLabels
from feature_platform.training.sql_join import (
    INSTANT_COLUMN,
    ROW_COLUMN,
    GroupRead,
    LabelSource,
    output_columns,
)

Engine = Literal["polars", "duckdb", "snowflake"]
ENGINES: tuple[Engine, ...] = ("polars", "duckdb", "snowflake")
DEFAULT_NAME = "training_set"


@dataclass(frozen=True)
class SnowflakeTarget:
    """Where a Snowflake training set runs: the registration settings and a connection.

    Args:
        settings: Database, schema and naming of the registered tables; the result table is
            created in the same schema.
        connection: A DB-API connection (``SnowflakeResource.get_connection()``); None only
            to print the SQL.
    """

    settings: SnowflakeSettings
    connection: Any = None

    def label_columns(self, entity: Any) -> list[tuple[str, int]] | None:
        """The columns of `SnowflakeLabels` (None for a frame), read without reading rows."""
        if not isinstance(entity, SnowflakeLabels):
            return None
        if self.connection is None:
            raise ConfigurationError("labels in Snowflake need a Snowflake connection")
        with self.connection.cursor() as cursor:
            return sql_checks.describe(cursor, entity.relation())


@dataclass(frozen=True)
class SqlPlan:
    """Everything a statement needs, resolved and checked before any statement runs."""

    requests: tuple[GroupRequest, ...]
    reads: tuple[GroupRead, ...]
    source: LabelSource
    entities: pl.DataFrame | None  # the label frame as given (None: labels in Snowflake)
    labels: pl.DataFrame | None  # FP_ROW, FP_T and the key columns of a label frame

    @property
    def snapshot_ids(self) -> dict[str, int | None]:
        return {
            read.request.group.name: read.snapshot.snapshot_id if read.snapshot else None
            for read in self.reads
        }


def plan_sql(
    entity: Any,
    features: Iterable[str],
    *,
    load_table: Callable[[str], Table],
    spec_of: Callable[[Table], FeatureGroup],
    full_feature_names: bool = False,
    timestamp_column: str = DEFAULT_TIMESTAMP_COLUMN,
    as_of: AsOf | Mapping[str, AsOf] | None = None,
    label_columns: Sequence[tuple[str, int]] | None = None,
) -> SqlPlan:
    """Resolve requests and snapshots and check the labels; nothing runs in any engine.

    Args:
        entity: A label frame, or `SnowflakeLabels` (then `label_columns` is its description).
        features: ``"<group>:<feature>"`` references.
        load_table: The offline table of a group name.
        spec_of: The applied spec of a table.
        full_feature_names: Name columns ``<group>__<feature>``.
        timestamp_column: The labels' instant column.
        as_of: As in `retrieval.build_training_set`.
        label_columns: (name, connector type code) of a `SnowflakeLabels` source.

    Raises:
        The errors of `retrieval.build_training_set`, and InvalidFrameError for label instants
        finer than a microsecond (SQL timestamps here stop at microseconds).
    """
    tables: dict[str, Table] = {}

    def load_group(name: str) -> FeatureGroup:
        tables[name] = load_table(name)
        return spec_of(tables[name])

    entities = (
        None if isinstance(entity, SnowflakeLabels) else load_entity_frame(entity, timestamp_column)
    )
    names = entities.columns if entities is not None else [n for n, _ in label_columns or ()]
    requests = plan_requests(
        features, load_group, full_feature_names=full_feature_names, entity_columns=names
    )
    check_as_of_groups(as_of, requests)
    reads = tuple(
        GroupRead(
            tables[r.group.name],
            r,
            snapshot_for(tables[r.group.name], r.group.name, as_of, len(requests)),
        )
        for r in requests
    )
    if entities is None:
        assert isinstance(entity, SnowflakeLabels)
        assert label_columns is not None
        stamp, keys = sql_checks.label_columns(label_columns, timestamp_column, requests)
        row = entity.row_column and sql_checks.find_column(names, entity.row_column, "row column")
        source = LabelSource(entity.relation(), stamp, keys, row, passthrough=tuple(names))
        return SqlPlan(tuple(requests), reads, source, None, None)
    labels = _label_frame(entities, requests, timestamp_column)
    keys = tuple(
        tuple(f"K{g}_{i}" for i in range(len(r.group.join_keys))) for g, r in enumerate(requests)
    )
    source = LabelSource('"FP_LABEL_ROWS"', INSTANT_COLUMN, keys, ROW_COLUMN)
    return SqlPlan(tuple(requests), reads, source, entities, labels)


def build_training_set_sql(
    plan: SqlPlan,
    engine: Engine,
    *,
    name: str = DEFAULT_NAME,
    snowflake: SnowflakeTarget | None = None,
    duckdb: DuckDBOptions | None = None,
) -> TrainingSet:
    """Run `plan` in DuckDB or Snowflake (an empty label frame runs nothing)."""
    if plan.labels is not None and plan.labels.is_empty() and engine in ENGINES:
        empty = pl.DataFrame(schema=dict.fromkeys(_feature_dtypes(plan), pl.Null))
        stats = tuple(
            GroupJoinStats(name, snapshot, 0, 0, 0) for name, snapshot in plan.snapshot_ids.items()
        )
        return _result(plan, empty, engine, None, None, stats)
    if engine == "duckdb":
        if plan.labels is None:
            raise ConfigurationError("engine='duckdb' needs the labels as a frame")
        values, statement, stats = join_in_duckdb(plan.labels, plan.source, plan.reads, duckdb)
        return _result(plan, values, "duckdb", statement, None, stats)
    if engine != "snowflake":
        raise ConfigurationError(f"unknown engine {engine!r}; use one of {list(ENGINES)}")
    if snowflake is None or snowflake.connection is None:
        raise ConfigurationError("engine='snowflake' needs a Snowflake connection")
    with snowflake.connection.cursor() as cursor:
        sql_checks.check_registered(cursor, snowflake.settings, plan.reads)
        for read in plan.reads:
            sql_checks.check_refreshed(cursor, snowflake.settings, read)
    create, fetch, result, source = snowflake_statements(plan, snowflake.settings, name)
    if plan.labels is not None:
        snowflake_join.upload_labels(snowflake.connection, snowflake.settings, source, plan.labels)
    columns = [
        ROW_COLUMN,
        *output_columns(source, snowflake_join.group_sources(snowflake.settings, plan.reads)),
    ]
    values = snowflake_join.run(snowflake.connection, create, fetch, columns).drop(ROW_COLUMN)
    stats = tuple(
        GroupJoinStats(r.request.group.name, plan.snapshot_ids[r.request.group.name], 0, 1, 0)
        for r in plan.reads
    )
    return _result(plan, values, "snowflake", create, result, stats)


def snowflake_statements(
    plan: SqlPlan, settings: SnowflakeSettings, name: str = DEFAULT_NAME
) -> tuple[str, str, str, LabelSource]:
    """The CREATE TABLE ... AS and the fetch statement, the result table, the label source."""
    result = snowflake_join.result_table(settings, name, plan.snapshot_ids)
    source = plan.source
    if plan.labels is not None:
        source = snowflake_join.upload_source(result, plan.labels)
    groups = snowflake_join.group_sources(settings, plan.reads)
    create = snowflake_join.create_statement(result, source, groups)
    fetch = snowflake_join.fetch_statement(result, [ROW_COLUMN, *output_columns(source, groups)])
    return create, fetch, result, source


def _label_frame(
    entities: pl.DataFrame, requests: Sequence[GroupRequest], timestamp_column: str
) -> pl.DataFrame:
    """Row number, instant (µs) and every group's keys in its key dtypes, checked as polars does."""
    columns: list[pl.Series] = []
    instants: pl.Series | None = None
    for g, request in enumerate(requests):
        frame = join_frame(entities, request.group, timestamp_column, ROW_COLUMN)
        instants = frame[JOIN_INSTANT]
        columns += [frame[k].alias(f"K{g}_{i}") for i, k in enumerate(request.group.join_keys)]
    assert instants is not None
    if (instants.dt.cast_time_unit("ns").dt.nanosecond() % 1000 != 0).any():
        raise InvalidFrameError(
            f"entity column {timestamp_column!r} has instants finer than a microsecond; the SQL "
            "engines compare microseconds: round them, or use engine='polars'"
        )
    row = pl.int_range(entities.height, dtype=pl.Int64, eager=True).alias(ROW_COLUMN)
    return pl.DataFrame([row, instants.dt.cast_time_unit("us").alias(INSTANT_COLUMN), *columns])


def _result(
    plan: SqlPlan,
    values: pl.DataFrame,
    engine: str,
    statement: str | None,
    table: str | None,
    stats: tuple[GroupJoinStats, ...],
) -> TrainingSet:
    dtypes = _feature_dtypes(plan)
    values = values.with_columns(pl.col(name).cast(dtype) for name, dtype in dtypes.items())
    if plan.entities is not None:
        frame = plan.entities.hstack(values.select(list(dtypes)).get_columns())
    else:
        frame = values
    return TrainingSet(frame, stats, engine=engine, statement=statement, table=table)


def _feature_dtypes(plan: SqlPlan) -> dict[str, pl.DataType]:
    """Output name -> the offline table's polars dtype, as the polars join returns it."""
    dtypes: dict[str, pl.DataType] = {}
    for read in plan.reads:
        arrow = read.table.schema().select(*read.request.features).as_arrow().empty_table()
        empty = pl.from_arrow(arrow)
        assert isinstance(empty, pl.DataFrame)
        for feature in read.request.features:
            dtypes[read.request.renames[feature]] = empty.schema[feature]
    return dtypes
