"""Writes in an experiment go to the branch exp_<name>; main and its spec stay as they were."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore
from feature_platform.errors import (
    IncompatibleSchemaChangeError,
    InvalidIdentifierError,
    InvalidRequestError,
    UnknownExperimentError,
)
from feature_platform.offline_store.branches import experiment_record
from feature_platform_tests.experiments.builders import (
    DAYS,
    GROUP,
    clicks_by_day,
    day_window,
    fill_main,
    frame_with_extra_feature,
    group_with_extra_feature,
    write_experiment,
)
from feature_platform_tests.helpers import (
    read_independently,
    unbuffered_store,
    user_frame,
    user_group,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def store(home: object) -> FeatureStore:
    store = unbuffered_store(home)
    fill_main(store)
    return store


def test_a_write_in_an_experiment_leaves_main_untouched(store: FeatureStore) -> None:
    before = store.table(GROUP)
    main_rows = store.read(GROUP).sort("event_time")
    write_experiment(store, "new_ctr", [1, 2])
    after = store.table(GROUP)
    assert after.current_snapshot().snapshot_id == before.current_snapshot().snapshot_id
    assert after.properties["feature_platform.spec"] == before.properties["feature_platform.spec"]
    assert "exp_new_ctr" in after.refs()
    assert_frame_equal(store.read(GROUP).sort("event_time"), main_rows)
    independent = read_independently(after).sort("event_time").select(main_rows.columns)
    assert_frame_equal(independent, main_rows)
    record = experiment_record(after, "new_ctr")
    assert record is not None
    assert record.base_snapshot_id == before.current_snapshot().snapshot_id


def test_reading_the_experiment_gives_its_windows_and_mains_others(store: FeatureStore) -> None:
    write_experiment(store, "new_ctr", [1, 2])
    days = clicks_by_day(store.read(GROUP, experiment="new_ctr"))
    assert list(days.values()) == [
        [0, 1, 2, 3, 4],
        [100, 101, 102, 103, 104],
        [100, 101, 102, 103, 104],
        [0, 1, 2, 3, 4],
    ]
    rerun = clicks_by_day(store.read(GROUP, experiment="new_ctr"))
    assert rerun == days  # rewriting the same windows again is idempotent
    write_experiment(store, "new_ctr", [1, 2])
    assert clicks_by_day(store.read(GROUP, experiment="new_ctr")) == days


def test_historical_features_read_branches_where_they_exist(store: FeatureStore) -> None:
    write_experiment(store, "new_ctr", [1])
    labels = pl.DataFrame(
        {"user_id": ["u1", "u1"], "event_timestamp": [DAYS[1] + dt.timedelta(hours=12)] * 2}
    )
    main = store.get_historical_features(labels, [f"{GROUP}:clicks"])
    trial = store.build_training_set(labels, [f"{GROUP}:clicks"], experiment="new_ctr")
    assert main["clicks"].to_list() == [1, 1]
    assert trial.frame["clicks"].to_list() == [101, 101]
    assert trial.branches == {GROUP: "exp_new_ctr"}
    assert trial.snapshot_ids[GROUP] == store.table(GROUP).refs()["exp_new_ctr"].snapshot_id


def test_a_feature_added_in_the_experiment_stays_out_of_mains_spec(store: FeatureStore) -> None:
    result = store.apply(group_with_extra_feature(), experiment="wider")
    assert result.evolution.added == ("clicks_x2",)
    store.write_window(GROUP, frame_with_extra_feature(1), *day_window(1), experiment="wider")
    trial = store.read(GROUP, experiment="wider")
    assert trial.filter(pl.col("clicks_x2").is_not_null())["clicks_x2"].to_list() == [
        200,
        202,
        204,
        206,
        208,
    ]
    assert "clicks_x2" not in store.read(GROUP).columns
    assert store.get_feature_group(GROUP) == user_group()
    # Iceberg schemas are table-wide: main's rows read the new column as null elsewhere.
    table = store.table(GROUP)
    assert "clicks_x2" in table.schema().column_names
    assert read_independently(table)["clicks_x2"].null_count() == table.scan().to_arrow().num_rows


def test_bad_experiment_names_are_refused_before_anything_changes(store: FeatureStore) -> None:
    table = store.table(GROUP)
    for name in ("New-CTR", "../x", "", "1abc"):
        with pytest.raises(InvalidIdentifierError, match="invalid experiment name"):
            store.write_window(GROUP, pl.DataFrame(), *day_window(0), experiment=name)
    assert store.table(GROUP).metadata_location == table.metadata_location


def test_unknown_experiments_and_mixed_options_are_refused(store: FeatureStore) -> None:
    with pytest.raises(UnknownExperimentError, match="unknown experiment 'nope'"):
        store.read(GROUP, experiment="nope")
    write_experiment(store, "real", [0])
    labels = pl.DataFrame({"user_id": ["u1"], "event_timestamp": [DAYS[1]]})
    with pytest.raises(UnknownExperimentError, match="known experiments: \\['real'\\]"):
        store.get_historical_features(labels, [f"{GROUP}:clicks"], experiment="nope")
    with pytest.raises(InvalidRequestError, match="as_of or experiment"):
        store.read(GROUP, experiment="real", as_of=1)


def test_a_type_change_cannot_be_tried_in_an_experiment(store: FeatureStore) -> None:
    from feature_platform import Feature

    features = [Feature("clicks", "float64"), *user_group().features[1:]]
    table = store.table(GROUP)
    with pytest.raises(IncompatibleSchemaChangeError):
        store.apply(user_group(features=features), experiment="typed")
    assert store.table(GROUP).metadata_location == table.metadata_location


def test_two_experiments_on_one_group_are_isolated(store: FeatureStore) -> None:
    write_experiment(store, "a", [0], offset=10)
    write_experiment(store, "b", [0], offset=20)
    assert clicks_by_day(store.read(GROUP, experiment="a"))["2026-11-10"][0] == 10
    assert clicks_by_day(store.read(GROUP, experiment="b"))["2026-11-10"][0] == 20
    assert clicks_by_day(store.read(GROUP))["2026-11-10"][0] == 0
    assert store.experiments() == {"a": [GROUP], "b": [GROUP]}


def test_an_experiment_needs_data_on_main_to_branch_from(home: object) -> None:
    store = unbuffered_store(home)
    store.apply(user_group())
    table = store.table(GROUP)
    with pytest.raises(InvalidRequestError, match="main has no data yet"):
        store.write_window(GROUP, user_frame(DAYS[0]), *day_window(0), experiment="early")
    with pytest.raises(InvalidRequestError, match="main has no data yet"):
        store.apply(group_with_extra_feature(), experiment="early")
    assert store.table(GROUP).metadata_location == table.metadata_location
    assert store.experiments() == {}
