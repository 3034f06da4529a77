"""Resources per environment: embedded locally, AWS services by environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from feature_platform.errors import ConfigurationError
from feature_platform.orchestration.resources import (
    FeatureStoreResource,
    current_environment,
    resources_for,
)


def test_local_resource_uses_the_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(tmp_path))
    resource = resources_for("local")["feature_store"]
    assert isinstance(resource, FeatureStoreResource)
    assert resource.get_store().config.home == tmp_path


def test_aws_resource_reads_its_settings_from_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_CATALOG_TYPE", "glue")
    monkeypatch.setenv("FEATURE_PLATFORM_WAREHOUSE", "s3://bucket/features")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    resource = resources_for("aws")["feature_store"]
    assert isinstance(resource, FeatureStoreResource)
    # EnvVar values resolve when Dagster initialises the resource, not at definition time.
    initialised = resource.process_config_and_initialize()
    config = initialised.store_config()
    assert config.catalog_type == "glue"
    assert config.warehouse_root == "s3://bucket/features"
    assert config.catalog_properties == {"s3.region": "eu-west-1", "glue.region": "eu-west-1"}


def test_local_resource_follows_the_same_environment_as_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(tmp_path))
    monkeypatch.setenv("FEATURE_PLATFORM_NAMESPACE", "team_features")
    monkeypatch.setenv("FEATURE_PLATFORM_COMMIT_RETRIES", "3")
    monkeypatch.setenv("FEATURE_PLATFORM_CATALOG__S3__ENDPOINT", "http://127.0.0.1:9000")
    resource = resources_for("local")["feature_store"]
    assert isinstance(resource, FeatureStoreResource)
    config = resource.store_config()
    assert (config.namespace, config.commit_retries) == ("team_features", 3)
    assert config.catalog_properties == {"s3.endpoint": "http://127.0.0.1:9000"}


def test_credentials_and_endpoints_map_to_catalog_properties(tmp_path: Path) -> None:
    resource = FeatureStoreResource(
        home=str(tmp_path),
        warehouse="s3://b/p",
        s3_endpoint="http://127.0.0.1:9000",
        aws_access_key_id="key",
        aws_secret_access_key="secret",
    )
    properties = resource.store_config().pyiceberg_properties()
    assert properties["s3.endpoint"] == "http://127.0.0.1:9000"
    assert properties["s3.access-key-id"] == "key"
    assert properties["glue.secret-access-key"] == "secret"


def test_unknown_environment_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_ENV", "staging")
    with pytest.raises(ConfigurationError, match="'local' or 'aws'"):
        current_environment()
