"""Dagster: a partition materialized into an experiment, a training set built from one, and the
age check of open experiments."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from feature_platform import FeatureStore
from feature_platform.definitions import build_definitions
from feature_platform.demo.training_sets import CLICK_THROUGH
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.orchestration.experiment_checks import build_experiment_checks
from feature_platform.orchestration.feature_assets import FeatureRunConfig, _materialized_on_main
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.orchestration.training_assets import (
    TrainingSetRunConfig,
    training_set_asset_key,
)
from feature_platform.registry import load_feature_groups
from feature_platform.training.storage import training_set_namespace

USERS = dg.AssetKey(["features", "user_engagement"])
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def _run(
    home: Path,
    key: dg.AssetKey,
    instance: dg.DagsterInstance,
    *,
    partition: str | None = None,
    span: tuple[str, str] | None = None,
    config: dict[str, dg.Config] | None = None,
) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [build_definitions().get_assets_def(key)],
        resources={"feature_store": FeatureStoreResource(home=str(home))},
        instance=instance,
        partition_key=partition,
        tags={RANGE_START: span[0], RANGE_END: span[1]} if span else None,
        run_config=dg.RunConfig(ops=config or {}),
    )
    assert result.success
    return result


@pytest.fixture(scope="module")
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory, instance: dg.DagsterInstance) -> Path:
    home = tmp_path_factory.mktemp("experiments") / "home"
    _run(home, dg.AssetKey(["demo", "click_events"]), instance, span=("2026-11-01", "2026-11-04"))
    _run(home, USERS, instance, span=("2026-11-03", "2026-11-04"))
    articles = dg.AssetKey(["features", "article_popularity"])
    _run(home, articles, instance, span=("2026-11-03-00:00", "2026-11-04-23:00"))
    return home


def test_a_run_config_sends_a_partition_to_an_experiment(
    demo_home: Path, instance: dg.DagsterInstance
) -> None:
    store = FeatureStore(demo_home)
    main_before = store.table("user_engagement").current_snapshot()
    result = _run(
        demo_home,
        USERS,
        instance,
        partition="2026-11-04",
        config={"features__user_engagement": FeatureRunConfig(experiment="trial")},
    )
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["experiment"].value == "trial"
    assert metadata["branch"].value == "exp_trial"
    table = store.table("user_engagement")
    assert table.current_snapshot() == main_before
    assert metadata["snapshot_id"].value == str(table.refs()["exp_trial"].snapshot_id)
    assert store.experiments() == {"trial": ["user_engagement"]}
    # Expectations are judged at promotion: main's checks get no result from this run.
    assert result.get_asset_check_evaluations() == []
    # The schedule still sees 11-04 as not materialized on main; 11-03 is.
    done = _materialized_on_main(instance, USERS)
    assert "2026-11-03" in done
    assert "2026-11-04" not in done


def test_a_training_set_built_in_an_experiment_records_its_branches(demo_home: Path) -> None:
    key = training_set_asset_key(CLICK_THROUGH.name)
    store = FeatureStore(demo_home)
    if "trial" not in store.experiments():
        store.write_window(
            "user_engagement",
            store.read("user_engagement", "2026-11-04", "2026-11-05"),
            "2026-11-04",
            "2026-11-05",
            experiment="trial",
        )

    def build(experiment: str) -> dg.ExecuteInProcessResult:
        config = TrainingSetRunConfig(
            labels_start="2026-11-04T00:00:00+00:00",
            labels_end="2026-11-05T00:00:00+00:00",
            experiment=experiment,
        )
        result = dg.materialize(
            [build_definitions().get_assets_def(key)],
            resources={"feature_store": FeatureStoreResource(home=str(demo_home))},
            run_config=dg.RunConfig(ops={"training_sets__click_through": config}),
        )
        assert result.success
        return result

    build("")
    table_id = (training_set_namespace(store.config), CLICK_THROUGH.name)
    main_set = store.catalog.load_table(table_id).current_snapshot()
    metadata = build("trial").get_asset_materialization_events()[0].materialization.metadata
    assert metadata["source_branches"].value == {
        "user_engagement": "exp_trial",
        "article_popularity": "main",
    }
    heads = store.table("user_engagement").refs()
    assert metadata["source_snapshots"].value["user_engagement"] == heads["exp_trial"].snapshot_id
    assert metadata["branch"].value == "exp_trial"
    stored = store.catalog.load_table(table_id)
    assert stored.current_snapshot() == main_set  # the main training set is untouched
    assert stored.refs()["exp_trial"].snapshot_id == int(metadata["snapshot_id"].value)


def test_the_age_check_warns_about_experiments_older_than_the_limit(demo_home: Path) -> None:
    store = FeatureStore(demo_home)
    if "trial" not in store.experiments():
        frame = store.read("user_engagement", "2026-11-04", "2026-11-05")
        store.write_window("user_engagement", frame, "2026-11-04", "2026-11-05", experiment="trial")
    definition = next(d for d in load_feature_groups() if d.name == "user_engagement")
    resource = FeatureStoreResource(home=str(demo_home))
    for limit, passed in ((dt.timedelta(days=1), True), (dt.timedelta(microseconds=1), False)):
        policy = MaintenancePolicy(experiment_max_age=limit)
        checks = build_experiment_checks(dataclasses.replace(definition, maintenance=policy))
        (check,) = checks.asset_checks or []
        result = check(feature_store=resource)  # type: ignore[operator]
        assert result.passed is passed
        assert result.metadata["experiments"].value == ["trial"]
        assert result.severity == dg.AssetCheckSeverity.WARN
