"""`training_sets/<name>` with a per-definition engine: DuckDB, and Snowflake (on fakesnow).

The asset stores the same training set whichever engine built it, and records the engine, the
statement and (for Snowflake) the result table next to the source snapshots.
"""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.errors import InvalidSpecError
from feature_platform.orchestration.resources import (
    FeatureStoreResource,
    SnowflakeRegistrationResource,
)
from feature_platform.orchestration.training_assets import build_training_set_definitions
from feature_platform.training.definition import TrainingSetDefinition
from feature_platform_tests.training.snowflake_standin import register, snowflake_account
from feature_platform_tests.training.test_point_in_time import DAY, T, clicks_group, labels, rows
from feature_platform_tests.training.test_sql_snowflake import FEATURES

LABELS = labels(("a", T), ("b", T), ("zz", T - DAY))


def _definition(engine: str) -> TrainingSetDefinition:
    return TrainingSetDefinition(
        name="clicks_training",
        features=FEATURES,
        labels=lambda store, window: LABELS,
        engine=engine,
    )


@pytest.fixture
def clicks(store: FeatureStore) -> FeatureStore:
    store.apply(clicks_group())
    store.write("user_clicks", rows(("a", T - DAY / 2, T, 1, 0.5), ("b", T, T, 2, None)))
    return store


def _materialize(
    store: FeatureStore, engine: str, **resources: object
) -> dict[str, dg.MetadataValue]:
    definitions = build_training_set_definitions(_definition(engine))
    result = dg.materialize(
        list(definitions.assets or []),  # type: ignore[arg-type]
        resources={"feature_store": FeatureStoreResource(home=str(store.config.home)), **resources},
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    return dict(event.materialization.metadata)


def test_a_duckdb_training_set_asset_stores_the_polars_result(clicks: FeatureStore) -> None:
    metadata = _materialize(clicks, "duckdb")
    assert metadata["engine"].value == "duckdb"
    assert "ASOF LEFT JOIN" in str(metadata["statement"].value)
    expected = clicks.build_training_set(LABELS, FEATURES)
    assert metadata["source_snapshots"].value == expected.snapshot_ids
    stored = pl.from_arrow(
        clicks.catalog.load_table(str(metadata["table"].value)).scan().to_arrow()
    )
    assert isinstance(stored, pl.DataFrame)
    assert (
        stored.sort("label_id")
        .select("clicks", "ctr")
        .equals(expected.frame.select("clicks", "ctr"))
    )


def test_a_snowflake_training_set_asset_records_its_table_and_statement(
    clicks: FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "DATABASE": "FEATURES",
        "SCHEMA": "OFFLINE",
        "EXTERNAL_VOLUME": "FEATURE_PLATFORM_VOLUME",
        "CATALOG_INTEGRATION": "FEATURE_PLATFORM_OBJECT_STORE",
        "STORAGE_BASE_URL": "s3://your-bucket/feature-platform/",
        "READER_ROLE": "FEATURE_READER",
    }.items():
        monkeypatch.setenv(f"FEATURE_PLATFORM_SNOWFLAKE__{key}", value)
    with snowflake_account(clicks) as connection:
        register(connection, clicks, "user_clicks")
        resource = SnowflakeRegistrationResource(account="acme", user="dagster", password="fake")
        metadata = _materialize(clicks, "snowflake", snowflake=resource)
        table = str(metadata["snowflake_table"].value)
        assert table.startswith('"FEATURES"."OFFLINE"."CLICKS_TRAINING__')
        count = connection.cursor().execute(f"SELECT COUNT(*) FROM {table}").fetchall()
    assert count == [(3,)]
    assert metadata["engine"].value == "snowflake"
    assert str(metadata["statement"].value).startswith("```sql\nCREATE OR REPLACE TABLE")
    assert (
        metadata["source_snapshots"].value
        == clicks.build_training_set(LABELS, FEATURES).snapshot_ids
    )


def test_an_unknown_engine_is_refused_at_definition() -> None:
    with pytest.raises(InvalidSpecError, match="engine 'spark' is not one of"):
        _definition("spark")
