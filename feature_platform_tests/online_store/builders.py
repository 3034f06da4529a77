"""Builders shared by the online-store tests: groups, frames and local DynamoDB settings."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import polars as pl
from botocore.awsrequest import AWSResponse, HTTPHeaders

from feature_platform import Entity, Feature, FeatureGroup
from feature_platform.dtypes import polars_dtype
from feature_platform.online_store import DynamoDBSettings
from feature_platform.online_store.base import OnlineWriteReport

LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
_prefixes = itertools.count()


def dynamodb_settings(endpoint: str, **overrides: object) -> DynamoDBSettings:
    """Settings for a local server, with a table prefix no other test uses."""
    settings: dict[str, object] = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "table_prefix": f"t{next(_prefixes)}.",
        "manage_ttl": False,  # dynalite has no UpdateTimeToLive
        "backoff_base_seconds": 0.001,
        **LOCAL_CREDENTIALS,
    }
    settings.update(overrides)
    return DynamoDBSettings(**settings)  # type: ignore[arg-type]


T0 = dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)


def profile_group(name: str = "profile", **overrides: object) -> FeatureGroup:
    """One feature of every dtype, named by DynamoDB reserved words to prove they are quoted."""
    settings: dict[str, object] = {
        "name": name,
        "entity": Entity("user", ["user_id"]),
        "features": [
            Feature("count", "int32"),
            Feature("size", "int64"),
            Feature("ratio", "float32"),
            Feature("value", "float64"),
            Feature("status", "bool"),
            Feature("name", "string"),
            Feature("date", "date"),
            Feature("timestamp", "timestamp"),
        ],
        "online": True,
    }
    settings.update(overrides)
    return FeatureGroup(**settings)  # type: ignore[arg-type]


def write_frame(group: FeatureGroup, rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """A write frame in the group's dtypes (created_at defaults to event_time, features to null)."""
    schema: dict[str, pl.DataType] = {
        k: polars_dtype(group.entity.key_dtype(k)) for k in group.join_keys
    }
    schema["event_time"] = pl.Datetime("us", "UTC")
    schema["created_at"] = pl.Datetime("us", "UTC")
    schema.update({f.name: polars_dtype(f.dtype) for f in group.features})
    filled = [
        {
            column: row.get(column, row["event_time"] if column == "created_at" else None)
            for column in schema
        }
        for row in rows
    ]
    return pl.DataFrame(filled, schema=schema, orient="row")


def keys_frame(group: FeatureGroup, *rows: Sequence[Any]) -> pl.DataFrame:
    """A read request: one tuple of join-key values per row."""
    schema = {k: polars_dtype(group.entity.key_dtype(k)) for k in group.join_keys}
    return pl.DataFrame([list(row) for row in rows], schema=schema, orient="row")


def race_writers(
    offsets: Sequence[int], write: Callable[[int], OnlineWriteReport], timeout: float = 60
) -> tuple[list[OnlineWriteReport], list[BaseException]]:
    """Start one thread per offset, release them together, and collect reports and errors.

    Errors are collected rather than raised in the threads, so a failure names its cause.
    """
    barrier = threading.Barrier(len(offsets))
    reports: list[OnlineWriteReport] = []
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            barrier.wait()
            reports.append(write(offset))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(offset,)) for offset in offsets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return reports, errors


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def dynamodb_answer(url: str, status: int, body: bytes) -> AWSResponse:
    """A response given in DynamoDB's place from a botocore ``before-send`` handler."""
    return AWSResponse(url, status, HTTPHeaders(), _Body(body))
