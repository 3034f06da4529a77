"""The SQL that registers our Iceberg offline tables in Snowflake, as pure functions.

Nothing here connects to Snowflake: each function turns a `FeatureGroup` and validated
`SnowflakeSettings` into statement strings, which the Dagster asset runs through
``SnowflakeResource`` and tests compare character for character.

Quoting rules, applied everywhere:

* Snowflake object names are double-quoted and upper-cased (``"FEATURES"."OFFLINE"."CLICKS"``).
  Upper case is how Snowflake stores unquoted names, so people can still write
  ``features.offline.clicks``; the quotes make reserved words (a group named ``order``) legal.
* Iceberg column names keep their case in Snowflake, so the table's lowercase columns are
  referenced quoted as they are (``"user_id"``); the latest-value view re-exposes them under
  upper-case names (``"user_id" AS "USER_ID"``) that BI tools can use unquoted.
* Strings are single-quoted with ``'`` doubled and ``\\`` doubled, because Snowflake treats a
  backslash in a string literal as the start of an escape sequence.
* Names are checked against the identifier rules again here, not only in the settings, so a
  hand-built value can never reach a statement unchecked.

Syntax follows Snowflake's reference pages for CREATE ICEBERG TABLE (Iceberg files in object
storage; AWS Glue; Iceberg REST), ALTER ICEBERG TABLE ... REFRESH, CREATE EXTERNAL VOLUME,
CREATE CATALOG INTEGRATION (object storage; AWS Glue; Iceberg REST), CREATE VIEW and GRANT.
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from urllib.parse import unquote

from feature_platform.errors import (
    InvalidSnowflakeSettingError,
    MetadataOutsideVolumeError,
    NameClashError,
    UnsafeSnowflakeIdentifierError,
    UnsafeSnowflakeLiteralError,
)
from feature_platform.identifiers import IDENTIFIER_PATTERN
from feature_platform.offline_store.schema import table_columns
from feature_platform.snowflake.column_types import (
    UnsupportedColumn,
    snowflake_type,
    unsupported_columns,
)
from feature_platform.snowflake.settings import (
    SnowflakeSettings,
    env_name,
    validate_snowflake_identifier,
)
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup

__all__ = [
    "UnsupportedColumn",
    "grant_statements",
    "latest_view_statement",
    "quote_column",
    "quote_identifier",
    "register_statements",
    "relative_metadata_path",
    "setup_statements",
    "snowflake_type",
    "sql_literal",
    "table_fqn",
    "table_name",
    "unsupported_columns",
    "view_fqn",
    "view_name",
]

# Name of the volume's one storage location; a label only Snowflake's DESC output shows.
STORAGE_LOCATION_NAME: Final = "feature_platform_s3"
_S3_SCHEMES: Final = frozenset({"s3", "s3a", "s3n"})
_INDENT: Final = "  "


# --- quoting ---------------------------------------------------------------------------------


def quote_identifier(name: str) -> str:
    """A Snowflake object name, upper-cased and double-quoted: ``features`` -> ``"FEATURES"``.

    Raises:
        UnsafeSnowflakeIdentifierError: `name` breaks ``^[A-Za-z_][A-Za-z0-9_$]{0,254}$``.
    """
    return '"' + validate_snowflake_identifier(name, "object").upper() + '"'


def quote_column(name: str) -> str:
    """An Iceberg column as Snowflake knows it: case kept, double-quoted (``"user_id"``).

    Raises:
        UnsafeSnowflakeIdentifierError: `name` breaks our ``^[a-z][a-z0-9_]{0,62}$`` rule.
    """
    if not isinstance(name, str) or not IDENTIFIER_PATTERN.fullmatch(name):
        raise UnsafeSnowflakeIdentifierError(
            f"unsafe column name {name!r}: columns must match {IDENTIFIER_PATTERN.pattern}"
        )
    return f'"{name}"'


def sql_literal(text: str) -> str:
    """A Snowflake single-quoted string literal holding exactly `text`.

    Backslashes are doubled first (Snowflake reads ``\\`` as an escape), then quotes.

    Raises:
        UnsafeSnowflakeLiteralError: `text` is not a string or contains NUL, which no
            Snowflake literal can hold verbatim.
    """
    if not isinstance(text, str):
        raise UnsafeSnowflakeLiteralError(f"a SQL literal needs a string, not {text!r}")
    if "\x00" in text:
        raise UnsafeSnowflakeLiteralError(f"text {text!r} contains a NUL character")
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _fqn(settings: SnowflakeSettings, name: str) -> str:
    return ".".join(quote_identifier(part) for part in (settings.database, settings.schema, name))


def table_name(group: FeatureGroup, settings: SnowflakeSettings) -> str:
    """The Snowflake table's name (unquoted, upper case): prefix + group name.

    Tables and views share a schema, and names are upper-cased, so a group whose name ends in
    the view suffix (``clicks_latest`` with ``_LATEST``) would take the name of another group's
    view (``CLICKS`` + ``_LATEST``). Such a group is refused whether that other group exists
    or not: the answer must not depend on the order groups are registered in.

    Raises:
        UnsafeSnowflakeIdentifierError: The name breaks Snowflake's identifier rule.
        NameClashError: The name ends in the view suffix.
    """
    name = validate_snowflake_identifier(settings.table_prefix + group.name, "table").upper()
    suffix = settings.view_suffix.upper()
    # prefix + g == prefix + h + suffix exactly when g ends in the suffix after something.
    if group.name.upper().endswith(suffix) and len(group.name) > len(suffix):
        other = group.name[: -len(suffix)]
        raise NameClashError(
            f"feature group {group.name!r} would be the Snowflake table {name}, the name of "
            f"the latest-value view of group {other!r} (table name + view suffix {suffix}); "
            f"rename the group, e.g. {'latest_' + other!r}, or choose another view suffix "
            f"({env_name('view_suffix')})"
        )
    return name


def view_name(group: FeatureGroup, settings: SnowflakeSettings) -> str:
    """The latest-value view's name (unquoted, upper case): table name + suffix."""
    name = table_name(group, settings) + settings.view_suffix
    return validate_snowflake_identifier(name, "view").upper()


def table_fqn(group: FeatureGroup, settings: SnowflakeSettings) -> str:
    """``"DB"."SCHEMA"."TABLE"`` of the group's Iceberg table."""
    return _fqn(settings, table_name(group, settings))


def view_fqn(group: FeatureGroup, settings: SnowflakeSettings) -> str:
    """``"DB"."SCHEMA"."TABLE_LATEST"`` of the group's latest-value view."""
    return _fqn(settings, view_name(group, settings))


# --- metadata paths --------------------------------------------------------------------------


def relative_metadata_path(metadata_location: str, storage_base_url: str) -> str:
    """The metadata file's path relative to the external volume, as Snowflake wants it.

    ``s3://``, ``s3a://`` and ``s3n://`` name the same S3 objects; ``file://`` URIs and
    absolute plain paths name the same local files (percent-escapes in ``file://`` URIs are
    decoded, as `Path.as_uri` writes them). The result has no leading slash.

    Args:
        metadata_location: The table's current metadata file (pyiceberg's
            ``table.metadata_location``).
        storage_base_url: The external volume's ``STORAGE_BASE_URL``.

    Raises:
        MetadataOutsideVolumeError: The file is not below `storage_base_url` (other scheme,
            bucket or folder), or is the folder itself.
        InvalidSnowflakeSettingError: Either location is malformed: relative plain path,
            unsupported scheme, ``.``/``..`` or empty segments.
    """
    scheme, authority, segments = _split_location(metadata_location, "metadata_location")
    base_scheme, base_authority, base_segments = _split_location(
        storage_base_url, "storage_base_url", folder=True
    )
    inside = (
        scheme == base_scheme
        and authority == base_authority
        and len(segments) > len(base_segments)
        and segments[: len(base_segments)] == base_segments
    )
    if not inside:
        raise MetadataOutsideVolumeError(
            f"metadata file {metadata_location!r} is not inside the external volume's "
            f"STORAGE_BASE_URL {storage_base_url!r}; Snowflake can only read files below it. "
            "Point the volume at the warehouse root, or write the table under it."
        )
    return "/".join(segments[len(base_segments) :])


def _split_location(
    location: str, what: str, *, folder: bool = False
) -> tuple[str, str, tuple[str, ...]]:
    """(scheme, bucket or host, path segments) with aliases folded, so prefixes compare."""
    if not isinstance(location, str) or not location:
        raise InvalidSnowflakeSettingError(f"{what} must be a non-empty string, not {location!r}")
    if "://" in location:
        scheme, rest = location.split("://", 1)
        scheme = scheme.lower()
        authority, _, path = rest.partition("/")
        if scheme in _S3_SCHEMES:
            scheme = "s3"
            if not authority:
                raise InvalidSnowflakeSettingError(f"{what} {location!r} names no bucket")
        elif scheme == "file":
            if authority not in ("", "localhost"):
                raise InvalidSnowflakeSettingError(
                    f"{what} {location!r} names a remote host; file URIs must be local"
                )
            authority, path = "", unquote(path)
        else:
            raise InvalidSnowflakeSettingError(
                f"{what} {location!r} uses scheme {scheme!r}; use s3://, s3a://, file:// or an "
                "absolute path"
            )
    else:
        if not location.startswith("/"):
            raise InvalidSnowflakeSettingError(
                f"{what} {location!r} is a relative path; give an absolute path or a URI"
            )
        scheme, authority, path = "file", "", location[1:]
    segments = path.split("/") if path else []
    if folder and segments and segments[-1] == "":
        segments.pop()  # a folder's trailing slash
    if "" in segments:
        raise InvalidSnowflakeSettingError(
            f"{what} {location!r} has an empty path segment ('//' or a trailing '/')"
        )
    if {".", ".."} & set(segments):
        raise InvalidSnowflakeSettingError(
            f"{what} {location!r} has a '.' or '..' segment; give the normalised path"
        )
    return scheme, authority, tuple(segments)


# --- per-group statements --------------------------------------------------------------------


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
        f"EXTERNAL_VOLUME = {sql_literal(_object_name(settings.external_volume))}",
        f"CATALOG = {sql_literal(_object_name(settings.catalog_integration))}",
    ]
    if settings.integration_kind == "object_store":
        if metadata_location is None:
            raise InvalidSnowflakeSettingError(
                f"registering {group.name!r} through an object-store catalog integration needs "
                "the table's metadata_location"
            )
        path = sql_literal(relative_metadata_path(metadata_location, settings.storage_base_url))
        lines.append(f"METADATA_FILE_PATH = {path}")
        return [_statement(lines), f"ALTER ICEBERG TABLE {fqn} REFRESH {path}"]
    lines.append(f"CATALOG_TABLE_NAME = {sql_literal(group.name)}")
    lines.append(f"CATALOG_NAMESPACE = {sql_literal(settings.catalog_namespace)}")
    if settings.auto_refresh:
        lines.append("AUTO_REFRESH = TRUE")
        return [_statement(lines)]
    return [_statement(lines), f"ALTER ICEBERG TABLE {fqn} REFRESH"]


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
        f"{_INDENT}{quote_column(column)} AS {quote_identifier(column)}" for column in columns
    )
    comment = group.description or (
        f"Latest live row per {group.entity.name} of feature group {group.name}"
    )
    event_time, created_at = quote_column(EVENT_TIME_COLUMN), quote_column(CREATED_AT_COLUMN)
    keys = ", ".join(quote_column(key) for key in group.join_keys)
    lines = [
        f"CREATE OR REPLACE VIEW {view_fqn(group, settings)}",
        f"{_INDENT}COPY GRANTS",
        f"{_INDENT}COMMENT = {sql_literal(comment)}",
        "AS",
        "SELECT",
        select,
        f"FROM {table_fqn(group, settings)}",
    ]
    if group.ttl is not None:
        lines.append(f"WHERE {event_time} >= {_ttl_start(group.ttl)}")
    lines += [
        "QUALIFY ROW_NUMBER() OVER (",
        f"{_INDENT}PARTITION BY {keys}",
        f"{_INDENT}ORDER BY {event_time} DESC, {created_at} DESC",
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


# --- one-time setup --------------------------------------------------------------------------


def setup_statements(settings: SnowflakeSettings) -> list[str]:
    """The one-time admin DDL: external volume, catalog integration, database, schema, role.

    Meant to be reviewed and run once by an account administrator (creating volumes and
    integrations needs ACCOUNTADMIN or equivalent), not by the pipeline. The storage base URL
    comes from `settings`, the same value registration uses, so setup and registration cannot
    disagree about where relative metadata paths start. Every CREATE is IF NOT EXISTS, so a
    rerun changes nothing. A REST integration's credentials are never generated: its
    REST_AUTHENTICATION block must be filled in before running (the statement fails as is).

    Raises:
        InvalidSnowflakeSettingError: A setting the chosen integration needs is missing
            (the message names its environment variable).
    """
    _require(settings, "storage_aws_role_arn", *SETUP_NEEDS[settings.integration_kind])
    volume = quote_identifier(settings.external_volume)
    integration = quote_identifier(settings.catalog_integration)
    database = quote_identifier(settings.database)
    schema = f"{database}.{quote_identifier(settings.schema)}"
    role = quote_identifier(settings.reader_role)
    role_arn = sql_literal(str(settings.storage_aws_role_arn))
    statements = [
        _statement(
            [
                f"CREATE EXTERNAL VOLUME IF NOT EXISTS {volume}",
                "STORAGE_LOCATIONS = (",
                f"{_INDENT}(",
                f"{_INDENT * 2}NAME = {sql_literal(STORAGE_LOCATION_NAME)}",
                f"{_INDENT * 2}STORAGE_PROVIDER = 'S3'",
                f"{_INDENT * 2}STORAGE_BASE_URL = {sql_literal(settings.storage_base_url)}",
                f"{_INDENT * 2}STORAGE_AWS_ROLE_ARN = {role_arn}",
                f"{_INDENT})",
                ")",
                # pyiceberg writes the tables; Snowflake only reads them.
                "ALLOW_WRITES = FALSE",
            ]
        ),
        "\n".join(
            [
                "-- Trust step, once: DESC EXTERNAL VOLUME shows STORAGE_AWS_IAM_USER_ARN and",
                "-- STORAGE_AWS_EXTERNAL_ID. Add them to the trust policy of IAM role",
                f"-- {settings.storage_aws_role_arn}",
                '-- (Principal "AWS" and condition "sts:ExternalId") so Snowflake can assume it;',
                "-- then SELECT SYSTEM$VERIFY_EXTERNAL_VOLUME("
                f"{sql_literal(_object_name(settings.external_volume))}) must succeed.",
                f"DESC EXTERNAL VOLUME {volume}",
            ]
        ),
        *_integration_statements(settings, integration),
        f"CREATE DATABASE IF NOT EXISTS {database}",
        f"CREATE SCHEMA IF NOT EXISTS {schema}",
        f"CREATE ROLE IF NOT EXISTS {role}",
        f"GRANT USAGE ON DATABASE {database} TO ROLE {role}",
        f"GRANT USAGE ON SCHEMA {schema} TO ROLE {role}",
        f"GRANT SELECT ON FUTURE ICEBERG TABLES IN SCHEMA {schema} TO ROLE {role}",
        f"GRANT SELECT ON FUTURE VIEWS IN SCHEMA {schema} TO ROLE {role}",
    ]
    return statements


def _integration_statements(settings: SnowflakeSettings, integration: str) -> list[str]:
    head = [f"CREATE CATALOG INTEGRATION IF NOT EXISTS {integration}"]
    namespace = f"CATALOG_NAMESPACE = {sql_literal(settings.catalog_namespace)}"
    if settings.integration_kind == "object_store":
        body = ["CATALOG_SOURCE = OBJECT_STORE", "TABLE_FORMAT = ICEBERG", "ENABLED = TRUE"]
        return [_statement(head + body)]
    if settings.integration_kind == "glue":
        _require(settings, "glue_aws_role_arn", "glue_catalog_id")
        body = [
            "CATALOG_SOURCE = GLUE",
            "TABLE_FORMAT = ICEBERG",
            f"GLUE_AWS_ROLE_ARN = {sql_literal(str(settings.glue_aws_role_arn))}",
            f"GLUE_CATALOG_ID = {sql_literal(str(settings.glue_catalog_id))}",
        ]
        if settings.glue_region is not None:
            body.append(f"GLUE_REGION = {sql_literal(settings.glue_region)}")
        body += [namespace, "ENABLED = TRUE"]
        trust = [
            "-- Trust step, once: DESC CATALOG INTEGRATION shows GLUE_AWS_IAM_USER_ARN and",
            "-- GLUE_AWS_EXTERNAL_ID. Add them to the trust policy of IAM role",
            f"-- {settings.glue_aws_role_arn}",
            '-- (Principal "AWS" and condition "sts:ExternalId") so Snowflake can read Glue.',
            f"DESC CATALOG INTEGRATION {integration}",
        ]
        return [_statement(head + body), "\n".join(trust)]
    _require(settings, "rest_catalog_uri")
    rest_config = [f"{_INDENT}CATALOG_URI = {sql_literal(str(settings.rest_catalog_uri))}"]
    if settings.rest_catalog_name is not None:
        rest_config.append(f"{_INDENT}CATALOG_NAME = {sql_literal(settings.rest_catalog_name)}")
    body = [
        "CATALOG_SOURCE = ICEBERG_REST",
        "TABLE_FORMAT = ICEBERG",
        namespace,
        "REST_CONFIG = (",
        *rest_config,
        ")",
        "REST_AUTHENTICATION = (",
        f"{_INDENT}-- Not generated: credentials never belong in generated SQL. Fill in one of",
        f"{_INDENT}--   TYPE = SIGV4 SIGV4_IAM_ROLE = '<iam role arn>' SIGV4_SIGNING_REGION = "
        "'<region>'",
        f"{_INDENT}--     (SigV4 also needs CATALOG_API_TYPE in REST_CONFIG, e.g. AWS_S3TABLES)",
        f"{_INDENT}--   TYPE = OAUTH OAUTH_CLIENT_ID = '<id>' OAUTH_CLIENT_SECRET = '<secret>' "
        "OAUTH_ALLOWED_SCOPES = ('<scope>')",
        f"{_INDENT}--   TYPE = BEARER BEARER_TOKEN = '<token>'",
        f"{_INDENT}-- This statement fails until you do.",
        ")",
        "ENABLED = TRUE",
    ]
    trust = [
        "-- Trust step, once, for SigV4: DESC CATALOG INTEGRATION shows API_AWS_IAM_USER_ARN and",
        "-- API_AWS_EXTERNAL_ID. Add them to the trust policy of the SIGV4_IAM_ROLE.",
        f"DESC CATALOG INTEGRATION {integration}",
    ]
    return [_statement(head + body), "\n".join(trust)]


# What the setup SQL needs beyond the volume's role, per integration kind: checked together with
# the role up front, so one error names every variable still to set.
SETUP_NEEDS: dict[str, tuple[str, ...]] = {
    "object_store": (),
    "glue": ("glue_aws_role_arn", "glue_catalog_id"),
    "rest": ("rest_catalog_uri",),
}


def _require(settings: SnowflakeSettings, *names: str) -> None:
    missing = [name for name in names if getattr(settings, name) is None]
    if missing:
        raise InvalidSnowflakeSettingError(
            f"the {settings.integration_kind} setup SQL needs {missing}; set "
            f"{[env_name(name) for name in missing]}"
        )


def _object_name(name: str) -> str:
    """A Snowflake name as a string-literal reference resolves it: upper case, like unquoted.

    CREATE ICEBERG TABLE takes the volume and integration as strings; Snowflake resolves an
    unquoted name inside them case-insensitively, so the upper-case name matches the objects
    the setup SQL creates as ``"NAME"``.
    """
    return validate_snowflake_identifier(name, "object").upper()


def _statement(lines: list[str]) -> str:
    """First line flush, the rest indented: one clause per line, as Snowflake's docs write it."""
    return "\n".join([lines[0], *(f"{_INDENT}{line}" for line in lines[1:])])
