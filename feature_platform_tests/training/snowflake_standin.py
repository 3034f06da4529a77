"""A Snowflake account as far as training sets need one: fakesnow with the groups' tables.

fakesnow runs the connector's code paths and Snowflake SQL on DuckDB, but has no Iceberg tables
and no ``SYSTEM$GET_ICEBERG_TABLE_INFORMATION``. So each registered group is a plain table
holding exactly the rows Snowflake would read (the table read from its metadata file alone, as
Snowflake's object-store integration does), and the system function is a DuckDB macro on
fakesnow's own database answering, per table, the metadata file it was "refreshed" to: the
same JSON Snowflake returns. Everything else (the statements, the upload, the fetch) is the
real code path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fakesnow
import pyarrow as pa
import snowflake.connector
from pyiceberg.table import StaticTable

from feature_platform import FeatureStore
from feature_platform.snowflake.naming import table_fqn
from feature_platform.snowflake.registration import dry_run_settings
from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform.training.sql_retrieval import SnowflakeTarget


def settings_for(store: FeatureStore) -> SnowflakeSettings:
    return dry_run_settings(store.config)


@contextmanager
def snowflake_account(store: FeatureStore) -> Iterator[Any]:
    """A fakesnow connection with the refresh-state function; register groups with `register`."""
    with fakesnow.patch():
        connection = snowflake.connector.connect(database="FEATURES", schema="OFFLINE")
        duck = connection._duck_conn
        duck.execute("CREATE TABLE memory.main.fp_refreshed (fqn VARCHAR, info VARCHAR)")
        for schema in ("memory.main", "FEATURES.OFFLINE"):  # Snowflake resolves it everywhere
            duck.execute(
                f'CREATE MACRO {schema}."system$get_iceberg_table_information"(table_name) AS '
                "(SELECT info FROM memory.main.fp_refreshed WHERE fqn = table_name)"
            )
        try:
            yield connection
        finally:
            connection.close()


def register(
    connection: Any, store: FeatureStore, group: str, metadata_location: str | None = None
) -> None:
    """Register `group` as Snowflake would read it at `metadata_location` (default: now)."""
    table = store.table(group)
    location = metadata_location or table.metadata_location
    static = StaticTable.from_metadata(location, properties=dict(table.io.properties))
    rows: pa.Table = (
        static.scan().to_arrow()
        if static.current_snapshot() is not None
        else static.schema().as_arrow().empty_table()
    )
    settings = settings_for(store)
    fqn = table_fqn(store.get_feature_group(group), settings)
    name = fqn.rsplit(".", 1)[1]
    duck = connection._duck_conn
    duck.register("fp_rows", rows)
    duck.execute(f"CREATE OR REPLACE TABLE features.offline.{name} AS SELECT * FROM fp_rows")
    duck.unregister("fp_rows")
    refresh(connection, fqn, location)


def refresh(connection: Any, fqn: str, location: str) -> None:
    """Point the refresh-state answer of `fqn` at `location`."""
    info = json.dumps({"metadataLocation": location, "status": "success"})
    duck = connection._duck_conn
    duck.execute("DELETE FROM memory.main.fp_refreshed WHERE fqn = ?", [fqn])
    duck.execute("INSERT INTO memory.main.fp_refreshed VALUES (?, ?)", [fqn, info])


def target(connection: Any, store: FeatureStore) -> SnowflakeTarget:
    return SnowflakeTarget(settings_for(store), connection)
