"""The one-time admin SQL behind registration: external volume, catalog integration, database,
schema and reader role.

Reviewed and run once by an account administrator, never by the pipeline; pure functions like
the per-group DDL, written as `naming` says. Syntax follows Snowflake's reference pages for
CREATE EXTERNAL VOLUME, CREATE CATALOG INTEGRATION (object storage; AWS Glue; Iceberg REST) and
GRANT.
"""

from __future__ import annotations

from typing import Final

from feature_platform.errors import InvalidSnowflakeSettingError
from feature_platform.snowflake.naming import (
    INDENT,
    object_name,
    quote_identifier,
    sql_literal,
    statement,
)
from feature_platform.snowflake.settings import SnowflakeSettings, env_name

__all__ = ["SETUP_NEEDS", "setup_statements"]

# Name of the volume's one storage location; a label only Snowflake's DESC output shows.
STORAGE_LOCATION_NAME: Final = "feature_platform_s3"


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
        statement(
            [
                f"CREATE EXTERNAL VOLUME IF NOT EXISTS {volume}",
                "STORAGE_LOCATIONS = (",
                f"{INDENT}(",
                f"{INDENT * 2}NAME = {sql_literal(STORAGE_LOCATION_NAME)}",
                f"{INDENT * 2}STORAGE_PROVIDER = 'S3'",
                f"{INDENT * 2}STORAGE_BASE_URL = {sql_literal(settings.storage_base_url)}",
                f"{INDENT * 2}STORAGE_AWS_ROLE_ARN = {role_arn}",
                f"{INDENT})",
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
                f"{sql_literal(object_name(settings.external_volume))}) must succeed.",
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
        return [statement(head + body)]
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
        return [statement(head + body), "\n".join(trust)]
    _require(settings, "rest_catalog_uri")
    rest_config = [f"{INDENT}CATALOG_URI = {sql_literal(str(settings.rest_catalog_uri))}"]
    if settings.rest_catalog_name is not None:
        rest_config.append(f"{INDENT}CATALOG_NAME = {sql_literal(settings.rest_catalog_name)}")
    body = [
        "CATALOG_SOURCE = ICEBERG_REST",
        "TABLE_FORMAT = ICEBERG",
        namespace,
        "REST_CONFIG = (",
        *rest_config,
        ")",
        "REST_AUTHENTICATION = (",
        f"{INDENT}-- Not generated: credentials never belong in generated SQL. Fill in one of",
        f"{INDENT}--   TYPE = SIGV4 SIGV4_IAM_ROLE = '<iam role arn>' SIGV4_SIGNING_REGION = "
        "'<region>'",
        f"{INDENT}--     (SigV4 also needs CATALOG_API_TYPE in REST_CONFIG, e.g. AWS_S3TABLES)",
        f"{INDENT}--   TYPE = OAUTH OAUTH_CLIENT_ID = '<id>' OAUTH_CLIENT_SECRET = '<secret>' "
        "OAUTH_ALLOWED_SCOPES = ('<scope>')",
        f"{INDENT}--   TYPE = BEARER BEARER_TOKEN = '<token>'",
        f"{INDENT}-- This statement fails until you do.",
        ")",
        "ENABLED = TRUE",
    ]
    trust = [
        "-- Trust step, once, for SigV4: DESC CATALOG INTEGRATION shows API_AWS_IAM_USER_ARN and",
        "-- API_AWS_EXTERNAL_ID. Add them to the trust policy of the SIGV4_IAM_ROLE.",
        f"DESC CATALOG INTEGRATION {integration}",
    ]
    return [statement(head + body), "\n".join(trust)]


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
