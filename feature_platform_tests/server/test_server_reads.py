"""`/get-online-features` answers what `FeatureStore.get_online_features` reads, in Feast's shape.

Every answer of a real server (embedded store, and DynamoDB on dynalite) is compared value by
value with the library's read of the same keys, with Feast's statuses: PRESENT for a stored
value (also a stored null), NOT_FOUND, and OUTSIDE_MAX_AGE for a value past the group's ttl.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from feature_platform_tests.server.harness import EXPIRED_FROM, NOW, USERS, Served

pytestmark = pytest.mark.integration

FEATURES = ["users:clicks", "users:ctr", "users:top", "users:last_seen", "users:views"]
MIXED = ["users:clicks", "articles:views", "articles:fresh", "articles:day", "users:ctr"]


@pytest.fixture(params=["embedded", "on_dynamodb"])
def served(request: pytest.FixtureRequest) -> Served:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def as_rows(entities: dict[str, list[Any]]) -> list[dict[str, Any]]:
    columns = list(entities.values())
    return [
        {k: column[i] for k, column in zip(entities, columns, strict=True)}
        for i in range(len(columns[0]))
    ]


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        text = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
        return text + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def expected_columns(served: Served, features: list[str], rows: list[dict[str, Any]], **kw: Any):
    frame = served.store.get_online_features(features, rows, **kw)
    return {name: [_json_value(v) for v in frame.get_column(name)] for name in frame.columns}


def check_against_store(
    served: Served, features: list[str], entities: dict[str, list[Any]], **kw: Any
) -> dict[str, Any]:
    body = {"features": features, "entities": entities, **kw}
    answer = served.server.post("/get-online-features", body)
    assert answer.status == 200, answer.body
    rows = as_rows(entities)
    want = expected_columns(served, features, rows, **kw)
    got = answer.json
    assert got["metadata"]["feature_names"] == list(want)
    for name, result in zip(got["metadata"]["feature_names"], got["results"], strict=True):
        assert result["values"] == want[name], name
        assert len(result["statuses"]) == len(result["event_timestamps"]) == len(rows)
    return got  # type: ignore[no-any-return]


def test_values_statuses_and_times_match_the_library(served: Served) -> None:
    ids = ["u03", "u49", "u50", "u59", "nobody", "u03", "u00"]
    got = check_against_store(served, FEATURES, {"user_id": ids})
    keys, clicks = got["results"][0], got["results"][1]
    assert keys["values"] == ids
    assert keys["statuses"] == ["PRESENT"] * len(ids)
    assert clicks["statuses"] == [
        "PRESENT",
        "PRESENT",
        "OUTSIDE_MAX_AGE",
        "OUTSIDE_MAX_AGE",
        "NOT_FOUND",
        "PRESENT",
        "PRESENT",
    ]
    assert clicks["values"] == [9, 147, None, None, None, 9, 0]  # expired values read as null
    assert clicks["event_timestamps"][4] == "1970-01-01T00:00:00Z"
    expired_at = dt.datetime.fromisoformat(clicks["event_timestamps"][2])
    assert expired_at == NOW - dt.timedelta(days=5)  # the stored time of the expired value
    assert dt.datetime.fromisoformat(clicks["event_timestamps"][0]) == NOW - dt.timedelta(minutes=3)
    ctr = got["results"][2]
    assert ctr["values"][-1] is None  # a stored null ...
    assert ctr["statuses"][-1] == "PRESENT"  # ... is PRESENT, as in Feast


def test_every_user_in_one_request(served: Served) -> None:
    ids = [f"u{i:02d}" for i in range(USERS)]
    got = check_against_store(served, FEATURES, {"user_id": ids})
    statuses = got["results"][1]["statuses"]
    assert statuses == ["PRESENT"] * EXPIRED_FROM + ["OUTSIDE_MAX_AGE"] * (USERS - EXPIRED_FROM)


def test_two_groups_two_keys_and_full_feature_names(served: Served) -> None:
    entities = {"user_id": ["u01", "u55", "zz"], "article_id": [4, 29, 999]}
    got = check_against_store(served, MIXED, entities)
    assert got["metadata"]["feature_names"] == [
        "user_id",
        "article_id",
        "clicks",
        "ctr",
        "views",
        "fresh",
        "day",
    ]  # the library's order: the groups in order of first mention, each group's features
    assert got["results"][2]["statuses"] == ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"]
    assert got["results"][4]["statuses"] == ["PRESENT", "PRESENT", "NOT_FOUND"]
    assert got["results"][6]["values"] == ["2026-01-05", "2026-01-30", None]
    named = check_against_store(served, MIXED, entities, full_feature_names=True)
    assert named["metadata"]["feature_names"][2:5] == [
        "users__clicks",
        "users__ctr",
        "articles__views",
    ]


def test_a_training_set_name_requests_its_features(served: Served) -> None:
    entities = {"user_id": ["u01", "u02"], "article_id": [1, 2]}
    for body in (
        {"features": "ranking", "entities": entities},
        {"feature_service": "ranking", "entities": entities},
    ):
        answer = served.server.post("/get-online-features", body)
        assert answer.status == 200, answer.body
        assert answer.json["metadata"]["feature_names"] == [
            "user_id",
            "article_id",
            "clicks",
            "views",
        ]
        assert answer.json["results"][2]["values"] == [3, 6]


def test_zero_entities_answer_empty_columns(served: Served) -> None:
    answer = served.server.post(
        "/get-online-features", {"features": ["users:clicks"], "entities": {"user_id": []}}
    )
    assert answer.status == 200, answer.body
    assert [r["values"] for r in answer.json["results"]] == [[], []]


def test_arrow_stream_is_the_librarys_frame(served: Served) -> None:
    entities = {"user_id": ["u01", "u55", "zz", "u01"], "article_id": [4, 29, 999, 4]}
    answer = served.server.post(
        "/get-online-features",
        {"features": MIXED, "entities": entities},
        headers={"Accept": "application/vnd.apache.arrow.stream"},
    )
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"] == "application/vnd.apache.arrow.stream"
    frame = pl.from_arrow(pa.ipc.open_stream(answer.body).read_all())
    rows = as_rows(entities)
    assert isinstance(frame, pl.DataFrame)
    assert_frame_equal(frame, served.store.get_online_features(MIXED, rows))


def test_a_pushed_value_is_served_and_an_older_push_loses(served: Served) -> None:
    user = f"pushed_{served.server.port}"
    pushed_at = NOW - dt.timedelta(minutes=1)

    def push(clicks: int, at: dt.datetime) -> None:
        frame = {
            "user_id": [user],
            "event_time": [at.isoformat()],
            "clicks": [clicks],
            "ctr": [0.5],
            "top": ["x"],
            "last_seen": [at.isoformat()],
            "views": [1],
        }
        answer = served.server.post("/push", {"push_source_name": "users", "df": frame})
        assert answer.status == 200, answer.body
        assert answer.json["rows"] == 1

    push(7, pushed_at)
    push(3, pushed_at - dt.timedelta(hours=1))  # older: latest wins, it changes nothing
    got = check_against_store(served, ["users:clicks"], {"user_id": [user]})
    assert got["results"][1]["values"] == [7]
    assert got["results"][1]["statuses"] == ["PRESENT"]
