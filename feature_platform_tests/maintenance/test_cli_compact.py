"""`feature-platform compact <group> [--dry-run]`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from feature_platform.cli import main
from feature_platform_tests.helpers import (
    DAY_START,
    data_files,
    unbuffered_store,
    user_frame,
    user_group,
)


def test_compact_dry_run_then_for_real(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(home))
    store = unbuffered_store(home)
    store.apply(user_group())
    for i in range(6):
        store.write("user_stats", user_frame(DAY_START + dt.timedelta(minutes=i), offset=i))
    metadata = store.table("user_stats").metadata_location

    assert main(["compact", "user_stats", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "compaction (would): 1 partition(s), files 6 -> 1" in dry
    assert "event_time_day=2026-11-10" in dry
    assert store.table("user_stats").metadata_location == metadata

    assert main(["compact", "user_stats"]) == 0
    assert "compaction (did): 1 partition(s), files 6 -> 1" in capsys.readouterr().out
    assert len(data_files(store.table("user_stats"))) == 1
    assert store.read("user_stats").height == 30


def test_compact_unknown_group(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(home))
    assert main(["compact", "nope"]) == 2
    assert "unknown feature group 'nope'" in capsys.readouterr().err
