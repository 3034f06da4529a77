"""`open_online_store` picks the implementation by kind and refuses unknown settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from feature_platform.errors import ConfigurationError
from feature_platform.online_store import (
    DynamoDBOnlineStore,
    DynamoDBSettings,
    EmbeddedOnlineStore,
    open_online_store,
)
from feature_platform_tests.online_store.builders import profile_group


def test_embedded_store_in_a_folder(tmp_path: Path) -> None:
    with open_online_store("embedded", folder=tmp_path, filename="serving.db") as store:
        assert isinstance(store, EmbeddedOnlineStore)
        assert store.path == tmp_path / "serving.db"


def test_dynamodb_store_from_settings() -> None:
    settings = {
        "region_name": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:9",  # never contacted: opening makes no request
        "table_prefix": "prod_",
        "max_workers": 4,
    }
    with open_online_store("dynamodb", **settings) as store:
        assert isinstance(store, DynamoDBOnlineStore)
        assert store.settings == DynamoDBSettings(**settings)  # type: ignore[arg-type]
        assert store.client.meta.region_name == "eu-west-1"
    assert "secret" not in repr(DynamoDBSettings(aws_secret_access_key="secret"))


def test_a_dynamodb_location_names_region_and_table_but_no_credentials() -> None:
    settings = {"region_name": "eu-west-1", "table_prefix": "prod_"}
    credentials = {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "s3cr3t"}
    with open_online_store("dynamodb", **settings, **credentials) as store:
        location = store.location(profile_group())
    assert location == "dynamodb:aws:eu-west-1#prod_profile"


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("redis", {}, "'embedded' or 'dynamodb'"),
        ("embedded", {}, "needs folder"),
        ("embedded", {"folder": ".", "region_name": "x"}, "no settings \\['region_name'\\]"),
        ("dynamodb", {"folder": "."}, "no settings \\['folder'\\]"),
    ],
)
def test_unknown_kinds_and_settings_are_refused(
    kind: str, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_online_store(kind, **settings)  # type: ignore[arg-type]
