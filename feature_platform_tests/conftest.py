"""Fixtures: a store per test on a temp home, a moto server (S3 + Glue) and a PostgreSQL server
on loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from feature_platform import FeatureStore
from feature_platform_tests.helpers import unbuffered_store
from feature_platform_tests.postgres import (
    PostgresMissingError,
    PostgresServer,
    running_postgres,
)
from feature_platform_tests.postgres import binaries as postgres_binaries
from feature_platform_tests.servers import free_port, wait_until_listening


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> FeatureStore:
    """Unbuffered: each `write` is one commit, so tests can count commits and files."""
    return unbuffered_store(home)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real moto server process serving S3 and Glue on 127.0.0.1 for the whole session."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(process, port, log, "moto server")
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


MOTO_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def s3_bucket(moto_endpoint: str, request: pytest.FixtureRequest) -> str:
    """A fresh bucket per test, so tests sharing the server never see each other's tables."""
    name = "fp-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    client = boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", **MOTO_CREDENTIALS
    )
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Debian's PostgreSQL on 127.0.0.1 for the whole session; tests create their databases."""
    try:
        postgres_binaries()
    except PostgresMissingError as exc:
        pytest.fail(str(exc))
    with running_postgres() as server:
        yield server
