"""The server's life: no Dagster, draining on SIGTERM, new groups without a restart, 503 while
DynamoDB is gone and recovery when it returns, several workers behind one port."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from feature_platform import Entity, Feature, FeatureGroup
from feature_platform_tests.server.harness import (
    NOW,
    Dynalite,
    ServerProcess,
    dynamodb_environment,
    prepare_home,
    server_environment,
)

pytestmark = pytest.mark.integration

READ = {"features": ["users:clicks"], "entities": {"user_id": ["u01", "u02"]}}

NO_DAGSTER = """
import sys
from feature_platform.cli.parser import build_parser
from feature_platform.server.app import FeatureServer
from feature_platform.server.run import serve
from feature_platform.server.settings import ServerSettings
import uvicorn

build_parser().parse_args(["serve"])
server = FeatureServer(ServerSettings())
server.start()
server.stop()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"dagster", "dagster_aws"})
print(len(server._serving.catalog.training_set_names()), loaded)
"""


def test_serving_never_imports_dagster(tmp_path: Path) -> None:
    environment = server_environment(tmp_path / "home")
    prepare_home(environment).close()
    done = subprocess.run(
        [sys.executable, "-c", NO_DAGSTER],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "[]"]  # the registry's training set, no dagster module


@pytest.fixture
def embedded_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    environment = server_environment(tmp_path / "home")
    prepare_home(environment).close()
    server = ServerProcess(environment, tmp_path / "server.log", "--refresh-seconds", "0.5")
    server.wait_healthy()
    try:
        yield server, environment
    finally:
        server.stop()


def test_sigterm_finishes_a_request_in_flight_then_exits(
    embedded_server: tuple[ServerProcess, dict[str, str]],
) -> None:
    server, environment = embedded_server
    pushed = {
        "push_source_name": "users",
        "df": {
            "user_id": ["late"],
            "event_time": [NOW.isoformat()],
            "clicks": [5],
            "ctr": [0.5],
            "top": ["x"],
            "last_seen": [NOW.isoformat()],
            "views": [1],
        },
        "to": "offline",
    }
    answer = server.post("/push", pushed)
    assert answer.status == 200, answer.body
    assert answer.json["offline_pending_rows"] == 1  # buffered, not committed yet
    body = json.dumps(READ).encode()
    head = (
        f"POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + body[:10])  # a request in flight: its body is still arriving
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        assert _stops_accepting(server.port)
        assert server.process.poll() is None  # still draining, for the request in flight
        sock.sendall(body[10:])
        answer_text = _read_response(sock)
    assert answer_text.startswith("HTTP/1.1 200"), answer_text
    assert json.loads(answer_text.split("\r\n\r\n", 1)[1])["results"][1]["values"] == [3, 6]
    assert server.process.wait(timeout=30) == 0  # a clean stop
    store = prepare_home(environment)
    late = store.read("users").filter(pl.col("user_id") == "late")
    store.close()
    assert late.get_column("clicks").to_list() == [5]  # the buffered push was committed


def _stops_accepting(port: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.1)
    return False


def _read_response(sock: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return (head + b"\r\n\r\n" + rest).decode()


def test_a_group_applied_while_serving_becomes_servable(
    embedded_server: tuple[ServerProcess, dict[str, str]],
) -> None:
    server, environment = embedded_server
    request = {"features": ["scores:score"], "entities": {"user_id": ["u01"]}}
    assert server.post("/get-online-features", request).status == 404
    scores = FeatureGroup(
        name="scores",
        entity=Entity("user", join_keys=["user_id"]),
        features=[Feature("score", "float64")],
        start="2026-01-01",
        online=True,
    )
    store = prepare_home(environment)
    store.apply(scores)
    store.write("scores", [{"user_id": "u01", "event_time": NOW, "score": 0.25}], to="online")
    evolved = FeatureGroup(
        name="scores",
        entity=scores.entity,
        features=[Feature("score", "float64"), Feature("rank", pl.Int64)],
        start="2026-01-01",
        online=True,
    )
    deadline = time.monotonic() + 30
    while (answer := server.post("/get-online-features", request)).status != 200:
        assert time.monotonic() < deadline, answer.body
        time.sleep(0.2)
    assert answer.json["results"][1]["values"] == [0.25]
    store.apply(evolved)  # a feature added: servable after the next refresh too
    with_rank = {"features": ["scores:rank"], "entities": {"user_id": ["u01"]}}
    deadline = time.monotonic() + 30
    while (answer := server.post("/get-online-features", with_rank)).status != 200:
        assert time.monotonic() < deadline, answer.body
        time.sleep(0.2)
    assert answer.json["results"][1]["statuses"] == ["PRESENT"]
    store.close()


def test_dynamodb_gone_is_503_and_the_server_recovers_when_it_returns(tmp_path: Path) -> None:
    dynalite = Dynalite(tmp_path / "dynalite").start()
    environment = server_environment(
        tmp_path / "home", **dynamodb_environment(dynalite.endpoint, "gone.")
    )
    prepare_home(environment).close()
    server = ServerProcess(environment, tmp_path / "server.log").wait_healthy()
    try:
        before = server.post("/get-online-features", READ)
        assert before.status == 200
        dynalite.stop()
        down = server.post("/get-online-features", READ)
        assert down.status == 503, down.body
        assert "online store is unavailable" in down.json["error"]
        assert "could not reach DynamoDB" in down.json["error"]
        health = server.get("/health")
        assert health.status == 503
        dynalite.start()
        deadline = time.monotonic() + 60
        while (after := server.post("/get-online-features", READ)).status != 200:
            assert time.monotonic() < deadline, after.body
            time.sleep(0.2)
        assert after.json == before.json
        assert server.get("/health").status == 200
        metrics = server.get("/metrics").body.decode()
        [errors] = [
            float(row.split()[1])
            for row in metrics.splitlines()
            if row.startswith("feature_server_online_store_errors_total ")
        ]
        assert errors >= 2  # the read and the health check while dynalite was gone
    finally:
        server.stop()
        dynalite.stop()


def test_several_workers_share_one_port_and_one_metrics_view(tmp_path: Path) -> None:
    environment = server_environment(tmp_path / "home")
    prepare_home(environment).close()
    server = ServerProcess(environment, tmp_path / "server.log", "--workers", "2").wait_healthy()
    try:
        answers = []
        for _ in range(20):  # a new connection each: the kernel spreads them over the workers
            connection = server.connection()
            connection.request("POST", "/get-online-features", json.dumps(READ).encode())
            response = connection.getresponse()
            answers.append((response.status, json.loads(response.read())))
            connection.close()
        assert {status for status, _ in answers} == {200}
        assert all(a["results"][1]["values"] == [3, 6] for _, a in answers)
        metrics = server.get("/metrics").body.decode()
        line = 'feature_server_requests_total{route="get-online-features",status="200"}'
        counted = [row for row in metrics.splitlines() if row.startswith(line)]
        assert counted == [f"{line} 20.0"]  # both workers' counts, summed
        assert server.stop() in (0, -signal.SIGTERM)
    finally:
        server.stop()


def test_a_busy_port_fails_with_a_message(tmp_path: Path) -> None:
    environment = server_environment(tmp_path / "home")
    prepare_home(environment).close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(Path(sys.executable).parent / "feature-platform"), "serve", "--port", str(port)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode != 0
    assert "address already in use" in (done.stdout + done.stderr).lower()
