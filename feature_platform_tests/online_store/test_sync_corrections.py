"""Incremental sync after backfills that take an entity's newest row away.

Latest-wins writes cannot follow such a backfill: the online store would keep the removed,
newer value forever. The sync names the row it had written (the changed windows' row at the
cursor) and replaces or deletes exactly that item; a newer value pushed online since is kept.
Every test runs on the embedded store and on DynamoDB (dynalite).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import polars as pl
import pytest

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore
from feature_platform.sync import SyncReport, sync_online
from feature_platform_tests.online_store.scores import (
    NOW,
    USERS,
    UTC,
    Requests,
    day_rows,
    offline_latest_live,
    online_state,
    scores_group,
    write_day,
)

BEFORE_EVERYTHING = dt.datetime(2026, 10, 1, tzinfo=UTC)


def stored_items(store: FeatureStore, users: list[str]) -> dict[str, Any]:
    """Score per user of every item stored, expired or not (read as of before any event)."""
    keys = pl.DataFrame({"user_id": users})
    frame = store.online.read(scores_group(), keys, ["score"], now=BEFORE_EVERYTHING)
    return {r["user_id"]: r["score"] for r in frame.to_dicts() if r["event_time"] is not None}


def assert_online_is_offline(store: FeatureStore) -> None:
    assert online_state(store, USERS, NOW) == offline_latest_live(store, NOW)


def assert_requests(report: SyncReport, requests: Requests, writes: int, deletes: int) -> None:
    """One online request per changed entity, and on DynamoDB exactly these requests.

    Call it right after the sync: reads made to check the result are requests too.
    """
    assert report.online_requests == report.entities_changed == writes + deletes
    if requests.calls:  # DynamoDB (the embedded store makes no botocore calls)
        assert (requests.writes(), requests.deletes()) == (writes, deletes)
        assert set(requests.calls) <= {"PutItem", "DeleteItem", "DescribeTable"}


@pytest.mark.parametrize("after_interrupted_sync", [False, True])
def test_a_backfill_removing_the_newest_row_serves_the_older_live_row(
    online_home: FeatureStore, after_interrupted_sync: bool
) -> None:
    store = online_home
    write_day(store, 8, day_rows(8, range(3), 800))
    write_day(store, 9, day_rows(9, range(3), 900))
    cursor = sync_online(store, "scores", None, now=NOW).to_snapshot_id
    requests = Requests(store)

    write_day(store, 9, day_rows(9, [1, 2], 900))  # u0's day-9 row is gone
    report = sync_online(
        store, "scores", cursor, now=NOW, after_interrupted_sync=after_interrupted_sync
    )
    unchanged = 2 if after_interrupted_sync else 0  # rewritten, as their equal times allow
    assert_requests(report, requests, writes=1 + unchanged, deletes=0)

    assert online_state(store, ["u0"], NOW) == {"u0": (800, "d8")}  # outside the window
    assert_online_is_offline(store)
    assert (report.items_corrected, report.items_deleted, report.corrections_refused) == (1, 0, 0)
    assert (report.items_written, report.items_skipped) == (unchanged, 0)


def test_rows_moved_earlier_replace_the_later_rows_online(online_home: FeatureStore) -> None:
    store = online_home
    write_day(store, 9, day_rows(9, range(4), 900))
    cursor = sync_online(store, "scores", None, now=NOW).to_snapshot_id
    requests = Requests(store)

    backfill = pl.concat(
        [
            day_rows(9, [0], 950, hour=1),  # an earlier event time
            day_rows(9, [1], 960, computed=-3),  # the same event time, made earlier
            day_rows(9, [2], 970, hour=13),  # a later event time: latest wins as always
            day_rows(9, [3], 900),  # unchanged
        ]
    )
    write_day(store, 9, backfill)
    report = sync_online(store, "scores", cursor, now=NOW)
    assert_requests(report, requests, writes=3, deletes=0)

    assert online_state(store, ["u0", "u1", "u2", "u3"], NOW) == {
        "u0": (950, "d9"),
        "u1": (961, "d9"),
        "u2": (972, "d9"),
        "u3": (903, "d9"),
    }
    assert_online_is_offline(store)
    assert (report.items_written, report.items_corrected, report.entities_changed) == (1, 2, 3)


def test_an_entity_removed_from_the_table_is_deleted_online(online_home: FeatureStore) -> None:
    store = online_home
    write_day(store, 9, day_rows(9, range(3), 900))
    cursor = sync_online(store, "scores", None, now=NOW).to_snapshot_id
    requests = Requests(store)

    write_day(store, 9, day_rows(9, [1], 900))  # u0 and u2 leave the table
    report = sync_online(store, "scores", cursor, now=NOW)
    assert_requests(report, requests, writes=0, deletes=2)

    assert stored_items(store, ["u0", "u1", "u2"]) == {"u1": 901}  # deleted, not just hidden
    assert_online_is_offline(store)
    assert (report.items_deleted, report.items_corrected, report.items_written) == (2, 0, 0)


def test_an_entity_left_with_only_expired_rows_is_deleted_online(
    online_home: FeatureStore,
) -> None:
    store = online_home
    write_day(store, 5, day_rows(5, range(3), 500))  # older than the ttl at NOW
    write_day(store, 9, day_rows(9, range(3), 900))
    cursor = sync_online(store, "scores", None, now=NOW).to_snapshot_id
    requests = Requests(store)

    write_day(store, 9, day_rows(9, [2], 900))
    report = sync_online(store, "scores", cursor, now=NOW)
    assert_requests(report, requests, writes=0, deletes=2)

    assert stored_items(store, ["u0", "u1", "u2"]) == {"u2": 902}
    assert_online_is_offline(store)
    assert report.items_deleted == 2


def test_values_pushed_online_since_are_neither_overwritten_nor_deleted(
    online_home: FeatureStore,
) -> None:
    store = online_home
    write_day(store, 8, day_rows(8, [0, 2], 800))
    write_day(store, 9, day_rows(9, range(4), 900))
    cursor = sync_online(store, "scores", None, now=NOW).to_snapshot_id
    # Newer values for u0 and u1 reach the online store only (the offline table has none yet).
    pushed = day_rows(10, [0, 1], 1000, hour=6)
    store.write("scores", pushed, to="online")
    requests = Requests(store)

    write_day(store, 9, day_rows(9, [3], 900))  # u0, u2 fall back to day 8; u1 leaves
    report = sync_online(store, "scores", cursor, now=NOW)
    assert_requests(report, requests, writes=2, deletes=1)

    assert online_state(store, ["u0", "u1", "u2", "u3"], NOW) == {
        "u0": (1000, "d10"),  # kept: not the row the backfill removed
        "u1": (1001, "d10"),  # kept, not deleted
        "u2": (802, "d8"),  # corrected: no push in between
        "u3": (903, "d9"),
    }
    assert (report.items_corrected, report.items_deleted, report.corrections_refused) == (1, 0, 2)


def test_a_correction_rerun_from_the_same_cursor_converges(online_home: FeatureStore) -> None:
    """A sync whose cursor was never recorded (e.g. it died) is rerun: nothing is undone."""
    store = online_home
    write_day(store, 8, day_rows(8, [0], 800))
    write_day(store, 9, day_rows(9, range(3), 900))
    cursor = sync_online(store, "scores", None, now=NOW).to_snapshot_id
    write_day(store, 9, day_rows(9, [2], 900))  # u0 back to day 8, u1 gone
    first = sync_online(store, "scores", cursor, now=NOW)

    again = sync_online(store, "scores", cursor, now=NOW)

    assert (first.items_corrected, first.items_deleted) == (1, 1)
    # The correction is rewritten (its times are equal now); the deletion finds nothing.
    assert (again.items_corrected, again.items_deleted, again.corrections_refused) == (1, 0, 1)
    assert_online_is_offline(store)
    assert stored_items(store, ["u0", "u1", "u2"]) == {"u0": 800, "u2": 902}
    requests = Requests(store)
    following = sync_online(store, "scores", again.to_snapshot_id, now=NOW)
    assert following.online_requests == 0
    assert not requests.calls


def test_composite_integer_keys_are_corrected_entity_by_entity(online_home: FeatureStore) -> None:
    """The key filter is per column, so it also matches other pairs: those are left alone."""
    store = online_home
    group = FeatureGroup(
        name="slots",
        entity=Entity("slot", ["site", "slot_id"], key_dtypes={"slot_id": pl.Int64}),
        features=[Feature("score", "int64")],
        start="2026-11-01",
        ttl=dt.timedelta(days=2),
        online=True,
    )
    store.apply(group)

    def rows(day: int, pairs: list[tuple[str, int]], score: int) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "site": [site for site, _ in pairs],
                "slot_id": [slot for _, slot in pairs],
                "event_time": [dt.datetime(2026, 11, day, 12, tzinfo=UTC)] * len(pairs),
                "score": [score + 10 * slot for _, slot in pairs],
            },
            schema_overrides={"slot_id": pl.Int64},
        )

    def write(day: int, frame: pl.DataFrame) -> None:
        start = dt.datetime(2026, 11, day, tzinfo=UTC)
        store.write_window("slots", frame, start, start + dt.timedelta(days=1))

    pairs = [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    write(8, rows(8, pairs, 800))
    write(9, rows(9, pairs, 900))
    cursor = sync_online(store, "slots", None, now=NOW).to_snapshot_id

    write(9, rows(9, [("a", 2), ("b", 1)], 900))  # ("a", 1) and ("b", 2) fall back to day 8
    report = sync_online(store, "slots", cursor, now=NOW)

    request = pl.DataFrame({"site": ["a", "a", "b", "b"], "slot_id": [1, 2, 1, 2]})
    served = store.online.read(group, request, ["score"], now=NOW)
    assert served.get_column("score").to_list() == [810, 920, 910, 820]
    # The kept pairs were rewritten too: without a created_time column, a write stamps rows.
    assert (report.items_corrected, report.items_written, report.entities_changed) == (2, 2, 4)


def test_random_backfills_keep_online_equal_to_offline(online_home: FeatureStore) -> None:
    """Backfills that add, drop, move and recompute rows, each followed by a sync."""
    store = online_home
    rng = random.Random(11)
    cursor = None
    corrected = deleted = 0
    for step in range(8):
        for day in rng.sample([6, 7, 8, 9, 10], k=2):
            users = sorted(rng.sample(range(len(USERS)), k=rng.randrange(len(USERS))))
            frame = pl.concat(
                [
                    day_rows(day, [u], 100 * step, computed=rng.randrange(-3, 3), hour=hour)
                    for u in users
                    for hour in rng.sample([1, 12, 23], k=rng.randrange(1, 3))
                ]
                or [day_rows(day, [], 0)]
            )
            write_day(store, day, frame)
        report = sync_online(store, "scores", cursor, now=NOW)
        cursor = report.to_snapshot_id
        assert online_state(store, USERS, NOW) == offline_latest_live(store, NOW), step
        corrected += report.items_corrected
        deleted += report.items_deleted
    assert (corrected, deleted) == (9, 16)  # the seed exercises both
