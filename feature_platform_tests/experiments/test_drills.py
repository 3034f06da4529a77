"""Drills with real processes: concurrent experiments on one group, and a production backfill
racing a promotion, end with exactly one copy of every window on every branch."""

from __future__ import annotations

from pathlib import Path

import pytest

from feature_platform import FeatureStore
from feature_platform_tests.experiments import drill_workers
from feature_platform_tests.experiments.builders import DAYS, GROUP, fill_main, write_experiment
from feature_platform_tests.helpers import read_independently, unbuffered_store
from feature_platform_tests.processes import run_together

pytestmark = [pytest.mark.drill, pytest.mark.integration]
MODULES = ["feature_platform_tests.experiments.drill_workers"]
USERS = 5


def copies(frame: object) -> dict[str, set[int]]:
    """Per day: the offsets of the writes whose rows it holds (one, if a single copy)."""
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    days = frame.with_columns(day=pl.col("event_time").dt.date().cast(pl.String))
    found = {}
    for (day,), rows in days.group_by(["day"]):
        assert rows.height == USERS, f"{day} holds {rows.height} rows, not {USERS}"
        assert rows["user_id"].n_unique() == USERS
        offsets = {
            clicks - int(user[1:])
            for clicks, user in zip(rows["clicks"], rows["user_id"], strict=False)
        }
        found[str(day)] = offsets
    assert len(found) == len(DAYS)
    return found


def assert_one_copy_each(frame: object, allowed: set[int]) -> None:
    for day, offsets in copies(frame).items():
        assert len(offsets) == 1, f"{day} mixes writes {offsets}"
        assert offsets <= allowed, (day, offsets)


def test_two_experiments_and_main_written_at_once_keep_one_copy_per_window(home: Path) -> None:
    store: FeatureStore = unbuffered_store(home)
    fill_main(store)
    jobs = [(str(home), "a", 10), (str(home), "a", 20), (str(home), "b", 30), (str(home), None, 40)]
    run_together(drill_workers.write_days, jobs, MODULES)
    assert_one_copy_each(store.read(GROUP, experiment="a"), {10, 20})
    assert_one_copy_each(store.read(GROUP, experiment="b"), {30})
    assert_one_copy_each(read_independently(store.table(GROUP)), {40})
    assert store.experiments() == {"a": [GROUP], "b": [GROUP]}


@pytest.mark.parametrize("overwrite", [True, False], ids=["overwrite", "refuse"])
def test_a_backfill_racing_a_promotion_leaves_one_copy_per_window(
    home: Path, overwrite: bool
) -> None:
    store: FeatureStore = unbuffered_store(home)
    fill_main(store)
    write_experiment(store, "x", list(range(len(DAYS))), offset=100)
    jobs = [(str(home), overwrite), (str(home), None, 50)]
    promoted, _ = run_together(drill_workers.race, jobs, MODULES)
    final = read_independently(store.table(GROUP))
    assert_one_copy_each(final, {100, 50})
    if promoted.startswith("refused"):
        assert not overwrite
        assert "main changed windows" in promoted
        # Windows promoted before the refused one stay promoted (each window is atomic); the
        # branch stays, to promote again or with overwrite.
        assert store.experiments() == {"x": [GROUP]}
