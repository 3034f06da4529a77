"""Server settings reach worker processes through the environment, and bad ones are named."""

from __future__ import annotations

import pytest

from feature_platform.cli import main
from feature_platform.errors import ConfigurationError
from feature_platform.server.openapi import document, page
from feature_platform.server.settings import TOKEN_VARIABLE, ServerSettings


def test_settings_round_trip_through_the_environment() -> None:
    settings = ServerSettings(
        host="0.0.0.0", port=7000, workers=3, max_entities=50, refresh_seconds=2.5
    )
    assert ServerSettings.from_environment(settings.to_environment()) == settings
    assert ServerSettings.from_environment({}) == ServerSettings()


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("FEATURE_PLATFORM_SERVER__PORT", "http", "not a valid int"),
        ("FEATURE_PLATFORM_SERVER__PORT", "70000", "65535"),
        ("FEATURE_PLATFORM_SERVER__WORKERS", "0", "at least 1"),
        ("FEATURE_PLATFORM_SERVER__MAX_ENTITIES", "-1", "at least 1"),
        ("FEATURE_PLATFORM_SERVER__REFRESH_SECONDS", "nan", "positive"),
        ("FEATURE_PLATFORM_SERVER__GRACEFUL_SECONDS", "0", "positive"),
    ],
)
def test_a_bad_setting_is_named(variable: str, value: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        ServerSettings.from_environment({variable: value})


def test_the_token_is_read_from_its_variable_and_empty_means_off() -> None:
    settings = ServerSettings()
    assert settings.token({TOKEN_VARIABLE: "abc"}) == "abc"
    assert settings.token({TOKEN_VARIABLE: ""}) is None
    assert settings.token({}) is None


def test_the_openapi_document_names_every_route_and_the_limits() -> None:
    spec = document(ServerSettings(max_entities=123))
    assert set(spec["paths"]) == {
        "/get-online-features",
        "/push",
        "/health",
        "/metrics",
        "/openapi.json",
        "/docs",
    }
    assert "123 entities" in spec["info"]["description"]
    html = page(spec)
    assert "POST /get-online-features" in html
    assert "<script" not in html  # renders without fetching anything


@pytest.mark.parametrize(
    ("flags", "words"),
    [(["--workers", "0"], "workers must be at least 1"), (["--port", "70000"], "65535")],
)
def test_a_bad_flag_is_a_clear_error_before_anything_starts(
    flags: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *flags]) == 2
    assert words in capsys.readouterr().err
