"""Every Dagster resource of the platform, and the resource set of each deployment.

The environment is picked in exactly one place (`resources_for`), called from the definitions
function; nothing reads it at import time. Asset modules import their resources from here and
this module imports none of them, so the resource set can be built without any asset.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal, TypeVar

import dagster as dg
from pydantic import Field

from feature_platform.config import StoreConfig, resolve_home
from feature_platform.errors import ConfigurationError
from feature_platform.snowflake.connection import SnowflakeConnectionSettings, env_name
from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform.store import FeatureStore

if TYPE_CHECKING:
    from dagster_snowflake import SnowflakeResource

Environment = Literal["local", "aws"]
_Value = TypeVar("_Value")


class FeatureStoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Opens the `FeatureStore` a run writes to.

    Unset fields fall back to the ``FEATURE_PLATFORM_*`` environment (`StoreConfig.from_env`),
    so runs write to the same store the CLI and notebooks of that environment read.
    """

    home: str | None = Field(
        default=None, description="Embedded-state folder; default FEATURE_PLATFORM_HOME."
    )
    catalog_type: str | None = Field(default=None, description="sql, glue or rest.")
    catalog_uri: str | None = Field(
        default=None, description="SQLAlchemy URL (sql) or REST endpoint (rest)."
    )
    warehouse: str | None = Field(
        default=None, description="Root of table locations, e.g. s3://bucket/features."
    )
    namespace: str | None = Field(default=None, description="Iceberg namespace.")
    s3_endpoint: str | None = Field(default=None, description="S3-compatible endpoint URL.")
    glue_endpoint: str | None = Field(default=None, description="Glue endpoint URL.")
    aws_region: str | None = Field(default=None, description="AWS region of S3 and Glue.")
    aws_access_key_id: str | None = Field(default=None, description="Use dg.EnvVar.")
    aws_secret_access_key: str | None = Field(default=None, description="Use dg.EnvVar.")
    commit_retries: int | None = Field(default=None, description="Commit retries under contention.")
    landing: str | None = Field(
        default=None, description="Landing zone of pushed files (folder or s3:// prefix)."
    )
    online_store: str | None = Field(default=None, description="embedded or dynamodb.")
    dynamodb_endpoint_url: str | None = Field(
        default=None, description="A local DynamoDB-compatible endpoint instead of AWS."
    )
    dynamodb_region: str | None = Field(default=None, description="Region of the online tables.")
    dynamodb_table_prefix: str | None = Field(
        default=None, description="Prefix of online table names (one table per group)."
    )
    dynamodb_table_mode: str | None = Field(
        default=None, description="create (default) or must_exist (tables made by IaC)."
    )

    def store_config(self) -> StoreConfig:
        base = StoreConfig.from_env()
        properties = _overridden(
            base.catalog_properties,
            [
                ("s3.endpoint", self.s3_endpoint),
                ("glue.endpoint", self.glue_endpoint),
                ("s3.region", self.aws_region),
                ("glue.region", self.aws_region),
                ("s3.access-key-id", self.aws_access_key_id),
                ("glue.access-key-id", self.aws_access_key_id),
                ("s3.secret-access-key", self.aws_secret_access_key),
                ("glue.secret-access-key", self.aws_secret_access_key),
            ],
        )
        online: dict[str, object] = _overridden(
            base.online_settings,
            [
                ("endpoint_url", self.dynamodb_endpoint_url),
                ("region_name", self.dynamodb_region),
                ("table_prefix", self.dynamodb_table_prefix),
                ("table_mode", self.dynamodb_table_mode),
            ],
        )
        online_store = self.online_store or base.online_store
        if online_store == "dynamodb":
            online = _overridden(
                online,
                [
                    ("aws_access_key_id", self.aws_access_key_id),
                    ("aws_secret_access_key", self.aws_secret_access_key),
                ],
            )
        return StoreConfig(
            home=resolve_home(self.home) if self.home else base.home,
            online_store=online_store,  # type: ignore[arg-type]
            online_settings=online,
            offline_buffer_rows=base.offline_buffer_rows,
            offline_buffer_seconds=base.offline_buffer_seconds,
            landing=self.landing or base.landing,
            catalog_type=self.catalog_type or base.catalog_type,  # type: ignore[arg-type]
            catalog_uri=self.catalog_uri or base.catalog_uri,
            warehouse=self.warehouse or base.warehouse,
            namespace=self.namespace or base.namespace,
            catalog_properties=properties,
            commit_retries=base.commit_retries
            if self.commit_retries is None
            else self.commit_retries,
        )

    def get_store(self) -> FeatureStore:
        return FeatureStore(config=self.store_config())


def _overridden(
    base: Mapping[str, _Value], overrides: Iterable[tuple[str, _Value | None]]
) -> dict[str, _Value]:
    """`base` with each override that is set laid over it: unset fields keep the environment's."""
    merged = dict(base)
    merged.update((key, value) for key, value in overrides if value)
    return merged


class SnowflakeRegistrationResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The Snowflake account to register in; without an `account`, registration is a dry run.

    Registration settings (database, schema, external volume, catalog integration...) come
    from ``FEATURE_PLATFORM_SNOWFLAKE__*`` variables (`SnowflakeSettings.from_env`). The
    connection is dagster-snowflake's `SnowflakeResource`, built when a run needs it: importing
    the Snowflake client costs seconds, which every run process (and the UI) would otherwise
    pay even where Snowflake is not configured. Pass secrets through `dg.EnvVar`.
    """

    account: str | None = None
    user: str | None = None
    password: str | None = None
    role: str | None = None
    warehouse: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.account)

    def settings(self) -> SnowflakeSettings | None:
        return SnowflakeSettings.from_env() if self.configured else None

    def connection(self) -> SnowflakeResource:
        """The account's connection, built like every other Snowflake connection.

        Raises:
            ConfigurationError: No `account` is configured (registration is a dry run then).
        """
        if not self.account:
            raise ConfigurationError(
                "the snowflake resource has no account: set it (dg.EnvVar('SNOWFLAKE_ACCOUNT')) "
                "to register for real"
            )
        return SnowflakeConnectionSettings(
            account=self.account,
            user=self.user or "",
            password=self.password,
            role=self.role,
            warehouse=self.warehouse,
        ).resource()


def current_environment() -> Environment:
    env = os.environ.get("FEATURE_PLATFORM_ENV", "local")
    if env not in ("local", "aws"):
        raise ConfigurationError(f"FEATURE_PLATFORM_ENV must be 'local' or 'aws', not {env!r}")
    return env  # type: ignore[return-value]


def resources_for(env: Environment) -> dict[str, object]:
    """The resource set of a deployment: embedded services locally, AWS services in `aws`.

    In `aws`, secrets and endpoints come from environment variables through `dg.EnvVar`, so they
    never appear in code or in the UI.
    """
    if env == "local":
        return {
            "feature_store": FeatureStoreResource(),
            "snowflake": SnowflakeRegistrationResource(),  # dry run: no account
        }
    catalog_uri = (
        dg.EnvVar("FEATURE_PLATFORM_CATALOG_URI")
        if os.environ.get("FEATURE_PLATFORM_CATALOG_URI")
        else None
    )
    return {
        "feature_store": FeatureStoreResource(
            catalog_type=dg.EnvVar("FEATURE_PLATFORM_CATALOG_TYPE"),
            catalog_uri=catalog_uri,
            warehouse=dg.EnvVar("FEATURE_PLATFORM_WAREHOUSE"),
            aws_region=dg.EnvVar("AWS_REGION"),
            online_store="dynamodb",
            dynamodb_region=dg.EnvVar("AWS_REGION"),
        ),
        "snowflake": SnowflakeRegistrationResource(
            account=dg.EnvVar(env_name("account")),
            user=dg.EnvVar(env_name("user")),
            password=dg.EnvVar(env_name("password")),
            role=dg.EnvVar(env_name("role")),
            warehouse=dg.EnvVar(env_name("warehouse")),
        )
        if os.environ.get(env_name("account"))
        else SnowflakeRegistrationResource(),
    }
