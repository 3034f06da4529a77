"""Local SQL over the offline store: every feature group, its `_latest` view and training sets.

Analysts ask "what features does this user have?" in SQL. Tables are registered as lazy polars
scans of the Iceberg tables (`pl.scan_iceberg`), so a query's filters and column list reach the
parquet scan: files and row groups that cannot match are skipped, and only the named columns are
decoded. No server, no copy: the same files Snowflake and Spark read.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from pyiceberg.exceptions import NoSuchNamespaceError

from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup
from feature_platform.store import FeatureStore
from feature_platform.training.storage import training_set_namespace

LATEST_SUFFIX = "_latest"


def latest_live_rows(
    rows: pl.LazyFrame, group: FeatureGroup, now: dt.datetime | None = None
) -> pl.LazyFrame:
    """The latest row per entity still within the ttl: what the online store should serve."""
    keys = list(group.join_keys)
    if group.ttl is not None:
        now = now or dt.datetime.now(dt.UTC)
        rows = rows.filter(pl.col(EVENT_TIME_COLUMN) >= now - group.ttl)
    return (
        rows.sort([*keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN])
        .group_by(keys, maintain_order=True)
        .last()
    )


def sql_context(
    store: FeatureStore, *, pushdown: bool = True, now: dt.datetime | None = None
) -> pl.SQLContext[pl.LazyFrame]:
    """A SQL context with the store's tables.

    With ``pushdown=False`` every table is first read whole into memory (the way a plain
    "load the table, then query it" script works); the benchmark compares the two. `now` is
    the instant the `_latest` views apply the ttl at (default: the clock).
    """
    context: pl.SQLContext[pl.LazyFrame] = pl.SQLContext()
    for group in store.list_feature_groups():
        rows = _frame(store, store.table(group.name), pushdown)
        context.register(group.name, rows)
        context.register(group.name + LATEST_SUFFIX, latest_live_rows(rows, group, now))
    try:
        training_sets = store.catalog.list_tables(training_set_namespace(store.config))
    except NoSuchNamespaceError:
        training_sets = []
    for identifier in training_sets:
        table = store.catalog.load_table(identifier)
        context.register(identifier[-1], _frame(store, table, pushdown))
    return context


def run_sql(
    store: FeatureStore, query: str, *, pushdown: bool = True, now: dt.datetime | None = None
) -> pl.DataFrame:
    """The query's result; table names are group names, `<group>_latest` and training sets.

    Read-only: the tables are the feature store's, changed only through its writes.
    """
    body = query.strip().lstrip("(").strip()
    first_word = body.split(None, 1)[0].upper() if body else ""
    if first_word not in ("SELECT", "WITH", "SHOW", "EXPLAIN"):
        raise SqlError(
            f"the sql command is read-only: it runs SELECT (or WITH) queries, not {first_word!r}"
        )
    try:
        return sql_context(store, pushdown=pushdown, now=now).execute(query).collect()
    except pl.exceptions.SQLInterfaceError as exc:
        raise SqlError(f"{exc}; tables: {sorted(sql_context(store).tables())}") from exc
    except (pl.exceptions.SQLSyntaxError, pl.exceptions.ColumnNotFoundError) as exc:
        raise SqlError(str(exc)) from exc


def _frame(store: FeatureStore, table: object, pushdown: bool) -> pl.LazyFrame:
    lazy = pl.scan_iceberg(table)  # type: ignore[arg-type]
    return lazy if pushdown else lazy.collect().lazy()


class SqlError(ValueError):
    """A query that does not parse or names unknown tables or columns."""
