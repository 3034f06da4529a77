"""The demo's training set: did the user click the article shown, with the features known then.

Labels are impressions from the click log, labelled by whether a click on the same article by the
same user followed within a minute; the features are the user's engagement and the article's
popularity as of the impression, which is exactly what a click-through model is trained on.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from feature_platform.demo.feature_groups import CLICK_EVENTS
from feature_platform.time_windows import TimeWindow
from feature_platform.training.definition import TrainingSetDefinition

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore

CLICK_WITHIN = dt.timedelta(minutes=1)


def click_labels(store: FeatureStore, window: TimeWindow) -> pl.DataFrame:
    """One row per impression in `window`: event id, user, article, instant and `clicked`."""
    events = CLICK_EVENTS.read(store, TimeWindow(window.start, window.end + CLICK_WITHIN))
    impressions = events.filter(
        (pl.col("event_type") == "impression") & (pl.col("event_time") < window.end)
    )
    clicks = events.filter(pl.col("event_type") == "click").select(
        "user_id", "article_id", click_time="event_time"
    )
    return (
        impressions.sort("user_id", "article_id", "event_time")
        .join_asof(
            clicks.sort("user_id", "article_id", "click_time"),
            left_on="event_time",
            right_on="click_time",
            by=["user_id", "article_id"],
            strategy="forward",
            tolerance=CLICK_WITHIN,
            check_sortedness=False,  # sorted within each (user, article) above
        )
        .sort("event_time", "event_id")
        .select(
            "event_id",
            "user_id",
            "article_id",
            event_timestamp="event_time",
            clicked=pl.col("click_time").is_not_null(),
        )
    )


CLICK_THROUGH = TrainingSetDefinition(
    name="click_through",
    features=[
        "user_engagement:clicks_7d",
        "user_engagement:ctr_1d",
        "user_engagement:avg_dwell_7d",
        "user_engagement:top_category_7d",
        "article_popularity:ctr_24h",
        "article_popularity:clicks_24h",
        "article_popularity:category",
    ],
    labels=click_labels,
    label_window=dt.timedelta(days=2),
    label_source=CLICK_EVENTS.key,
    description=(
        "Impressions labelled clicked or not, with the user's engagement and the article's "
        "popularity as of the impression: training data of the click-through model."
    ),
    owner="team:recsys",
)

DEMO_TRAINING_SETS: tuple[TrainingSetDefinition, ...] = (CLICK_THROUGH,)
