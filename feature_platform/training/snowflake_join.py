"""Running the SQL point-in-time join in Snowflake, through a DB-API connection.

The labels are a Snowflake table or query (nothing uploaded), or a small frame uploaded to a
temporary table with the connector's ``write_pandas``. One ``CREATE OR REPLACE TABLE ... AS``
statement writes the training set to a table named from the training set and its snapshot ids
(https://docs.snowflake.com/en/sql-reference/sql/create-table, "CREATE TABLE ... AS SELECT"),
so a rebuild from the same snapshots lands in the same table; it is then fetched in label
order as Arrow (``fetch_arrow_all``) or, on a connector without Arrow, as rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from feature_platform.identifiers import validate_identifier
from feature_platform.snowflake.naming import quote_identifier
from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform.training.sql_join import (
    INSTANT_COLUMN,
    ROW_COLUMN,
    GroupRead,
    GroupSource,
    LabelSource,
    historic_columns,
    quote_name,
    training_set_select,
)


@dataclass(frozen=True)
class SnowflakeLabels:
    """Label rows already in Snowflake: a table (``LABELS`` or ``DB.SCHEMA.LABELS``) or a query.

    Args:
        table: The table; each part an unquoted-style name, resolved upper-case.
        query: A ``SELECT``; used as a subquery.
        row_column: A column numbering the rows from 0 in the order wanted; without it the
            output is ordered by the timestamp, then the join keys.
    """

    table: str | None = None
    query: str | None = None
    row_column: str | None = None

    def __post_init__(self) -> None:
        if (self.table is None) == (self.query is None):
            raise ValueError("SnowflakeLabels needs exactly one of table= or query=")

    def relation(self) -> str:
        if self.table is not None:
            return ".".join(quote_identifier(part) for part in self.table.split("."))
        assert self.query is not None
        return "(\n" + self.query.strip().rstrip(";") + "\n)"


def result_table(
    settings: SnowflakeSettings, name: str, snapshot_ids: Mapping[str, int | None]
) -> str:
    """``"DB"."SCHEMA"."<NAME>__<digest of the snapshot ids>"``."""
    validate_identifier(name, "training set")
    digest = hashlib.sha256(json.dumps(dict(snapshot_ids), sort_keys=True).encode()).hexdigest()
    return _fqn(settings, f"{name}__{digest[:12]}")


def upload_source(result: str, frame: pl.DataFrame) -> LabelSource:
    """The label source of a frame uploaded next to the result as ``<result>_LABELS``."""
    keys = tuple(
        tuple(c for c in frame.columns if c.startswith(f"K{index}_"))
        for index in range(_groups_in(frame))
    )
    return LabelSource(
        relation=result[:-1] + '_LABELS"', timestamp=INSTANT_COLUMN, keys=keys, row=ROW_COLUMN
    )


def upload_labels(
    connection: Any, settings: SnowflakeSettings, source: LabelSource, frame: pl.DataFrame
) -> None:
    """Write `frame` to the temporary table `source` names (dropped with the session)."""
    from snowflake.connector.pandas_tools import write_pandas

    table = source.relation.rsplit(".", 1)[1].strip('"')
    write_pandas(
        connection,
        frame.to_pandas(),
        table,
        database=settings.database.upper(),
        schema=settings.schema.upper(),
        auto_create_table=True,
        table_type="temporary",
        quote_identifiers=True,
        use_logical_type=True,
    )


def create_statement(result: str, labels: LabelSource, groups: Sequence[GroupSource]) -> str:
    return (
        f"CREATE OR REPLACE TABLE {result} AS\n{training_set_select(labels, groups, 'snowflake')}"
    )


def fetch_statement(result: str, columns: Sequence[str]) -> str:
    listed = ", ".join(quote_name(column) for column in columns)
    return f'SELECT {listed} FROM {result} ORDER BY "{ROW_COLUMN}"'


def group_sources(settings: SnowflakeSettings, reads: Sequence[GroupRead]) -> list[GroupSource]:
    """Each group's registered table; features missing at the snapshot read as null."""
    from feature_platform.snowflake.naming import table_fqn

    sources = []
    for read in reads:
        columns = historic_columns(read)
        readable = tuple(f for f in read.request.features if f in columns)
        sources.append(GroupSource(read.request, table_fqn(read.request.group, settings), readable))
    return sources


def run(connection: Any, statement: str, fetch: str, columns: Sequence[str]) -> pl.DataFrame:
    """Create the result table, then read it back in label order."""
    with connection.cursor() as cursor:
        cursor.execute(statement)
        cursor.execute(fetch)
        fetch_arrow = getattr(cursor, "fetch_arrow_all", None)
        if fetch_arrow is not None:
            table = fetch_arrow()
            if table is None:  # the connector's answer for no rows
                return pl.DataFrame(schema=dict.fromkeys(columns, pl.Null))
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            return frame
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema=list(columns), orient="row", infer_schema_length=None)


def _groups_in(frame: pl.DataFrame) -> int:
    return len({c.split("_", 1)[0] for c in frame.columns if c.startswith("K")})


def _fqn(settings: SnowflakeSettings, name: str) -> str:
    return ".".join(quote_identifier(part) for part in (settings.database, settings.schema, name))
