"""The online store never receives experiment data; a promotion reaches it through the normal
incremental sync, which writes only the entities whose values changed."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from feature_platform import Feature, FeatureStore
from feature_platform.errors import UnknownFeatureError
from feature_platform.experiments.promotion import promote_experiment
from feature_platform.sync import sync_online
from feature_platform_tests.online_store.scores import (
    NOW,
    USERS,
    day_rows,
    offline_latest_live,
    online_state,
    scores_group,
    write_day,
)


def experiment_day(store: FeatureStore) -> None:
    """Day 9 recomputed in experiment `x`: u0..u2 get new scores (computed later), the other
    users' rows are the same rows as on main."""
    same = day_rows(9, range(3, 12), 900)
    changed = day_rows(9, range(3), 5000, computed=1)
    start = dt.datetime(2026, 11, 9, tzinfo=dt.UTC)
    store.write_window(
        "scores", pl.concat([changed, same]), start, start + dt.timedelta(days=1), experiment="x"
    )


def test_experiments_stay_offline_until_promoted_then_sync_only_the_changed_entities(
    online_home: FeatureStore,
) -> None:
    store = online_home
    write_day(store, 8, day_rows(8, range(12), 800))
    write_day(store, 9, day_rows(9, range(12), 900))
    cursor = sync_online(store, "scores", None, now=NOW).to_snapshot_id
    online_before = online_state(store, USERS, NOW)

    experiment_day(store)
    during = sync_online(store, "scores", cursor, now=NOW)
    assert during.to_snapshot_id == cursor  # main did not move: nothing to sync
    assert during.items_written == 0
    assert online_state(store, USERS, NOW) == online_before

    promote_experiment(store, "x")
    after = sync_online(store, "scores", cursor, now=NOW)
    assert not after.bootstrap
    assert after.items_written == 3  # u0..u2; the other nine entities' rows are unchanged
    assert online_state(store, ["u0", "u1", "u2", "u3"], NOW) == {
        "u0": (5000, "d9"),
        "u1": (5001, "d9"),
        "u2": (5002, "d9"),
        "u3": (903, "d9"),
    }
    assert online_state(store, USERS, NOW) == offline_latest_live(store, NOW)


def test_a_feature_added_in_an_experiment_reaches_the_online_store_once_promoted(
    online_home: FeatureStore,
) -> None:
    store = online_home
    write_day(store, 9, day_rows(9, range(4), 900))
    cursor = sync_online(store, "scores", None, now=NOW).to_snapshot_id
    wider = scores_group(features=[*scores_group().features, Feature("bonus", "int64")])
    store.apply(wider, experiment="bonus")
    start = dt.datetime(2026, 11, 9, tzinfo=dt.UTC)
    rows = day_rows(9, range(4), 900, computed=1).with_columns(bonus=pl.col("score") * 10)
    store.write_window("scores", rows, start, start + dt.timedelta(days=1), experiment="bonus")
    with pytest.raises(UnknownFeatureError):
        store.get_online_features(["scores:bonus"], [{"user_id": "u1"}], now=NOW)
    promote_experiment(store, "bonus")
    assert sync_online(store, "scores", cursor, now=NOW).items_written == 4
    served = store.get_online_features(["scores:bonus"], [{"user_id": "u1"}], now=NOW)
    assert served["bonus"].to_list() == [9010]
