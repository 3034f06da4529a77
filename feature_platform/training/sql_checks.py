"""What must hold in Snowflake before a training-set statement runs, checked with reads only.

* every group's Iceberg table is registered (``INFORMATION_SCHEMA.TABLES``,
  https://docs.snowflake.com/en/sql-reference/info-schema/tables);
* Snowflake has been refreshed to exactly the snapshot the training set records. Snowflake
  answers which metadata file it reads with ``SYSTEM$GET_ICEBERG_TABLE_INFORMATION``
  (https://docs.snowflake.com/en/sql-reference/functions/system_get_iceberg_table_information:
  for an externally managed table, "the latest refreshed snapshot"); that file's
  ``current-snapshot-id``, read with pyiceberg, must be the snapshot resolved from the catalog.
  The function needs a role with OWNERSHIP of the table (the role that registers it).
  An Iceberg table in Snowflake reads its refreshed state only, so a training set ``as_of`` an
  older snapshot cannot be built there and is refused with that reason;
* the label table or query has the timestamp and every join key, the timestamp with a time
  zone (``TIMESTAMP_TZ`` or ``TIMESTAMP_LTZ``; an ``NTZ`` instant is ambiguous, as a naive
  timestamp is in a frame). Its columns come from the cursor's description of
  ``SELECT * ... LIMIT 0``, which runs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from pyiceberg.table import StaticTable

from feature_platform.errors import (
    NaiveTimestampError,
    SchemaMismatchError,
    SnowflakeTableStateError,
)
from feature_platform.references import GroupRequest
from feature_platform.snowflake.naming import sql_literal, table_fqn, table_name
from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform.training.sql_join import GroupRead

# The connector's FIELD_TYPES codes of TIMESTAMP_LTZ and TIMESTAMP_TZ.
_ZONED_TIMESTAMPS: Final = frozenset({6, 7})
_TYPE_NAMES: Final = {3: "DATE", 4: "TIMESTAMP", 8: "TIMESTAMP_NTZ", 2: "TEXT", 0: "NUMBER"}


def check_registered(cursor: Any, settings: SnowflakeSettings, reads: Sequence[GroupRead]) -> None:
    """Raises SnowflakeTableStateError naming every group without a Snowflake table."""
    database = '"' + settings.database.upper() + '"'
    missing = []
    for read in reads:
        name = table_name(read.request.group, settings)
        cursor.execute(
            f"SELECT COUNT(*) FROM {database}.INFORMATION_SCHEMA.TABLES "
            f"WHERE TABLE_SCHEMA = {sql_literal(settings.schema.upper())} "
            f"AND TABLE_NAME = {sql_literal(name)}"
        )
        if not cursor.fetchall()[0][0]:
            missing.append(f"{read.request.group.name} ({table_fqn(read.request.group, settings)})")
    if missing:
        raise SnowflakeTableStateError(
            f"feature groups not registered in Snowflake: {missing}; materialize "
            "snowflake/<group> (or run `feature-platform snowflake register <group>`) first"
        )


def check_refreshed(cursor: Any, settings: SnowflakeSettings, read: GroupRead) -> None:
    """Raises SnowflakeTableStateError unless Snowflake reads exactly `read.snapshot`."""
    fqn = table_fqn(read.request.group, settings)
    cursor.execute(f"SELECT SYSTEM$GET_ICEBERG_TABLE_INFORMATION({sql_literal(fqn)})")
    answer = json.loads(cursor.fetchall()[0][0])
    location = answer.get("metadataLocation")
    if answer.get("status") != "success" or not location:
        raise SnowflakeTableStateError(
            f"Snowflake cannot say which snapshot {fqn} reads: {answer}; refresh it "
            f"(materialize snowflake/{read.request.group.name})"
        )
    if "://" not in location and not location.startswith("/"):
        location = settings.storage_base_url.rstrip("/") + "/" + location
    metadata = StaticTable.from_metadata(location, properties=dict(read.table.io.properties))
    held = metadata.metadata.current_snapshot_id
    wanted = read.snapshot.snapshot_id if read.snapshot else None
    if held == wanted:
        return
    current = read.table.current_snapshot()
    older = wanted is not None and current is not None and wanted != current.snapshot_id
    advice = (
        "Snowflake reads a table's refreshed state only, so a training set as of an older "
        "snapshot is built with engine='polars' or 'duckdb'"
        if older
        else f"materialize snowflake/{read.request.group.name} to refresh it"
    )
    raise SnowflakeTableStateError(
        f"Snowflake's {fqn} is at snapshot {held} but the training set reads snapshot "
        f"{wanted} of feature group {read.request.group.name!r}; {advice}"
    )


def describe(cursor: Any, relation: str) -> list[tuple[str, int]]:
    """(name, type code) of each column of `relation`, from a query that reads no rows."""
    cursor.execute(f'SELECT * FROM {relation} AS "FP_SOURCE" LIMIT 0')
    return [(column.name, column.type_code) for column in cursor.description]


def label_columns(
    columns: Sequence[tuple[str, int]],
    timestamp: str,
    requests: Sequence[GroupRequest],
) -> tuple[str, tuple[tuple[str, ...], ...]]:
    """The source's timestamp column and each group's key columns, matched by name.

    A name matches exactly, or else case-insensitively when that is unambiguous (Snowflake
    stores unquoted names upper-cased, so a label table made with ``user_id`` has ``USER_ID``).

    Raises:
        SchemaMismatchError: A timestamp or key column is missing or ambiguous.
        NaiveTimestampError: The timestamp has no time zone (``TIMESTAMP_NTZ``) or is a date.
    """
    names = [name for name, _ in columns]
    types = dict(columns)
    stamp = find_column(names, timestamp, "timestamp column")
    if types[stamp] not in _ZONED_TIMESTAMPS:
        kind = _TYPE_NAMES.get(types[stamp], f"type code {types[stamp]}")
        raise NaiveTimestampError(
            f"label column {stamp!r} is {kind}, not an instant; use TIMESTAMP_TZ or "
            f"TIMESTAMP_LTZ, e.g. CONVERT_TIMEZONE('UTC', {stamp})"
        )
    keys = tuple(
        tuple(
            find_column(names, key, f"join key of feature group {r.group.name!r}")
            for key in r.group.join_keys
        )
        for r in requests
    )
    return stamp, keys


def find_column(names: Sequence[str], wanted: str, what: str) -> str:
    """`wanted` among `names`: exactly, or case-insensitively when unambiguous.

    Raises:
        SchemaMismatchError: No column, or several, match.
    """
    if wanted in names:
        return wanted
    folded = [name for name in names if name.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    reason = "several columns match it" if folded else "it is missing"
    raise SchemaMismatchError(
        f"the label source has no single {what} {wanted!r} ({reason}); its columns are {names}"
    )
