"""Incremental online sync: latest live values only, and no online requests for old backfills."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from feature_platform import FeatureStore, StoreConfig
from feature_platform.errors import FeatureNotOnlineError, NaiveTimestampError
from feature_platform.specs import MAX_TTL
from feature_platform.sync import sync_online
from feature_platform_tests.helpers import read_independently
from feature_platform_tests.online_store.scores import (
    NOW,
    USERS,
    Requests,
    day_rows,
    offline_latest_live,
    online_state,
    scores_group,
    write_day,
)


def test_bootstrap_loads_exactly_the_latest_live_values(online_home: FeatureStore) -> None:
    store = online_home
    write_day(store, 5, day_rows(5, range(10), 500))  # older than the ttl at NOW
    write_day(store, 8, day_rows(8, range(0, 6), 800))
    write_day(store, 9, day_rows(9, range(3, 8), 900))
    report = sync_online(store, "scores", None, now=NOW)
    assert report.bootstrap
    assert report.items_written == 8  # u0..u7; u8, u9 only have expired values
    assert online_state(store, USERS, NOW) == offline_latest_live(store, NOW)
    assert online_state(store, ["u4"], NOW) == {"u4": (904, "d9")}


def test_backfills_of_expired_or_superseded_windows_make_no_online_requests(
    online_home: FeatureStore,
) -> None:
    store = online_home
    for day in (5, 8, 9):
        write_day(store, day, day_rows(day, range(6), 100 * day))
    cursor = sync_online(store, "scores", None, now=NOW).to_snapshot_id
    requests = Requests(store)

    write_day(store, 5, day_rows(5, range(6), 555, computed=5))  # older than the ttl
    expired = sync_online(store, "scores", cursor, now=NOW)
    assert (expired.windows_examined, expired.windows_expired, expired.rows_read) == (1, 1, 0)

    write_day(store, 8, day_rows(8, range(6), 888, computed=5))  # superseded by day 9
    superseded = sync_online(store, "scores", expired.to_snapshot_id, now=NOW)
    assert superseded.entities_superseded == 6

    write_day(store, 9, day_rows(9, range(6), 900))  # a rerun with identical rows
    rerun = sync_online(store, "scores", superseded.to_snapshot_id, now=NOW)

    for report in (expired, superseded, rerun):
        assert report.online_requests == 0
        assert report.entities_changed == 0
    assert requests.writes() == 0
    assert not requests.calls  # not even a read
    assert online_state(store, USERS, NOW) == offline_latest_live(store, NOW)


def test_changes_in_live_windows_are_synced_and_only_those(online_home: FeatureStore) -> None:
    store = online_home
    write_day(store, 8, day_rows(8, range(4), 800))
    write_day(store, 9, day_rows(9, range(2), 900))
    cursor = sync_online(store, "scores", None, now=NOW).to_snapshot_id
    requests = Requests(store)

    # Day 8 gains u4 and u5 (their newest rows) and changes u2 (also its newest): three items;
    # u0 and u1 changed too but day 9 supersedes them, and u3 is unchanged.
    changed = day_rows(8, range(6), 800).with_columns(
        score=pl.when(pl.col("user_id").is_in(["u0", "u1", "u2"]))
        .then(pl.col("score") + 1)
        .otherwise(pl.col("score"))
    )
    write_day(store, 8, changed)
    report = sync_online(store, "scores", cursor, now=NOW)
    assert report.entities_changed == 3
    assert report.items_written == 3
    assert report.entities_superseded == 2
    if requests.calls:  # DynamoDB: one conditional put per changed item
        assert requests.writes() == 3
    assert online_state(store, USERS, NOW) == offline_latest_live(store, NOW)
    assert online_state(store, ["u2"], NOW) == {"u2": (803, "d8")}  # same times, new value


def test_a_rerun_after_a_crash_converges(online_home: FeatureStore) -> None:
    store = online_home
    write_day(store, 9, day_rows(9, range(10), 900))
    # A sync that wrote half its items and died before its cursor was recorded:
    store.online.write(scores_group(), store.read("scores").head(5))
    rerun = sync_online(store, "scores", None, now=NOW)
    assert rerun.items_written + rerun.items_skipped == 10
    assert online_state(store, USERS, NOW) == offline_latest_live(store, NOW)


def test_switching_online_on_later_bootstraps_and_off_keeps_the_data(tmp_path: Path) -> None:
    store = FeatureStore(config=StoreConfig.embedded(tmp_path / "home", offline_buffer_rows=0))
    store.apply(scores_group(online=False))
    write_day(store, 9, day_rows(9, range(3), 900))
    with pytest.raises(FeatureNotOnlineError, match="set online=True"):
        store.get_online_features(["scores:score"], [{"user_id": "u0"}])
    with pytest.raises(FeatureNotOnlineError, match="set online=True"):
        sync_online(store, "scores", None, now=NOW)

    assert store.apply(scores_group()).online_table_ready
    report = sync_online(store, "scores", None, now=NOW)
    assert report.bootstrap
    assert report.items_written == 3
    assert online_state(store, ["u0", "u1", "u2"], NOW)["u1"] == (901, "d9")

    with pytest.warns(UserWarning, match="no longer synced"):
        result = store.apply(scores_group(online=False))
    assert result.online_switched_off
    with pytest.raises(FeatureNotOnlineError, match="no longer synced"):
        store.get_online_features(["scores:score"], [{"user_id": "u0"}])
    kept = store.online.read(scores_group(), pl.DataFrame({"user_id": ["u0"]}), ["score"], NOW)
    assert kept["score"].to_list() == [900]


def test_a_naive_now_is_refused_up_front_naming_the_fix(online_home: FeatureStore) -> None:
    store = online_home
    write_day(store, 9, day_rows(9, range(3), 900))
    with pytest.raises(NaiveTimestampError, match=r"pass a timezone-aware datetime"):
        sync_online(store, "scores", None, now=NOW.replace(tzinfo=None))
    assert online_state(store, USERS, NOW) == {}


def test_the_longest_ttl_keeps_old_values_live(online_home: FeatureStore) -> None:
    """A ttl of 100 years (the longest a spec takes; longer is ttl=None) syncs like any other."""
    store = online_home
    store.apply(scores_group(ttl=MAX_TTL))
    write_day(store, 2, day_rows(2, range(4), 200))  # 8 days old: live only by the long ttl
    write_day(store, 9, day_rows(9, range(2), 900))
    bootstrap = sync_online(store, "scores", None, now=NOW)
    write_day(store, 3, day_rows(3, range(4, 6), 300))
    incremental = sync_online(store, "scores", bootstrap.to_snapshot_id, now=NOW)

    assert (bootstrap.bootstrap, bootstrap.items_written) == (True, 4)
    assert (incremental.windows_examined, incremental.windows_expired) == (1, 0)
    assert incremental.items_written == 2
    rows = read_independently(store.table("scores"))
    latest = rows.sort("user_id", "event_time", "created_at").group_by("user_id").last()
    expected = {r["user_id"]: (r["score"], r["label"]) for r in latest.to_dicts()}
    assert online_state(store, USERS, NOW) == expected
    assert online_state(store, ["u3", "u5"], NOW) == {"u3": (203, "d2"), "u5": (305, "d3")}
