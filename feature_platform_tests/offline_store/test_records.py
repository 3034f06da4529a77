"""`write` takes a list of records (dicts), as streaming producers emit them, typed by the spec."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore
from feature_platform.demo.feature_groups import ARTICLE_POPULARITY
from feature_platform.errors import (
    InvalidFrameError,
    NaiveTimestampError,
    NullKeyError,
    SchemaMismatchError,
)

NOW = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
HOUR = dt.timedelta(hours=1)


def _article(article_id: str, at: Any, computed_at: Any, clicks: int = 3) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "event_time": at,
        "computed_at": computed_at,
        "impressions_24h": 40,
        "clicks_24h": clicks,
        "ctr_24h": clicks / 40,
        "avg_dwell_24h": None,
        "category": "tech",
    }


def _records() -> list[dict[str, Any]]:
    """Timestamps as an aware datetime, ISO text with Z and ISO text with an offset."""
    earlier = NOW - 2 * HOUR
    return [
        _article("a1", earlier, earlier + dt.timedelta(minutes=5), clicks=3),
        _article("a2", (earlier).isoformat().replace("+00:00", "Z"), NOW.isoformat(), clicks=4),
        _article(
            "a1",
            (NOW - HOUR).astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat(),
            NOW,
            clicks=5,
        ),
    ]


@pytest.fixture
def articles(store: FeatureStore) -> FeatureStore:
    store.apply(ARTICLE_POPULARITY)
    return store


def test_records_to_offline_read_back_with_the_group_types(articles: FeatureStore) -> None:
    result = articles.write("article_popularity", _records(), to="offline")
    assert result.rows == 3
    assert len(result.offline_commits) == 1
    read = articles.read("article_popularity").sort("article_id", "event_time")
    expected = pl.DataFrame(
        {
            "article_id": ["a1", "a1", "a2"],
            "event_time": [NOW - 2 * HOUR, NOW - HOUR, NOW - 2 * HOUR],
            "created_at": [NOW - 2 * HOUR + dt.timedelta(minutes=5), NOW, NOW],
            "impressions_24h": [40, 40, 40],
            "clicks_24h": [3, 5, 4],
            "ctr_24h": [3 / 40, 5 / 40, 4 / 40],
            "avg_dwell_24h": [None, None, None],
            "category": ["tech", "tech", "tech"],
        },
        schema=read.schema,
    )
    assert_frame_equal(read, expected)


def test_records_to_online_serve_the_latest_value(articles: FeatureStore) -> None:
    result = articles.write("article_popularity", _records(), to="online")
    assert result.online is not None
    assert not result.offline_commits
    served = articles.get_online_features_dict(
        ["article_popularity:clicks_24h"], [{"article_id": "a1"}, {"article_id": "a2"}]
    )
    assert served["clicks_24h"] == [5, 4]
    assert articles.read("article_popularity").is_empty()


def test_records_to_both_agree(articles: FeatureStore) -> None:
    articles.write("article_popularity", _records(), to="both")
    served = articles.get_online_features_dict(
        ["article_popularity:ctr_24h"], [{"article_id": "a1"}]
    )
    assert served["ctr_24h"] == [5 / 40]
    assert articles.read("article_popularity").height == 3


def test_an_empty_list_writes_nothing(articles: FeatureStore) -> None:
    result = articles.write("article_popularity", [], to="both")
    assert result.rows == 0
    assert not result.offline_commits


def test_records_are_typed_by_the_spec_not_guessed(store: FeatureStore) -> None:
    """Python ints fill an int32 feature and int keys; inference would make them Int64."""
    group = FeatureGroup(
        "scores",
        Entity("player", ["player_id"], key_dtypes={"player_id": pl.Int64}),
        [Feature("level", "int32"), Feature("joined", "date"), Feature("seen", "timestamp")],
        start="2026-01-01",
    )
    store.apply(group)
    at = NOW - HOUR
    store.write(
        "scores",
        [
            {
                "player_id": 7,
                "event_time": at,
                "level": 3,
                "joined": dt.date(2026, 2, 1),
                "seen": "2026-03-01T10:00:00+01:00",
            },
        ],
    )
    read = store.read("scores")
    assert read.schema["level"] == pl.Int32
    assert read.row(0, named=True)["seen"] == dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def test_pandas_and_pyarrow_frames_are_accepted_too(articles: FeatureStore) -> None:
    frame = pl.DataFrame(
        [_article("a1", NOW - HOUR, NOW)],
        schema_overrides={"avg_dwell_24h": pl.Float64},
    )
    articles.write("article_popularity", frame.to_pandas(), to="both")
    articles.write("article_popularity", frame.to_arrow(), to="both")
    assert articles.read("article_popularity").height == 2


def _without(key: str) -> list[dict[str, Any]]:
    records = _records()
    del records[1][key]
    return records


def _with(key: str, value: Any) -> list[dict[str, Any]]:
    records = _records()
    records[2][key] = value
    return records


@pytest.mark.parametrize(
    ("records", "error", "message"),
    [
        (_without("ctr_24h"), SchemaMismatchError, r"record 1 .* missing columns \['ctr_24h'\]"),
        (
            _with("views", 1),
            SchemaMismatchError,
            r"record 2 .* unknown columns \['views'\] \(not features of the group",
        ),
        (_with("event_time", NOW.replace(tzinfo=None)), NaiveTimestampError, "record 2 .* naive"),
        (_with("event_time", "2026-11-10T12:00:00"), NaiveTimestampError, "give its offset"),
        (_with("event_time", "yesterday"), SchemaMismatchError, "not an ISO-8601 timestamp"),
        (_with("event_time", None), NullKeyError, "'event_time' .* 1 null value"),
        (_with("clicks_24h", 2.5), SchemaMismatchError, r"clicks_24h=2\.5 \(float\).*int64"),
        (_with("clicks_24h", True), SchemaMismatchError, r"clicks_24h=True \(bool\)"),
        (_with("article_id", 12), SchemaMismatchError, r"article_id=12 \(int\).*string"),
        ([*_records(), "a3"], InvalidFrameError, "record 3 .* is a str; write a list of dicts"),
    ],
)
def test_bad_records_get_the_frame_errors_and_write_nothing(
    articles: FeatureStore, records: list[Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        articles.write("article_popularity", records, to="both")
    assert articles.read("article_popularity").is_empty()
    served = articles.get_online_features_dict(
        ["article_popularity:clicks_24h"], [{"article_id": "a1"}]
    )
    assert served["clicks_24h"] == [None]
