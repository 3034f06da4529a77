"""Bad requests get a 4xx JSON error naming the problem, never a 5xx or a traceback.

One server with small limits and a bearer token answers every case; after all of them it still
serves a good request, and its metrics counted each refusal by route and status.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feature_platform_tests.server.harness import ServerProcess, prepare_home, server_environment

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_ENTITIES = 5
MAX_BODY = 2_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder: Path = tmp_path_factory.mktemp("errors")
    environment = server_environment(folder / "home", FEATURE_PLATFORM_SERVER_TOKEN=TOKEN)
    prepare_home(environment).close()
    limits = ("--max-entities", str(MAX_ENTITIES), "--max-body-bytes", str(MAX_BODY))
    process = ServerProcess(environment, folder / "server.log", *limits).wait_healthy()
    try:
        yield process
    finally:
        process.stop()


def users(*ids: Any) -> dict[str, Any]:
    return {"user_id": list(ids)}


# (case, route, body, status, words the message must contain)
READ_CASES: list[tuple[str, Any, int, tuple[str, ...]]] = [
    ("malformed JSON", b'{"features": ["users:clicks"', 400, ("not valid JSON",)),
    ("empty body", b"", 400, ("empty",)),
    ("a JSON list, not an object", b"[1, 2]", 400, ("JSON object", "list")),
    ("no entities", {"features": ["users:clicks"]}, 400, ("lacks 'entities'",)),
    ("entities not a map", {"features": ["users:clicks"], "entities": [1]}, 400, ("map",)),
    ("no key columns", {"features": ["users:clicks"], "entities": {}}, 400, ("empty",)),
    (
        "a key column that is not a list",
        {"features": ["users:clicks"], "entities": {"user_id": "u01"}},
        400,
        ("must be a list", "user_id"),
    ),
    (
        "key columns of different lengths",
        {
            "features": ["users:clicks", "articles:views"],
            "entities": {"user_id": ["u1"], "article_id": [1, 2]},
        },
        400,
        ("differ in length",),
    ),
    ("no features", {"entities": users("u01")}, 400, ("lacks 'features'",)),
    ("an empty feature list", {"features": [], "entities": users("u01")}, 400, ("empty",)),
    ("features not strings", {"features": [1], "entities": users("u01")}, 400, ("list of",)),
    (
        "a malformed reference",
        {"features": ["clicks"], "entities": users("u01")},
        400,
        ("clicks", "<group>:<feature>"),
    ),
    ("an unknown group", {"features": ["nope:x"], "entities": users("u01")}, 404, ("'nope'",)),
    (
        "an unknown feature",
        {"features": ["users:nope"], "entities": users("u01")},
        404,
        ("nope", "clicks"),
    ),
    ("an unknown training set", {"features": "nope", "entities": users("u01")}, 404, ("ranking",)),
    (
        "a group that is not online",
        {"features": ["archive:total"], "entities": users("u01")},
        400,
        ("not online",),
    ),
    (
        "a missing key column",
        {"features": ["users:clicks", "articles:views"], "entities": users("u01")},
        400,
        ("article_id",),
    ),
    (
        "an int for a string key",
        {"features": ["users:clicks"], "entities": users(7)},
        400,
        ("user_id", "string", "7"),
    ),
    (
        "a string for an int64 key",
        {"features": ["articles:views"], "entities": {"article_id": ["a7"]}},
        400,
        ("article_id", "int64", "a7"),
    ),
    (
        "a bool for an int64 key",
        {"features": ["articles:views"], "entities": {"article_id": [True]}},
        400,
        ("article_id", "True"),
    ),
    (
        "an int64 key out of range",
        {"features": ["articles:views"], "entities": {"article_id": [2**70]}},
        400,
        ("article_id",),
    ),
    (
        "a repeated feature",
        {"features": ["users:clicks", "users:clicks"], "entities": users("u01")},
        400,
        ("more than once", "clicks"),
    ),
    (
        "full_feature_names not a bool",
        {"features": ["users:clicks"], "entities": users("u01"), "full_feature_names": "yes"},
        400,
        ("full_feature_names",),
    ),
    (
        "an unknown field",
        {"features": ["users:clicks"], "entities": users("u01"), "feature": ["x"]},
        400,
        ("unknown fields", "feature"),
    ),
    (
        "features and feature_service both",
        {"features": ["users:clicks"], "feature_service": "ranking", "entities": users("u01")},
        400,
        ("not both",),
    ),
    (
        "more entities than the limit",
        {"features": ["users:clicks"], "entities": users(*[f"u{i}" for i in range(6)])},
        413,
        ("6 entities", str(MAX_ENTITIES)),
    ),
    (
        "a body over the size limit",
        {"features": ["users:clicks"], "entities": users("u" * 3_000)},
        413,
        (str(MAX_BODY),),
    ),
]

PUSH_CASES: list[tuple[str, Any, int, tuple[str, ...]]] = [
    ("no group", {"df": {"user_id": ["u1"]}}, 400, ("push_source_name",)),
    (
        "an unknown group",
        {"push_source_name": "nope", "df": {"user_id": ["u1"]}},
        404,
        ("nope",),
    ),
    (
        "a wrong target",
        {"push_source_name": "users", "df": {"user_id": ["u1"]}, "to": "both"},
        400,
        ("online_and_offline",),
    ),
    (
        "a frame missing columns",
        {
            "push_source_name": "users",
            "df": {"user_id": ["u1"], "event_time": ["2026-12-01T00:00:00Z"]},
        },
        400,
        ("clicks",),
    ),
    (
        "a naive timestamp",
        {
            "push_source_name": "users",
            "df": {
                "user_id": ["u1"],
                "event_time": ["2026-12-01T00:00:00"],
                "clicks": [1],
                "ctr": [0.1],
                "top": ["a"],
                "last_seen": ["2026-12-01T00:00:00Z"],
                "views": [1],
            },
        },
        400,
        ("event_time",),
    ),
    (
        "online push to a group that is not online",
        {"push_source_name": "archive", "df": {"user_id": ["u1"]}, "to": "online"},
        400,
        ("not online",),
    ),
]


def _check(answer_status: int, body: Any, status: int, words: tuple[str, ...]) -> None:
    assert answer_status == status, body
    assert body["status"] == status
    for word in words:
        assert word in body["error"], (word, body["error"])
    assert "Traceback" not in body["error"]


@pytest.mark.parametrize(
    ("case", "body", "status", "words"), READ_CASES, ids=[c[0] for c in READ_CASES]
)
def test_a_bad_read_is_refused_with_a_clear_4xx(
    server: ServerProcess, case: str, body: Any, status: int, words: tuple[str, ...]
) -> None:
    answer = server.post("/get-online-features", body, headers=AUTH)
    assert answer.headers["content-type"] == "application/json"
    _check(answer.status, answer.json, status, words)


@pytest.mark.parametrize(
    ("case", "body", "status", "words"), PUSH_CASES, ids=[c[0] for c in PUSH_CASES]
)
def test_a_bad_push_is_refused_with_a_clear_4xx(
    server: ServerProcess, case: str, body: Any, status: int, words: tuple[str, ...]
) -> None:
    answer = server.post("/push", body, headers=AUTH)
    _check(answer.status, answer.json, status, words)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no bearer token"),
        ({"Authorization": "Bearer wrong"}, "wrong"),
        ({"Authorization": TOKEN}, "no bearer"),
    ],
)
def test_a_missing_or_wrong_token_is_401(
    server: ServerProcess, headers: dict[str, str], reason: str
) -> None:
    good = {"features": ["users:clicks"], "entities": users("u01")}
    for answer in (
        server.post("/get-online-features", good, headers=headers),
        server.get("/metrics", headers),
    ):
        _check(answer.status, answer.json, 401, ("Bearer", reason))
    assert server.get("/health").status == 200  # probes need no token


def test_unknown_routes_and_methods_are_json_errors(server: ServerProcess) -> None:
    missing = server.get("/get-historical-features", AUTH)
    _check(missing.status, missing.json, 404, ("/get-historical-features",))
    wrong = server.get("/get-online-features", AUTH)
    _check(wrong.status, wrong.json, 405, ("GET",))


def test_after_every_refusal_the_server_still_serves_and_counted_them(
    server: ServerProcess,
) -> None:
    for _, body, _, _ in READ_CASES[:3]:
        server.post("/get-online-features", body, headers=AUTH)
    good = {"features": ["users:clicks"], "entities": users("u01")}
    answer = server.post("/get-online-features", good, headers=AUTH)
    assert answer.status == 200
    assert answer.json["results"][1]["values"] == [3]
    metrics = server.get("/metrics", AUTH).body.decode()
    assert 'feature_server_requests_total{route="get-online-features",status="400"}' in metrics
    assert 'feature_server_requests_total{route="get-online-features",status="200"}' in metrics
    assert "feature_server_request_seconds_bucket" in metrics
    assert 'status="5' not in metrics  # no 5xx ever


def test_the_openapi_document_and_page_are_served(server: ServerProcess) -> None:
    spec = server.get("/openapi.json", AUTH)
    assert spec.status == 200
    assert "/get-online-features" in spec.json["paths"]
    assert f"{MAX_ENTITIES} entities" in spec.json["info"]["description"]
    docs = server.get("/docs", AUTH)
    assert docs.status == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert b"POST /push" in docs.body
