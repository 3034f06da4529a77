"""Drill: the online sync is killed half way through its writes, then run again.

The sync runs in its own process, which is SIGKILLed after part of its items reached the online
store and before its cursor could be recorded (the Dagster asset records it only on success).
Rerun from the same cursor, the online store must equal the offline table's latest live value
per entity, computed here independently from the table's metadata file; also when the killed
sync was putting back older rows (and deleting items) after a backfill took newer rows away.
"""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore, StoreConfig
from feature_platform.sync import sync_online
from feature_platform_tests.drills import workers
from feature_platform_tests.drills.pool import Pool
from feature_platform_tests.helpers import read_independently

pytestmark = [pytest.mark.drill, pytest.mark.integration]

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 10, 12, tzinfo=UTC)
TTL = dt.timedelta(days=2)
USERS = 3_000
NAME = "scores"
GROUP = FeatureGroup(
    name=NAME,
    entity=Entity("user", ["user_id"]),
    features=[Feature("score", "int64"), Feature("label", "string")],
    created_time="computed_at",
    start="2026-11-01",
    ttl=TTL,
    online=True,
)


def day_rows(day: int, users: range, score: int) -> pl.DataFrame:
    start = dt.datetime(2026, 11, day, tzinfo=UTC)
    return pl.DataFrame(
        {
            "user_id": [f"u{u:05d}" for u in users],
            "event_time": [start + dt.timedelta(hours=12)] * len(users),
            "computed_at": [start + dt.timedelta(days=1)] * len(users),
            "score": [score + u for u in users],
            "label": [f"d{day}-{score}"] * len(users),
        }
    )


def write_day(store: FeatureStore, day: int, frame: pl.DataFrame) -> None:
    start = dt.datetime(2026, 11, day, tzinfo=UTC)
    store.write_window(NAME, frame, start, start + dt.timedelta(days=1))


def offline_latest_live(store: FeatureStore) -> dict[str, tuple[Any, ...]]:
    """What the online store must hold: from the table's metadata file alone, by hand."""
    rows = read_independently(store.table(NAME)).filter(pl.col("event_time") >= NOW - TTL)
    latest = rows.sort("user_id", "event_time", "created_at").group_by("user_id").last()
    return {r["user_id"]: (r["score"], r["label"]) for r in latest.to_dicts()}


def online_state(store: FeatureStore) -> dict[str, tuple[Any, ...]]:
    users = [{"user_id": f"u{u:05d}"} for u in range(USERS)]
    frame = store.get_online_features([f"{NAME}:score", f"{NAME}:label"], users, now=NOW)
    return {
        r["user_id"]: (r["score"], r["label"]) for r in frame.to_dicts() if r["score"] is not None
    }


def differing(online: dict[str, Any], expected: dict[str, Any]) -> int:
    return sum(online.get(user) != value for user, value in expected.items()) + len(
        online.keys() - expected.keys()
    )


@pytest.fixture
def config(tmp_path: Path) -> StoreConfig:
    return StoreConfig.embedded(tmp_path / "home", offline_buffer_rows=0)


@pytest.fixture
def store(config: StoreConfig) -> FeatureStore:
    store = FeatureStore(config=config)
    store.apply(GROUP)
    write_day(store, 7, day_rows(7, range(USERS), 700))  # older than the ttl at NOW
    write_day(store, 8, day_rows(8, range(USERS - 500), 800))
    write_day(store, 9, day_rows(9, range(1_000, 2_000), 900))
    return store


def _crash_sync(pool: Pool, config: StoreConfig, since: int | None, keep: int) -> None:
    [child] = pool.take()
    child.start(workers.sync_then_die, config, NAME, since, NOW, keep)
    assert child.exitcode() == -signal.SIGKILL


def test_a_bootstrap_killed_half_way_converges_when_rerun(
    store: FeatureStore, config: StoreConfig, pool: Pool
) -> None:
    expected = offline_latest_live(store)
    assert len(expected) == USERS - 500  # u2500.. only have expired values

    _crash_sync(pool, config, None, keep=1_000)
    assert len(online_state(store)) == 1_000  # half synced: the kill came mid-way

    rerun = sync_online(store, NAME, None, now=NOW)
    assert rerun.bootstrap
    assert rerun.items_written + rerun.items_skipped == len(expected)
    assert online_state(store) == expected
    # And the next incremental sync from the rerun's cursor has nothing left to do.
    assert sync_online(store, NAME, rerun.to_snapshot_id, now=NOW).online_requests == 0


def _change_day_nine(store: FeatureStore) -> None:
    """A backfill of day 9: new values for u1000..u1999, and new entities u2000..u2999."""
    write_day(store, 9, day_rows(9, range(1_000, USERS), 9_000))


def test_an_incremental_sync_killed_half_way_converges_when_rerun_from_its_cursor(
    store: FeatureStore, config: StoreConfig, pool: Pool
) -> None:
    cursor = sync_online(store, NAME, None, now=NOW).to_snapshot_id
    _change_day_nine(store)
    expected = offline_latest_live(store)

    _crash_sync(pool, config, cursor, keep=800)
    assert differing(online_state(store), expected) == 2_000 - 800  # the kill came mid-way

    rerun = sync_online(store, NAME, cursor, now=NOW)
    assert not rerun.bootstrap
    assert rerun.entities_changed == 2_000
    assert online_state(store) == expected


def test_a_killed_sync_whose_window_then_returns_to_the_cursor_state_converges(
    store: FeatureStore, config: StoreConfig, pool: Pool
) -> None:
    cursor = sync_online(store, NAME, None, now=NOW).to_snapshot_id
    before = offline_latest_live(store)
    _change_day_nine(store)  # e.g. a backfill with a bad upstream ...
    _crash_sync(pool, config, cursor, keep=800)  # ... half synced before the sync was killed
    write_day(store, 9, day_rows(9, range(1_000, 2_000), 900))  # ... then fixed: day 9 as before
    expected = offline_latest_live(store)
    assert expected == before

    # The next run, from the recorded cursor. The Dagster asset knows from its event log that a
    # sync stopped part way (test_online_asset_crash.py); called directly, the caller says so.
    trusting = sync_online(store, NAME, cursor, now=NOW)
    assert trusting.entities_changed == 0  # the window looks as at the cursor: nothing to do ...
    assert differing(online_state(store), expected) == 800  # ... which is wrong after the kill

    rerun = sync_online(store, NAME, cursor, now=NOW, after_interrupted_sync=True)

    assert rerun.after_interrupted_sync
    assert rerun.entities_changed == 1_000
    assert differing(online_state(store), expected) == 0


def test_a_sync_killed_half_way_through_its_corrections_converges_when_rerun(
    store: FeatureStore, config: StoreConfig, pool: Pool
) -> None:
    """A backfill took rows away: the killed sync had put only part of the older rows back."""
    _change_day_nine(store)  # u1000..u2999 get day-9 values; u2500.. have no other live row
    cursor = sync_online(store, NAME, None, now=NOW).to_snapshot_id
    write_day(store, 9, day_rows(9, range(1_500, 2_000), 9_000))  # the others lose day 9
    expected = offline_latest_live(store)
    assert len(expected) == USERS - 500

    _crash_sync(pool, config, cursor, keep=400)  # 400 of 1,000 corrections, no deletion
    assert differing(online_state(store), expected) == 1_000 - 400 + 500

    rerun = sync_online(store, NAME, cursor, now=NOW)

    # The 400 corrected items are rewritten (equal times), the other 600 replaced.
    assert (rerun.items_corrected, rerun.items_deleted, rerun.corrections_refused) == (
        1_000,
        500,
        0,
    )
    assert rerun.entities_changed == rerun.online_requests == 1_500
    assert online_state(store) == expected
    assert sync_online(store, NAME, rerun.to_snapshot_id, now=NOW).online_requests == 0
