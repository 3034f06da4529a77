"""The `scores` feature group the online-sync tests write, and how they read it back."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import polars as pl

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore
from feature_platform.online_store import DynamoDBOnlineStore
from feature_platform_tests.helpers import read_independently

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 10, 12, tzinfo=UTC)
TTL = dt.timedelta(days=2)


def scores_group(**overrides: Any) -> FeatureGroup:
    settings: dict[str, Any] = {
        "name": "scores",
        "entity": Entity("user", ["user_id"]),
        "features": [Feature("score", "int64"), Feature("label", "string")],
        "created_time": "computed_at",
        "start": "2026-11-01",
        "ttl": TTL,
        "online": True,
    }
    settings.update(overrides)
    return FeatureGroup(**settings)


SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "event_time": pl.Datetime("us", "UTC"),
    "computed_at": pl.Datetime("us", "UTC"),
    "score": pl.Int64(),
    "label": pl.String(),
}


def day_rows(
    day: int, users: range | list[int], score: int, computed: int = 0, hour: int = 12
) -> pl.DataFrame:
    """One row per user at `hour` of 2026-11-`day`, computed `computed` hours after the day."""
    start = dt.datetime(2026, 11, day, tzinfo=UTC)
    return pl.DataFrame(
        {
            "user_id": [f"u{u}" for u in users],
            "event_time": [start + dt.timedelta(hours=hour)] * len(users),
            "computed_at": [start + dt.timedelta(days=1, hours=computed)] * len(users),
            "score": [score + u for u in users],
            "label": [f"d{day}"] * len(users),
        },
        schema_overrides=SCHEMA,  # an empty day keeps its dtypes
    )


def write_day(store: FeatureStore, day: int, frame: pl.DataFrame) -> None:
    start = dt.datetime(2026, 11, day, tzinfo=UTC)
    store.write_window("scores", frame, start, start + dt.timedelta(days=1))


class Requests:
    """Counts requests that reach DynamoDB (botocore events), or the embedded store's items."""

    def __init__(self, store: FeatureStore) -> None:
        self.calls: Counter[str] = Counter()
        online = store.online
        if isinstance(online, DynamoDBOnlineStore):
            online.client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in ("PutItem", "BatchWriteItem"))

    def deletes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in ("DeleteItem", "BatchWriteItem"))


def offline_latest_live(store: FeatureStore, now: dt.datetime) -> dict[str, tuple[Any, ...]]:
    """The expected online state, computed independently from the table's files."""
    rows = read_independently(store.table("scores")).filter(pl.col("event_time") >= now - TTL)
    latest = rows.sort("user_id", "event_time", "created_at").group_by("user_id").last()
    return {r["user_id"]: (r["score"], r["label"]) for r in latest.to_dicts()}


def online_state(store: FeatureStore, users: list[str], now: dt.datetime) -> dict[str, Any]:
    frame = store.get_online_features(
        ["scores:score", "scores:label"], [{"user_id": u} for u in users], now=now
    )
    return {
        r["user_id"]: (r["score"], r["label"]) for r in frame.to_dicts() if r["score"] is not None
    }


USERS = [f"u{u}" for u in range(12)]
