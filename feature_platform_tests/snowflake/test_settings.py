"""SnowflakeSettings.from_env: unset means off, partial or misspelt configuration is an error."""

from __future__ import annotations

import pytest

from feature_platform.errors import InvalidSnowflakeSettingError, UnsafeSnowflakeIdentifierError
from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform_tests.snowflake.builders import ROLE_ARN

P = "FEATURE_PLATFORM_SNOWFLAKE__"
REQUIRED = {
    P + "DATABASE": "features",
    P + "SCHEMA": "offline",
    P + "EXTERNAL_VOLUME": "features_volume",
    P + "CATALOG_INTEGRATION": "features_catalog",
    P + "STORAGE_BASE_URL": "s3://acme-features/warehouse/",
    P + "READER_ROLE": "feature_reader",
}


def test_not_configured_is_none() -> None:
    assert SnowflakeSettings.from_env({"FEATURE_PLATFORM_HOME": "/tmp/x"}) is None


def test_required_variables_give_object_store_defaults() -> None:
    settings = SnowflakeSettings.from_env({**REQUIRED, "UNRELATED": "1"})
    assert settings == SnowflakeSettings(
        database="features",
        schema="offline",
        external_volume="features_volume",
        catalog_integration="features_catalog",
        storage_base_url="s3://acme-features/warehouse/",
        reader_role="feature_reader",
    )
    assert settings is not None
    assert settings.integration_kind == "object_store"
    assert settings.view_suffix == "_LATEST"
    assert settings.catalog_namespace == "feature_platform"


def test_every_variable_is_read() -> None:
    environ = {
        **REQUIRED,
        P + "INTEGRATION_KIND": "glue",
        P + "AUTO_REFRESH": " True ",
        P + "TABLE_PREFIX": "FP_",
        P + "VIEW_SUFFIX": "_NOW",
        P + "CATALOG_NAMESPACE": "features_prod",
        P + "STORAGE_AWS_ROLE_ARN": ROLE_ARN,
        P + "GLUE_AWS_ROLE_ARN": ROLE_ARN,
        P + "GLUE_CATALOG_ID": "123456789012",
        P + "GLUE_REGION": "us-gov-west-1",
        P + "REST_CATALOG_URI": "https://glue.eu-west-1.amazonaws.com/iceberg",
        P + "REST_CATALOG_NAME": "123456789012",
    }
    assert SnowflakeSettings.from_env(environ) == SnowflakeSettings(
        database="features",
        schema="offline",
        external_volume="features_volume",
        catalog_integration="features_catalog",
        storage_base_url="s3://acme-features/warehouse/",
        reader_role="feature_reader",
        integration_kind="glue",
        auto_refresh=True,
        table_prefix="FP_",
        view_suffix="_NOW",
        catalog_namespace="features_prod",
        storage_aws_role_arn=ROLE_ARN,
        glue_aws_role_arn=ROLE_ARN,
        glue_catalog_id="123456789012",
        glue_region="us-gov-west-1",
        rest_catalog_uri="https://glue.eu-west-1.amazonaws.com/iceberg",
        rest_catalog_name="123456789012",
    )


def test_empty_optional_variables_mean_unset() -> None:
    environ = {**REQUIRED, P + "GLUE_REGION": "", P + "TABLE_PREFIX": ""}
    settings = SnowflakeSettings.from_env(environ)
    assert settings is not None
    assert settings.glue_region is None
    assert settings.table_prefix == ""


def test_partial_configuration_names_what_is_missing() -> None:
    environ = {P + "DATABASE": "features", P + "SCHEMA": "offline"}
    with pytest.raises(InvalidSnowflakeSettingError) as error:
        SnowflakeSettings.from_env(environ)
    message = str(error.value)
    for name in ("EXTERNAL_VOLUME", "CATALOG_INTEGRATION", "STORAGE_BASE_URL", "READER_ROLE"):
        assert P + name in message
    assert P + "DATABASE'" not in message


def test_empty_required_variable_is_missing() -> None:
    with pytest.raises(InvalidSnowflakeSettingError, match=P + "READER_ROLE"):
        SnowflakeSettings.from_env({**REQUIRED, P + "READER_ROLE": ""})


def test_misspelt_variable_is_an_error() -> None:
    with pytest.raises(InvalidSnowflakeSettingError, match=P + "DATABSE"):
        SnowflakeSettings.from_env({**REQUIRED, P + "DATABSE": "typo"})


@pytest.mark.parametrize("value", ["yes", "1", "on", ""])
def test_auto_refresh_must_be_true_or_false(value: str) -> None:
    environ = {**REQUIRED, P + "INTEGRATION_KIND": "rest", P + "AUTO_REFRESH": value}
    if value == "":
        settings = SnowflakeSettings.from_env(environ)  # empty means unset: the default
        assert settings is not None
        assert settings.auto_refresh is False
        return
    with pytest.raises(InvalidSnowflakeSettingError, match="AUTO_REFRESH"):
        SnowflakeSettings.from_env(environ)


def test_unsafe_values_from_the_environment_are_rejected() -> None:
    with pytest.raises(UnsafeSnowflakeIdentifierError):
        SnowflakeSettings.from_env({**REQUIRED, P + "READER_ROLE": 'r"; DROP ROLE x; --'})
    with pytest.raises(InvalidSnowflakeSettingError):
        SnowflakeSettings.from_env({**REQUIRED, P + "INTEGRATION_KIND": "hive"})


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in REQUIRED.items():
        monkeypatch.setenv(key, value)
    settings = SnowflakeSettings.from_env()
    assert settings is not None
    assert settings.database == "features"
