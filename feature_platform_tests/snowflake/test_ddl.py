"""Golden tests: every statement the Snowflake DDL produces, compared as exact strings.

Snowflake cannot run here (fakesnow does not parse CREATE ICEBERG TABLE), so the contract is
the text itself: these strings were checked clause by clause against Snowflake's reference
pages, and any change to them must be deliberate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import StaticTable

from feature_platform.errors import (
    InvalidIdentifierError,
    InvalidSnowflakeSettingError,
    MetadataOutsideVolumeError,
    UnsafeSnowflakeIdentifierError,
    UnsafeSnowflakeLiteralError,
)
from feature_platform.offline_store.schema import iceberg_schema
from feature_platform.snowflake.group_ddl import (
    grant_statements,
    latest_view_statement,
    register_statements,
)
from feature_platform.snowflake.metadata_paths import relative_metadata_path
from feature_platform.snowflake.naming import (
    quote_column,
    quote_identifier,
    sql_literal,
    table_fqn,
    view_fqn,
)
from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform.snowflake.setup_ddl import setup_statements
from feature_platform_tests.snowflake.builders import (
    GLUE_ROLE_ARN,
    engagement_group,
    make_settings,
    popularity_group,
)

METADATA = (
    "s3://acme-features/warehouse/feature_platform/user_engagement/metadata/"
    "00003-6f1c2b.metadata.json"
)
RELATIVE = "feature_platform/user_engagement/metadata/00003-6f1c2b.metadata.json"
TABLE = '"FEATURES"."OFFLINE"."USER_ENGAGEMENT"'


# --- quoting ---------------------------------------------------------------------------------


def test_identifiers_are_upper_cased_and_double_quoted() -> None:
    assert quote_identifier("features") == '"FEATURES"'
    assert quote_identifier("Mixed_Case$1") == '"MIXED_CASE$1"'
    assert quote_identifier("order") == '"ORDER"'  # a reserved word is fine once quoted


def test_columns_keep_their_case_and_are_quoted() -> None:
    assert quote_column("user_id") == '"user_id"'
    with pytest.raises(UnsafeSnowflakeIdentifierError):
        quote_column('user_id" --')


def test_literals_double_quotes_and_backslashes() -> None:
    assert sql_literal("plain") == "'plain'"
    assert sql_literal("it's") == "'it''s'"
    assert sql_literal("C:\\x\\n") == "'C:\\\\x\\\\n'"
    assert sql_literal("\\'") == "'\\\\'''"  # a backslash cannot swallow the doubled quote
    assert sql_literal("") == "''"
    assert sql_literal("line\nbreak") == "'line\nbreak'"


def test_literals_refuse_nul() -> None:
    with pytest.raises(UnsafeSnowflakeLiteralError):
        sql_literal("a\x00b")


def test_fully_qualified_names(settings: SnowflakeSettings) -> None:
    group = engagement_group()
    assert table_fqn(group, settings) == TABLE
    assert view_fqn(group, settings) == '"FEATURES"."OFFLINE"."USER_ENGAGEMENT_LATEST"'
    custom = make_settings(table_prefix="fp_", view_suffix="_NOW")
    assert table_fqn(group, custom) == '"FEATURES"."OFFLINE"."FP_USER_ENGAGEMENT"'
    assert view_fqn(group, custom) == '"FEATURES"."OFFLINE"."FP_USER_ENGAGEMENT_NOW"'


# --- relative metadata paths -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "base", "expected"),
    [
        (METADATA, "s3://acme-features/warehouse", RELATIVE),
        (METADATA, "s3://acme-features/warehouse/", RELATIVE),
        (METADATA.replace("s3://", "s3a://"), "s3://acme-features/warehouse/", RELATIVE),
        (METADATA, "s3a://acme-features/warehouse", RELATIVE),
        (METADATA.replace("s3://", "s3n://"), "s3://acme-features/warehouse/", RELATIVE),
        (METADATA, "s3://acme-features", "warehouse/" + RELATIVE),
        (METADATA, "s3://acme-features/", "warehouse/" + RELATIVE),
        (
            "file:///srv/wh/ns/t/metadata/v1.metadata.json",
            "file:///srv/wh",
            "ns/t/metadata/v1.metadata.json",
        ),
        (
            "file:///srv/wh/ns/t/metadata/v1.metadata.json",
            "/srv/wh/",
            "ns/t/metadata/v1.metadata.json",
        ),
        (
            "/srv/wh/ns/t/metadata/v1.metadata.json",
            "file:///srv/wh",
            "ns/t/metadata/v1.metadata.json",
        ),
        ("/srv/wh/ns/t/metadata/v1.metadata.json", "/srv/wh", "ns/t/metadata/v1.metadata.json"),
        ("file://localhost/srv/wh/t/v1.metadata.json", "file:///srv/wh", "t/v1.metadata.json"),
        ("file:///srv/my%20wh/t/v1.metadata.json", "/srv/my wh", "t/v1.metadata.json"),
        ("/srv/my wh/t/v1.metadata.json", "file:///srv/my%20wh/", "t/v1.metadata.json"),
    ],
)
def test_relative_metadata_path(location: str, base: str, expected: str) -> None:
    assert relative_metadata_path(location, base) == expected


@pytest.mark.parametrize(
    ("location", "base"),
    [
        (METADATA, "s3://other-bucket/warehouse"),
        (METADATA, "s3://acme-features/ware"),  # a string prefix, not a folder prefix
        (METADATA, "s3://acme-features/warehouse/feature_platform/other"),
        (METADATA, "file:///acme-features/warehouse"),
        ("/srv/wh/t/v1.metadata.json", "s3://srv/wh"),
        ("/srv/wh/t/v1.metadata.json", "/srv/warehouse"),
        ("s3://acme-features/warehouse", "s3://acme-features/warehouse/"),  # the folder itself
    ],
)
def test_metadata_outside_the_volume_is_an_error_naming_both(location: str, base: str) -> None:
    with pytest.raises(MetadataOutsideVolumeError) as error:
        relative_metadata_path(location, base)
    assert repr(location) in str(error.value)
    assert repr(base) in str(error.value)


@pytest.mark.parametrize(
    ("location", "base"),
    [
        ("s3://acme-features/warehouse/../secret/v1.metadata.json", "s3://acme-features/warehouse"),
        ("s3://acme-features/warehouse/./t/v1.metadata.json", "s3://acme-features/warehouse"),
        ("s3://acme-features/warehouse//t/v1.metadata.json", "s3://acme-features/warehouse"),
        ("s3://acme-features/warehouse/t/", "s3://acme-features/warehouse"),
        ("relative/t/v1.metadata.json", "/srv/wh"),
        ("/srv/wh/t/v1.metadata.json", "relative/wh"),
        ("gs://acme-features/warehouse/t/v1.metadata.json", "s3://acme-features/warehouse"),
        ("file://otherhost/srv/wh/t/v1.metadata.json", "file:///srv/wh"),
        ("s3:///warehouse/t/v1.metadata.json", "s3://acme-features/warehouse"),
        ("", "s3://acme-features/warehouse"),
    ],
)
def test_malformed_locations_are_rejected(location: str, base: str) -> None:
    with pytest.raises(InvalidSnowflakeSettingError):
        relative_metadata_path(location, base)


def test_registered_path_is_readable_from_the_metadata_file_alone(tmp_path: Path) -> None:
    """What Snowflake's object-store integration does: read the table from base + path."""
    warehouse = tmp_path / "warehouse"
    catalog = SqlCatalog(
        "test", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=warehouse.as_uri()
    )
    catalog.create_namespace("feature_platform")
    group = popularity_group()
    table = catalog.create_table("feature_platform.article_popularity", iceberg_schema(group))
    when = dt.datetime(2026, 11, 10, tzinfo=dt.UTC)
    rows = {
        "article_id": [1, 2],
        "event_time": [when, when],
        "created_at": [when, when],
        "views_1h": [10, None],
        "ctr": [0.5, None],
        "is_trending": [True, False],
        "title": ["a", "b"],
        "published": [when.date(), when.date()],
        "last_click": [when, None],
    }
    table.append(pa.Table.from_pydict(rows, schema=table.schema().as_arrow()))
    table = catalog.load_table("feature_platform.article_popularity")

    relative = relative_metadata_path(table.metadata_location, warehouse.as_uri())

    assert relative.startswith("feature_platform/article_popularity/metadata/")
    assert relative.endswith(".metadata.json")
    static = StaticTable.from_metadata(f"{warehouse.as_uri()}/{relative}")
    assert (
        static.scan().to_arrow().sort_by("article_id").to_pydict()
        == table.scan().to_arrow().sort_by("article_id").to_pydict()
    )


# --- register --------------------------------------------------------------------------------

OBJECT_STORE_CREATE = f"""\
CREATE ICEBERG TABLE IF NOT EXISTS {TABLE}
  EXTERNAL_VOLUME = 'FEATURES_VOLUME'
  CATALOG = 'FEATURES_CATALOG'
  METADATA_FILE_PATH = '{RELATIVE}'"""

CATALOG_CREATE = f"""\
CREATE ICEBERG TABLE IF NOT EXISTS {TABLE}
  EXTERNAL_VOLUME = 'FEATURES_VOLUME'
  CATALOG = 'FEATURES_CATALOG'
  CATALOG_TABLE_NAME = 'user_engagement'
  CATALOG_NAMESPACE = 'feature_platform'"""


def test_register_object_store(settings: SnowflakeSettings) -> None:
    assert register_statements(engagement_group(), settings, METADATA) == [
        OBJECT_STORE_CREATE,
        f"ALTER ICEBERG TABLE {TABLE} REFRESH '{RELATIVE}'",
    ]


def test_register_object_store_with_s3a_location(settings: SnowflakeSettings) -> None:
    statements = register_statements(
        engagement_group(), settings, METADATA.replace("s3://", "s3a://")
    )
    assert statements[1] == f"ALTER ICEBERG TABLE {TABLE} REFRESH '{RELATIVE}'"


def test_register_object_store_needs_the_metadata_location(settings: SnowflakeSettings) -> None:
    with pytest.raises(InvalidSnowflakeSettingError, match="metadata_location"):
        register_statements(engagement_group(), settings)


def test_register_object_store_outside_the_volume(settings: SnowflakeSettings) -> None:
    outside = "s3://acme-scratch/feature_platform/user_engagement/metadata/v1.metadata.json"
    with pytest.raises(MetadataOutsideVolumeError, match="s3://acme-features/warehouse/"):
        register_statements(engagement_group(), settings, outside)


@pytest.mark.parametrize("kind", ["glue", "rest"])
def test_register_through_a_catalog_refreshes_without_a_path(kind: str) -> None:
    settings = make_settings(integration_kind=kind)
    expected = [CATALOG_CREATE, f"ALTER ICEBERG TABLE {TABLE} REFRESH"]
    assert register_statements(engagement_group(), settings) == expected
    # The metadata location is the catalog's business: passing one changes nothing.
    assert register_statements(engagement_group(), settings, METADATA) == expected


@pytest.mark.parametrize("kind", ["glue", "rest"])
def test_register_with_auto_refresh_leaves_refreshing_to_snowflake(kind: str) -> None:
    settings = make_settings(integration_kind=kind, auto_refresh=True)
    assert register_statements(engagement_group(), settings) == [
        CATALOG_CREATE + "\n  AUTO_REFRESH = TRUE"
    ]


def test_register_uses_prefix_and_namespace() -> None:
    settings = make_settings(
        integration_kind="glue", table_prefix="FP_", catalog_namespace="features_prod"
    )
    assert register_statements(engagement_group(), settings) == [
        """\
CREATE ICEBERG TABLE IF NOT EXISTS "FEATURES"."OFFLINE"."FP_USER_ENGAGEMENT"
  EXTERNAL_VOLUME = 'FEATURES_VOLUME'
  CATALOG = 'FEATURES_CATALOG'
  CATALOG_TABLE_NAME = 'user_engagement'
  CATALOG_NAMESPACE = 'features_prod'""",
        'ALTER ICEBERG TABLE "FEATURES"."OFFLINE"."FP_USER_ENGAGEMENT" REFRESH',
    ]


# --- latest view -----------------------------------------------------------------------------


def test_latest_view_with_composite_keys_ttl_and_escaped_description(
    settings: SnowflakeSettings,
) -> None:
    assert latest_view_statement(engagement_group(), settings) == (
        r"""CREATE OR REPLACE VIEW "FEATURES"."OFFLINE"."USER_ENGAGEMENT_LATEST"
  COPY GRANTS
  COMMENT = 'Clicks per user & article; it''s C:\\feeds\\n, not a newline'
AS
SELECT
  "user_id" AS "USER_ID",
  "article_id" AS "ARTICLE_ID",
  "event_time" AS "EVENT_TIME",
  "created_at" AS "CREATED_AT",
  "clicks_7d" AS "CLICKS_7D",
  "dwell_seconds" AS "DWELL_SECONDS"
FROM "FEATURES"."OFFLINE"."USER_ENGAGEMENT"
WHERE "event_time" >= DATEADD(second, -604800, CURRENT_TIMESTAMP())
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY "user_id", "article_id"
  ORDER BY "event_time" DESC, "created_at" DESC
) = 1"""
    )


def test_latest_view_without_ttl_or_description(settings: SnowflakeSettings) -> None:
    assert latest_view_statement(popularity_group(), settings) == (
        """CREATE OR REPLACE VIEW "FEATURES"."OFFLINE"."ARTICLE_POPULARITY_LATEST"
  COPY GRANTS
  COMMENT = 'Latest live row per article of feature group article_popularity'
AS
SELECT
  "article_id" AS "ARTICLE_ID",
  "event_time" AS "EVENT_TIME",
  "created_at" AS "CREATED_AT",
  "views_1h" AS "VIEWS_1H",
  "ctr" AS "CTR",
  "is_trending" AS "IS_TRENDING",
  "title" AS "TITLE",
  "published" AS "PUBLISHED",
  "last_click" AS "LAST_CLICK"
FROM "FEATURES"."OFFLINE"."ARTICLE_POPULARITY"
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY "article_id"
  ORDER BY "event_time" DESC, "created_at" DESC
) = 1"""
    )


@pytest.mark.parametrize(
    ("ttl", "start"),
    [
        (dt.timedelta(hours=36), "DATEADD(second, -129600, CURRENT_TIMESTAMP())"),
        (dt.timedelta(seconds=1), "DATEADD(second, -1, CURRENT_TIMESTAMP())"),
        (
            dt.timedelta(seconds=90, milliseconds=500),
            "DATEADD(microsecond, -90500000, CURRENT_TIMESTAMP())",
        ),
        (dt.timedelta(microseconds=7), "DATEADD(microsecond, -7, CURRENT_TIMESTAMP())"),
    ],
)
def test_latest_view_ttl_is_exact(
    settings: SnowflakeSettings, ttl: dt.timedelta, start: str
) -> None:
    view = latest_view_statement(engagement_group(ttl=ttl), settings)
    assert f'\nWHERE "event_time" >= {start}\n' in view


def test_latest_view_quotes_reserved_words() -> None:
    group = popularity_group(
        name="order",
        entity=popularity_group().entity,
        features=[popularity_group().features[0]],
        description="",
    )
    view = latest_view_statement(group, make_settings(view_suffix="_V"))
    assert view.startswith('CREATE OR REPLACE VIEW "FEATURES"."OFFLINE"."ORDER_V"\n')
    assert '\nFROM "FEATURES"."OFFLINE"."ORDER"\n' in view


# --- grants ----------------------------------------------------------------------------------


def test_grants(settings: SnowflakeSettings) -> None:
    assert grant_statements(engagement_group(), settings) == [
        f'GRANT SELECT ON ICEBERG TABLE {TABLE} TO ROLE "FEATURE_READER"',
        'GRANT SELECT ON VIEW "FEATURES"."OFFLINE"."USER_ENGAGEMENT_LATEST" '
        'TO ROLE "FEATURE_READER"',
    ]


# --- setup -----------------------------------------------------------------------------------

SETUP_VOLUME = [
    """\
CREATE EXTERNAL VOLUME IF NOT EXISTS "FEATURES_VOLUME"
  STORAGE_LOCATIONS = (
    (
      NAME = 'feature_platform_s3'
      STORAGE_PROVIDER = 'S3'
      STORAGE_BASE_URL = 's3://acme-features/warehouse/'
      STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/snowflake-features'
    )
  )
  ALLOW_WRITES = FALSE""",
    """\
-- Trust step, once: DESC EXTERNAL VOLUME shows STORAGE_AWS_IAM_USER_ARN and
-- STORAGE_AWS_EXTERNAL_ID. Add them to the trust policy of IAM role
-- arn:aws:iam::123456789012:role/snowflake-features
-- (Principal "AWS" and condition "sts:ExternalId") so Snowflake can assume it;
-- then SELECT SYSTEM$VERIFY_EXTERNAL_VOLUME('FEATURES_VOLUME') must succeed.
DESC EXTERNAL VOLUME "FEATURES_VOLUME\"""",
]

SETUP_SCHEMA_AND_ROLE = [
    'CREATE DATABASE IF NOT EXISTS "FEATURES"',
    'CREATE SCHEMA IF NOT EXISTS "FEATURES"."OFFLINE"',
    'CREATE ROLE IF NOT EXISTS "FEATURE_READER"',
    'GRANT USAGE ON DATABASE "FEATURES" TO ROLE "FEATURE_READER"',
    'GRANT USAGE ON SCHEMA "FEATURES"."OFFLINE" TO ROLE "FEATURE_READER"',
    'GRANT SELECT ON FUTURE ICEBERG TABLES IN SCHEMA "FEATURES"."OFFLINE" TO ROLE "FEATURE_READER"',
    'GRANT SELECT ON FUTURE VIEWS IN SCHEMA "FEATURES"."OFFLINE" TO ROLE "FEATURE_READER"',
]


def test_setup_object_store(settings: SnowflakeSettings) -> None:
    assert setup_statements(settings) == [
        *SETUP_VOLUME,
        """\
CREATE CATALOG INTEGRATION IF NOT EXISTS "FEATURES_CATALOG"
  CATALOG_SOURCE = OBJECT_STORE
  TABLE_FORMAT = ICEBERG
  ENABLED = TRUE""",
        *SETUP_SCHEMA_AND_ROLE,
    ]


GLUE_INTEGRATION = [
    """\
CREATE CATALOG INTEGRATION IF NOT EXISTS "FEATURES_CATALOG"
  CATALOG_SOURCE = GLUE
  TABLE_FORMAT = ICEBERG
  GLUE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/snowflake-glue'
  GLUE_CATALOG_ID = '123456789012'
  GLUE_REGION = 'eu-west-1'
  CATALOG_NAMESPACE = 'feature_platform'
  ENABLED = TRUE""",
    """\
-- Trust step, once: DESC CATALOG INTEGRATION shows GLUE_AWS_IAM_USER_ARN and
-- GLUE_AWS_EXTERNAL_ID. Add them to the trust policy of IAM role
-- arn:aws:iam::123456789012:role/snowflake-glue
-- (Principal "AWS" and condition "sts:ExternalId") so Snowflake can read Glue.
DESC CATALOG INTEGRATION "FEATURES_CATALOG\"""",
]


def test_setup_glue() -> None:
    settings = make_settings(
        integration_kind="glue",
        glue_aws_role_arn=GLUE_ROLE_ARN,
        glue_catalog_id="123456789012",
        glue_region="eu-west-1",
    )
    assert setup_statements(settings) == [*SETUP_VOLUME, *GLUE_INTEGRATION, *SETUP_SCHEMA_AND_ROLE]


def test_setup_glue_without_region_lets_snowflake_default_it() -> None:
    settings = make_settings(
        integration_kind="glue", glue_aws_role_arn=GLUE_ROLE_ARN, glue_catalog_id="123456789012"
    )
    integration = setup_statements(settings)[2]
    assert integration == GLUE_INTEGRATION[0].replace("  GLUE_REGION = 'eu-west-1'\n", "")


def test_setup_rest_leaves_credentials_to_the_admin() -> None:
    settings = make_settings(
        integration_kind="rest",
        rest_catalog_uri="https://s3tables.eu-west-1.amazonaws.com/iceberg",
        rest_catalog_name="arn:aws:s3tables:eu-west-1:123456789012:bucket/features",
    )
    assert setup_statements(settings) == [
        *SETUP_VOLUME,
        """\
CREATE CATALOG INTEGRATION IF NOT EXISTS "FEATURES_CATALOG"
  CATALOG_SOURCE = ICEBERG_REST
  TABLE_FORMAT = ICEBERG
  CATALOG_NAMESPACE = 'feature_platform'
  REST_CONFIG = (
    CATALOG_URI = 'https://s3tables.eu-west-1.amazonaws.com/iceberg'
    CATALOG_NAME = 'arn:aws:s3tables:eu-west-1:123456789012:bucket/features'
  )
  REST_AUTHENTICATION = (
    -- Not generated: credentials never belong in generated SQL. Fill in one of
    --   TYPE = SIGV4 SIGV4_IAM_ROLE = '<iam role arn>' SIGV4_SIGNING_REGION = '<region>'
    --     (SigV4 also needs CATALOG_API_TYPE in REST_CONFIG, e.g. AWS_S3TABLES)
    --   TYPE = OAUTH OAUTH_CLIENT_ID = '<id>' OAUTH_CLIENT_SECRET = '<secret>' \
OAUTH_ALLOWED_SCOPES = ('<scope>')
    --   TYPE = BEARER BEARER_TOKEN = '<token>'
    -- This statement fails until you do.
  )
  ENABLED = TRUE""",
        """\
-- Trust step, once, for SigV4: DESC CATALOG INTEGRATION shows API_AWS_IAM_USER_ARN and
-- API_AWS_EXTERNAL_ID. Add them to the trust policy of the SIGV4_IAM_ROLE.
DESC CATALOG INTEGRATION "FEATURES_CATALOG\"""",
        *SETUP_SCHEMA_AND_ROLE,
    ]


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"storage_aws_role_arn": None}, "FEATURE_PLATFORM_SNOWFLAKE__STORAGE_AWS_ROLE_ARN"),
        ({"integration_kind": "glue"}, "FEATURE_PLATFORM_SNOWFLAKE__GLUE_AWS_ROLE_ARN"),
        (
            {"integration_kind": "glue", "glue_aws_role_arn": GLUE_ROLE_ARN},
            "FEATURE_PLATFORM_SNOWFLAKE__GLUE_CATALOG_ID",
        ),
        ({"integration_kind": "rest"}, "FEATURE_PLATFORM_SNOWFLAKE__REST_CATALOG_URI"),
    ],
)
def test_setup_names_the_missing_setting(overrides: dict[str, object], missing: str) -> None:
    with pytest.raises(InvalidSnowflakeSettingError, match=missing):
        setup_statements(make_settings(**overrides))


def test_setup_names_every_missing_setting_at_once() -> None:
    with pytest.raises(InvalidSnowflakeSettingError) as raised:
        setup_statements(make_settings(storage_aws_role_arn=None, integration_kind="glue"))
    for name in ("STORAGE_AWS_ROLE_ARN", "GLUE_AWS_ROLE_ARN", "GLUE_CATALOG_ID"):
        assert f"FEATURE_PLATFORM_SNOWFLAKE__{name}" in str(raised.value)


def test_setup_is_the_only_place_needing_admin_settings() -> None:
    bare = make_settings(storage_aws_role_arn=None, integration_kind="glue")
    assert register_statements(engagement_group(), bare)[0] == CATALOG_CREATE


# --- injection -------------------------------------------------------------------------------

INJECTIONS = [
    pytest.param('features"; DROP DATABASE prod; --', id="double-quote-and-statement"),
    pytest.param("features'; DROP DATABASE prod; --", id="single-quote-and-statement"),
    pytest.param("features;drop", id="semicolon"),
    pytest.param("feature store", id="space"),
    pytest.param("features--", id="comment-dashes"),
    pytest.param("features/*x*/", id="block-comment"),
    pytest.param("f\u0435atures", id="cyrillic-e-look-alike"),
    pytest.param("\uff46eatures", id="fullwidth-f"),
    pytest.param("\u0130stanbul", id="dotted-capital-i"),
    pytest.param("features\u200b", id="zero-width-space"),
    pytest.param("", id="empty"),
    pytest.param("f" * 256, id="256-characters"),
    pytest.param("features\n", id="trailing-newline"),
    pytest.param("feat.ures", id="dot"),
    pytest.param("1features", id="leading-digit"),
    pytest.param("feat\\ures", id="backslash"),
    pytest.param("feat\x00ures", id="nul"),
    pytest.param(None, id="none"),
    pytest.param(42, id="not-a-string"),
]
IDENTIFIER_SETTINGS = [
    "database",
    "schema",
    "external_volume",
    "catalog_integration",
    "reader_role",
]


@pytest.mark.parametrize("field", IDENTIFIER_SETTINGS)
@pytest.mark.parametrize("name", INJECTIONS)
def test_unsafe_identifiers_are_rejected_before_any_sql(field: str, name: object) -> None:
    with pytest.raises(UnsafeSnowflakeIdentifierError) as error:
        make_settings(**{field: name})
    assert isinstance(error.value, InvalidIdentifierError)  # callers may catch the base class
    assert field in str(error.value)


@pytest.mark.parametrize("name", INJECTIONS)
def test_quote_identifier_rejects_them_too(name: object) -> None:
    with pytest.raises(UnsafeSnowflakeIdentifierError):
        quote_identifier(name)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("table_prefix", 'x"; --'),
        ("table_prefix", "fp "),
        ("table_prefix", "f\u0435_"),
        ("table_prefix", "p" * 65),
        ("table_prefix", "1_"),
        ("table_prefix", "$x_"),
        ("view_suffix", "_LATEST; DROP VIEW v"),
        ("view_suffix", ""),
        ("view_suffix", "_l\u0430test"),
        ("catalog_namespace", "Feature_Platform"),
        ("catalog_namespace", "feature_platform'--"),
        ("catalog_namespace", ""),
    ],
)
def test_unsafe_affixes_and_namespaces_are_rejected(field: str, value: str) -> None:
    with pytest.raises(UnsafeSnowflakeIdentifierError):
        make_settings(**{field: value})


def test_longest_prefix_name_and_suffix_stay_within_snowflakes_limit() -> None:
    settings = make_settings(table_prefix="p" * 64, view_suffix="s" * 64)
    long_group = popularity_group(name="a" * 63)
    assert table_fqn(long_group, settings).endswith('"' + ("P" * 64 + "A" * 63) + '"')
    assert len(view_fqn(long_group, settings).split(".")[-1]) == 64 + 63 + 64 + 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("storage_base_url", "s3://acme-features/warehouse'; DROP DATABASE x; --"),
        ("storage_base_url", "s3://acme-features/ware house/"),
        ("storage_base_url", "s3://acme-features/../secret/"),
        ("storage_base_url", "https://acme-features/warehouse/"),
        ("storage_base_url", "s3://Acme_Features/"),
        ("storage_aws_role_arn", "arn:aws:iam::123456789012:role/x' OR '1'='1"),
        ("storage_aws_role_arn", "arn:aws:iam::123456789012:user/not-a-role"),
        ("glue_aws_role_arn", "arn:aws:iam::12345:role/short-account"),
        ("glue_catalog_id", "12345678901a"),
        ("glue_region", "eu-west-1'--"),
        ("rest_catalog_uri", "https://host/iceberg' ENABLED = FALSE --"),
        ("rest_catalog_uri", "javascript:alert(1)"),
        ("rest_catalog_name", "bucket'; --"),
        ("integration_kind", "hive"),
        ("auto_refresh", "yes"),
    ],
)
def test_malformed_values_are_rejected_before_any_sql(field: str, value: str) -> None:
    with pytest.raises(InvalidSnowflakeSettingError):
        make_settings(**{field: value})


def test_ddl_revalidates_names_that_bypassed_the_settings(settings: SnowflakeSettings) -> None:
    """Defence in depth: a value forced past __post_init__ still never reaches SQL."""
    object.__setattr__(settings, "database", 'features"; DROP DATABASE prod; --')
    with pytest.raises(UnsafeSnowflakeIdentifierError):
        register_statements(engagement_group(), settings, METADATA)
    with pytest.raises(UnsafeSnowflakeIdentifierError):
        latest_view_statement(engagement_group(), settings)
    with pytest.raises(UnsafeSnowflakeIdentifierError):
        grant_statements(engagement_group(), settings)
    with pytest.raises(UnsafeSnowflakeIdentifierError):
        setup_statements(settings)


def test_auto_refresh_is_refused_for_object_store() -> None:
    with pytest.raises(InvalidSnowflakeSettingError, match="Delta"):
        make_settings(auto_refresh=True)


def test_storage_base_url_is_normalised_to_a_folder() -> None:
    assert make_settings().storage_base_url == "s3://acme-features/warehouse/"
    assert make_settings(storage_base_url="s3://acme-features").storage_base_url == (
        "s3://acme-features/"
    )
    same = dataclasses.replace(make_settings(), storage_base_url="s3://acme-features/warehouse/")
    assert same == make_settings()
