"""`experiment diff` statistics and PSI, its HTML report, and the `experiment` commands."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from feature_platform.cli import main
from feature_platform.experiments.diff import compare_feature, diff_experiment, psi_of
from feature_platform.experiments.report import html_report
from feature_platform_tests.experiments.builders import (
    GROUP,
    day_window,
    fill_main,
    frame_with_extra_feature,
    group_with_extra_feature,
    write_experiment,
)
from feature_platform_tests.helpers import unbuffered_store


def test_psi_is_zero_for_equal_distributions_and_grows_with_the_shift() -> None:
    assert psi_of([10, 20, 30], [1, 2, 3]) == 0.0
    small = psi_of([25, 25, 25, 25], [30, 25, 25, 20])
    large = psi_of([25, 25, 25, 25], [70, 10, 10, 10])
    assert 0 < small < 0.1 < 0.25 < large
    # An empty bin on one side stays finite.
    assert psi_of([50, 50, 0], [40, 40, 20]) < 20


def test_numeric_and_categorical_features_are_compared() -> None:
    main = pl.Series("x", [float(i) for i in range(1000)] + [None] * 10)
    same = compare_feature("g", "x", main, main)
    assert same.psi == 0.0
    assert same.main is not None
    assert same.main.rows == 1010
    assert same.main.null_rate == pytest.approx(10 / 1010)
    assert same.main.quantiles["p50"] == pytest.approx(499.5)
    shifted = compare_feature("g", "x", main, main + 300)
    assert shifted.psi is not None
    assert shifted.psi > 1
    assert shifted.experiment.mean == pytest.approx(799.5)
    assert sum(shifted.main_counts) == sum(shifted.experiment_counts) == 1000
    labels = compare_feature(
        "g", "s", pl.Series(["a", "b"] * 50), pl.Series(["a"] * 90 + ["c"] * 10)
    )
    assert labels.kind == "categorical"
    assert set(labels.bins) == {"a", "b", "c"}
    assert labels.psi is not None
    assert labels.psi > 1
    added = compare_feature("g", "new", None, pl.Series([1, 2, 3]))
    assert added.main is None
    assert added.psi is None


def test_the_diff_covers_the_rewritten_windows_and_added_features(home: Path) -> None:
    store = unbuffered_store(home)
    fill_main(store)
    store.apply(group_with_extra_feature(), experiment="x")
    store.write_window(GROUP, frame_with_extra_feature(1), *day_window(1), experiment="x")
    diff = diff_experiment(store, "x")
    assert [str(w.start.date()) for w in diff.windows[GROUP]] == ["2026-11-11"]
    by_name = {f.feature: f for f in diff.features}
    assert by_name["clicks"].main is not None
    assert by_name["clicks"].main.rows == by_name["clicks"].experiment.rows == 5
    assert by_name["clicks"].experiment.mean == pytest.approx(102.0)
    assert by_name["clicks_x2"].main is None
    page = html_report(diff)
    assert page.count("<svg") == len(diff.features) == 5
    assert "user_stats:clicks_x2" in page


def test_the_experiment_commands(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(home))
    store = unbuffered_store(home)
    fill_main(store)
    write_experiment(store, "x", [1, 2])
    write_experiment(store, "y", [3])
    assert main(["experiment", "list"]) == 0
    listed = capsys.readouterr().out
    assert "x: 1 group(s)" in listed
    assert "user_stats (exp_x): 2 window(s) 2026-11-11..2026-11-13, 10 rows in 2 file(s)" in listed
    assert main(["experiment", "list", "--max-age-days", "0"]) == 1
    report = tmp_path / "x.html"
    assert main(["experiment", "diff", "x", GROUP, "--html", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "user_stats:clicks (numeric) PSI=" in printed
    assert "<svg" in report.read_text()
    assert main(["experiment", "promote", "nope"]) == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err
    assert main(["experiment", "discard", "Not-An-Id"]) == 2
    assert "invalid experiment name" in capsys.readouterr().err
    assert main(["experiment", "promote", "x"]) == 0
    assert "user_stats: 2 window(s) promoted, 10 rows now on main" in capsys.readouterr().out
    assert main(["experiment", "discard", "y"]) == 0
    assert store.experiments() == {}
