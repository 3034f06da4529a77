"""Wrong settings fail where the store is built, as a `ConfigurationError` naming the variable.

Each case used to pass construction and fail later, from deep inside: a NaN buffer time made the
buffer's timer spin without sleeping (and `close` raise), an infinite one overflowed its waits,
``int()`` and SQLAlchemy, ``requests`` or the file system raised their own errors on first use.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from feature_platform import FeatureStore, StoreConfig
from feature_platform.errors import ConfigurationError
from feature_platform.streaming.buffer import OfflineBuffer
from feature_platform_tests.servers import free_port

SECONDS = "FEATURE_PLATFORM_OFFLINE_BUFFER_SECONDS"
ROWS = "FEATURE_PLATFORM_OFFLINE_BUFFER_ROWS"
RETRIES = "FEATURE_PLATFORM_COMMIT_RETRIES"
URI = "FEATURE_PLATFORM_CATALOG_URI"
HOME = "FEATURE_PLATFORM_HOME"


@pytest.fixture
def env_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean ``FEATURE_PLATFORM_*`` environment whose home is a fresh temp folder."""
    for variable in (SECONDS, ROWS, RETRIES, URI, "FEATURE_PLATFORM_CATALOG_TYPE"):
        monkeypatch.delenv(variable, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv(HOME, str(home))
    return home


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (SECONDS, "nan"),
        (SECONDS, "inf"),
        (SECONDS, "-inf"),
        (SECONDS, "-1"),
        (SECONDS, "1e300"),
        (SECONDS, "86401"),
        (SECONDS, "soon"),
        (ROWS, "1e3"),
        (ROWS, "1.5"),
        (ROWS, "-1"),
        (ROWS, "many"),
        (RETRIES, "abc"),
        (RETRIES, "2.0"),
        (RETRIES, "-1"),
    ],
)
def test_malformed_or_out_of_range_numbers_name_their_variable(
    env_home: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable) as caught:
        FeatureStore.from_env()
    assert value in str(caught.value)
    assert "e.g." in str(caught.value)  # the message shows a value that works
    assert not env_home.exists()  # refused before anything was created


@pytest.mark.parametrize(
    "settings",
    [
        {"offline_buffer_seconds": math.nan},
        {"offline_buffer_seconds": math.inf},
        {"offline_buffer_seconds": -0.5},
        {"offline_buffer_seconds": True},
        {"offline_buffer_rows": 1.5},
        {"offline_buffer_rows": -1},
        {"offline_buffer_rows": True},
        {"commit_retries": 2.5},
        {"commit_retries": "3"},
    ],
)
def test_arguments_out_of_range_name_argument_and_variable(
    tmp_path: Path, settings: dict[str, object]
) -> None:
    ((name, _),) = settings.items()
    with pytest.raises(ConfigurationError, match=rf"{name} \(FEATURE_PLATFORM_\w+\)"):
        StoreConfig.embedded(tmp_path, **settings)


def test_zero_and_empty_settings_keep_their_meaning(
    env_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0 rows commits every write, 0 seconds at once, 0 retries never retries; empty = default."""
    monkeypatch.setenv(ROWS, "0")
    monkeypatch.setenv(SECONDS, "0")
    monkeypatch.setenv(RETRIES, " 0 ")
    with FeatureStore.from_env() as store:
        config = store.config
        assert (config.offline_buffer_rows, config.offline_buffer_seconds) == (0, 0.0)
        assert config.commit_retries == 0
    monkeypatch.setenv(ROWS, "")
    assert StoreConfig.from_env().offline_buffer_rows == 50_000


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -1.0])
def test_the_buffer_refuses_a_time_limit_its_timer_cannot_wait_for(seconds: float) -> None:
    def commit(group: str, rows: object, write_id: str) -> object:
        raise AssertionError("nothing is committed")

    with pytest.raises(ConfigurationError, match="max_seconds"):
        OfflineBuffer(commit, max_rows=10, max_seconds=seconds)  # type: ignore[arg-type]


def test_a_home_that_cannot_be_created_names_feature_platform_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run as root, which ignores permissions: a home below a regular file is unusable
    for everyone."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigurationError, match=f"{HOME}.*writ") as caught:
        FeatureStore(blocker / "home")
    assert str(blocker / "home") in str(caught.value)
    monkeypatch.setenv(HOME, str(blocker / "home"))
    with pytest.raises(ConfigurationError, match=HOME):
        FeatureStore.from_env()


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:////nonexistent/dir/x.db",  # the folder does not exist: SQLite cannot open it
        "not a url",
        "sqlite://x:y:z@@",
        "nosuchdialect://host/db",  # no SQLAlchemy dialect
    ],
)
def test_an_unopenable_sql_catalog_fails_when_the_store_is_built(
    env_home: Path, monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    monkeypatch.setenv(URI, uri)
    with pytest.raises(ConfigurationError, match=rf"cannot open the SQL catalog.*{URI}"):
        FeatureStore.from_env()


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    uri = f"postgresql+psycopg2://reader:s3cret@127.0.0.1:{free_port()}/features"
    with pytest.raises(ConfigurationError, match=URI) as caught:
        FeatureStore.from_config(home=tmp_path, catalog_uri=uri)
    message = str(caught.value)
    assert "s3cret" not in message
    assert "reader:***@127.0.0.1" in message


def test_a_rest_catalog_that_is_down_fails_when_the_store_is_built(
    env_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("FEATURE_PLATFORM_CATALOG_TYPE", "rest")
    monkeypatch.setenv(URI, endpoint)
    with pytest.raises(ConfigurationError, match=rf"REST catalog at {endpoint}.*{URI}"):
        FeatureStore.from_env()
