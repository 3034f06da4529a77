"""Fixtures: every online store the conformance suite runs against, and a real dynalite server.

dynalite (DynamoDB on LevelDB, from npm) enforces DynamoDB's request limits faithfully, so the
DynamoDB store is tested against a real server on 127.0.0.1, never against mocks. Its pinned
package lives next to this file; `npm ci` installs it on first use.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from feature_platform import FeatureStore, StoreConfig
from feature_platform.online_store import (
    DynamoDBOnlineStore,
    EmbeddedOnlineStore,
    OnlineStore,
)
from feature_platform_tests.online_store.builders import dynamodb_settings
from feature_platform_tests.online_store.dynalite_process import (
    DynaliteUnavailableError,
    dynalite_command,
    installed_node,
)
from feature_platform_tests.online_store.scores import scores_group
from feature_platform_tests.servers import free_port, wait_until_listening

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture(scope="session")
def dynalite_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dynalite server on 127.0.0.1 for the whole session (in memory, fast table states)."""
    try:
        node = installed_node()
    except DynaliteUnavailableError as missing:
        pytest.fail(str(missing))
    port = free_port()
    log = tmp_path_factory.mktemp("dynalite") / "dynalite.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            dynalite_command(node, port),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_listening(process, port, log, "dynalite")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def dynalite_client(dynalite_endpoint: str) -> Iterator[DynamoDBClient]:
    """One client for the session: building a botocore client costs up to 0.3 s."""
    client = dynamodb_settings(dynalite_endpoint).make_client()
    yield client
    client.close()


@pytest.fixture
def dynamodb_store(
    dynalite_endpoint: str, dynalite_client: DynamoDBClient
) -> Iterator[DynamoDBOnlineStore]:
    settings = dynamodb_settings(dynalite_endpoint)
    with DynamoDBOnlineStore(settings, client=dynalite_client) as store:
        yield store


@pytest.fixture(params=["embedded", pytest.param("dynamodb", marks=pytest.mark.integration)])
def online_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    """Each implementation in turn: the conformance suite must pass on all of them."""
    store: OnlineStore
    if request.param == "embedded":
        store = EmbeddedOnlineStore(tmp_path / "home")
    else:
        settings = dynamodb_settings(request.getfixturevalue("dynalite_endpoint"))
        store = DynamoDBOnlineStore(settings, client=request.getfixturevalue("dynalite_client"))
    with store:
        yield store


@pytest.fixture(params=["embedded", pytest.param("dynamodb", marks=pytest.mark.integration)])
def online_home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FeatureStore]:
    """A store holding the `scores` group, with each online store in turn (syncs must agree)."""
    settings: dict[str, Any] = {"offline_buffer_rows": 0}
    if request.param == "dynamodb":
        endpoint = request.getfixturevalue("dynalite_endpoint")
        online = dataclasses.asdict(dynamodb_settings(endpoint))
        settings.update(online_store="dynamodb", online_settings=online)
    with FeatureStore(config=StoreConfig.embedded(tmp_path / "home", **settings)) as store:
        store.apply(scores_group())
        yield store
