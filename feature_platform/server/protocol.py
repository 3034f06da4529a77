"""Feast's feature-server protocol: request bodies in, response bodies out.

A client written for `feast serve` must work unchanged, so the shapes are Feast's:

- ``POST /get-online-features``: ``{"features": ["<group>:<feature>", ...] | "<training set>",
  "feature_service": "<training set>", "entities": {"<key>": [values]}, "full_feature_names":
  false}``, answered with ``{"metadata": {"feature_names": [keys..., features...]}, "results":
  [{"values": [...], "statuses": [...], "event_timestamps": [...]}, ...]}``, one result per
  column, the key columns first, rows in request order;
- ``POST /push``: ``{"push_source_name": "<group>", "df": {"<column>": [values]}, "to":
  "online" | "offline" | "online_and_offline"}``.

Statuses are Feast's: ``PRESENT`` (a stored value, null or not), ``NOT_FOUND`` and
``OUTSIDE_MAX_AGE`` (older than the group's ttl; its value reads as null, its event timestamp
is the stored one). Missing timestamps read ``1970-01-01T00:00:00Z``, as in Feast.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import polars as pl
import pyarrow as pa

from feature_platform.online_store.serving import ServedFeatures
from feature_platform.server.problems import RequestError
from feature_platform.store import WriteTarget

ARROW_STREAM: Final = "application/vnd.apache.arrow.stream"
EPOCH_TEXT: Final = "1970-01-01T00:00:00Z"
EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
PUSH_TARGETS: Final[Mapping[str, WriteTarget]] = {
    "online": "online",
    "offline": "offline",
    "online_and_offline": "both",
}
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S%.fZ"


@dataclass(frozen=True)
class OnlineRequest:
    """A parsed ``/get-online-features`` body.

    Attributes:
        features: The feature references, or None when `training_set` names them.
        training_set: The training set whose features are requested, or None.
        rows: One dict of key values per entity, in request order.
        full_feature_names: Name feature columns ``<group>__<feature>``.
    """

    features: tuple[str, ...] | None
    training_set: str | None
    rows: list[dict[str, Any]]
    full_feature_names: bool


@dataclass(frozen=True)
class PushRequest:
    """A parsed ``/push`` body: the group, its rows as records, and where they go."""

    group: str
    rows: list[dict[str, Any]]
    to: WriteTarget


def json_body(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        RequestError: 400: the body is not JSON, or not an object.
    """
    if not body.strip():
        raise RequestError(400, "the request body is empty; send a JSON object")
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"the request body is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise RequestError(
            400, f"the request body must be a JSON object, not a {type(parsed).__name__}"
        )
    return parsed


def online_request(body: Mapping[str, Any], max_entities: int) -> OnlineRequest:
    """Check a ``/get-online-features`` body and turn its entity columns into rows.

    Raises:
        RequestError: 400 for a malformed body, 413 for more entities than `max_entities`.
    """
    unknown = sorted(set(body) - {"features", "feature_service", "entities", "full_feature_names"})
    if unknown:
        raise RequestError(
            400,
            f"unknown fields {unknown}; a request has 'features' (or 'feature_service'), "
            "'entities' and optionally 'full_feature_names'",
        )
    features, training_set = _features(body.get("features"), body.get("feature_service"))
    full = body.get("full_feature_names", False)
    if not isinstance(full, bool):
        raise RequestError(400, f"'full_feature_names' must be true or false, not {full!r}")
    columns = _columns(body.get("entities"), "entities", 'e.g. {"user_id": ["u1", "u2"]}')
    rows = _rows(columns, max_entities, "entities")
    return OnlineRequest(features, training_set, rows, full)


def _features(features: Any, service: Any) -> tuple[tuple[str, ...] | None, str | None]:
    if service is not None:
        if features not in (None, []):
            raise RequestError(400, "give either 'features' or 'feature_service', not both")
        features = service
    if isinstance(features, str):
        if not features:
            raise RequestError(400, "the training set name is empty")
        return None, features
    if features is None:
        raise RequestError(
            400,
            "the request lacks 'features': a list of '<group>:<feature>' references, or the "
            "name of a training set",
        )
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise RequestError(
            400, f"'features' must be a list of '<group>:<feature>' strings, not {features!r}"
        )
    if not features:
        raise RequestError(400, "the feature list is empty; name at least one feature")
    return tuple(features), None


def _columns(value: Any, field: str, example: str) -> dict[str, list[Any]]:
    if value is None:
        raise RequestError(
            400, f"the request lacks {field!r}: a map of column to values, {example}"
        )
    if not isinstance(value, dict):
        raise RequestError(400, f"{field!r} must be a map of column to a list of values, {example}")
    if not value:
        raise RequestError(400, f"{field!r} is empty; give the key columns, {example}")
    for name, values in value.items():
        if not isinstance(values, list):
            raise RequestError(
                400, f"{field!r} column {name!r} must be a list of values, not {values!r}"
            )
    lengths = {name: len(values) for name, values in value.items()}
    if len(set(lengths.values())) > 1:
        raise RequestError(400, f"{field!r} columns differ in length: {lengths}")
    return value


def _rows(columns: Mapping[str, list[Any]], limit: int, field: str) -> list[dict[str, Any]]:
    count = len(next(iter(columns.values())))
    if count > limit:
        raise RequestError(
            413, f"{count} {field} in one request; the server takes at most {limit} (split it)"
        )
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def push_request(body: Mapping[str, Any], max_rows: int) -> PushRequest:
    """Check a ``/push`` body and turn its columns into records.

    Raises:
        RequestError: 400 for a malformed body, 413 for more rows than `max_rows`.
    """
    unknown = sorted(set(body) - {"push_source_name", "df", "to", "allow_registry_cache"})
    if unknown:
        raise RequestError(
            400, f"unknown fields {unknown}; a push has 'push_source_name', 'df' and 'to'"
        )
    group = body.get("push_source_name")
    if not isinstance(group, str) or not group:
        raise RequestError(
            400, "the push lacks 'push_source_name': the name of the feature group written"
        )
    to = body.get("to", "online")
    if to not in PUSH_TARGETS:
        raise RequestError(400, f"'to' must be one of {sorted(PUSH_TARGETS)}, not {to!r}")
    columns = _columns(body.get("df"), "df", 'e.g. {"user_id": ["u1"], "event_time": [...]}')
    return PushRequest(group, _rows(columns, max_rows, "rows"), PUSH_TARGETS[to])


def online_response(served: ServedFeatures) -> dict[str, Any]:
    """Feast's response body: one result per column, keys first."""
    frame = served.frame
    keys = frame.width - len(served.groups)
    present, epoch = ["PRESENT"] * frame.height, [EPOCH_TEXT] * frame.height
    results: list[dict[str, Any]] = [
        {"values": _values(column), "statuses": present, "event_timestamps": epoch}
        for column in frame.get_columns()[:keys]
    ]
    per_group = [
        _statuses_and_times(times, cutoff)
        for times, cutoff in zip(served.event_times, served.cutoffs, strict=True)
    ]
    for column, group in zip(frame.get_columns()[keys:], served.groups, strict=True):
        statuses, texts = per_group[group]
        results.append({"values": _values(column), "statuses": statuses, "event_timestamps": texts})
    return {"metadata": {"feature_names": frame.columns}, "results": results}


def _statuses_and_times(times: list[int | None], cutoff: int | None) -> tuple[list[str], list[str]]:
    """Per row, Feast's status and the stored event time (epoch microseconds) as RFC 3339."""
    statuses, texts = [], []
    for time in times:
        if time is None:
            statuses.append("NOT_FOUND")
            texts.append(EPOCH_TEXT)
        else:
            statuses.append(
                "OUTSIDE_MAX_AGE" if cutoff is not None and time < cutoff else "PRESENT"
            )
            texts.append(_time_text(time))
    return statuses, texts


def _time_text(microseconds: int) -> str:
    """Feast's rendering: seconds, then as many fraction digits as needed (3 or 6), then Z."""
    seconds, fraction = divmod(microseconds, 1_000_000)
    text = (EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction == 0:
        return text + "Z"
    if fraction % 1000 == 0:
        return f"{text}.{fraction // 1000:03d}Z"
    return f"{text}.{fraction:06d}Z"


def _values(column: pl.Series) -> list[Any]:
    """JSON values of a column, times as text (stored floats are finite: writes refuse NaN)."""
    dtype = column.dtype
    if dtype == pl.Date:
        return column.dt.to_string("%Y-%m-%d").to_list()
    if isinstance(dtype, pl.Datetime):
        return column.dt.to_string(_TIME_FORMAT).to_list()
    return column.to_list()


def arrow_stream(frame: pl.DataFrame) -> bytes:
    """The result as an Arrow IPC stream: the key columns, then the features, typed."""
    table = frame.to_arrow()
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def wants_arrow(accept: str | None) -> bool:
    return accept is not None and ARROW_STREAM in accept


def encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
