"""`FeatureStore.get_online_features` and streaming `write(to=...)`, on every online store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore, StoreConfig
from feature_platform.errors import (
    FeatureNameClashError,
    FeatureNotOnlineError,
    InvalidFeatureReferenceError,
    NaiveTimestampError,
    SchemaMismatchError,
    UnknownFeatureError,
    UnknownFeatureGroupError,
)
from feature_platform_tests.helpers import read_independently
from feature_platform_tests.online_store.builders import dynamodb_settings

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 10, 12, tzinfo=UTC)

USERS = FeatureGroup(
    "users",
    Entity("user", ["user_id"], key_dtypes={"user_id": "int64"}),
    [Feature("clicks", "int64"), Feature("segment", "string")],
    start="2026-11-01",
    ttl=dt.timedelta(hours=6),
    online=True,
)
ARTICLES = FeatureGroup(
    "articles",
    Entity("article", ["article_id"]),
    [Feature("ctr", "float64"), Feature("clicks", "int64")],
    start="2026-11-01",
    online=True,
)


@pytest.fixture(params=["embedded", pytest.param("dynamodb", marks=pytest.mark.integration)])
def serving(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FeatureStore]:
    settings: dict[str, Any] = {"offline_buffer_rows": 1_000, "offline_buffer_seconds": 3600}
    if request.param == "dynamodb":
        endpoint = request.getfixturevalue("dynalite_endpoint")
        online = dataclasses.asdict(dynamodb_settings(endpoint))
        settings.update(online_store="dynamodb", online_settings=online)
    with FeatureStore(config=StoreConfig.embedded(tmp_path / "home", **settings)) as store:
        store.apply(USERS)
        store.apply(ARTICLES)
        yield store


def users(*rows: tuple[int, dt.datetime, int, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "event_time": [r[1] for r in rows],
            "clicks": [r[2] for r in rows],
            "segment": [r[3] for r in rows],
        }
    )


def articles(*rows: tuple[str, dt.datetime, float | None, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "article_id": [r[0] for r in rows],
            "event_time": [r[1] for r in rows],
            "ctr": [r[2] for r in rows],
            "clicks": [r[3] for r in rows],
        },
        schema_overrides={"ctr": pl.Float64},
    )


HOUR = dt.timedelta(hours=1)


def test_several_groups_in_request_order_with_missing_and_expired_entities(
    serving: FeatureStore,
) -> None:
    serving.write("users", users((1, NOW - HOUR, 10, "a"), (2, NOW - 7 * HOUR, 20, "b")), "online")
    serving.write("articles", articles(("x", NOW - 30 * HOUR, 0.5, 5)), "online")
    rows = [
        {"user_id": 2, "article_id": "x"},  # user 2's value is older than the 6 h ttl
        {"user_id": 1, "article_id": "nope"},
        {"user_id": 9, "article_id": "x"},
        {"user_id": 1, "article_id": "x"},
    ]
    frame = serving.get_online_features(
        ["users:clicks", "articles:ctr", "users:segment", "articles:clicks"],
        rows,
        full_feature_names=True,
        now=NOW,
    )
    assert frame.columns == [
        "user_id",
        "article_id",
        "users__clicks",
        "users__segment",
        "articles__ctr",
        "articles__clicks",
    ]
    assert frame.rows() == [
        (2, "x", None, None, 0.5, 5),
        (1, "nope", 10, "a", None, None),
        (9, "x", None, None, 0.5, 5),
        (1, "x", 10, "a", 0.5, 5),
    ]
    assert frame.schema["users__clicks"] == pl.Int64
    as_dict = serving.get_online_features_dict(["users:segment"], rows[:2], now=NOW)
    assert as_dict == {"user_id": [2, 1], "segment": [None, "a"]}
    later = serving.get_online_features(["users:clicks"], [{"user_id": 1}], now=NOW + 6 * HOUR)
    assert later["clicks"].to_list() == [None]  # expired by then


def test_streaming_writes_latest_wins_online_and_buffer_offline(serving: FeatureStore) -> None:
    newer = serving.write("users", users((1, NOW, 2, "new")), to="both")
    assert newer.online is not None
    assert newer.online.written == 1
    assert newer.offline_commits == ()
    assert newer.offline_pending_rows == 1
    older = serving.write("users", users((1, NOW - HOUR, 1, "old")), to="both")
    assert older.online is not None
    assert older.online.skipped_stale == 1  # a late, older row never replaces a newer one
    assert serving.get_online_features(["users:segment"], [{"user_id": 1}], now=NOW).row(0) == (
        1,
        "new",
    )
    offline_only = serving.write("users", users((3, NOW, 3, "off")), to="offline")
    assert offline_only.online is None
    missing = serving.get_online_features(["users:clicks"], [{"user_id": 3}], now=NOW)
    assert missing["clicks"].to_list() == [None]

    assert serving.flush() != []
    stored = read_independently(serving.table("users")).sort("event_time")
    assert stored["segment"].to_list() == ["old", "new", "off"]  # the offline store keeps all


def test_entity_rows_as_a_frame(serving: FeatureStore) -> None:
    serving.write("users", users((1, NOW, 5, "a"), (2, NOW, 6, "b")), to="online")
    frame = serving.get_online_features(
        ["users:clicks"], pl.DataFrame({"user_id": [2, 1, 2]}), now=NOW
    )
    assert frame["clicks"].to_list() == [6, 5, 6]


@pytest.mark.parametrize(
    ("features", "rows", "error", "fix"),
    [
        (["users:nope"], [{"user_id": 1}], UnknownFeatureError, "it has ['clicks', 'segment']"),
        (["nope:clicks"], [{"user_id": 1}], UnknownFeatureGroupError, "apply it first"),
        (["users.clicks"], [{"user_id": 1}], InvalidFeatureReferenceError, "'<group>:<feature>'"),
        (["users:clicks"], [{"uid": 1}], SchemaMismatchError, "lack join keys ['user_id']"),
        (["users:clicks"], {"user_id": 1}, SchemaMismatchError, "wrap it in a list"),
        (
            ["users:clicks", "articles:clicks"],
            [{"user_id": 1, "article_id": "x"}],
            FeatureNameClashError,
            "full_feature_names=True",
        ),
    ],
)
def test_bad_online_requests(
    serving: FeatureStore, features: list[str], rows: Any, error: type[Exception], fix: str
) -> None:
    with pytest.raises(error) as raised:
        serving.get_online_features(features, rows)
    assert fix in str(raised.value)


def test_bad_pushes_write_nothing_anywhere(serving: FeatureStore) -> None:
    naive = users((1, NOW.replace(tzinfo=None), 1, "a"))
    with pytest.raises(NaiveTimestampError):
        serving.write("users", naive, to="both")
    with pytest.raises(ValueError, match="use 'offline', 'online' or 'both'"):
        serving.write("users", users((1, NOW, 1, "a")), to="everywhere")  # type: ignore[arg-type]
    assert serving.get_online_features(["users:clicks"], [{"user_id": 1}], now=NOW)[
        "clicks"
    ].to_list() == [None]
    assert serving.flush() == []


def test_offline_groups_refuse_online_pushes(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path / "home")
    store.apply(dataclasses.replace(USERS, online=False))
    with pytest.raises(FeatureNotOnlineError, match="write to='offline'"):
        store.write("users", users((1, NOW, 1, "a")), to="both")
    assert store.flush() == []


ACCOUNTS = FeatureGroup(
    "accounts",
    Entity("account", ["account_id"], key_dtypes={"account_id": "int32"}),
    [Feature("balance", "int64")],
    start="2026-11-01",
    online=True,
)
# Keys `account_id` by int64: requested with ACCOUNTS, one int32 column must serve both.
LEDGERS = FeatureGroup(
    "ledgers",
    Entity("ledger", ["account_id"], key_dtypes={"account_id": "int64"}),
    [Feature("entries", "int64")],
    start="2026-11-01",
    online=True,
)


def accounts(*rows: tuple[int, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": pl.Series([r[0] for r in rows], dtype=pl.Int32),
            "event_time": [NOW - HOUR] * len(rows),
            "balance": [r[1] for r in rows],
        }
    )


def test_rows_of_dicts_are_built_with_the_keys_own_dtype(serving: FeatureStore) -> None:
    serving.apply(ACCOUNTS)
    serving.write("accounts", accounts((7, 2**62 + 1), (2**31 - 1, -5)), to="online")
    rows = [{"account_id": 7}, {"account_id": None}, {"account_id": 2**31 - 1}, {"account_id": 8}]

    frame = serving.get_online_features(["accounts:balance"], rows, now=NOW)

    expected = pl.DataFrame(
        {
            "account_id": pl.Series([7, None, 2**31 - 1, 8], dtype=pl.Int32),
            "balance": pl.Series([2**62 + 1, None, -5, None], dtype=pl.Int64),
        }
    )
    assert_frame_equal(frame, expected)
    as_frame = serving.get_online_features(
        ["accounts:balance"], expected.select("account_id"), now=NOW
    )
    assert_frame_equal(as_frame, expected)
    as_dict = serving.get_online_features_dict(["accounts:balance"], rows[:1], now=NOW)
    assert as_dict == {"account_id": [7], "balance": [2**62 + 1]}


def test_one_key_column_serves_groups_keying_it_by_int32_and_int64(
    serving: FeatureStore,
) -> None:
    serving.apply(ACCOUNTS)
    serving.apply(LEDGERS)
    serving.write("accounts", accounts((7, 70)), to="online")
    ledger = pl.DataFrame({"account_id": [7], "event_time": [NOW - HOUR], "entries": [3]})
    serving.write("ledgers", ledger, to="online")

    frame = serving.get_online_features(
        ["accounts:balance", "ledgers:entries"], [{"account_id": 7}], now=NOW
    )

    assert frame.schema["account_id"] == pl.Int32  # the narrower: both groups look it up
    assert frame.rows() == [(7, 70, 3)]
    with pytest.raises(SchemaMismatchError, match="'accounts' by int32, 'ledgers' by int64"):
        serving.get_online_features(
            ["accounts:balance", "ledgers:entries"], [{"account_id": 2**31}], now=NOW
        )


def test_groups_keying_one_name_by_string_and_int_need_separate_calls(
    serving: FeatureStore,
) -> None:
    serving.apply(ACCOUNTS)
    by_name = FeatureGroup(
        "named_accounts",
        Entity("named_account", ["account_id"]),
        [Feature("owner", "string")],
        start="2026-11-01",
        online=True,
    )
    serving.apply(by_name)
    with pytest.raises(SchemaMismatchError, match="request these groups in separate calls"):
        serving.get_online_features(
            ["accounts:balance", "named_accounts:owner"], [{"account_id": 7}], now=NOW
        )


@pytest.mark.parametrize(
    ("features", "rows", "fix"),
    [
        (
            ["accounts:balance"],
            [{"account_id": 1}, {"account_id": 2**31}],
            "join key 'account_id' must be int32 (feature group 'accounts' keys it by int32), "
            "but entity row 1 has 2147483648 (int); pass ints from -2**31 to 2**31 - 1",
        ),
        (
            ["accounts:balance"],
            [{"account_id": True}],
            "'account_id' must be int32 (feature group 'accounts' keys it by int32), but entity "
            "row 0 has True (bool)",
        ),
        (["accounts:balance"], [{"account_id": 1}, {"account_id": "2"}], "row 1 has '2' (str)"),
        (["accounts:balance"], [{"account_id": 1.0}], "row 0 has 1.0 (float)"),
        (["users:clicks"], [{"user_id": 2**63}], "'user_id' must be int64"),
        (
            ["articles:ctr"],
            [{"article_id": "x"}, {"article_id": 1}],
            "join key 'article_id' must be string (feature group 'articles' keys it by string), "
            "but entity row 1 has 1 (int); pass str values",
        ),
        (["articles:ctr"], [("x",)], "entity row 0 is a tuple, not a dict"),
    ],
)
def test_key_values_of_the_wrong_type_name_the_key_and_its_type(
    serving: FeatureStore, features: list[str], rows: list[Any], fix: str
) -> None:
    serving.apply(ACCOUNTS)
    with pytest.raises(SchemaMismatchError) as raised:
        serving.get_online_features(features, rows, now=NOW)
    assert fix in str(raised.value)


def test_no_entity_rows_read_as_an_empty_frame_of_the_right_schema(serving: FeatureStore) -> None:
    serving.apply(ACCOUNTS)
    features = ["users:clicks", "articles:ctr", "accounts:balance"]

    from_rows = serving.get_online_features(features, [], now=NOW)

    expected = pl.DataFrame(
        schema={
            "user_id": pl.Int64,
            "article_id": pl.String,
            "account_id": pl.Int32,
            "clicks": pl.Int64,
            "ctr": pl.Float64,
            "balance": pl.Int64,
        }
    )
    assert_frame_equal(from_rows, expected)
    from_frame = serving.get_online_features(features, expected.select(from_rows.columns[:3]))
    assert_frame_equal(from_frame, expected)
    assert serving.get_online_features_dict(["users:clicks"], ()) == {"user_id": [], "clicks": []}
