"""`feature-platform snowflake setup-sql | register`: the DDL an admin and a pipeline would run."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feature_platform import FeatureStore
from feature_platform.cli import main
from feature_platform.snowflake import connection as snowflake_connection
from feature_platform_tests.helpers import user_frame, user_group


@pytest.fixture
def cli_home(store: FeatureStore, monkeypatch: pytest.MonkeyPatch) -> Path:
    store.apply(user_group())
    store.write("user_stats", user_frame())
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(store.config.home))
    for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return store.config.home


GLUE_INTEGRATION = {
    "DATABASE": "ML",
    "SCHEMA": "FEATURES",
    "EXTERNAL_VOLUME": "ML_VOLUME",
    "CATALOG_INTEGRATION": "ML_GLUE",
    "INTEGRATION_KIND": "glue",
    "STORAGE_BASE_URL": "s3://acme-features/warehouse/",
    "READER_ROLE": "ANALYST",
    "STORAGE_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/snowflake-read",
    "GLUE_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/snowflake-glue",
    "GLUE_CATALOG_ID": "123456789012",
}


def _configure_glue_integration(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GLUE_INTEGRATION.items():
        monkeypatch.setenv(f"FEATURE_PLATFORM_SNOWFLAKE__{key}", value)


def test_register_dry_run_prints_every_statement_and_runs_none(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snowflake", "register", "user_stats"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert out.startswith('-- user_stats -> "FEATURES"."OFFLINE"."USER_STATS" (dry run)')
    assert "METADATA_FILE_PATH = 'feature_platform/user_stats/metadata/" in out
    assert 'CREATE OR REPLACE VIEW "FEATURES"."OFFLINE"."USER_STATS_LATEST"' in out
    assert "nothing was run" in captured.err


def test_setup_sql_without_configuration_prints_the_stand_in_ddl(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snowflake", "setup-sql"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("-- Snowflake is not configured")
    assert 'CREATE EXTERNAL VOLUME IF NOT EXISTS "FEATURE_PLATFORM_VOLUME"' in out
    assert "role/your-snowflake-volume-role'" in out
    assert 'GRANT USAGE ON DATABASE "FEATURES"' in out


def test_setup_sql_for_the_configured_glue_integration(
    cli_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure_glue_integration(monkeypatch)
    assert main(["snowflake", "setup-sql"]) == 0
    out = capsys.readouterr().out
    assert "STORAGE_BASE_URL = 's3://acme-features/warehouse/'" in out
    assert "CATALOG_SOURCE = GLUE" in out
    assert 'TO ROLE "ANALYST"' in out
    assert main(["snowflake", "register", "--dry-run"]) == 0
    registered = capsys.readouterr().out
    assert "CATALOG_TABLE_NAME = 'user_stats'" in registered
    assert 'ALTER ICEBERG TABLE "ML"."FEATURES"."USER_STATS" REFRESH;' in registered
    assert main(["describe", "user_stats"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["snowflake_table"] == '"ML"."FEATURES"."USER_STATS"'


def test_unsafe_settings_are_refused_before_any_sql(
    cli_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_SNOWFLAKE__DATABASE", 'ML"; DROP TABLE X; --')
    assert main(["snowflake", "setup-sql"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error:" in captured.err


class _RecordingConnection:
    """Stands in for a Snowflake connection: keeps the statements instead of running them."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @contextlib.contextmanager
    def cursor(self) -> Iterator[Any]:
        yield self

    def execute(self, statement: str) -> None:
        self.statements.append(statement)


def test_register_runs_on_the_connection_built_from_the_snowflake_variables(
    cli_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure_glue_integration(monkeypatch)
    assert main(["snowflake", "register", "user_stats"]) == 0  # no SNOWFLAKE_ACCOUNT: dry run
    assert "(dry run)" in capsys.readouterr().out
    connection = _RecordingConnection()
    asked = []

    class _Resource:
        @contextlib.contextmanager
        def get_connection(self) -> Iterator[_RecordingConnection]:
            yield connection

    def from_env(environ: dict[str, str] | None = None) -> _Resource:
        asked.append(environ)
        return _Resource()

    monkeypatch.setattr(snowflake_connection, "snowflake_resource_from_env", from_env)
    assert main(["snowflake", "register", "user_stats"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith('-- user_stats -> "ML"."FEATURES"."USER_STATS" (running)')
    assert asked == [None]  # the SNOWFLAKE_* variables of the process, once for all groups
    assert connection.statements
    assert all(statement in captured.out for statement in connection.statements)
    assert "nothing was run" not in captured.err
