"""How `SnowflakeSource` connects, and fails to: missing settings, a refused login.

fakesnow accepts any credentials, so the refused login is tested against a local HTTP endpoint
that answers the connector's login request the way Snowflake answers a wrong password: the real
connector and `SnowflakeResource`, the real error path.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from feature_platform import FeatureStore
from feature_platform.errors import SourceError
from feature_platform.snowflake.connection import snowflake_resource_from_env
from feature_platform.sources import SnowflakeSource
from feature_platform_tests.sources.conftest import day

TABLE = "RAW.EVENTS.CLICKS"


def test_without_snowflake_settings_the_source_says_what_to_set(
    store: FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT", raising=False)
    with pytest.raises(SourceError, match="set SNOWFLAKE_ACCOUNT"):
        SnowflakeSource(TABLE).read(store, day(0))


class _WrongPassword(BaseHTTPRequestHandler):
    """Answers every request as Snowflake's login endpoint answers a wrong password."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps(
            {
                "data": {"nextAction": "RETRY_LOGIN", "authnMethod": "USERNAME_PASSWORD"},
                "code": "390100",
                "message": "Incorrect username or password was specified.",
                "success": False,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads the connector's error, not the server's log."""


@pytest.fixture
def refusing_endpoint() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WrongPassword)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_a_refused_login_is_a_source_error(store: FeatureStore, refusing_endpoint: int) -> None:
    from dagster_snowflake import SnowflakeResource

    resource = SnowflakeResource(
        account="acme",
        user="features",
        password="wrong",
        additional_snowflake_connection_args={
            "host": "127.0.0.1",
            "port": refusing_endpoint,
            "protocol": "http",
            "login_timeout": 5,
        },
    )
    source = SnowflakeSource(TABLE, connection=resource.get_connection)
    assert source == SnowflakeSource(TABLE)  # the connection is not part of its identity
    with pytest.raises(
        SourceError,
        match=r"CLICKS \(snowflake\): Snowflake refused .*Incorrect username or password",
    ):
        source.completeness(store, day(0))


def test_the_default_connection_is_built_from_the_snowflake_variables() -> None:
    resource = snowflake_resource_from_env(
        {
            "SNOWFLAKE_ACCOUNT": "acme",
            "SNOWFLAKE_USER": "features",
            "SNOWFLAKE_PASSWORD": "secret",
            "SNOWFLAKE_ROLE": "READER",
            "SNOWFLAKE_WAREHOUSE": "WH",
        }
    )
    assert (resource.account, resource.user, resource.role, resource.warehouse) == (
        "acme",
        "features",
        "READER",
        "WH",
    )
