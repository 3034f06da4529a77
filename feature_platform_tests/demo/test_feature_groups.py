"""The demo transformations on hand-built events, where every expected value is worked out."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from feature_platform.demo.click_events import EVENTS_SCHEMA
from feature_platform.demo.feature_groups import (
    ARTICLE_POPULARITY,
    USER_ENGAGEMENT,
    article_popularity,
    user_engagement,
)
from feature_platform.offline_store.validation import prepare_frame
from feature_platform.time_windows import TimeWindow

UTC = dt.UTC
WINDOW = TimeWindow.of(dt.date(2026, 11, 10), dt.date(2026, 11, 11))


def _events(
    rows: list[tuple[str, str, str, str, float | None, dt.datetime, dt.datetime]],
) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "event_id": f"e{i}",
                "user_id": user,
                "article_id": article,
                "category": category,
                "event_type": kind,
                "dwell_seconds": dwell,
                "event_time": at,
                "ingested_at": ingested,
            }
            for i, (user, article, category, kind, dwell, at, ingested) in enumerate(rows)
        ],
        schema=EVENTS_SCHEMA,
    )


def t(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=UTC)


EVENTS = _events(
    [
        # u1: active on the 10th, with history on the 5th.
        ("u1", "a1", "tech", "impression", None, t(5, 9), t(5, 9)),
        ("u1", "a1", "tech", "click", 30.0, t(5, 9), t(5, 10)),
        ("u1", "a2", "sports", "impression", None, t(10, 8), t(10, 8)),
        ("u1", "a2", "sports", "click", 10.0, t(10, 8), t(11, 20)),  # arrived late
        ("u1", "a3", "sports", "impression", None, t(10, 20), t(10, 20)),
        # u2: only history, no activity on the 10th -> no row.
        ("u2", "a1", "tech", "impression", None, t(6, 9), t(6, 9)),
    ]
)


def test_user_engagement_aggregates_day_and_week() -> None:
    result = user_engagement(EVENTS, WINDOW)
    expected = pl.DataFrame(
        {
            "user_id": ["u1"],
            "event_time": [t(10, 20)],
            "computed_at": [t(11, 20)],
            "impressions_1d": [2],
            "clicks_1d": [1],
            "ctr_1d": [0.5],
            "clicks_7d": [2],
            "avg_dwell_7d": [20.0],
            "top_category_7d": ["sports"],  # a tie (1 tech, 1 sports) breaks alphabetically
        },
        schema_overrides={
            "event_time": pl.Datetime("us", "UTC"),
            "computed_at": pl.Datetime("us", "UTC"),
        },
    )
    assert_frame_equal(result, expected)
    prepare_frame(USER_ENGAGEMENT, result, window=WINDOW)  # fits the spec and the window


def test_article_popularity_over_24_hours() -> None:
    hour = TimeWindow.of(t(10, 8), t(10, 9))
    result = article_popularity(EVENTS, hour)  # events outside the 24 h are ignored
    assert result.to_dicts() == [
        {
            "article_id": "a2",
            "event_time": t(10, 8),
            "computed_at": t(11, 20),
            "impressions_24h": 1,
            "clicks_24h": 1,
            "ctr_24h": 1.0,
            "avg_dwell_24h": 10.0,
            "category": "sports",
        }
    ]
    prepare_frame(ARTICLE_POPULARITY, result, window=hour)


def test_no_events_in_the_window_means_no_rows() -> None:
    assert user_engagement(EVENTS.filter(pl.col("event_time") < t(7, 0)), WINDOW).is_empty()
