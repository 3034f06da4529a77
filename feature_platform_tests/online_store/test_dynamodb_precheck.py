"""Large DynamoDB writes read the stored versions first and put only what would win (issue 14).

The requests are counted at the client (botocore's ``before-call`` event), against dynalite on
loopback: the check must cut requests without changing which row wins, also under racing writers.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl
import pytest

from feature_platform.online_store import DynamoDBOnlineStore
from feature_platform.online_store.base import OnlineWriteReport
from feature_platform.online_store.dynamodb.store import MAX_BATCH_GET_KEYS
from feature_platform.specs import FeatureGroup
from feature_platform_tests.online_store.builders import (
    T0,
    dynamodb_answer,
    profile_group,
    race_writers,
    write_frame,
)

pytestmark = pytest.mark.integration

SECOND = dt.timedelta(seconds=1)
USERS = 300


@pytest.fixture
def calls(dynamodb_store: DynamoDBOnlineStore) -> Iterator[Counter[str]]:
    """DynamoDB operations the store's client sends, by name."""
    counted: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    events = dynamodb_store.client.meta.events
    events.register("before-call.dynamodb", count)
    yield counted
    events.unregister("before-call.dynamodb", count)


def _frame(group: FeatureGroup, version: Callable[[int], int], users: range) -> pl.DataFrame:
    return write_frame(
        group,
        [
            {"user_id": f"u{u}", "event_time": T0 + version(u) * SECOND, "size": version(u)}
            for u in users
        ],
    )


def _stored(store: DynamoDBOnlineStore, group: FeatureGroup, users: range) -> dict[str, int]:
    keys = pl.DataFrame({"user_id": [f"u{u}" for u in users]})
    rows = store.read(group, keys, ["size"])
    return dict(zip(rows.get_column("user_id"), rows.get_column("size"), strict=True))


def test_a_mostly_current_write_puts_only_the_rows_that_win(
    dynamodb_store: DynamoDBOnlineStore, calls: Counter[str]
) -> None:
    group = profile_group()
    dynamodb_store.ensure_table(group)
    dynamodb_store.write(group, _frame(group, lambda u: 10, range(USERS)))
    calls.clear()
    # 30 users newer, 30 older, the rest the same version as stored.
    version = {**{u: 11 for u in range(30)}, **{u: 9 for u in range(30, 60)}}
    report = dynamodb_store.write(group, _frame(group, lambda u: version.get(u, 10), range(USERS)))

    assert report == OnlineWriteReport(
        "profile", USERS, written=30, skipped_stale=270, superseded=0
    )
    assert calls["PutItem"] == 30
    assert calls["BatchGetItem"] == -(-USERS // MAX_BATCH_GET_KEYS)
    assert _stored(dynamodb_store, group, range(USERS)) == {
        f"u{u}": 11 if u < 30 else 10 for u in range(USERS)
    }


def test_a_mostly_new_write_reads_only_its_first_keys(
    dynamodb_store: DynamoDBOnlineStore, calls: Counter[str]
) -> None:
    group = profile_group()
    dynamodb_store.ensure_table(group)
    report = dynamodb_store.write(group, _frame(group, lambda u: 1, range(USERS)))

    assert report.written == USERS
    assert calls["BatchGetItem"] == 1  # the sample: nothing was current, the rest is just put
    assert calls["PutItem"] == USERS


def test_small_writes_are_put_without_a_read(
    dynamodb_store: DynamoDBOnlineStore, calls: Counter[str]
) -> None:
    group = profile_group()
    dynamodb_store.ensure_table(group)
    dynamodb_store.write(group, _frame(group, lambda u: 1, range(MAX_BATCH_GET_KEYS - 1)))

    assert calls["BatchGetItem"] == 0
    assert calls["PutItem"] == MAX_BATCH_GET_KEYS - 1


def test_equal_versions_are_put_with_replace_equal_and_named_versions_are_replaced(
    dynamodb_store: DynamoDBOnlineStore, calls: Counter[str]
) -> None:
    group = profile_group()
    dynamodb_store.ensure_table(group)
    dynamodb_store.write(group, _frame(group, lambda u: 10, range(USERS)))
    calls.clear()
    recomputed = _frame(group, lambda u: 10, range(USERS)).with_columns(
        pl.when(pl.col("user_id") == "u0").then(-1).otherwise(pl.col("size")).alias("size")
    )
    report = dynamodb_store.write(group, recomputed, replace_equal=True)
    # A recomputation of the same version is the new truth where it differs, and only there.
    assert (report.written, report.skipped_stale) == (1, USERS - 1)
    assert calls["PutItem"] == 1
    assert _stored(dynamodb_store, group, range(1))["u0"] == -1

    calls.clear()
    older = _frame(group, lambda u: 5, range(USERS))
    named = older.select("user_id").with_columns(
        event_time=pl.lit(T0 + 10 * SECOND), created_at=pl.lit(T0 + 10 * SECOND)
    )
    report = dynamodb_store.write(group, older.head(150), replacing=named.head(150))
    assert report.written == 150  # older rows replace exactly the version they name
    assert calls["PutItem"] == 150
    assert _stored(dynamodb_store, group, range(USERS)) == {
        f"u{u}": 5 if u < 150 else 10 for u in range(USERS)
    }


def test_two_hundred_racing_writers_of_large_frames_leave_the_latest_rows(
    dynamodb_store: DynamoDBOnlineStore,
) -> None:
    """200 writers of 100 entities each, in shuffled order: the newest row of each entity wins.

    The stored rows start at version 190, so most writers find their frame current and skip it
    after the version check, while the newer ones race each other with conditional puts.
    """
    group = profile_group()
    dynamodb_store.ensure_table(group)
    users = range(MAX_BATCH_GET_KEYS)
    dynamodb_store.write(group, _frame(group, lambda u: 190, users))
    offsets = list(range(200))
    random.Random(11).shuffle(offsets)

    def write(offset: int) -> OnlineWriteReport:
        # Each writer's versions differ per entity, so the winner differs per entity too.
        return dynamodb_store.write(group, _frame(group, lambda u: (offset + 7 * u) % 200, users))

    reports, errors = race_writers(offsets, write, timeout=120)

    assert errors == []
    assert len(reports) == 200
    assert _stored(dynamodb_store, group, users) == {f"u{u}": 199 for u in users}
    assert sum(r.written for r in reports) < 200 * len(users) // 4  # most were skipped


def test_a_role_that_may_not_read_still_writes_and_stops_checking(
    dynamodb_store: DynamoDBOnlineStore, calls: Counter[str]
) -> None:
    """A writer role without dynamodb:BatchGetItem (set up before the check existed): the write
    is put whole, as before, and the store stops asking."""
    group = profile_group()
    dynamodb_store.ensure_table(group)
    refused: list[str] = []

    def access_denied(request: Any, **_: Any) -> Any:
        """Answer in DynamoDB's place, as IAM does for a role without the permission."""
        refused.append(request.url)
        body = b'{"__type":"com.amazon.coral.service#AccessDeniedException","message":"no"}'
        return dynamodb_answer(request.url, 400, body)

    events = dynamodb_store.client.meta.events
    events.register("before-send.dynamodb.BatchGetItem", access_denied)
    try:
        first = dynamodb_store.write(group, _frame(group, lambda u: 1, range(USERS)))
        second = dynamodb_store.write(group, _frame(group, lambda u: 2, range(USERS)))
    finally:
        events.unregister("before-send.dynamodb.BatchGetItem", access_denied)

    assert (first.written, second.written) == (USERS, USERS)
    assert len(refused) == 1  # refused once: the second write does not ask again
    assert calls["PutItem"] == 2 * USERS
    assert _stored(dynamodb_store, group, range(USERS)) == {f"u{u}": 2 for u in range(USERS)}
