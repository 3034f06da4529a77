"""`feature-platform init`: a new repository whose own test and Dagster definitions pass as made."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform.cli import main
from feature_platform.cli.scaffold import ROWS_PER_DAY, SAMPLE_DAYS, create_repository, package_name
from feature_platform.errors import ConfigurationError


def _env(tmp_path: Path, repo: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FEATURE_PLATFORM_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "PYTHONPATH": str(repo),
    }


def _run_in(repo: Path, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=repo,
        env=_env(tmp_path, repo),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.integration
def test_the_new_repository_passes_its_own_test_and_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "my-features"
    assert main(["init", str(repo)]) == 0
    assert "package my_features" in capsys.readouterr().out
    files = sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file())
    assert files == sorted(
        [
            ".feature_platform/dagster/dagster.yaml",  # the instance DAGSTER_HOME points at
            ".gitignore",
            "README.md",
            "pyproject.toml",
            "workspace.yaml",
            "my_features/__init__.py",
            "my_features/definitions.py",
            "my_features/features.py",
            "tests/test_features.py",
            *[f"data/events/dt={day}/part-0.parquet" for day in _last_week()],
        ]
    )
    (tmp_path / "dagster_home").mkdir()
    tests = _run_in(
        repo, tmp_path, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout
    dagster = Path(sys.executable).with_name("dagster")
    validate = _run_in(
        repo, tmp_path, str(dagster), "definitions", "validate", "-w", "workspace.yaml"
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "All code locations passed validation" in validate.stderr + validate.stdout


def _last_week() -> list[str]:
    """The sample's days: the week before today (UTC), so its values are live for the ttl."""
    today = dt.datetime.now(dt.UTC).date()
    return [(today - dt.timedelta(days=back)).isoformat() for back in range(7, 0, -1)]


def test_the_sample_is_a_week_of_hive_folders_and_the_same_every_time(tmp_path: Path) -> None:
    first = create_repository(tmp_path / "one", today=dt.date(2026, 1, 8))
    second = create_repository(tmp_path / "two", name="other_name", today=dt.date(2026, 1, 8))
    assert (first.package, second.package) == ("one", "other_name")
    events = pl.read_parquet(first.root / "data" / "events" / "**" / "*.parquet")
    assert events.height == SAMPLE_DAYS * ROWS_PER_DAY
    assert events.schema["event_time"] == pl.Datetime("us", "UTC")
    again = pl.read_parquet(second.root / "data" / "events" / "**" / "*.parquet")
    assert_frame_equal(events, again)
    days = events.get_column("event_time").dt.date().unique().sort().to_list()
    assert days == [dt.date(2026, 1, day) for day in range(1, 8)]
    features = (first.root / "one" / "features.py").read_text()
    assert 'Path(__file__).resolve().parent.parent / "data"' in features  # works anywhere


def test_a_non_empty_folder_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("folder", "name", "expected"),
    [
        ("My-Features", None, "my_features"),
        ("whatever", "team_features", "team_features"),
        ("2026-features", None, None),
        ("x", "class", None),
        ("x", "feature_platform", None),
        ("json", None, None),
        ("x", "Bad-Name", None),
    ],
)
def test_package_names_are_identifiers_that_shadow_nothing(
    tmp_path: Path, folder: str, name: str | None, expected: str | None
) -> None:
    if expected is None:
        with pytest.raises(ConfigurationError, match="cannot be the repository's Python package"):
            package_name(tmp_path / folder, name)
        assert not (tmp_path / folder).exists()
    else:
        assert package_name(tmp_path / folder, name) == expected
