"""Listing experiments (groups, windows, ages, sizes), discarding them, and finding stale ones.

An experiment's size is what its branches hold that main does not: the data files live on a
branch but not on main. After `discard_experiment` those files are referenced only by
snapshots no branch reaches; snapshot expiry drops those snapshots and deletes the files, and
orphan removal takes whatever is left.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyiceberg.expressions import AlwaysTrue
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from feature_platform.errors import UnknownExperimentError
from feature_platform.experiments.state import GroupExperiment, load_group_experiment
from feature_platform.offline_store.branches import (
    drop_experiment,
    experiment_branch,
    experiment_records,
)
from feature_platform.offline_store.window_overwrite import scan_branch
from feature_platform.time_windows import TimeWindow

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore

DEFAULT_MAX_AGE = dt.timedelta(days=14)


@dataclass(frozen=True)
class GroupSummary:
    """One group's part of an experiment."""

    group: str
    branch: str
    created_at: dt.datetime
    windows: tuple[TimeWindow, ...]
    data_files: int
    rows: int
    bytes: int
    added_features: tuple[str, ...]


@dataclass(frozen=True)
class ExperimentSummary:
    name: str
    groups: tuple[GroupSummary, ...]

    @property
    def created_at(self) -> dt.datetime:
        return min(g.created_at for g in self.groups)

    def age(self, now: dt.datetime | None = None) -> dt.timedelta:
        return (now or dt.datetime.now(dt.UTC)) - self.created_at

    @property
    def bytes(self) -> int:
        return sum(g.bytes for g in self.groups)


def list_experiments(store: FeatureStore) -> list[ExperimentSummary]:
    """Every experiment of the store, sorted by name."""
    summaries = []
    for name, groups in store.experiments().items():
        parts = [load_group_experiment(store.table(group), name) for group in groups]
        summaries.append(
            ExperimentSummary(name, tuple(_summarise(p) for p in parts if p is not None))
        )
    return summaries


def _summarise(part: GroupExperiment) -> GroupSummary:
    own = _files_only_on_branch(part)
    added = tuple(f for f in part.spec.feature_names if f not in part.main_spec.feature_names)
    return GroupSummary(
        group=part.group,
        branch=part.record.branch,
        created_at=part.record.created_at,
        windows=part.rewritten,
        data_files=len(own),
        rows=sum(f.record_count for f in own),
        bytes=sum(f.file_size_in_bytes for f in own),
        added_features=added,
    )


def _files_only_on_branch(part: GroupExperiment) -> list[DataFile]:
    if part.head is None:
        return []
    main = {t.file.file_path for t in part.table.scan().plan_files()}
    branch = scan_branch(part.table, AlwaysTrue(), part.record.branch).plan_files()
    return [t.file for t in branch if t.file.file_path not in main]


def discard_experiment(store: FeatureStore, name: str) -> list[str]:
    """Drop the experiment's branch and record from each of its groups.

    Returns:
        The groups it was dropped from.

    Raises:
        InvalidIdentifierError, UnknownExperimentError: Bad name; nothing changed.
    """
    experiment_branch(name)
    groups = store.require_experiment(name)
    dropped = [g for g in groups if drop_experiment(functools.partial(store.table, g), name)]
    if not dropped:
        raise UnknownExperimentError(f"experiment {name!r} was discarded meanwhile")
    return dropped


def experiment_ages(table: Table, now: dt.datetime | None = None) -> dict[str, dt.timedelta]:
    """The age of each experiment recorded on one group's table (read from its properties)."""
    now = now or dt.datetime.now(dt.UTC)
    return {name: now - record.created_at for name, record in experiment_records(table).items()}


def stale_experiments(
    store: FeatureStore, max_age: dt.timedelta = DEFAULT_MAX_AGE, now: dt.datetime | None = None
) -> list[ExperimentSummary]:
    """Experiments older than `max_age`: their branches keep files and snapshots alive, and
    the longer they live the likelier main moves under the windows they rewrote."""
    return [e for e in list_experiments(store) if e.age(now) > max_age]
