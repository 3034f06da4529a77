"""Configuration: embedded defaults under one home, services by environment variables alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from feature_platform import FeatureStore, StoreConfig
from feature_platform.errors import ConfigurationError, InvalidIdentifierError
from feature_platform.offline_store.catalog import table_location


def test_embedded_defaults_live_under_one_home(tmp_path: Path) -> None:
    config = StoreConfig.embedded(tmp_path)
    assert config.pyiceberg_properties() == {
        "type": "sql",
        "uri": f"sqlite:///{tmp_path / 'catalog.db'}",
        "warehouse": (tmp_path / "warehouse").as_uri(),
    }


def test_home_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(tmp_path / "elsewhere"))
    assert FeatureStore().config.home == tmp_path / "elsewhere"


def test_glue_and_s3_by_environment_variables_only(tmp_path: Path) -> None:
    config = StoreConfig.from_env(
        {
            "FEATURE_PLATFORM_HOME": str(tmp_path),
            "FEATURE_PLATFORM_CATALOG_TYPE": "glue",
            "FEATURE_PLATFORM_WAREHOUSE": "s3://bucket/features/",
            "FEATURE_PLATFORM_NAMESPACE": "prod_features",
            "FEATURE_PLATFORM_CATALOG__S3__ENDPOINT": "http://127.0.0.1:9000",
            "FEATURE_PLATFORM_COMMIT_RETRIES": "20",
        }
    )
    assert config.pyiceberg_properties() == {
        "type": "glue",
        "warehouse": "s3://bucket/features",
        "s3.endpoint": "http://127.0.0.1:9000",
    }
    assert config.commit_retries == 20
    assert table_location(config, config.namespace, "g") == "s3://bucket/features/prod_features/g"


def test_postgres_catalog_is_a_uri_away(tmp_path: Path) -> None:
    # A config, not a store: building a store opens the catalog, and no PostgreSQL runs here.
    config = StoreConfig(home=tmp_path, catalog_uri="postgresql+psycopg2://u:p@127.0.0.1/db")
    assert config.pyiceberg_properties()["uri"] == "postgresql+psycopg2://u:p@127.0.0.1/db"


def test_rest_catalogs_choose_their_own_locations(tmp_path: Path) -> None:
    config = StoreConfig(home=tmp_path, catalog_type="rest", catalog_uri="https://x/iceberg")
    assert table_location(config, "ns", "g") is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"catalog_type": "hive"}, "catalog_type must be"),
        ({"catalog_type": "rest"}, "needs catalog_uri"),
        ({"catalog_type": "glue"}, "needs warehouse"),
        ({"commit_retries": -1}, "commit_retries"),
    ],
)
def test_contradictory_configuration_is_rejected(
    tmp_path: Path, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        StoreConfig(home=tmp_path, **settings)  # type: ignore[arg-type]


def test_unsafe_namespace_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidIdentifierError):
        StoreConfig(home=tmp_path, namespace="../../etc")


def test_online_store_and_buffering_by_environment_variables_only(tmp_path: Path) -> None:
    config = StoreConfig.from_env(
        {
            "FEATURE_PLATFORM_HOME": str(tmp_path),
            "FEATURE_PLATFORM_ONLINE_STORE": "dynamodb",
            "FEATURE_PLATFORM_ONLINE__ENDPOINT_URL": "http://127.0.0.1:8000",
            "FEATURE_PLATFORM_ONLINE__TABLE_PREFIX": "1.",
            "FEATURE_PLATFORM_ONLINE__MAX_WORKERS": "4",
            "FEATURE_PLATFORM_ONLINE__CONSISTENT_READS": "true",
            "FEATURE_PLATFORM_ONLINE__READ_TIMEOUT_SECONDS": "2.5",
            "FEATURE_PLATFORM_OFFLINE_BUFFER_ROWS": "0",
            "FEATURE_PLATFORM_LANDING": "s3://bucket/landing",
        }
    )
    assert config.online_store == "dynamodb"
    assert config.online_settings == {
        "endpoint_url": "http://127.0.0.1:8000",
        "table_prefix": "1.",  # text stays text
        "max_workers": 4,
        "consistent_reads": True,
        "read_timeout_seconds": 2.5,
    }
    assert config.offline_buffer_rows == 0
    assert config.landing_uri == "s3://bucket/landing"
    assert StoreConfig.embedded(tmp_path).landing_uri == str(tmp_path.resolve() / "landing")
    with pytest.raises(ConfigurationError, match="must be true or false"):
        StoreConfig.from_env({"FEATURE_PLATFORM_ONLINE__MANAGE_TTL": "yes"})
    with pytest.raises(ConfigurationError, match="online_store must be"):
        StoreConfig(home=tmp_path, online_store="redis")  # type: ignore[arg-type]
