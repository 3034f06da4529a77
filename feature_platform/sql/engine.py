"""The store's tables as a polars SQL context, and `run_sql` on top of it.

Tables are registered as lazy polars scans of the Iceberg tables (`pl.scan_iceberg`), so a
query's filters and column list reach the parquet scan: files and row groups that cannot match
are skipped, and only the named columns are decoded. No server, no copy: the same files Snowflake
and Spark read.
"""

from __future__ import annotations

import datetime as dt
import logging

import polars as pl
from pyiceberg.exceptions import NoSuchNamespaceError

from feature_platform.identifiers import LATEST_SUFFIX as LATEST_SUFFIX
from feature_platform.offline_store.latest import latest_per_entity
from feature_platform.specs import EVENT_TIME_COLUMN, FeatureGroup
from feature_platform.sql.guard import SqlError, check_query
from feature_platform.store import FeatureStore
from feature_platform.training.storage import training_set_namespace

logger = logging.getLogger(__name__)


def latest_live_rows(
    rows: pl.LazyFrame, group: FeatureGroup, now: dt.datetime | None = None
) -> pl.LazyFrame:
    """The latest row per entity still within the ttl: what the online store should serve."""
    if group.ttl is not None:
        now = now or dt.datetime.now(dt.UTC)
        rows = rows.filter(pl.col(EVENT_TIME_COLUMN) >= now - group.ttl)
    return latest_per_entity(rows, group.join_keys)


def sql_context(
    store: FeatureStore, *, pushdown: bool = True, now: dt.datetime | None = None
) -> pl.SQLContext[pl.LazyFrame]:
    """A SQL context with the store's tables.

    With ``pushdown=False`` every table is first read whole into memory (the way a plain
    "load the table, then query it" script works); the benchmark compares the two. `now` is
    the instant the `_latest` views apply the ttl at (default: the clock).

    A name that two relations would answer to (possible only for tables created before such
    names were refused) is left out, with a warning in the log, rather than silently meaning
    whichever was registered last; `run_sql` refuses a query naming it.

    The context runs whatever it is given, table functions included: give it only queries that
    `run_sql` (through `check_query`) let through.
    """
    return _registered(store, pushdown, now)[0]


def _registered(
    store: FeatureStore, pushdown: bool, now: dt.datetime | None
) -> tuple[pl.SQLContext[pl.LazyFrame], dict[str, str]]:
    """The context, and each ambiguous name with what it would have meant."""
    relations: dict[str, tuple[str, pl.LazyFrame]] = {}
    clashes: dict[str, list[str]] = {}

    def add(name: str, meaning: str, frame: pl.LazyFrame) -> None:
        if name in clashes:
            clashes[name].append(meaning)
        elif name in relations:
            clashes[name] = [relations.pop(name)[0], meaning]
        else:
            relations[name] = (meaning, frame)

    for group in store.list_feature_groups():
        rows = _frame(store.table(group.name), pushdown)
        add(group.name, f"feature group {group.name!r}", rows)
        add(
            group.name + LATEST_SUFFIX,
            f"the latest-value view of group {group.name!r}",
            latest_live_rows(rows, group, now),
        )
    namespace = training_set_namespace(store.config)
    try:
        training_sets = store.catalog.list_tables(namespace)
    except NoSuchNamespaceError:
        training_sets = []
    for identifier in training_sets:
        table = store.catalog.load_table(identifier)
        add(identifier[-1], f"training set {namespace}.{identifier[-1]}", _frame(table, pushdown))
    context: pl.SQLContext[pl.LazyFrame] = pl.SQLContext()
    for name, (_, frame) in relations.items():
        context.register(name, frame)
    explained = {
        name: f"table {name!r} is ambiguous, so it was left out: it would be "
        + " and ".join(meanings)
        + "; rename or drop one of them"
        for name, meanings in clashes.items()
    }
    for message in explained.values():
        logger.warning(message)
    return context, explained


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
        context, clashes = _registered(store, pushdown, now)
        if ambiguous := sorted(checked.relations & set(clashes)):
            raise SqlError(clashes[ambiguous[0]])
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
