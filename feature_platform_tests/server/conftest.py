"""Fixtures: a feature server on the embedded store, and one on DynamoDB (dynalite), each with
the store it serves, so every answer can be checked against `FeatureStore.get_online_features`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feature_platform_tests.server.harness import (
    Dynalite,
    Served,
    ServerProcess,
    dynamodb_environment,
    prepare_home,
    server_environment,
)


def _serve(folder: Path, **extra: str) -> Iterator[Served]:
    environment = server_environment(folder / "home", **extra)
    store = prepare_home(environment)
    server = ServerProcess(environment, folder / "server.log").wait_healthy()
    try:
        yield Served(server, store, environment)
    finally:
        server.stop()
        store.close()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(tmp_path_factory.mktemp("embedded"))


@pytest.fixture(scope="module")
def dynalite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dynalite]:
    server = Dynalite(tmp_path_factory.mktemp("dynalite") / "data").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def on_dynamodb(tmp_path_factory: pytest.TempPathFactory, dynalite: Dynalite) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("dynamodb")
    yield from _serve(folder, **dynamodb_environment(dynalite.endpoint, f"{folder.name}."))
