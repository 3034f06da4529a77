"""A deterministic synthetic click-event stream for the news-recommendation demo.

Each UTC day's events depend only on that day (the random generator is seeded from the date), so
regenerating a day is idempotent, which lets the events table be a partitioned, backfillable
asset like any real source. About 5% of events arrive late (up to 36 hours), as mobile clients do,
so a feature backfill that reruns after them sees more data than the first run did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from feature_platform.time_windows import TimeWindow

CATEGORIES = ("world", "politics", "business", "tech", "science", "sports", "culture", "health")
EVENTS_SCHEMA = pl.Schema(
    {
        "event_id": pl.String(),
        "user_id": pl.String(),
        "article_id": pl.String(),
        "category": pl.String(),
        "event_type": pl.String(),
        "dwell_seconds": pl.Float64(),
        "event_time": pl.Datetime("us", "UTC"),
        "ingested_at": pl.Datetime("us", "UTC"),
    }
)


@dataclass(frozen=True)
class ClickEventConfig:
    """Size of the synthetic world; the defaults make a demo day in well under a second."""

    users: int = 2_000
    articles: int = 400
    impressions_per_day: int = 20_000
    late_fraction: float = 0.05
    seed: int = 7


def _power_law(size: int, exponent: float) -> np.ndarray:
    weights: np.ndarray = 1.0 / np.arange(1, size + 1) ** exponent
    normalised: np.ndarray = weights / weights.sum()
    return normalised


def article_category(article_index: np.ndarray) -> np.ndarray:
    names: np.ndarray = np.asarray(CATEGORIES, dtype=object)[article_index % len(CATEGORIES)]
    return names


def generate_day(day: dt.date, config: ClickEventConfig | None = None) -> pl.DataFrame:
    """All impression and click events whose event time falls on `day` (UTC)."""
    config = config or ClickEventConfig()
    rng = np.random.default_rng([config.seed, day.toordinal()])
    n = config.impressions_per_day
    day_start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)

    # Heavy-tailed activity: a few users and articles account for most impressions, and the
    # popular articles change from day to day as news does.
    users = rng.choice(config.users, n, p=_power_law(config.users, 0.8))
    articles = (
        rng.choice(config.articles, n, p=_power_law(config.articles, 1.1)) + 7 * day.toordinal()
    ) % config.articles
    # Daily rhythm: more reading in the morning and evening.
    seconds = np.clip(
        rng.choice([8, 13, 20], n, p=[0.35, 0.25, 0.4]) * 3600 + rng.normal(0, 7200, n), 0, 86_399
    ).astype(np.int64) * 1_000_000 + rng.integers(0, 1_000_000, n)
    favourite = users % len(CATEGORIES)
    clicked = rng.random(n) < np.where(articles % len(CATEGORIES) == favourite, 0.3, 0.06)

    impressions = pl.DataFrame(
        {
            "user_index": users,
            "article_index": articles,
            "offset_us": seconds,
            "event_type": "impression",
            "dwell_seconds": None,
        },
        schema_overrides={"dwell_seconds": pl.Float64},
    )
    click_rows = np.flatnonzero(clicked)
    clicks = pl.DataFrame(
        {
            "user_index": users[click_rows],
            "article_index": articles[click_rows],
            "offset_us": np.minimum(
                seconds[click_rows] + rng.integers(1, 30, click_rows.size) * 1_000_000,
                86_400_000_000 - 1,
            ),
            "event_type": "click",
            "dwell_seconds": np.round(rng.lognormal(3.5, 0.8, click_rows.size), 1),
        }
    )
    events = pl.concat([impressions, clicks]).sort("offset_us", "event_type", "user_index")
    total = events.height
    late = rng.random(total) < config.late_fraction
    lag_us = (
        np.where(late, rng.integers(3_600, 36 * 3_600, total), rng.integers(1, 120, total))
        * 1_000_000
    )
    return (
        events.with_columns(
            event_id=pl.format(
                "{}-{}",
                pl.lit(day.strftime("%Y%m%d")),
                pl.int_range(total).cast(pl.String).str.zfill(7),
            ),
            user_id=pl.format("u{}", pl.col("user_index").cast(pl.String).str.zfill(5)),
            article_id=pl.format("a{}", pl.col("article_index").cast(pl.String).str.zfill(5)),
            category=pl.Series(article_category(events.get_column("article_index").to_numpy())),
            event_time=pl.lit(day_start) + pl.duration(microseconds=pl.col("offset_us")),
        )
        .with_columns(
            ingested_at=pl.col("event_time") + pl.duration(microseconds=pl.lit(pl.Series(lag_us))),
        )
        .select(list(EVENTS_SCHEMA))
        .cast(EVENTS_SCHEMA)
    )


def generate_window(window: TimeWindow, config: ClickEventConfig | None = None) -> pl.DataFrame:
    """Events of every day the window touches, cut to the window."""
    days = []
    day = window.start.date()
    while dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) < window.end:
        days.append(generate_day(day, config))
        day += dt.timedelta(days=1)
    return pl.concat(days).filter(
        (pl.col("event_time") >= window.start) & (pl.col("event_time") < window.end)
    )
