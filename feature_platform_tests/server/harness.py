"""A real feature server process on loopback, the data it serves, and a dynalite it can lose.

The tests start `feature-platform serve` as a user would (a subprocess configured by the
environment) and talk HTTP to it with keep-alive `http.client`; nothing is patched in-process.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore, StoreConfig
from feature_platform_tests.online_store.dynalite_process import dynalite_command, installed_node
from feature_platform_tests.servers import free_port, wait_until_listening

BIN = Path(sys.executable).parent
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
USERS = 60  # u00..u49 live, u50..u59 past the ttl
EXPIRED_FROM = 50
ARTICLES = 30

REGISTRY = """
from feature_platform.training.definition import TrainingSetDefinition

TRAINING_SETS = [
    TrainingSetDefinition(
        name="ranking",
        features=["users:clicks", "articles:views"],
        labels=lambda store, window: None,
    )
]
"""


def users_group() -> FeatureGroup:
    return FeatureGroup(
        name="users",
        entity=Entity("user", join_keys=["user_id"]),
        features=[
            Feature("clicks", pl.Int64),
            Feature("ctr", "float64"),
            Feature("top", "string"),
            Feature("last_seen", "timestamp"),
            Feature("views", pl.Int32),
        ],
        start="2026-01-01",
        ttl=dt.timedelta(days=2),
        online=True,
    )


def articles_group() -> FeatureGroup:
    return FeatureGroup(
        name="articles",
        entity=Entity("article", join_keys=["article_id"], key_dtypes={"article_id": pl.Int64}),
        features=[Feature("views", pl.Int64), Feature("fresh", "bool"), Feature("day", "date")],
        start="2026-01-01",
        online=True,
    )


def archive_group() -> FeatureGroup:
    return FeatureGroup(
        name="archive",
        entity=Entity("user", join_keys=["user_id"]),
        features=[Feature("total", pl.Int64)],
        start="2026-01-01",
    )


def user_rows() -> pl.DataFrame:
    times = [
        NOW - (dt.timedelta(days=5) if i >= EXPIRED_FROM else dt.timedelta(minutes=i))
        for i in range(USERS)
    ]
    return pl.DataFrame(
        {
            "user_id": [f"u{i:02d}" for i in range(USERS)],
            "event_time": times,
            "clicks": [i * 3 for i in range(USERS)],
            "ctr": [None if i % 7 == 0 else i / 100 for i in range(USERS)],
            "top": [f"cat{i % 4}" for i in range(USERS)],
            "last_seen": [NOW - dt.timedelta(minutes=i) for i in range(USERS)],
            "views": pl.Series([i for i in range(USERS)], dtype=pl.Int32),
        }
    )


def article_rows() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "article_id": list(range(ARTICLES)),
            "event_time": [NOW - dt.timedelta(days=30)] * ARTICLES,
            "views": [i * 10 for i in range(ARTICLES)],
            "fresh": [i % 2 == 0 for i in range(ARTICLES)],
            "day": [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(ARTICLES)],
        }
    )


def prepare_home(environment: Mapping[str, str]) -> FeatureStore:
    """Apply the groups and load their rows online in the store `environment` describes."""
    store = FeatureStore(config=StoreConfig.from_env(environment))
    for group in (users_group(), articles_group(), archive_group()):
        store.apply(group)
    store.write("users", user_rows(), to="online")
    store.write("articles", article_rows(), to="online")
    return store


def server_environment(home: Path, **extra: str) -> dict[str, str]:
    """This environment without any feature_platform setting, then the server's own."""
    registry = home / "registry"
    registry.mkdir(parents=True, exist_ok=True)
    (registry / "serve_registry.py").write_text(REGISTRY)
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FEATURE_PLATFORM_", "PYTEST_", "PROMETHEUS_"))
    }
    environment.update(
        FEATURE_PLATFORM_HOME=str(home),
        FEATURE_PLATFORM_REGISTRY="serve_registry",
        PYTHONPATH=str(registry),
        **extra,
    )
    return environment


def dynamodb_environment(endpoint: str, prefix: str) -> dict[str, str]:
    return {
        "FEATURE_PLATFORM_ONLINE_STORE": "dynamodb",
        "FEATURE_PLATFORM_ONLINE__ENDPOINT_URL": endpoint,
        "FEATURE_PLATFORM_ONLINE__REGION_NAME": "us-east-1",
        "FEATURE_PLATFORM_ONLINE__AWS_ACCESS_KEY_ID": "local",
        "FEATURE_PLATFORM_ONLINE__AWS_SECRET_ACCESS_KEY": "local",
        "FEATURE_PLATFORM_ONLINE__TABLE_PREFIX": prefix,
        "FEATURE_PLATFORM_ONLINE__MANAGE_TTL": "false",  # dynalite has no UpdateTimeToLive
        "FEATURE_PLATFORM_ONLINE__MAX_RETRY_ATTEMPTS": "2",
        "FEATURE_PLATFORM_ONLINE__CONNECT_TIMEOUT_SECONDS": "1",
        "FEATURE_PLATFORM_ONLINE__READ_TIMEOUT_SECONDS": "2",
    }


class Answer:
    """One HTTP answer: status, headers and body (parsed when it is JSON)."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class ServerProcess:
    """`feature-platform serve` on a free loopback port, stopped with SIGTERM."""

    def __init__(self, environment: Mapping[str, str], log: Path, *args: str) -> None:
        self.port = free_port()
        self.log = log
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [str(BIN / "feature-platform"), "serve", "--port", str(self.port), *args],
                env=dict(environment),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self._connection: http.client.HTTPConnection | None = None

    def wait_listening(self, timeout: float = 60) -> ServerProcess:
        wait_until_listening(self.process, self.port, self.log, "the feature server", timeout)
        return self

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """One request on a kept-alive connection (reopened after the server closed it)."""
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = self.connection()
            try:
                self._connection.request(method, path, body=body, headers=dict(headers or {}))
                response = self._connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise
                continue
            if response.getheader("connection", "").lower() == "close":
                self._connection.close()
                self._connection = None
            return Answer(response.status, dict(response.getheaders()), data)
        raise AssertionError("unreachable")

    def post(self, path: str, body: Any, headers: Mapping[str, str] | None = None) -> Answer:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        return self.request("POST", path, data, sent)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def wait_healthy(self, timeout: float = 60) -> ServerProcess:
        self.wait_listening(timeout)
        deadline = time.monotonic() + timeout
        while (answer := self.get("/health")).status != 200:
            assert time.monotonic() < deadline, f"never healthy: {answer.body!r}"
            time.sleep(0.1)
        return self

    def stop(self) -> int:
        """SIGTERM, then the exit code (the server drains first)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@dataclass
class Served:
    """A running server and a store on the same configuration."""

    server: ServerProcess
    store: FeatureStore
    environment: dict[str, str]


class Dynalite:
    """A dynalite server keeping its tables in a folder, so it can be stopped and restarted."""

    def __init__(self, folder: Path) -> None:
        self.node = installed_node()
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Dynalite:
        log = self.folder.parent / f"{self.folder.name}.log"
        with log.open("a") as output:
            self.process = subprocess.Popen(
                dynalite_command(self.node, self.port, self.folder),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_until_listening(self.process, self.port, log, "dynalite")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
