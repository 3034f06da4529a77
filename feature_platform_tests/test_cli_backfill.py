"""`feature-platform backfill GROUP FIRST...LAST`: a range from the shell, in the group's runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.cli import main
from feature_platform.definitions import build_definitions
from feature_platform.orchestration.backfill_runs import chunks
from feature_platform.orchestration.resources import FeatureStoreResource

pytestmark = pytest.mark.integration


@pytest.fixture
def backfill_env(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home whose event log holds 2026-11-01..04, and a registry of runs of two partitions."""
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    registry = tmp_path / "registry" / "two_per_run.py"
    registry.parent.mkdir()
    registry.write_text(
        textwrap.dedent(
            """
            import dataclasses

            from feature_platform.demo.feature_groups import DEMO_FEATURE_GROUPS

            FEATURE_GROUPS = tuple(
                dataclasses.replace(d, partitions_per_run=2) for d in DEMO_FEATURE_GROUPS
            )
            """
        )
    )
    monkeypatch.syspath_prepend(str(registry.parent))
    events = build_definitions().get_assets_def(dg.AssetKey(["demo", "click_events"]))
    result = dg.materialize(
        [events],
        resources={"feature_store": FeatureStoreResource(home=str(home))},
        tags={
            "dagster/asset_partition_range_start": "2026-11-01",
            "dagster/asset_partition_range_end": "2026-11-04",
        },
    )
    assert result.success
    return home


def _days(home: Path) -> list[str]:
    stored = FeatureStore(home).read("user_engagement")
    return sorted(d.isoformat() for d in stored.get_column("event_time").dt.date().unique())


def test_a_range_runs_in_runs_of_partitions_per_run_recorded_in_the_instance(
    backfill_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["backfill", "user_engagement", "2026-11-02...2026-11-04", "--registry", "two_per_run"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    log_line, *lines = out.splitlines()
    assert log_line == f"Dagster's log of these runs: {backfill_env / 'logs' / 'backfill.log'}"
    assert [line.split(" (run ")[0] for line in lines] == [
        "ok     features/user_engagement: 2026-11-02 ... 2026-11-03",
        "ok     features/user_engagement: 2026-11-04 ... 2026-11-04",
    ]
    assert _days(backfill_env) == ["2026-11-02", "2026-11-03", "2026-11-04"]
    stored = FeatureStore(backfill_env).read("user_engagement")
    assert stored.height == stored.unique(["user_id", "event_time"]).height  # one copy each
    instance = dg.DagsterInstance.get()
    materialized = instance.get_materialized_partitions(
        dg.AssetKey(["features", "user_engagement"])
    )
    assert materialized == {"2026-11-02", "2026-11-03", "2026-11-04"}
    run_ids = [line.split("(run ")[1].rstrip(")") for line in lines]
    assert all(instance.get_run_by_id(run_id) is not None for run_id in run_ids)


def test_a_rerun_replaces_its_windows(backfill_env: Path) -> None:
    assert main(["backfill", "user_engagement", "2026-11-03...2026-11-03"]) == 0
    first = FeatureStore(backfill_env).read("user_engagement")
    assert main(["backfill", "user_engagement", "2026-11-03...2026-11-03"]) == 0
    again = FeatureStore(backfill_env).read("user_engagement")
    assert again.sort(pl.all()).equals(first.sort(pl.all()))


def test_missing_input_fails_the_run_names_the_days_and_writes_nothing(
    backfill_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["backfill", "user_engagement", "2026-11-04...2026-11-06", "--registry", "two_per_run"]
    )
    captured = capsys.readouterr()
    assert code == 1
    runs = captured.out.splitlines()[1:]
    assert len(runs) == 1  # stops at the first failed run
    assert runs[0].startswith("FAILED features/user_engagement: 2026-11-04 ... 2026-11-05")
    assert captured.err.startswith("error: ")
    assert "2026-11-05" in captured.err  # the missing day is named
    assert captured.err.endswith("(from the shell: --allow-incomplete-inputs)\n")
    assert "DEBUG" not in captured.out + captured.err  # Dagster's log is in the file
    assert _days(backfill_env) == []  # the run failed before writing any window


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["backfill", "no_such_group", "2026-11-02...2026-11-03"],
            "no feature group 'no_such_group' is registered",
        ),
        (
            ["backfill", "user_engagement", "2026-11-02"],
            "a partition range is FIRST...LAST (e.g. 2026-11-02...2026-11-08), got '2026-11-02'",
        ),
        (
            ["backfill", "user_engagement", "2026-11-02...2026/11/03"],
            "'2026/11/03' is not a partition of features/user_engagement: its partitions run from",
        ),
        (
            ["backfill", "user_engagement", "2026-11-03...2026-11-02"],
            "the range 2026-11-03...2026-11-02 is empty: 2026-11-02 comes first",
        ),
    ],
)
def test_a_bad_range_or_group_is_named_before_any_run(
    backfill_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert dg.DagsterInstance.get().get_run_records() == []


def test_chunks_cut_like_dagsters_multi_run_policy() -> None:
    keys = [f"k{i}" for i in range(7)]
    assert chunks(keys, 3) == [["k0", "k1", "k2"], ["k3", "k4", "k5"], ["k6"]]
    assert chunks(keys, 7) == [keys]
    assert chunks(keys, 30) == [keys]
