"""The store's tables as a polars SQL context, and `run_sql` on top of it.

Tables are registered as lazy polars scans of the Iceberg tables (`pl.scan_iceberg`), so a
query's filters and column list reach the parquet scan: files and row groups that cannot match
are skipped, and only the named columns are decoded. No server, no copy: the same files Snowflake
and Spark read.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from pyiceberg.exceptions import NoSuchNamespaceError

from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup
from feature_platform.sql.guard import SqlError, check_query
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

    The context runs whatever it is given, table functions included: give it only queries that
    `run_sql` (through `check_query`) let through.
    """
    context: pl.SQLContext[pl.LazyFrame] = pl.SQLContext()
    for group in store.list_feature_groups():
        rows = _frame(store.table(group.name), pushdown)
        context.register(group.name, rows)
        context.register(group.name + LATEST_SUFFIX, latest_live_rows(rows, group, now))
    try:
        training_sets = store.catalog.list_tables(training_set_namespace(store.config))
    except NoSuchNamespaceError:
        training_sets = []
    for identifier in training_sets:
        table = store.catalog.load_table(identifier)
        context.register(identifier[-1], _frame(table, pushdown))
    return context


def run_sql(
    store: FeatureStore, query: str, *, pushdown: bool = True, now: dt.datetime | None = None
) -> pl.DataFrame:
    """The query's result; table names are group names, `<group>_latest` and training sets.

    Read-only, and only those tables: a query that would read anything else (a file, a URL, a
    table function) or change anything is refused before it runs. Every failure, refused or
    not, is a `SqlError` with polars' first line of explanation, not its plan dump.

    Raises:
        SqlError: The query is refused, does not parse, names an unknown table or column, or
            fails while it runs (a bad cast, an unreadable file).
    """
    checked = check_query(query)
    try:
        context = sql_context(store, pushdown=pushdown, now=now)
        tables = sorted(context.tables())
        known = {name.lower() for name in tables}
        if unknown := sorted(checked.relations - known):
            raise SqlError(f"unknown table {unknown[0]!r}; tables: {tables}")
        try:
            return context.execute(checked.text).collect()
        except pl.exceptions.SQLInterfaceError as exc:
            raise SqlError(f"{_headline(exc)}; tables: {tables}") from exc
        except (pl.exceptions.SQLSyntaxError, pl.exceptions.ColumnNotFoundError) as exc:
            raise SqlError(_headline(exc)) from exc
    except (pl.exceptions.PolarsError, OSError) as exc:  # computing: a bad cast, a lost file
        raise SqlError(f"the query failed: {_headline(exc)}") from exc


def _headline(exc: BaseException) -> str:
    """polars' explanation without the plan it appends after a blank line."""
    return str(exc).split("\n\n", 1)[0].strip() or type(exc).__name__


def _frame(table: object, pushdown: bool) -> pl.LazyFrame:
    lazy = pl.scan_iceberg(table)  # type: ignore[arg-type]
    return lazy if pushdown else lazy.collect().lazy()
