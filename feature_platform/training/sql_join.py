"""The point-in-time join as one SQL statement, for Snowflake or DuckDB.

The statement has the polars join's semantics exactly: for each label row (keys K, instant t)
and each group, the winner is the group's row with keys K and the largest ``event_time <= t``
(and ``>= t - ttl`` with a ttl, both bounds inclusive), ties in ``event_time`` broken by the
largest ``created_at``; one output row per label row, ordered by the label row number, with
nulls where nothing matches and the label's other columns passed through.

Shape of the statement (``WITH`` clauses, one set per group):

* ``FP_LABELS``: the label rows, numbered (``FP_ROW``), with the instant (``FP_T``) and each
  group's key columns under internal names (``K<group>_<key>``).
* ``FP_G<i>_ROWS``: the group's rows up to the latest label instant; for Snowflake one per
  ``(keys, event_time)``: ``QUALIFY ROW_NUMBER() OVER (... ORDER BY created_at DESC) = 1``
  (https://docs.snowflake.com/en/sql-reference/constructs/qualify,
  https://docs.snowflake.com/en/sql-reference/functions/row_number). With the ties gone the
  as-of winner is unique, whatever engine picks it.
* the match, by dialect:

  - ``snowflake``: labels and rows in one ``UNION ALL`` stream per key, ordered by instant
    with rows before labels at equal instants (inclusive as-of); a running
    ``MAX(event_time) OVER (PARTITION BY keys ORDER BY t, kind ROWS BETWEEN UNBOUNDED
    PRECEDING AND CURRENT ROW)`` gives each label its winner's event time
    (https://docs.snowflake.com/en/sql-reference/functions-analytic, window frames:
    https://docs.snowflake.com/en/sql-reference/functions-analytic#label-window-frames),
    and an equi-join on ``(keys, event_time)`` fetches the row, the ttl bound in its ``ON``
    (``DATEADD``: https://docs.snowflake.com/en/sql-reference/functions/dateadd).
    Snowflake has ``ASOF JOIN ... MATCH_CONDITION`` for this
    (https://docs.snowflake.com/en/sql-reference/constructs/asof-join), but fakesnow, the
    only Snowflake we can test against, passes ``MATCH_CONDITION`` to DuckDB unparsed, so
    the Snowflake text uses the window form, which both run: a sort per key, which
    Snowflake distributes by the ``PARTITION BY`` keys.
  - ``duckdb``: DuckDB's own ``ASOF LEFT JOIN`` (https://duckdb.org/docs/sql/query_syntax/from
    , "As-Of Joins") over keys and event times finds the winner's event time; an equi-join
    fetches that row, the ttl bound in its ``ON`` (the latest row at or before t is older
    than ``t - ttl`` exactly when no row lies in the window), and of several rows at that
    event time (corrections) ``QUALIFY`` keeps the latest ``created_at``. Here the rows are
    not deduplicated first: that would sort every row, the ASOF join only the narrow ones.

Every name is validated and double-quoted: object names and the label source's columns as
given (`quote_name`), the Iceberg tables' lowercase columns by `naming.quote_column`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from feature_platform.errors import UnsafeSnowflakeIdentifierError
from feature_platform.references import GroupRequest
from feature_platform.snowflake.naming import INDENT, quote_column
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

Dialect = Literal["snowflake", "duckdb"]
DIALECTS: Final = ("snowflake", "duckdb")
ROW_COLUMN: Final = "FP_ROW"
INSTANT_COLUMN: Final = "FP_T"
LABELS: Final = "FP_LABELS"
# Column names a label source may use: Snowflake's unquoted-identifier characters, any case.
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")


@dataclass(frozen=True)
class LabelSource:
    """Where the label rows come from, in the engine that runs the statement.

    Args:
        relation: A quoted table name, or a parenthesised query.
        timestamp: The instant column.
        keys: Per group (in request order), the source columns holding its join keys.
        row: A column numbering the rows from 0 in output order; None numbers them by
            ``timestamp`` then the keys (a table has no order of its own).
        passthrough: Columns copied to the output unchanged, in order.
    """

    relation: str
    timestamp: str
    keys: tuple[tuple[str, ...], ...]
    row: str | None = None
    passthrough: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupRead:
    """A group's table at the snapshot the training set reads (None: no data then)."""

    table: Table
    request: GroupRequest
    snapshot: Snapshot | None


def historic_columns(read: GroupRead) -> set[str]:
    """Columns of the group's table at the snapshot read (later ones read as null)."""
    schema = read.table.schema()
    if read.snapshot is not None and read.snapshot.schema_id is not None:
        schema = read.table.schemas().get(read.snapshot.schema_id, schema)
    return set(schema.column_names)


@dataclass(frozen=True)
class GroupSource:
    """One group's rows at the training set's snapshot, and the features wanted from it.

    Args:
        request: The group and features (with their output names).
        relation: A quoted table name or a table function (``read_parquet([...])``).
        readable: The requested features that exist at the snapshot; the others are null.
    """

    request: GroupRequest
    relation: str
    readable: tuple[str, ...]


def quote_name(name: str) -> str:
    """A column or alias double-quoted with its case kept (``"Label"``).

    Raises:
        UnsafeSnowflakeIdentifierError: `name` breaks ``^[A-Za-z_][A-Za-z0-9_$]{0,254}$``.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UnsafeSnowflakeIdentifierError(
            f"unsafe column name {name!r}: a SQL training set needs names matching "
            f"{_NAME.pattern}; rename it in the label source"
        )
    return f'"{name}"'


def output_columns(labels: LabelSource, groups: Sequence[GroupSource]) -> list[str]:
    """The statement's columns after ``FP_ROW``: pass-through columns, then the features."""
    features = [
        group.request.renames.get(feature, feature)
        for group in groups
        for feature in group.request.features
    ]
    return [*labels.passthrough, *features]


def training_set_select(
    labels: LabelSource, groups: Sequence[GroupSource], dialect: Dialect
) -> str:
    """The ``SELECT`` of ``FP_ROW`` and `output_columns`, ordered by ``FP_ROW``."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; use one of {list(DIALECTS)}")
    if len(labels.keys) != len(groups):
        raise ValueError("the label source must name key columns for every group")
    ctes: list[tuple[str, str]] = [(LABELS, _labels(labels))]
    for index, group in enumerate(groups):
        if dialect == "snowflake":
            ctes.append((f"FP_G{index}_ROWS", _rows(group)))
            ctes += _window_match(index, group)
        else:
            ctes.append((f"FP_G{index}_ROWS", _rows(group, deduplicate=False)))
            ctes += _asof_match(index, group)
    body = ",\n".join(f'"{name}" AS (\n{_indent(text)}\n)' for name, text in ctes)
    return f"WITH\n{body}\n{_final(labels, groups)}"


def _labels(labels: LabelSource) -> str:
    keys = [quote_name(key) for group in labels.keys for key in group]
    timestamp = quote_name(labels.timestamp)
    if labels.row is None:
        order = ", ".join(dict.fromkeys([timestamp, *keys]))
        row = f"ROW_NUMBER() OVER (ORDER BY {order}) - 1"
    else:
        row = quote_name(labels.row)
    columns = [f'{row} AS "{ROW_COLUMN}"', f'{timestamp} AS "{INSTANT_COLUMN}"']
    for index, group in enumerate(labels.keys):
        columns += [f'{quote_name(key)} AS "K{index}_{i}"' for i, key in enumerate(group)]
    columns += [quote_name(column) for column in labels.passthrough]
    return _select(columns, f'FROM {labels.relation} AS "FP_SOURCE"')


def _rows(group: GroupSource, *, deduplicate: bool = True) -> str:
    keys = [quote_column(key) for key in group.request.group.join_keys]
    event_time, created_at = quote_column(EVENT_TIME_COLUMN), quote_column(CREATED_AT_COLUMN)
    columns = [*keys, event_time, *(quote_column(f) for f in group.readable)]
    clauses = [
        f"FROM {group.relation}",
        f'WHERE {event_time} <= (SELECT MAX("{INSTANT_COLUMN}") FROM "{LABELS}")',
    ]
    if not deduplicate:
        return _select([*columns, created_at], *clauses)
    return _select(
        columns,
        *clauses,
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {', '.join([*keys, event_time])} "
        f"ORDER BY {created_at} DESC) = 1",
    )


def _window_match(index: int, group: GroupSource) -> list[tuple[str, str]]:
    keys = [quote_column(key) for key in group.request.group.join_keys]
    label_keys = [f'"K{index}_{i}"' for i in range(len(keys))]
    event_time = quote_column(EVENT_TIME_COLUMN)
    events = "\n".join(
        [
            _select(
                [
                    *(f"{k} AS {lk}" for k, lk in zip(keys, label_keys, strict=True)),
                    f'{event_time} AS "{INSTANT_COLUMN}"',
                    '0 AS "FP_KIND"',
                    f'NULL AS "{ROW_COLUMN}"',
                    f'{event_time} AS "FP_WINNER"',
                ],
                f'FROM "FP_G{index}_ROWS"',
            ),
            "UNION ALL",
            _select(
                [*label_keys, f'"{INSTANT_COLUMN}"', "1", f'"{ROW_COLUMN}"', "NULL"],
                f'FROM "{LABELS}"',
            ),
        ]
    )
    running = (
        f'MAX("FP_WINNER") OVER (PARTITION BY {", ".join(label_keys)} '
        f'ORDER BY "{INSTANT_COLUMN}", "FP_KIND" '
        'ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "FP_WINNER"'
    )
    match = _select(
        [f'"{ROW_COLUMN}"', *label_keys, f'"{INSTANT_COLUMN}"', running],
        f'FROM "FP_G{index}_EVENTS"',
        'QUALIFY "FP_KIND" = 1',
    )
    conditions = [f"r.{k} = m.{lk}" for k, lk in zip(keys, label_keys, strict=True)]
    conditions.append(f'r.{event_time} = m."FP_WINNER"')
    if group.request.group.ttl is not None:
        start = _snowflake_ttl_start(group.request.group.ttl, f'm."{INSTANT_COLUMN}"')
        conditions.append(f"r.{event_time} >= {start}")
    values = _select(
        [f'm."{ROW_COLUMN}"', *_feature_columns(group, lambda column: f"r.{column}")],
        f'FROM "FP_G{index}_MATCH" AS m',
        f'LEFT JOIN "FP_G{index}_ROWS" AS r ON ' + " AND ".join(conditions),
    )
    return [
        (f"FP_G{index}_EVENTS", events),
        (f"FP_G{index}_MATCH", match),
        (f"FP_G{index}", values),
    ]


def _asof_match(index: int, group: GroupSource) -> list[tuple[str, str]]:
    """The winner's event time by DuckDB's ASOF join, then its latest correction.

    The ASOF join reads keys and event times only; the rows of the winning ``(keys,
    event_time)`` are fetched by an equi-join, and of several (corrections) the one with the
    largest ``created_at`` kept: cheaper than deduplicating every row first.
    """
    keys = [quote_column(key) for key in group.request.group.join_keys]
    label_keys = [f'"K{index}_{i}"' for i in range(len(keys))]
    event_time, created_at = quote_column(EVENT_TIME_COLUMN), quote_column(CREATED_AT_COLUMN)
    on = [f"l.{lk} = r.{k}" for k, lk in zip(keys, label_keys, strict=True)]
    on.append(f'l."{INSTANT_COLUMN}" >= r.{event_time}')
    when = _select(
        [f'l."{ROW_COLUMN}"', *(f"l.{lk}" for lk in label_keys), f'l."{INSTANT_COLUMN}"',
         f'r.{event_time} AS "FP_WINNER"'],
        f'FROM "{LABELS}" AS l',
        f"ASOF LEFT JOIN (SELECT {', '.join([*keys, event_time])} FROM \"FP_G{index}_ROWS\") "
        "AS r ON " + " AND ".join(on),
    )  # fmt: skip
    conditions = [f"r.{k} = w.{lk}" for k, lk in zip(keys, label_keys, strict=True)]
    conditions.append(f'r.{event_time} = w."FP_WINNER"')
    ttl = group.request.group.ttl
    if ttl is not None:
        micros = ttl // dt.timedelta(microseconds=1)
        conditions.append(f'r.{event_time} >= w."{INSTANT_COLUMN}" - to_microseconds({micros})')
    values = _select(
        [f'w."{ROW_COLUMN}"', *_feature_columns(group, lambda column: f"r.{column}")],
        f'FROM "FP_G{index}_WHEN" AS w',
        f'LEFT JOIN "FP_G{index}_ROWS" AS r ON ' + " AND ".join(conditions),
        f'QUALIFY ROW_NUMBER() OVER (PARTITION BY w."{ROW_COLUMN}" '
        f"ORDER BY r.{created_at} DESC) = 1",
    )
    return [(f"FP_G{index}_WHEN", when), (f"FP_G{index}", values)]


def _feature_columns(group: GroupSource, value: Callable[[str], str]) -> list[str]:
    columns = []
    for feature in group.request.features:
        alias = quote_name(group.request.renames.get(feature, feature))
        if feature in group.readable:
            columns.append(f"{value(quote_column(feature))} AS {alias}")
        else:  # added to the group after the snapshot read: null, as in the polars join
            columns.append(f"NULL AS {alias}")
    return columns


def _final(labels: LabelSource, groups: Sequence[GroupSource]) -> str:
    columns = [f'l."{ROW_COLUMN}"', *(f"l.{quote_name(c)}" for c in labels.passthrough)]
    joins = []
    for index, group in enumerate(groups):
        for feature in group.request.features:
            columns.append(
                f'"FP_G{index}".{quote_name(group.request.renames.get(feature, feature))}'
            )
        joins.append(f'LEFT JOIN "FP_G{index}" ON "FP_G{index}"."{ROW_COLUMN}" = l."{ROW_COLUMN}"')
    return _select(columns, f'FROM "{LABELS}" AS l', *joins, f'ORDER BY l."{ROW_COLUMN}"')


def _snowflake_ttl_start(ttl: dt.timedelta, instant: str) -> str:
    """``t - ttl``: whole seconds when exact, else microseconds (never rounded)."""
    micros = ttl // dt.timedelta(microseconds=1)
    if micros % 1_000_000 == 0:
        return f"DATEADD(second, -{micros // 1_000_000}, {instant})"
    return f"DATEADD(microsecond, -{micros}, {instant})"


def _select(columns: Sequence[str], *clauses: str) -> str:
    listed = ",\n".join(f"{INDENT}{column}" for column in columns)
    return "\n".join(["SELECT", listed, *clauses])


def _indent(text: str) -> str:
    return "\n".join(f"{INDENT}{line}" for line in text.splitlines())
