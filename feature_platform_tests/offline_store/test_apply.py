"""`apply` creates tables and evolves them safely; specs live with the tables."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from feature_platform import Entity, Feature, FeatureStore
from feature_platform.errors import IncompatibleSchemaChangeError
from feature_platform_tests.helpers import (
    DAY_START,
    NEXT_DAY,
    unbuffered_store,
    user_frame,
    user_group,
)


def test_apply_creates_a_v2_table_partitioned_by_day_under_the_warehouse(
    store: FeatureStore, home: Path
) -> None:
    result = store.apply(user_group())
    table = store.table("user_stats")
    assert result.created
    assert table.metadata.format_version == 2
    assert table.location() == (home / "warehouse" / "feature_platform" / "user_stats").as_uri()
    assert [f.name for f in table.spec().fields] == ["event_time_day"]
    assert [f.name for f in table.schema().fields if f.required] == [
        "user_id",
        "event_time",
        "created_at",
    ]


def test_apply_is_idempotent(store: FeatureStore) -> None:
    store.apply(user_group())
    again = store.apply(user_group())
    assert not again.created
    assert not again.changed


def test_specs_are_visible_to_any_process_opening_the_catalog(
    store: FeatureStore, home: Path
) -> None:
    store.apply(user_group(description="clicks per user", tags={"domain": "news"}))
    store.apply(user_group(name="other_group"))
    other = unbuffered_store(home)
    assert [g.name for g in other.list_feature_groups()] == ["other_group", "user_stats"]
    assert other.get_feature_group("user_stats") == user_group(
        description="clicks per user", tags={"domain": "news"}
    )
    described = other.describe("user_stats")
    assert described["rows"] == 0
    assert described["description"] == "clicks per user"


def test_commit_retries_follow_the_configuration(store: FeatureStore, home: Path) -> None:
    store.apply(user_group())
    assert store.table("user_stats").properties["commit.retry.num-retries"] == "10"
    reconfigured = FeatureStore.from_config(home=home, commit_retries=25)
    reconfigured.apply(user_group())
    assert reconfigured.table("user_stats").properties["commit.retry.num-retries"] == "25"


def test_adding_a_feature_evolves_the_table_and_keeps_old_rows(store: FeatureStore) -> None:
    store.apply(user_group())
    store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    wider = user_group(features=[*user_group().features, Feature("dwell", "float32")])
    result = store.apply(wider)

    assert result.evolution.added == ("dwell",)
    rows = store.read("user_stats")
    assert rows.get_column("dwell").null_count() == 5
    store.write(
        "user_stats", user_frame(NEXT_DAY).with_columns(dwell=pl.lit(1.5, dtype=pl.Float32))
    )
    assert store.read("user_stats").get_column("dwell").drop_nulls().to_list() == [1.5] * 5


def test_type_promotion_is_allowed(store: FeatureStore) -> None:
    store.apply(user_group(features=[Feature("clicks", "int32")]))
    result = store.apply(user_group(features=[Feature("clicks", "int64")]))
    assert result.evolution.promoted == ("clicks",)
    assert store.read("user_stats").schema["clicks"] == pl.Int64


def test_dropped_feature_keeps_its_column_and_data(store: FeatureStore) -> None:
    store.apply(user_group())
    store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    narrower = user_group(features=[Feature("clicks", "int64")])
    result = store.apply(narrower)
    assert result.evolution.retained == ("ctr", "segment", "is_subscriber")
    store.write(
        "user_stats", user_frame(NEXT_DAY).select("user_id", "event_time", "computed_at", "clicks")
    )
    assert store.read("user_stats").columns == ["user_id", "event_time", "created_at", "clicks"]
    assert store.table("user_stats").scan().to_arrow().num_rows == 10


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (user_group(features=[Feature("clicks", "string")]), "cannot change type from int64"),
        (user_group(partitioning="hourly"), "partitioning changed"),
        (user_group(entity=Entity("user", ["user_id", "region"])), "join keys changed"),
        (
            user_group(entity=Entity("user", ["user_id"], key_dtypes={"user_id": "int64"})),
            "join keys changed",
        ),
    ],
)
def test_incompatible_changes_are_refused_and_change_nothing(
    store: FeatureStore, changed: object, message: str
) -> None:
    store.apply(user_group())
    metadata = store.table("user_stats").metadata_location
    with pytest.raises(IncompatibleSchemaChangeError, match=message):
        store.apply(changed)  # type: ignore[arg-type]
    assert store.table("user_stats").metadata_location == metadata
    assert store.get_feature_group("user_stats") == user_group()
