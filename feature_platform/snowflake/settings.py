"""Where and how Snowflake reads our Iceberg tables: validated once, before any SQL is written.

Every value here ends up inside a SQL statement, either as a double-quoted identifier or as a
single-quoted string literal. Quoting alone is a thin defence (one missed escape and a name
becomes a statement), so each value is also held to a strict allowlist when the settings are
built: a `SnowflakeSettings` that constructs can only produce well-formed SQL.

Snowflake identifiers (database, schema, external volume, catalog integration, reader role)
must match ``^[A-Za-z_][A-Za-z0-9_$]{0,254}$`` -- the rule for *unquoted* Snowflake identifiers.
The DDL quotes them upper-cased, which is exactly how Snowflake stores an unquoted name, so the
objects stay addressable without quotes (``features_db`` and ``"FEATURES_DB"`` are the same
database). ARNs, URLs, account ids and regions are checked against AWS's formats and emitted as
escaped string literals.

Environment variables read by `SnowflakeSettings.from_env` (all optional; none set means
Snowflake is not configured):

==================================================  =============================================
``FEATURE_PLATFORM_SNOWFLAKE__DATABASE``            database holding the tables and views
``FEATURE_PLATFORM_SNOWFLAKE__SCHEMA``              schema holding the tables and views
``FEATURE_PLATFORM_SNOWFLAKE__EXTERNAL_VOLUME``     external volume over the warehouse bucket
``FEATURE_PLATFORM_SNOWFLAKE__CATALOG_INTEGRATION`` catalog integration the tables use
``FEATURE_PLATFORM_SNOWFLAKE__INTEGRATION_KIND``    ``object_store`` (default), ``glue`` or ``rest``
``FEATURE_PLATFORM_SNOWFLAKE__AUTO_REFRESH``        ``true``/``false`` (glue and rest only)
``FEATURE_PLATFORM_SNOWFLAKE__STORAGE_BASE_URL``    the volume's STORAGE_BASE_URL, ``s3://b/p/``
``FEATURE_PLATFORM_SNOWFLAKE__READER_ROLE``         role granted SELECT on tables and views
``FEATURE_PLATFORM_SNOWFLAKE__TABLE_PREFIX``        put before each group's table name
``FEATURE_PLATFORM_SNOWFLAKE__VIEW_SUFFIX``         put after it for the latest view (``_LATEST``)
``FEATURE_PLATFORM_SNOWFLAKE__CATALOG_NAMESPACE``   Iceberg namespace (``feature_platform``)
``FEATURE_PLATFORM_SNOWFLAKE__STORAGE_AWS_ROLE_ARN`` IAM role the volume assumes (setup SQL)
``FEATURE_PLATFORM_SNOWFLAKE__GLUE_AWS_ROLE_ARN``   IAM role the Glue integration assumes
``FEATURE_PLATFORM_SNOWFLAKE__GLUE_CATALOG_ID``     12-digit account id owning the Glue catalog
``FEATURE_PLATFORM_SNOWFLAKE__GLUE_REGION``         region of the Glue catalog, e.g. ``eu-west-1``
``FEATURE_PLATFORM_SNOWFLAKE__REST_CATALOG_URI``    REST catalog endpoint (setup SQL)
``FEATURE_PLATFORM_SNOWFLAKE__REST_CATALOG_NAME``   REST CATALOG_NAME (S3 Tables bucket ARN, ...)
==================================================  =============================================

Any other ``FEATURE_PLATFORM_SNOWFLAKE__*`` variable is rejected, so a typo is an error rather
than a silently ignored setting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final, Literal, get_args

from feature_platform.config import DEFAULT_NAMESPACE
from feature_platform.errors import InvalidSnowflakeSettingError, UnsafeSnowflakeIdentifierError
from feature_platform.identifiers import IDENTIFIER_PATTERN

IntegrationKind = Literal["object_store", "glue", "rest"]
INTEGRATION_KINDS: Final[tuple[str, ...]] = get_args(IntegrationKind)
ENV_PREFIX: Final = "FEATURE_PLATFORM_SNOWFLAKE__"
DEFAULT_VIEW_SUFFIX: Final = "_LATEST"

# Snowflake's rule for unquoted identifiers (at most 255 characters). Explicit ASCII ranges, so
# look-alike letters from other scripts never match; `fullmatch` so a trailing newline cannot.
SNOWFLAKE_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")
# Prefixes and suffixes are glued to a group name, so they may start with a digit or be empty.
_AFFIX: Final = re.compile(r"[A-Za-z0-9_$]{0,64}")
# IAM role ARN (any partition: aws, aws-cn, aws-us-gov); AWS's own character set for role paths.
_ROLE_ARN: Final = re.compile(r"arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")
_ACCOUNT_ID: Final = re.compile(r"\d{12}")
_REGION: Final = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
# s3://bucket/ or s3://bucket/prefix/ -- bucket naming rules, conservative key characters.
_S3_BASE_URL: Final = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:/[A-Za-z0-9._=+-]+)*/?")
_HTTP_URL: Final = re.compile(
    r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::\d{1,5})?(?:/[A-Za-z0-9._~%/-]*)?"
)
_CATALOG_NAME: Final = re.compile(r"[A-Za-z0-9:/._=+@-]{1,1024}")
_TRUE_FALSE: Final = {"true": True, "false": False}


@dataclass(frozen=True)
class SnowflakeSettings:
    """How Snowflake reaches the offline tables, and who may read them.

    Args:
        database: Database holding the Iceberg tables and the latest-value views.
        schema: Schema inside `database`.
        external_volume: External volume over the bucket holding the warehouse.
        catalog_integration: Catalog integration the tables are created through.
        storage_base_url: The external volume's ``STORAGE_BASE_URL`` (``s3://bucket/prefix/``);
            object-store metadata paths are given to Snowflake relative to it.
        reader_role: Role granted SELECT on every table and view (and USAGE on their parents).
        integration_kind: ``object_store`` registers each table from its metadata file path
            and refreshes it with the new path after every write; ``glue`` and ``rest`` name
            the table in the catalog and let Snowflake ask the catalog for the current state.
        auto_refresh: Let Snowflake poll the catalog (``AUTO_REFRESH = TRUE``) instead of an
            explicit REFRESH after each write. Glue and REST only: Snowflake auto-refreshes
            object-store integrations only for Delta tables.
        table_prefix: Put before each group's name in Snowflake table names.
        view_suffix: Put after a table's name to name its latest-value view.
        catalog_namespace: Iceberg namespace (Glue database) holding the tables.
        storage_aws_role_arn: IAM role the external volume assumes (setup SQL only).
        glue_aws_role_arn: IAM role the Glue catalog integration assumes (setup SQL only).
        glue_catalog_id: 12-digit AWS account id owning the Glue Data Catalog (setup SQL only).
        glue_region: Region of the Glue Data Catalog; Snowflake's region when None.
        rest_catalog_uri: Endpoint of the Iceberg REST catalog (setup SQL only).
        rest_catalog_name: ``CATALOG_NAME`` of the REST catalog, when it needs one (an S3
            Tables bucket ARN, a Glue account id, a warehouse name).

    Raises:
        UnsafeSnowflakeIdentifierError: A Snowflake name breaks the identifier rule.
        InvalidSnowflakeSettingError: Any other value is malformed or contradictory.
    """

    database: str
    schema: str
    external_volume: str
    catalog_integration: str
    storage_base_url: str
    reader_role: str
    integration_kind: IntegrationKind = "object_store"
    auto_refresh: bool = False
    table_prefix: str = ""
    view_suffix: str = DEFAULT_VIEW_SUFFIX
    catalog_namespace: str = DEFAULT_NAMESPACE
    storage_aws_role_arn: str | None = None
    glue_aws_role_arn: str | None = None
    glue_catalog_id: str | None = None
    glue_region: str | None = None
    rest_catalog_uri: str | None = None
    rest_catalog_name: str | None = None

    def __post_init__(self) -> None:
        for name in ("database", "schema", "external_volume", "catalog_integration", "reader_role"):
            validate_snowflake_identifier(getattr(self, name), name)
        for name in ("table_prefix", "view_suffix"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _AFFIX.fullmatch(value):
                raise UnsafeSnowflakeIdentifierError(
                    f"{name} {value!r} may only hold ASCII letters, digits, '_' and '$' "
                    "(at most 64)"
                )
        if self.table_prefix[:1] and not SNOWFLAKE_IDENTIFIER.fullmatch(self.table_prefix[:1]):
            raise UnsafeSnowflakeIdentifierError(
                f"table_prefix {self.table_prefix!r} must start with a letter or '_': it starts "
                "every table name"
            )
        if not self.view_suffix:
            raise UnsafeSnowflakeIdentifierError(
                "view_suffix must not be empty: the view would take the table's name"
            )
        if not isinstance(self.catalog_namespace, str) or not IDENTIFIER_PATTERN.fullmatch(
            self.catalog_namespace
        ):
            raise UnsafeSnowflakeIdentifierError(
                f"catalog_namespace {self.catalog_namespace!r} must match "
                f"{IDENTIFIER_PATTERN.pattern} like every Iceberg namespace of the store"
            )
        if self.integration_kind not in INTEGRATION_KINDS:
            raise InvalidSnowflakeSettingError(
                f"integration_kind must be one of {list(INTEGRATION_KINDS)}, "
                f"not {self.integration_kind!r}"
            )
        if not isinstance(self.auto_refresh, bool):
            raise InvalidSnowflakeSettingError(
                f"auto_refresh must be True or False, not {self.auto_refresh!r}"
            )
        if self.auto_refresh and self.integration_kind == "object_store":
            raise InvalidSnowflakeSettingError(
                "auto_refresh needs integration_kind 'glue' or 'rest': Snowflake auto-refreshes "
                "object-store integrations only for Delta tables, so each write must REFRESH"
            )
        _check("storage_base_url", self.storage_base_url, _S3_BASE_URL, "s3://bucket/prefix/")
        if {".", ".."} & set(self.storage_base_url[len("s3://") :].split("/")):
            raise InvalidSnowflakeSettingError(
                f"storage_base_url {self.storage_base_url!r} has a '.' or '..' segment; give the "
                "folder itself"
            )
        if not self.storage_base_url.endswith("/"):
            # Snowflake's STORAGE_BASE_URL is a folder; normalise so paths join without guessing.
            object.__setattr__(self, "storage_base_url", self.storage_base_url + "/")
        optional = (
            ("storage_aws_role_arn", _ROLE_ARN, "arn:aws:iam::123456789012:role/name"),
            ("glue_aws_role_arn", _ROLE_ARN, "arn:aws:iam::123456789012:role/name"),
            ("glue_catalog_id", _ACCOUNT_ID, "123456789012"),
            ("glue_region", _REGION, "eu-west-1"),
            ("rest_catalog_uri", _HTTP_URL, "https://host/iceberg"),
            ("rest_catalog_name", _CATALOG_NAME, "arn:aws:s3tables:...:bucket/name"),
        )
        for name, pattern, example in optional:
            value = getattr(self, name)
            if value is not None:
                _check(name, value, pattern, example)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SnowflakeSettings | None:
        """Read ``FEATURE_PLATFORM_SNOWFLAKE__*`` variables (see the module docstring).

        Returns:
            The settings, or None when no such variable is set (Snowflake not configured).

        Raises:
            InvalidSnowflakeSettingError: Some variables are set but a required one is
                missing, a variable is unknown, or a value is malformed.
            UnsafeSnowflakeIdentifierError: A Snowflake name is unsafe.
        """
        env = os.environ if environ is None else environ
        given = {
            key[len(ENV_PREFIX) :].lower(): value
            for key, value in env.items()
            if key.startswith(ENV_PREFIX)
        }
        if not given:
            return None
        known = {f.name for f in fields(cls)}
        unknown = sorted(env_name(name) for name in set(given) - known)
        if unknown:
            raise InvalidSnowflakeSettingError(
                f"unknown Snowflake settings {unknown}; known ones are "
                f"{sorted(env_name(name) for name in known)}"
            )
        required = (
            "database",
            "schema",
            "external_volume",
            "catalog_integration",
            "storage_base_url",
            "reader_role",
        )
        missing = [env_name(name) for name in required if not given.get(name)]
        if missing:
            raise InvalidSnowflakeSettingError(
                f"Snowflake is partly configured: set {missing} as well, or unset every "
                f"{ENV_PREFIX}* variable"
            )
        values: dict[str, object] = {name: value for name, value in given.items() if value != ""}
        if "auto_refresh" in values:
            text = str(values["auto_refresh"]).strip().lower()
            if text not in _TRUE_FALSE:
                raise InvalidSnowflakeSettingError(
                    f"{env_name('auto_refresh')} must be true or false, "
                    f"not {values['auto_refresh']!r}"
                )
            values["auto_refresh"] = _TRUE_FALSE[text]
        return cls(**values)  # type: ignore[arg-type]


def env_name(setting: str) -> str:
    """The environment variable of a setting, so messages can say what to set."""
    return ENV_PREFIX + setting.upper()


def validate_snowflake_identifier(name: object, what: str) -> str:
    """Return `name` if it is a safe Snowflake identifier, else raise.

    Args:
        name: The candidate name.
        what: What the name is for (``database``, ``reader_role``...), used in the message.

    Raises:
        UnsafeSnowflakeIdentifierError: `name` is not a string matching
            ``^[A-Za-z_][A-Za-z0-9_$]{0,254}$``.
    """
    if not isinstance(name, str) or not SNOWFLAKE_IDENTIFIER.fullmatch(name):
        raise UnsafeSnowflakeIdentifierError(
            f"unsafe Snowflake {what} name {name!r}: use 1-255 ASCII letters, digits, '_' or "
            "'$', starting with a letter or '_' (no quotes, spaces, dots or other characters)"
        )
    return name


def _check(name: str, value: object, pattern: re.Pattern[str], example: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidSnowflakeSettingError(
            f"{name} {value!r} is malformed; expected e.g. {example}"
        )
