"""The online-store contract, run against every implementation (embedded SQLite and DynamoDB).

Each test states one rule of DESIGN.md's "Online store" semantics; a backend passes only if it
behaves exactly like the others, so switching from the embedded store to DynamoDB changes no
result.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import Entity, Feature
from feature_platform.errors import (
    InvalidRequestError,
    InvalidValueError,
    ItemTooLargeError,
    NaiveTimestampError,
    NullKeyError,
    OnlineStoreClosedError,
    OnlineTableMissingError,
    SchemaMismatchError,
    UnknownFeatureError,
)
from feature_platform.online_store import OnlineStore, OnlineWriteReport
from feature_platform_tests.online_store.builders import (
    T0,
    keys_frame,
    profile_group,
    race_writers,
    write_frame,
)

FEATURES = ["count", "size", "ratio", "value", "status", "name", "date", "timestamp"]
SECOND = dt.timedelta(seconds=1)


def _values(store: OnlineStore, user: str, feature: str = "size") -> tuple[object, object]:
    group = profile_group()
    row = store.read(group, keys_frame(group, (user,)), [feature]).row(0, named=True)
    return row["event_time"], row[feature]


def test_round_trip_of_every_dtype_with_nulls(online_store: OnlineStore) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    rows = [
        {
            "user_id": "extremes",
            "event_time": T0 + dt.timedelta(microseconds=123_457),
            "created_at": T0 + 2 * SECOND,
            "count": -(2**31),
            "size": 2**63 - 1,
            "ratio": 0.1,
            "value": 1 / 3,
            "status": True,
            "name": "Zoë | \\ 𝄞 ∑",
            "date": dt.date(1969, 12, 31),
            "timestamp": dt.datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
        },
        {
            "user_id": "small",
            "event_time": T0,
            "count": 0,
            "size": -(2**63),
            "ratio": -3.4e38,
            "value": 1.5e-130,
            "status": False,
            "name": "",
            "date": dt.date(2026, 11, 10),
            "timestamp": T0,
        },
        {"user_id": "nulls", "event_time": T0},
        {"user_id": "big", "event_time": T0, "value": 9.99e125, "ratio": 1e-38, "size": 0},
    ]
    written = write_frame(group, rows)
    report = online_store.write(group, written)
    assert report == OnlineWriteReport("profile", rows=4, written=4, skipped_stale=0, superseded=0)

    request = keys_frame(group, ("nulls",), ("extremes",), ("big",), ("small",))
    result = online_store.read(group, request, FEATURES, now=T0)

    expected = (
        request.join(written, on="user_id", how="left", maintain_order="left")
        .drop("created_at")
        .select(["user_id", "event_time", *FEATURES])
    )
    assert_frame_equal(result, expected)  # exact: dtypes, float bits, microseconds, nulls


def test_read_follows_request_order_with_duplicates_missing_and_null_keys(
    online_store: OnlineStore,
) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    online_store.write(
        group,
        write_frame(
            group,
            [
                {"user_id": "a", "event_time": T0, "size": 1, "name": "first"},
                {"user_id": "b", "event_time": T0 + SECOND, "size": 2, "name": "second"},
            ],
        ),
    )
    request = keys_frame(group, ("b",), ("ghost",), ("a",), (None,), ("b",), ("a",))

    result = online_store.read(group, request, ["name", "size"], now=T0)

    assert result.columns == ["user_id", "event_time", "name", "size"]
    assert result.get_column("user_id").to_list() == ["b", "ghost", "a", None, "b", "a"]
    assert result.get_column("name").to_list() == ["second", None, "first", None, "second", "first"]
    assert result.get_column("size").to_list() == [2, None, 1, None, 2, 1]
    assert result.get_column("size").dtype == pl.Int64  # nulls do not turn ints into floats
    assert result.get_column("event_time").to_list() == [
        T0 + SECOND,
        None,
        T0,
        None,
        T0 + SECOND,
        T0,
    ]


def test_empty_request_and_empty_write(online_store: OnlineStore) -> None:
    group = profile_group()
    online_store.ensure_table(group)

    report = online_store.write(group, write_frame(group, []))
    result = online_store.read(group, keys_frame(group), ["size", "date"])

    assert report == OnlineWriteReport("profile", rows=0, written=0, skipped_stale=0, superseded=0)
    assert result.height == 0
    assert result.schema == pl.Schema(
        [
            ("user_id", pl.String()),
            ("event_time", pl.Datetime("us", "UTC")),
            ("size", pl.Int64()),
            ("date", pl.Date()),
        ]
    )


def test_concurrent_out_of_order_writers_leave_the_latest_event(online_store: OnlineStore) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    offsets = list(range(200))
    random.Random(7).shuffle(offsets)

    def write(offset: int) -> OnlineWriteReport:
        row = {"user_id": "hot", "event_time": T0 + offset * SECOND, "size": offset}
        return online_store.write(group, write_frame(group, [row]))

    reports, errors = race_writers(offsets, write)

    assert errors == []
    assert len(reports) == 200
    assert sum(r.written for r in reports) + sum(r.skipped_stale for r in reports) == 200
    assert 1 <= sum(r.written for r in reports) < 200  # shuffled: some writes lost the race
    assert _values(online_store, "hot") == (T0 + 199 * SECOND, 199)


def test_corrections_latest_created_at_wins(online_store: OnlineStore) -> None:
    group = profile_group()
    online_store.ensure_table(group)

    def write(size: int, event: dt.datetime, created: dt.datetime) -> OnlineWriteReport:
        row = {"user_id": "u", "event_time": event, "created_at": created, "size": size}
        return online_store.write(group, write_frame(group, [row]))

    assert write(1, T0, T0 + SECOND).written == 1
    assert write(2, T0, T0 + 2 * SECOND).written == 1  # a correction of the same event
    assert _values(online_store, "u") == (T0, 2)
    assert write(3, T0, T0 + SECOND).skipped_stale == 1  # an earlier correction loses
    assert write(4, T0, T0 + 2 * SECOND).skipped_stale == 1  # equal (event, created): no-op
    assert write(5, T0 - SECOND, T0 + 9 * SECOND).skipped_stale == 1  # older event, later made
    assert _values(online_store, "u") == (T0, 2)
    assert write(6, T0 + SECOND, T0).written == 1  # newer event, even if made earlier
    assert _values(online_store, "u") == (T0 + SECOND, 6)


def test_one_frame_keeps_the_latest_row_per_entity(online_store: OnlineStore) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    rows = [
        {"user_id": "a", "event_time": T0 + 2 * SECOND, "created_at": T0, "size": 3},
        {"user_id": "b", "event_time": T0, "size": 10},
        {"user_id": "a", "event_time": T0 + 2 * SECOND, "created_at": T0 + SECOND, "size": 4},
        {"user_id": "a", "event_time": T0 + 3 * SECOND, "created_at": T0, "size": 5},
        {"user_id": "a", "event_time": T0 + SECOND, "created_at": T0 + 9 * SECOND, "size": 2},
    ]
    frame = write_frame(group, rows)

    report = online_store.write(group, frame.sample(fraction=1.0, shuffle=True, seed=3))

    assert report == OnlineWriteReport("profile", rows=5, written=2, skipped_stale=0, superseded=3)
    assert _values(online_store, "a") == (T0 + 3 * SECOND, 5)
    assert _values(online_store, "b") == (T0, 10)


def test_values_older_than_the_ttl_read_as_missing(online_store: OnlineStore) -> None:
    group = profile_group(ttl=dt.timedelta(hours=1))
    online_store.ensure_table(group)
    recent = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ancient = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    rows = [
        {"user_id": "u", "event_time": T0, "size": 7},
        {"user_id": "recent", "event_time": recent, "size": 8},
        {"user_id": "ancient", "event_time": ancient, "size": 9},
    ]
    online_store.write(group, write_frame(group, rows))
    request = keys_frame(group, ("u",))

    def size_at(now: dt.datetime) -> tuple[object, ...]:
        return online_store.read(group, request, ["size"], now=now).row(0)[1:]

    assert size_at(T0 + dt.timedelta(minutes=59)) == (T0, 7)
    assert size_at(T0 + dt.timedelta(hours=1)) == (T0, 7)  # event_time == now - ttl is live
    assert size_at(T0 + dt.timedelta(hours=1, microseconds=1)) == (None, None)
    by_clock = online_store.read(group, keys_frame(group, ("recent",), ("ancient",)), ["size"])
    assert by_clock.get_column("size").to_list() == [8, None]  # now defaults to the clock
    with pytest.raises(NaiveTimestampError):
        online_store.read(group, request, ["size"], now=dt.datetime(2026, 11, 10))


def test_composite_keys_that_collide_when_naively_joined(online_store: OnlineStore) -> None:
    entity = Entity("pair", ["left", "right"])
    group = profile_group("pairs", entity=entity)
    online_store.ensure_table(group)
    pairs = [("1", "23"), ("12", "3"), ("1|2", "3"), ("1", "2|3"), ("a\\", "|b"), ("a", "\\|b")]
    pairs += [("", ""), ("", "|"), ("|", ""), ("\\_", ""), ("", "\\_")]
    rows = [
        {"left": left, "right": right, "event_time": T0, "size": index}
        for index, (left, right) in enumerate(pairs)
    ]
    report = online_store.write(group, write_frame(group, rows))
    assert report.written == len(pairs)  # no two pairs share an item

    result = online_store.read(group, keys_frame(group, *reversed(pairs), ("1", "2")), ["size"])

    assert result.get_column("size").to_list() == [*reversed(range(len(pairs))), None]


def test_integer_join_keys(online_store: OnlineStore) -> None:
    entity = Entity("article", ["site", "article_id"], key_dtypes={"article_id": pl.Int64})
    group = profile_group("articles", entity=entity)
    online_store.ensure_table(group)
    rows = [
        {"site": "x", "article_id": -5, "event_time": T0, "size": 1},
        {"site": "x", "article_id": 2**62, "event_time": T0, "size": 2},
    ]
    online_store.write(group, write_frame(group, rows))
    request = pl.DataFrame(
        {"site": ["x", "x", "x"], "article_id": [2**62, -5, 5]},
        schema_overrides={"article_id": pl.Int64},
    )

    result = online_store.read(group, request, ["size"])

    assert result.get_column("size").to_list() == [2, 1, None]
    assert result.get_column("article_id").dtype == pl.Int64


def test_item_over_400_kb_is_refused_before_any_write(online_store: OnlineStore) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    rows = [
        {"user_id": "small", "event_time": T0, "name": "fine"},
        {"user_id": "huge", "event_time": T0, "name": "x" * (400 * 1024)},
        {"user_id": "also_small", "event_time": T0, "name": "fine"},
    ]

    with pytest.raises(
        ItemTooLargeError,
        match=r"1 entity .* 409,600-byte item limit; nothing was written: \(user_id='huge'",
    ):
        online_store.write(group, write_frame(group, rows))

    result = online_store.read(group, keys_frame(group, ("small",), ("also_small",)), ["name"])
    assert result.get_column("name").to_list() == [None, None]


def test_key_over_2048_bytes_is_refused(online_store: OnlineStore) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    rows = [{"user_id": "k" * 2049, "event_time": T0}, {"user_id": "ok", "event_time": T0}]

    with pytest.raises(
        ItemTooLargeError, match=r"2048-byte key limit; nothing was written: \(user_id='kkkk"
    ):
        online_store.write(group, write_frame(group, rows))

    assert _values(online_store, "ok") == (None, None)


@pytest.mark.parametrize(
    ("feature", "value"),
    [("value", float("nan")), ("value", float("-inf")), ("value", 1e200), ("value", 1e-200)],
    ids=["nan", "infinity", "too-large", "too-small"],
)
def test_numbers_dynamodb_cannot_hold_are_refused(
    online_store: OnlineStore, feature: str, value: float
) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    rows = [{"user_id": "ok", "event_time": T0, "size": 1}, {"user_id": "bad", "event_time": T0}]
    rows[1][feature] = value

    with pytest.raises(InvalidValueError, match=f"feature {feature!r}"):
        online_store.write(group, write_frame(group, rows))

    assert _values(online_store, "ok") == (None, None)


def test_ensure_table_is_idempotent_and_keeps_data(online_store: OnlineStore) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    online_store.write(group, write_frame(group, [{"user_id": "u", "event_time": T0, "size": 1}]))

    online_store.ensure_table(group)
    online_store.ensure_table(group)

    assert _values(online_store, "u") == (T0, 1)


def test_a_feature_added_later_reads_null_for_old_items(online_store: OnlineStore) -> None:
    before = profile_group()
    online_store.ensure_table(before)
    online_store.write(
        before, write_frame(before, [{"user_id": "old", "event_time": T0, "size": 1}])
    )
    online_store.read(before, keys_frame(before, ("old",)), ["size"])  # warms the read cache
    after = profile_group(features=[*before.features, Feature("clicks", "int64")])

    online_store.ensure_table(after)
    online_store.write(
        after, write_frame(after, [{"user_id": "new", "event_time": T0, "size": 2, "clicks": 9}])
    )
    result = online_store.read(after, keys_frame(after, ("old",), ("new",)), ["size", "clicks"])

    assert result.rows() == [("old", T0, 1, None), ("new", T0, 2, 9)]


def test_missing_and_deleted_tables(online_store: OnlineStore) -> None:
    group = profile_group()
    request = keys_frame(group, ("u",))
    frame = write_frame(group, [{"user_id": "u", "event_time": T0}])

    with pytest.raises(OnlineTableMissingError, match="ensure_table"):
        online_store.read(group, request, ["size"])
    with pytest.raises(OnlineTableMissingError, match="ensure_table"):
        online_store.write(group, frame)

    online_store.ensure_table(group)
    online_store.write(group, frame)
    online_store.delete_table(group)
    online_store.delete_table(group)  # deleting a missing table is fine

    with pytest.raises(OnlineTableMissingError):
        online_store.read(group, request, ["size"])
    online_store.ensure_table(group)  # and it can be recreated, empty
    assert _values(online_store, "u") == (None, None)


def test_many_entities_in_one_read(online_store: OnlineStore) -> None:
    """Over DynamoDB's 100 keys per BatchGetItem and the embedded store's 512 per query."""
    group = profile_group()
    online_store.ensure_table(group)
    users = [f"u{i}" for i in range(600)]
    rows = [{"user_id": u, "event_time": T0, "size": i} for i, u in enumerate(users)]
    assert online_store.write(group, write_frame(group, rows)).written == 600
    request = [("nobody",), *((u,) for u in reversed(users)), ("u3",)]

    result = online_store.read(group, keys_frame(group, *request), ["size"])

    assert result.get_column("size").to_list() == [None, *reversed(range(600)), 3]


BAD_WRITES: dict[str, tuple[type[Exception], Callable[[pl.DataFrame], pl.DataFrame]]] = {
    "missing-feature": (SchemaMismatchError, lambda f: f.drop("name")),
    "extra-column": (SchemaMismatchError, lambda f: f.with_columns(pl.lit(1).alias("extra"))),
    "naive-event-time": (
        NaiveTimestampError,
        lambda f: f.with_columns(pl.col("event_time").dt.replace_time_zone(None)),
    ),
    "null-key": (NullKeyError, lambda f: f.with_columns(pl.lit(None, pl.String).alias("user_id"))),
    "lossy-type": (SchemaMismatchError, lambda f: f.with_columns(pl.col("count").cast(pl.Int64))),
}


@pytest.mark.parametrize("case", sorted(BAD_WRITES))
def test_bad_write_frames_are_refused_whole(online_store: OnlineStore, case: str) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    error, corrupt = BAD_WRITES[case]
    frame = write_frame(group, [{"user_id": "u", "event_time": T0, "size": 1}])

    with pytest.raises(error):
        online_store.write(group, corrupt(frame))

    assert _values(online_store, "u") == (None, None)


def test_bad_read_requests(online_store: OnlineStore) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    request = keys_frame(group, ("u",))

    with pytest.raises(UnknownFeatureError, match="no features \\['nope'\\]"):
        online_store.read(group, request, ["size", "nope"])
    with pytest.raises(InvalidRequestError, match="more than once"):
        online_store.read(group, request, ["size", "size"])
    with pytest.raises(InvalidRequestError, match="list of names"):
        online_store.read(group, request, "size")
    with pytest.raises(SchemaMismatchError, match="lack join key 'user_id'"):
        online_store.read(group, pl.DataFrame({"id": ["u"]}), ["size"])
    with pytest.raises(SchemaMismatchError, match="keys it by string"):
        online_store.read(group, pl.DataFrame({"user_id": [1]}), ["size"])


def test_a_closed_store_refuses_use(online_store: OnlineStore) -> None:
    group = profile_group()
    online_store.ensure_table(group)
    online_store.close()
    online_store.close()  # closing twice is fine

    with pytest.raises(OnlineStoreClosedError):
        online_store.read(group, keys_frame(group, ("u",)), ["size"])


def test_a_location_names_the_table_of_each_group_and_no_credentials(
    online_store: OnlineStore,
) -> None:
    """The sync compares locations to tell whether its cursor was reached in this table."""
    profiles = online_store.location(profile_group())
    other = online_store.location(profile_group(name="profile_v2"))
    assert profiles != other
    assert profiles == online_store.location(profile_group())  # stable
    assert "profile" in profiles
