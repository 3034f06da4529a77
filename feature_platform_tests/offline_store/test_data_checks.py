"""The data checks behind the `features/<group>` asset checks, on good and on broken tables.

Broken tables are made the way they happen in practice: written by another engine straight
through pyiceberg, past our validation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.schema import Schema

from feature_platform import Feature, FeatureStore
from feature_platform.definitions import build_definitions
from feature_platform.offline_store import quality
from feature_platform.offline_store.schema import iceberg_schema
from feature_platform.offline_store.validation import prepare_frame
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform_tests.helpers import DAY_START, NEXT_DAY, user_frame, user_group

GROUP = user_group()


def _healthy(store: FeatureStore) -> FeatureStore:
    store.apply(GROUP)
    store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    return store


def _raw_append(store: FeatureStore, **changes: object) -> None:
    """Append rows through pyiceberg directly, as another engine would."""
    table = store.table("user_stats")
    rows = store.read("user_stats").head(2).to_arrow()
    for column, value in changes.items():
        index = rows.schema.get_field_index(column)
        rows = rows.set_column(
            index, rows.schema.field(index), pa.array([value] * 2, rows.schema.field(index).type)
        )
    table.append(rows.cast(table.schema().as_arrow()))


def test_a_healthy_table_passes_every_check(store: FeatureStore) -> None:
    table = _healthy(store).table("user_stats")
    assert quality.schema_matches_spec(table, GROUP).passed
    assert quality.no_null_join_keys(table, GROUP).passed
    assert quality.event_times_inside_partitions(table, GROUP).passed
    assert quality.no_duplicate_rows(table, GROUP, DAY_START).passed
    assert quality.no_empty_data_files(table).passed
    assert quality.fresh(table, dt.timedelta(days=2), now=NEXT_DAY).passed


def test_null_keys_in_a_table_another_tool_created(store: FeatureStore) -> None:
    """Our tables declare keys required, so only a table made elsewhere can hold null keys."""
    schema = iceberg_schema(GROUP)
    loose = Schema(
        *[f.model_copy(update={"required": False}) for f in schema.fields],
        schema_id=schema.schema_id,
    )
    store.catalog.create_namespace_if_not_exists("elsewhere")
    table = store.catalog.create_table(("elsewhere", "user_stats"), schema=loose)
    rows = prepare_frame(GROUP, user_frame()).to_arrow().cast(loose.as_arrow())
    rows = rows.set_column(
        0, "user_id", pa.array([None, "u1", None, "u3", "u4"], pa.large_string())
    )
    table.append(rows)
    nulls = quality.no_null_join_keys(table, GROUP)
    assert not nulls.passed
    assert nulls.facts["null_keys"] == {"user_id": 2}


def test_each_check_catches_its_defect(store: FeatureStore) -> None:
    _healthy(store)
    _raw_append(store)  # the same two rows again, past validation: duplicates
    table = store.table("user_stats")

    duplicates = quality.no_duplicate_rows(table, GROUP, DAY_START)
    assert not duplicates.passed
    assert duplicates.facts["duplicates"] >= 4

    drifted = dataclasses.replace(GROUP, features=[*GROUP.features, Feature("new_one", "int64")])
    schema = quality.schema_matches_spec(table, drifted)
    assert not schema.passed
    assert schema.facts["problems"] == ["new_one: missing"]

    hourly = dataclasses.replace(GROUP, partitioning="hourly")  # files hold whole days
    assert not quality.event_times_inside_partitions(table, hourly).passed

    stale = quality.fresh(table, dt.timedelta(hours=6), now=NEXT_DAY + dt.timedelta(days=2))
    assert not stale.passed
    assert stale.facts["max_age_hours"] == 6


def test_an_empty_data_file_is_caught(store: FeatureStore, tmp_path: Path) -> None:
    """A 0-row file registered by another engine (SageMaker's first write was exactly that)."""
    store.catalog.create_namespace_if_not_exists("elsewhere")
    table = store.catalog.create_table(("elsewhere", "user_stats"), schema=iceberg_schema(GROUP))
    table.append(prepare_frame(GROUP, user_frame()).to_arrow().cast(table.schema().as_arrow()))
    assert quality.no_empty_data_files(table).passed
    path = tmp_path / "empty.parquet"
    pq.write_table(table.schema().as_arrow().empty_table(), path)
    table.add_files([path.as_uri()], check_duplicate_files=False)
    outcome = quality.no_empty_data_files(table.refresh())
    assert not outcome.passed
    assert outcome.facts["empty_files"] == [path.as_uri()]


def test_checks_run_with_the_asset_and_failures_block_downstream(home: Path) -> None:
    """A materialization with the checks selected reports each one; a failure is blocking."""
    store = FeatureStore(home)
    definitions = build_definitions()
    events = definitions.get_assets_def(dg.AssetKey(["demo", "click_events"]))
    users = definitions.get_assets_def(dg.AssetKey(["features", "user_engagement"]))
    online = definitions.get_assets_def(dg.AssetKey(["online", "user_engagement"]))
    resources = {"feature_store": FeatureStoreResource(home=str(home))}
    tags = {
        "dagster/asset_partition_range_start": "2026-11-01",
        "dagster/asset_partition_range_end": "2026-11-07",
    }
    assert dg.materialize([events], resources=resources, tags=tags).success
    checks = [
        c
        for c in definitions.asset_checks or []
        if users.key in {k.asset_key for k in c.check_keys}
    ]
    result = dg.materialize([users, *checks], resources=resources, partition_key="2026-11-07")
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert {
        "schema_matches_spec",
        "no_null_join_keys",
        "event_times_inside_partitions",
        "no_duplicate_rows",
        "no_empty_data_files",
        "fresh",
        "few_small_files",
        "few_snapshots",
    } <= set(evaluations)
    for name in (
        "schema_matches_spec",
        "no_null_join_keys",
        "no_duplicate_rows",
        "no_empty_data_files",
    ):
        assert evaluations[name].passed, name
    assert not evaluations["fresh"].passed  # 2026-11-07 is weeks old
    assert evaluations["fresh"].severity == dg.AssetCheckSeverity.WARN

    # Another writer appends rows the table already has (duplicates in 11-07), then the group
    # runs another partition with its online sync.
    table = store.table("user_engagement")
    table.append(store.read("user_engagement").head(3).to_arrow().cast(table.schema().as_arrow()))
    blocked = dg.materialize(
        [users, online, *checks],
        resources=resources,
        partition_key="2026-11-06",
        raise_on_error=False,
    )
    assert not blocked.success
    failed = {e.check_name for e in blocked.get_asset_check_evaluations() if not e.passed}
    assert "no_duplicate_rows" in failed
    assert blocked.get_asset_materialization_events()[-1].asset_key == users.key  # online never ran
