"""The feature store as a Dagster resource, and the resource set of each deployment.

The environment is picked in exactly one place (`resources_for`), called from the definitions
function; nothing reads it at import time.
"""

from __future__ import annotations

import os
from typing import Literal

import dagster as dg
from pydantic import Field

from feature_platform.config import StoreConfig, resolve_home
from feature_platform.errors import ConfigurationError
from feature_platform.store import FeatureStore

Environment = Literal["local", "aws"]


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
        properties: dict[str, str] = dict(base.catalog_properties)
        for key, value in (
            ("s3.endpoint", self.s3_endpoint),
            ("glue.endpoint", self.glue_endpoint),
            ("s3.region", self.aws_region),
            ("glue.region", self.aws_region),
            ("s3.access-key-id", self.aws_access_key_id),
            ("glue.access-key-id", self.aws_access_key_id),
            ("s3.secret-access-key", self.aws_secret_access_key),
            ("glue.secret-access-key", self.aws_secret_access_key),
        ):
            if value:
                properties[key] = value
        online: dict[str, object] = dict(base.online_settings)
        for key, value in (
            ("endpoint_url", self.dynamodb_endpoint_url),
            ("region_name", self.dynamodb_region),
            ("table_prefix", self.dynamodb_table_prefix),
            ("table_mode", self.dynamodb_table_mode),
        ):
            if value:
                online[key] = value
        online_store = self.online_store or base.online_store
        if online_store == "dynamodb":
            for key, value in (
                ("aws_access_key_id", self.aws_access_key_id),
                ("aws_secret_access_key", self.aws_secret_access_key),
            ):
                if value:
                    online[key] = value
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
    from feature_platform.orchestration.snowflake_assets import SnowflakeRegistrationResource

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
            account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
            user=dg.EnvVar("SNOWFLAKE_USER"),
            password=dg.EnvVar("SNOWFLAKE_PASSWORD"),
            role=dg.EnvVar("SNOWFLAKE_ROLE"),
            warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
        )
        if os.environ.get("SNOWFLAKE_ACCOUNT")
        else SnowflakeRegistrationResource(),
    }
