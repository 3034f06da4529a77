"""The demo's feature groups: per-user engagement (daily) and per-article popularity (hourly).

Each transformation is a pure polars function of the source rows and the window, which is all a
backfill needs. A row's event time is the entity's last event inside the window (the moment the
aggregate became true) and its created time is the latest ingestion among the events it was
computed from, so a rerun after late events arrive produces a correction that wins ties.

The groups declare expectations a newcomer finds as asset checks on `features/<group>`: counts,
rates and dwell times are never negative, categories are the app's, every article has one, and
a day of engagement holds between half and twice the users of the same day a week earlier (a
warning only: news has quiet days). The demo data meets them all. Rates have no upper bound of 1
on purpose: a click can arrive before its late impression, so a window computed early may hold
a rate above 1 until its rerun after the late events corrects it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from feature_platform.demo.click_events import CATEGORIES
from feature_platform.demo.event_log import ClickEventLog
from feature_platform.expectations import (
    AllowedValues,
    GroupExpectation,
    MaxNullFraction,
    RowCountVsLastWeek,
    ValueRange,
)
from feature_platform.sources import FeatureGroupDefinition
from feature_platform.specs import Entity, Feature, FeatureGroup, Partitioning
from feature_platform.time_windows import TimeWindow

DEMO_START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

USER = Entity("user", ["user_id"], description="A reader of the news app.")
ARTICLE = Entity("article", ["article_id"], description="A published news article.")


def _recsys_group(
    name: str,
    entity: Entity,
    features: list[Feature],
    *,
    partitioning: Partitioning,
    ttl: dt.timedelta,
    description: str,
    expectations: tuple[GroupExpectation, ...] = (),
) -> FeatureGroup:
    """A group of the news app's ranking model: what every demo group has in common.

    Each is computed from the click log (so from `DEMO_START`, with the ingestion time as its
    created time), served online, and owned by the recommendations team.
    """
    return FeatureGroup(
        name=name,
        entity=entity,
        features=features,
        created_time="computed_at",
        partitioning=partitioning,
        start=DEMO_START,
        ttl=ttl,
        online=True,
        owner="team:recsys",
        description=description,
        tags={"domain": "news", "pii": "false"},
        expectations=expectations,
    )


NON_NEGATIVE = ValueRange(min=0)
CATEGORY = AllowedValues(CATEGORIES)


USER_ENGAGEMENT = _recsys_group(
    "user_engagement",
    USER,
    [
        Feature(
            "impressions_1d", "int64", "Articles shown to the user in the day.", [NON_NEGATIVE]
        ),
        Feature("clicks_1d", "int64", "Articles the user opened in the day.", [NON_NEGATIVE]),
        Feature(
            "ctr_1d",
            "float64",
            "clicks_1d / impressions_1d; null without impressions.",
            [NON_NEGATIVE],
        ),
        Feature(
            "clicks_7d",
            "int64",
            "Articles opened in the 7 days up to the day's end.",
            [NON_NEGATIVE],
        ),
        Feature(
            "avg_dwell_7d", "float64", "Mean reading time of those clicks, seconds.", [NON_NEGATIVE]
        ),
        Feature("top_category_7d", "string", "Most clicked category over 7 days.", [CATEGORY]),
    ],
    partitioning="daily",
    ttl=dt.timedelta(days=7),
    description="How much and what each user reads: inputs of the ranking model.",
    expectations=(RowCountVsLastWeek(factor=2, mode="warn"),),
)

ARTICLE_POPULARITY = _recsys_group(
    "article_popularity",
    ARTICLE,
    [
        Feature(
            "impressions_24h",
            "int64",
            "Times the article was shown in the last 24 h.",
            [NON_NEGATIVE],
        ),
        Feature("clicks_24h", "int64", "Times it was opened in the last 24 h.", [NON_NEGATIVE]),
        Feature("ctr_24h", "float64", "clicks_24h / impressions_24h.", [NON_NEGATIVE]),
        Feature("avg_dwell_24h", "float64", "Mean reading time of those clicks, seconds."),
        Feature("category", "string", "Editorial category.", [CATEGORY, MaxNullFraction(0.0)]),
    ],
    partitioning="hourly",
    ttl=dt.timedelta(days=2),
    description="How popular each article is right now: freshness signal for ranking.",
)

_IS_CLICK = pl.col("event_type") == "click"


def _trailing(events: pl.DataFrame, window: TimeWindow, span: dt.timedelta) -> pl.DataFrame:
    """Events of the `span` before the window's end; whatever else the input holds is ignored."""
    return events.filter(pl.col("event_time").is_between(window.end - span, window.end, "left"))


def _activity(events: pl.DataFrame, key: str, window: TimeWindow) -> pl.DataFrame:
    """Entities with events in the window, with the time of their last one."""
    in_window = events.filter(pl.col("event_time").is_between(window.start, window.end, "left"))
    return in_window.group_by(key).agg(
        pl.col("event_time").max(),
        pl.len().alias("_events_in_window"),
        (~_IS_CLICK).sum().cast(pl.Int64).alias("_impressions_window"),
        _IS_CLICK.sum().cast(pl.Int64).alias("_clicks_window"),
    )


def user_engagement(events: pl.DataFrame, window: TimeWindow) -> pl.DataFrame:
    """One row per user active in the window, aggregating the 7 days up to the window's end."""
    events = _trailing(events, window, dt.timedelta(days=7))
    history = events.group_by("user_id").agg(
        _IS_CLICK.sum().cast(pl.Int64).alias("clicks_7d"),
        pl.col("dwell_seconds").filter(_IS_CLICK).mean().alias("avg_dwell_7d"),
        pl.col("ingested_at").max().alias("computed_at"),
    )
    top_category = (
        events.filter(_IS_CLICK)
        .group_by("user_id", "category")
        .agg(pl.len().alias("n"))
        .sort(["user_id", "n", "category"], descending=[False, True, False])
        .group_by("user_id", maintain_order=True)
        .first()
        .select("user_id", pl.col("category").alias("top_category_7d"))
    )
    return (
        _activity(events, "user_id", window)
        .join(history, on="user_id", how="left")
        .join(top_category, on="user_id", how="left")
        .select(
            "user_id",
            "event_time",
            "computed_at",
            pl.col("_impressions_window").alias("impressions_1d"),
            pl.col("_clicks_window").alias("clicks_1d"),
            pl.when(pl.col("_impressions_window") > 0)
            .then(pl.col("_clicks_window") / pl.col("_impressions_window"))
            .alias("ctr_1d"),
            "clicks_7d",
            "avg_dwell_7d",
            "top_category_7d",
        )
        .sort("user_id")
    )


def article_popularity(events: pl.DataFrame, window: TimeWindow) -> pl.DataFrame:
    """One row per article active in the hour, aggregating the 24 h up to the hour's end."""
    events = _trailing(events, window, dt.timedelta(hours=24))
    history = events.group_by("article_id").agg(
        (~_IS_CLICK).sum().cast(pl.Int64).alias("impressions_24h"),
        _IS_CLICK.sum().cast(pl.Int64).alias("clicks_24h"),
        pl.col("dwell_seconds").filter(_IS_CLICK).mean().alias("avg_dwell_24h"),
        pl.col("category").first(),
        pl.col("ingested_at").max().alias("computed_at"),
    )
    return (
        _activity(events, "article_id", window)
        .join(history, on="article_id", how="left")
        .select(
            "article_id",
            "event_time",
            "computed_at",
            "impressions_24h",
            "clicks_24h",
            pl.when(pl.col("impressions_24h") > 0)
            .then(pl.col("clicks_24h") / pl.col("impressions_24h"))
            .alias("ctr_24h"),
            "avg_dwell_24h",
            "category",
        )
        .sort("article_id")
    )


CLICK_EVENTS = ClickEventLog(start=DEMO_START)

DEMO_FEATURE_GROUPS: tuple[FeatureGroupDefinition, ...] = (
    FeatureGroupDefinition(
        USER_ENGAGEMENT, user_engagement, CLICK_EVENTS, lookback=dt.timedelta(days=6)
    ),
    FeatureGroupDefinition(
        ARTICLE_POPULARITY, article_popularity, CLICK_EVENTS, lookback=dt.timedelta(hours=23)
    ),
)
