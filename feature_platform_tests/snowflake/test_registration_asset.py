"""`snowflake/<group>` through `SnowflakeResource`: against fakesnow, and as a local dry run.

fakesnow runs the Snowflake connector's code paths on DuckDB but cannot parse Iceberg DDL, so
only `CREATE/ALTER ICEBERG TABLE` (and grants, which it lacks) are declared no-ops; the
`_LATEST` view is created and queried for real, over a stand-in table with the Iceberg table's
columns and rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import fakesnow
import pytest
import snowflake.connector

from feature_platform import FeatureStore, StoreConfig
from feature_platform.definitions import build_definitions
from feature_platform.orchestration.resources import (
    FeatureStoreResource,
    SnowflakeRegistrationResource,
)
from feature_platform.orchestration.snowflake_assets import snowflake_asset_key
from feature_platform.registry import load_feature_groups
from feature_platform.snowflake.registration import check_snowflake_readable
from feature_platform_tests.conftest import MOTO_CREDENTIALS
from feature_platform_tests.helpers import DAY_START, read_independently, user_frame, user_group

ICEBERG_ONLY = [r"(?s)^\s*(CREATE|ALTER) ICEBERG TABLE .*", r"(?s)^\s*GRANT .*"]


@pytest.fixture
def s3_store(
    tmp_path: Path, s3_bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> FeatureStore:
    """A store on an s3:// warehouse (moto), registered as the demo-less registry's one group."""
    registry = tmp_path / "one_group.py"
    registry.write_text(
        "import datetime as dt\n"
        "from feature_platform.demo import feature_groups as demo\n"
        "from feature_platform.sources import FeatureGroupDefinition\n"
        "from feature_platform_tests.helpers import user_group\n"
        "FEATURE_GROUPS = [FeatureGroupDefinition(user_group(ttl=dt.timedelta(days=3650)),"
        " lambda rows, window: rows, demo.CLICK_EVENTS)]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FEATURE_PLATFORM_REGISTRY", "one_group")
    properties = {
        "s3.endpoint": moto_endpoint,
        "s3.access-key-id": MOTO_CREDENTIALS["aws_access_key_id"],
        "s3.secret-access-key": MOTO_CREDENTIALS["aws_secret_access_key"],
        "s3.region": "us-east-1",
    }
    for key, value in {
        "HOME": str(tmp_path / "home"),
        "WAREHOUSE": f"s3://{s3_bucket}/warehouse",
        "SNOWFLAKE__DATABASE": "FEATURES",
        "SNOWFLAKE__SCHEMA": "OFFLINE",
        "SNOWFLAKE__EXTERNAL_VOLUME": "FEATURES_VOLUME",
        "SNOWFLAKE__CATALOG_INTEGRATION": "FEATURES_OBJECT_STORE",
        "SNOWFLAKE__STORAGE_BASE_URL": f"s3://{s3_bucket}/warehouse/",
        "SNOWFLAKE__READER_ROLE": "FEATURE_READER",
    }.items():
        monkeypatch.setenv(f"FEATURE_PLATFORM_{key}", value)
    for key, value in properties.items():
        monkeypatch.setenv("FEATURE_PLATFORM_CATALOG__" + key.upper().replace(".", "__"), value)
    store = FeatureStore.from_env()
    store.apply(user_group(ttl=dt.timedelta(days=3650)))
    for day, offset in ((DAY_START, 0), (DAY_START + dt.timedelta(days=1), 100)):
        frame = user_frame(day, offset=offset)
        store.write_window("user_stats", frame, day, day + dt.timedelta(days=1))
    return store


def _materialize(resource: SnowflakeRegistrationResource) -> dg.ExecuteInProcessResult:
    asset = build_definitions().get_assets_def(snowflake_asset_key("user_stats"))
    return dg.materialize(
        [asset], resources={"feature_store": FeatureStoreResource(), "snowflake": resource}
    )


def test_registration_runs_through_snowflake_resource(s3_store: FeatureStore) -> None:
    assert [d.name for d in load_feature_groups()] == ["user_stats"]
    table = s3_store.table("user_stats")
    rows = read_independently(table)
    with fakesnow.patch(nop_regexes=ICEBERG_ONLY):
        setup = snowflake.connector.connect(database="FEATURES", schema="OFFLINE")
        columns = ", ".join(f'"{name}"' for name in rows.columns)
        setup.cursor().execute(
            'CREATE TABLE "FEATURES"."OFFLINE"."USER_STATS" AS SELECT * FROM VALUES '
            + ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows.iter_rows())
            + f" AS t({columns})"
        )
        resource = SnowflakeRegistrationResource(account="acme", user="dagster", password="fake")
        result = _materialize(resource)
        assert result.success
        [event] = result.get_asset_materialization_events()
        metadata = event.materialization.metadata
        assert metadata["dry_run"].value is False
        assert metadata["snowflake_table"].value == '"FEATURES"."OFFLINE"."USER_STATS"'
        statements = str(metadata["statements"].value)
        relative = table.metadata_location.split("/warehouse/", 1)[1]
        assert f"METADATA_FILE_PATH = '{relative}'" in statements
        assert f"REFRESH '{relative}'" in statements

        latest = (
            setup.cursor()
            .execute(
                'SELECT USER_ID, CLICKS FROM "FEATURES"."OFFLINE"."USER_STATS_LATEST" ORDER BY 1'
            )
            .fetchall()
        )
        assert latest == [(f"u{i}", 100 + i) for i in range(5)]  # the view really ran
        setup.close()

    [check] = result.get_asset_check_evaluations()
    assert check.passed
    assert check.metadata["rows_from_metadata_file"].value == rows.height == 10


def test_without_snowflake_the_asset_is_a_labelled_dry_run(
    s3_store: FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _materialize(SnowflakeRegistrationResource())
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["mode"].value == "DRY RUN (Snowflake not configured)"
    assert "CREATE ICEBERG TABLE IF NOT EXISTS" in str(metadata["statements"].value)
    assert result.get_asset_check_evaluations()[0].passed


def test_readability_check_catches_a_metadata_file_that_disagrees(tmp_path: Path) -> None:
    store = FeatureStore(config=StoreConfig.embedded(tmp_path, offline_buffer_rows=0))
    store.apply(user_group())
    store.write("user_stats", user_frame())
    table = store.table("user_stats")
    assert check_snowflake_readable(table).passed
    stale = table.metadata_location
    store.write("user_stats", user_frame(offset=1))
    moved_on = store.table("user_stats")
    # Pretend the catalog answered with the new state while Snowflake was given the old file.
    object.__setattr__(moved_on, "metadata_location", stale)
    report = check_snowflake_readable(moved_on)
    assert not report.passed
    assert report.problems == ("the metadata file shows other rows than the catalog",)


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat()}'::TIMESTAMP_TZ"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def test_literal_helper_quotes_text() -> None:
    assert _literal("it's") == "'it''s'"
    assert _literal(None) == "NULL"
