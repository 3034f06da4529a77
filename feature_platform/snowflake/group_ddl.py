"""The SQL that registers one feature group in Snowflake: its table, latest view and grants.

Nothing here connects to Snowflake: each function turns a `FeatureGroup` and validated
`SnowflakeSettings` into statement strings, which the Dagster asset runs through
``SnowflakeResource`` and tests compare character for character. Names and values are written
as `naming` says.

Syntax follows Snowflake's reference pages for CREATE ICEBERG TABLE (Iceberg files in object
storage; AWS Glue; Iceberg REST), ALTER ICEBERG TABLE ... REFRESH, CREATE VIEW and GRANT.
"""

from __future__ import annotations

import datetime as dt

from feature_platform.errors import InvalidSnowflakeSettingError
from feature_platform.offline_store.latest import LATEST_ORDER
from feature_platform.offline_store.schema import table_columns
from feature_platform.snowflake.metadata_paths import relative_metadata_path
from feature_platform.snowflake.naming import (
    INDENT,
    object_name,
    quote_column,
    quote_identifier,
    sql_literal,
    statement,
    table_fqn,
    view_fqn,
)
from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform.specs import EVENT_TIME_COLUMN, FeatureGroup

__all__ = ["grant_statements", "latest_view_statement", "register_statements"]


def register_statements(
    group: FeatureGroup, settings: SnowflakeSettings, metadata_location: str | None = None
) -> list[str]:
    """Create the group's Snowflake Iceberg table if missing, then bring it up to date.

    Run after every write: both statements are idempotent. With an object-store integration
    Snowflake knows the table only through a metadata file, so the REFRESH names the newest
    one; Glue and REST integrations ask the catalog, so REFRESH takes no path, and with
    `auto_refresh` Snowflake polls the catalog itself and no REFRESH is issued.

    Args:
        group: The feature group.
        settings: Where and how to register.
        metadata_location: The table's current metadata file; required for ``object_store``,
            ignored otherwise.

    Raises:
        InvalidSnowflakeSettingError: ``object_store`` without `metadata_location`.
        MetadataOutsideVolumeError: The metadata file lies outside the volume.
    """
    fqn = table_fqn(group, settings)
    lines = [
        f"CREATE ICEBERG TABLE IF NOT EXISTS {fqn}",
        f"EXTERNAL_VOLUME = {sql_literal(object_name(settings.external_volume))}",
        f"CATALOG = {sql_literal(object_name(settings.catalog_integration))}",
    ]
    if settings.integration_kind == "object_store":
        if metadata_location is None:
            raise InvalidSnowflakeSettingError(
                f"registering {group.name!r} through an object-store catalog integration needs "
                "the table's metadata_location"
            )
        path = sql_literal(relative_metadata_path(metadata_location, settings.storage_base_url))
        lines.append(f"METADATA_FILE_PATH = {path}")
        return [statement(lines), f"ALTER ICEBERG TABLE {fqn} REFRESH {path}"]
    lines.append(f"CATALOG_TABLE_NAME = {sql_literal(group.name)}")
    lines.append(f"CATALOG_NAMESPACE = {sql_literal(settings.catalog_namespace)}")
    if settings.auto_refresh:
        lines.append("AUTO_REFRESH = TRUE")
        return [statement(lines)]
    return [statement(lines), f"ALTER ICEBERG TABLE {fqn} REFRESH"]


def latest_view_statement(group: FeatureGroup, settings: SnowflakeSettings) -> str:
    """A view holding each entity's latest live row, the offline twin of the online store.

    The winner per entity is the row with the largest ``event_time``, ties broken by the
    largest ``created_at``, as in the point-in-time join and the online store; with a ttl,
    rows older than ``CURRENT_TIMESTAMP() - ttl`` are dropped *before* ranking, so an entity
    whose latest value has expired has no row (as an expired online value reads as missing).
    ``COPY GRANTS`` keeps the reader's SELECT when the view is replaced after a schema change.
    """
    columns = table_columns(group)
    select = ",\n".join(
        f"{INDENT}{quote_column(column)} AS {quote_identifier(column)}" for column in columns
    )
    comment = group.description or (
        f"Latest live row per {group.entity.name} of feature group {group.name}"
    )
    event_time = quote_column(EVENT_TIME_COLUMN)
    newest_first = ", ".join(f"{quote_column(column)} DESC" for column in LATEST_ORDER)
    keys = ", ".join(quote_column(key) for key in group.join_keys)
    lines = [
        f"CREATE OR REPLACE VIEW {view_fqn(group, settings)}",
        f"{INDENT}COPY GRANTS",
        f"{INDENT}COMMENT = {sql_literal(comment)}",
        "AS",
        "SELECT",
        select,
        f"FROM {table_fqn(group, settings)}",
    ]
    if group.ttl is not None:
        lines.append(f"WHERE {event_time} >= {_ttl_start(group.ttl)}")
    lines += [
        "QUALIFY ROW_NUMBER() OVER (",
        f"{INDENT}PARTITION BY {keys}",
        f"{INDENT}ORDER BY {newest_first}",
        ") = 1",
    ]
    return "\n".join(lines)


def _ttl_start(ttl: dt.timedelta) -> str:
    """The oldest live event time; whole seconds when exact, else microseconds (no rounding)."""
    micros = ttl // dt.timedelta(microseconds=1)
    if micros % 1_000_000 == 0:
        return f"DATEADD(second, -{micros // 1_000_000}, CURRENT_TIMESTAMP())"
    return f"DATEADD(microsecond, -{micros}, CURRENT_TIMESTAMP())"


def grant_statements(group: FeatureGroup, settings: SnowflakeSettings) -> list[str]:
    """SELECT on the group's Iceberg table and latest view for the reader role.

    The setup's future grants cover new objects already; granting explicitly keeps tables
    registered before the setup ran, or in a schema without future grants, readable.
    """
    role = quote_identifier(settings.reader_role)
    return [
        f"GRANT SELECT ON ICEBERG TABLE {table_fqn(group, settings)} TO ROLE {role}",
        f"GRANT SELECT ON VIEW {view_fqn(group, settings)} TO ROLE {role}",
    ]
