"""`FeatureStore.get_online_features` and streaming `write(to=...)`, on every online store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

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
