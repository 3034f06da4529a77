"""Promotion swaps exactly the rewritten windows' files onto main; discard frees them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from feature_platform import Feature, FeatureStore
from feature_platform.errors import (
    EmptyExperimentError,
    ExpectationFailedError,
    PromotionConflictError,
    UnknownExperimentError,
)
from feature_platform.expectations import ValueRange
from feature_platform.experiments.lifecycle import discard_experiment, list_experiments
from feature_platform.experiments.promotion import promote_experiment
from feature_platform.maintenance.expiry import expire_snapshots
from feature_platform.maintenance.orphans import remove_orphan_files
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.offline_store.branches import PROMOTED_FROM_PROPERTY
from feature_platform_tests.experiments.builders import (
    DAYS,
    GROUP,
    clicks_by_day,
    data_file_paths,
    day_window,
    fill_main,
    frame_with_extra_feature,
    group_with_extra_feature,
    write_experiment,
)
from feature_platform_tests.helpers import unbuffered_store, user_frame, user_group

OLD = [0, 1, 2, 3, 4]
NEW = [100, 101, 102, 103, 104]
SHORT = MaintenancePolicy(
    snapshot_retention=dt.timedelta(0), retain_last=1, orphan_min_age=dt.timedelta(0)
)


@pytest.fixture
def store(home: object) -> FeatureStore:
    store = unbuffered_store(home)
    fill_main(store)
    return store


def parquet_files(home: object) -> set[Path]:
    return set(Path(str(home)).rglob("*.parquet"))


def test_promotion_replaces_exactly_the_rewritten_windows_with_the_branchs_files(
    store: FeatureStore, home: object
) -> None:
    write_experiment(store, "x", [1, 2])
    store.write_window(GROUP, user_frame(DAYS[3], offset=7), *day_window(3))  # main moves on
    table = store.table(GROUP)
    branch_files = data_file_paths(table, table.refs()["exp_x"].snapshot_id)
    branch_files -= data_file_paths(table)  # the files only the experiment holds
    files_before = parquet_files(home)
    report = promote_experiment(store, "x")
    assert parquet_files(home) == files_before  # no data file written: metadata only
    assert [len(results) for results in report.windows.values()] == [2]
    days = clicks_by_day(store.read(GROUP))
    assert list(days.values()) == [OLD, NEW, NEW, [7, 8, 9, 10, 11]]
    table = store.table(GROUP)
    promoted = {f for f in data_file_paths(table) if f in branch_files}
    assert len(promoted) == 2  # the branch's own files of days 1 and 2, now main's
    commits = [s for s in table.snapshots() if s.summary.get(PROMOTED_FROM_PROPERTY) == "exp_x"]
    assert [s.summary.operation.value for s in commits] == ["overwrite", "overwrite"]
    assert "exp_x" not in table.refs()
    assert store.experiments() == {}


def test_a_window_main_changed_since_the_branch_is_refused_by_name(store: FeatureStore) -> None:
    write_experiment(store, "x", [1, 2])
    store.write_window(GROUP, user_frame(DAYS[2], offset=50), *day_window(2))
    before = store.table(GROUP).metadata_location
    with pytest.raises(PromotionConflictError, match=r"\[2026-11-12T00:00:00\+00:00, 2026-11-13"):
        promote_experiment(store, "x")
    assert store.table(GROUP).metadata_location == before  # nothing changed
    report = promote_experiment(store, "x", overwrite=True)
    assert [str(w.start.date()) for w in report.overwritten[GROUP]] == ["2026-11-12"]
    assert list(clicks_by_day(store.read(GROUP)).values())[1:3] == [NEW, NEW]


def test_promoting_nothing_or_an_unknown_experiment_changes_nothing(store: FeatureStore) -> None:
    store.apply(group_with_extra_feature(), experiment="empty")
    before = store.table(GROUP).metadata_location
    with pytest.raises(EmptyExperimentError, match="rewrote no window"):
        promote_experiment(store, "empty")
    with pytest.raises(UnknownExperimentError, match="unknown experiment 'other'"):
        promote_experiment(store, "other")
    with pytest.raises(UnknownExperimentError):
        discard_experiment(store, "other")
    assert store.table(GROUP).metadata_location == before


def test_promotion_makes_a_feature_added_in_the_experiment_mains(store: FeatureStore) -> None:
    store.apply(group_with_extra_feature(), experiment="wider")
    store.write_window(GROUP, frame_with_extra_feature(1), *day_window(1), experiment="wider")
    report = promote_experiment(store, "wider")
    assert report.specs_promoted == [GROUP]
    assert store.get_feature_group(GROUP) == group_with_extra_feature()
    rows = store.read(GROUP)
    assert sorted(rows["clicks_x2"].drop_nulls().to_list()) == [200, 202, 204, 206, 208]


def test_discarded_experiments_files_are_reclaimed_by_expiry_and_orphan_removal(
    store: FeatureStore, home: object
) -> None:
    main_files = parquet_files(home)
    write_experiment(store, "x", [0, 1])
    summary = list_experiments(store)[0]
    assert [len(g.windows) for g in summary.groups] == [2]
    assert summary.groups[0].data_files == 2
    assert summary.bytes > 0
    branch_only = parquet_files(home) - main_files
    assert len(branch_only) == 2
    # While the experiment is open, expiry keeps the branch's head and the base it forked from.
    expire_snapshots(lambda: store.table(GROUP), SHORT)
    assert parquet_files(home) >= branch_only
    assert clicks_by_day(store.read(GROUP, experiment="x"))["2026-11-10"] == NEW
    assert discard_experiment(store, "x") == [GROUP]
    main_rows = store.read(GROUP).sort("event_time")
    expire_snapshots(lambda: store.table(GROUP), SHORT)
    remove_orphan_files(lambda: store.table(GROUP), SHORT)
    assert not parquet_files(home) & branch_only
    assert store.read(GROUP).sort("event_time").equals(main_rows)


def test_expiry_keeps_what_an_open_experiment_needs_to_tell_conflicts(
    store: FeatureStore,
) -> None:
    write_experiment(store, "x", [1])
    for _ in range(3):  # main moves on in another window, many times
        store.write_window(GROUP, user_frame(DAYS[3], offset=9), *day_window(3))
    expire_snapshots(lambda: store.table(GROUP), SHORT)
    report = promote_experiment(store, "x")  # no conflict: main never touched day 1
    assert report.overwritten == {}
    assert list(clicks_by_day(store.read(GROUP)).values())[1] == NEW


def test_a_promotion_stopped_after_some_windows_completes_when_run_again(
    store: FeatureStore,
) -> None:
    from feature_platform.experiments import promotion
    from feature_platform.experiments.state import load_group_experiment

    write_experiment(store, "x", [1, 2])
    part = load_group_experiment(store.table(GROUP), "x")
    assert part is not None
    # The first window's commit landed, then the process stopped.
    promotion._promote_window(lambda: store.table(GROUP), part, part.rewritten[0], False)
    assert list(clicks_by_day(store.read(GROUP)).values())[1:3] == [NEW, OLD]
    report = promote_experiment(store, "x")  # its own commit is no conflict
    assert report.overwritten == {}
    assert list(clicks_by_day(store.read(GROUP)).values())[1:3] == [NEW, NEW]
    assert [r.committed for r in report.windows[GROUP]] == [False, True]


def test_promotion_is_refused_when_the_experiments_rows_fail_a_strict_expectation(
    store: FeatureStore,
) -> None:
    capped = [
        Feature("clicks", "int64", expectations=[ValueRange(max=50)])
        if feature.name == "clicks"
        else feature
        for feature in user_group().features
    ]
    store.apply(user_group(features=capped), experiment="x")
    write_experiment(store, "x", [1, 2])  # clicks 100..104: written, audited only at promotion
    table = store.table(GROUP)
    main_before, branch_before = table.current_snapshot(), table.refs()["exp_x"].snapshot_id
    with pytest.raises(ExpectationFailedError) as refused:
        promote_experiment(store, "x")
    message = str(refused.value)
    for named in ("2026-11-11", "2026-11-12", "clicks", "in_range"):  # both windows, the check
        assert named in message
    table = store.table(GROUP)
    assert table.current_snapshot() == main_before
    assert table.refs()["exp_x"].snapshot_id == branch_before
    assert list(clicks_by_day(store.read(GROUP)).values()) == [OLD] * 4
