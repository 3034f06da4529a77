"""Promote an experiment: main takes, window by window, the data files its branches hold.

Each rewritten window is one snapshot on main that removes main's files of the window and adds
the branch's, the same files, so nothing is rewritten (a manifest, a manifest list and a
metadata file are all the bytes written). Windows main changed since the branch was made are
refused before anything is committed, unless told to overwrite them; each window's commit
checks again on the fresh table, so a production backfill that lands on a window meanwhile is
either refused (its rows stay) or, with `overwrite`, replaced: never both, never doubled.
Finally each group's branch and record are dropped, in the same commit that makes the
experiment's spec main's (a feature added in the experiment is now a feature of the group).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyiceberg.expressions import BooleanExpression
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from feature_platform.errors import EmptyExperimentError, PromotionConflictError
from feature_platform.experiments.state import GroupExperiment, load_group_experiment
from feature_platform.offline_store.audit import audit_before_promote
from feature_platform.offline_store.branches import PROMOTED_FROM_PROPERTY, drop_experiment
from feature_platform.offline_store.reads import scan_table
from feature_platform.offline_store.schema import SPEC_PROPERTY, table_columns
from feature_platform.offline_store.window_overwrite import scan_branch
from feature_platform.offline_store.writes import WriteResult, replace_window_files
from feature_platform.specs import EVENT_TIME_COLUMN
from feature_platform.time_windows import TimeWindow

if TYPE_CHECKING:
    import polars as pl

    from feature_platform.store import FeatureStore

BranchFramesReader = Callable[[TimeWindow], "pl.DataFrame"]


@dataclass
class PromotionReport:
    """What a promotion committed, per group: one result per window."""

    experiment: str
    windows: dict[str, list[WriteResult]] = field(default_factory=dict)
    overwritten: dict[str, list[TimeWindow]] = field(default_factory=dict)
    specs_promoted: list[str] = field(default_factory=list)
    seconds: float = 0.0


def promote_experiment(
    store: FeatureStore, name: str, *, overwrite: bool = False
) -> PromotionReport:
    """Replace on main exactly the windows experiment `name` rewrote, then drop its branches.

    Raises:
        InvalidIdentifierError, UnknownExperimentError: Bad name; nothing changed.
        EmptyExperimentError: The experiment rewrote no window; nothing changed.
        ExpectationFailedError: A window the experiment rewrote fails a strict expectation of
            its group (as the experiment declares it); nothing changed.
        PromotionConflictError: Main changed windows the experiment rewrote (named in the
            message) and `overwrite` is off; nothing changed when found before the first commit.
    """
    started = time.perf_counter()
    parts = _load_parts(store, name)
    if not any(part.rewritten for part in parts):
        raise EmptyExperimentError(
            f"experiment {name!r} rewrote no window of {[p.group for p in parts]}: there is "
            f"nothing to promote; write windows with experiment={name!r}, or discard it"
        )
    conflicts = {part.group: part.conflicts() for part in parts}
    report = PromotionReport(name, overwritten={g: w for g, w in conflicts.items() if w})
    if report.overwritten and not overwrite:
        raise PromotionConflictError(_conflict_message(name, report.overwritten))
    for part in parts:  # strict expectations failing on any window refuse the whole promotion
        read = _branch_reader(part)
        audit_before_promote(part.table, part.spec, ((w, read(w)) for w in part.rewritten))
    for part in parts:
        loader = _loader(store, part.group)
        report.windows[part.group] = [
            _promote_window(loader, part, window, overwrite) for window in part.rewritten
        ]
        promoted_spec = part.spec != part.main_spec
        extra = {SPEC_PROPERTY: part.spec.to_json()} if promoted_spec else None
        drop_experiment(loader, name, extra_properties=extra)
        if promoted_spec:
            # Commits nothing offline (the spec is main's now); readies the online table.
            store.apply(part.spec)
            report.specs_promoted.append(part.group)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _load_parts(store: FeatureStore, name: str) -> list[GroupExperiment]:
    parts = []
    for group in store.require_experiment(name):
        part = load_group_experiment(store.table(group), name)
        if part is not None:
            parts.append(part)
    return parts


def _loader(store: FeatureStore, group: str) -> Callable[[], Table]:
    return lambda: store.table(group)


def _branch_reader(part: GroupExperiment) -> BranchFramesReader:
    def read(window: TimeWindow) -> pl.DataFrame:
        return scan_table(
            part.table,
            columns=table_columns(part.spec),
            time_column=EVENT_TIME_COLUMN,
            start=window.start,
            end=window.end,
            as_of=part.head.snapshot_id if part.head else None,
        )

    return read


def _promote_window(
    load_table: Callable[[], Table], part: GroupExperiment, window: TimeWindow, overwrite: bool
) -> WriteResult:
    """Main's files of `window` become the branch's, in one snapshot."""

    def plan(table: Table, predicate: BooleanExpression) -> tuple[list[DataFile], list[DataFile]]:
        if not overwrite and window in part.conflicts(table):
            raise PromotionConflictError(
                _conflict_message(part.record.name, {part.group: [window]})
            )
        branch = _live_files(table, predicate, part.record.branch)
        main = _live_files(table, predicate, "main")
        removed = [f for path, f in main.items() if path not in branch]
        added = [f for path, f in branch.items() if path not in main]
        return removed, added

    properties = {PROMOTED_FROM_PROPERTY: part.record.branch}
    return replace_window_files(load_table, EVENT_TIME_COLUMN, window, plan, properties)


def _live_files(table: Table, predicate: BooleanExpression, branch: str) -> dict[str, DataFile]:
    return {
        task.file.file_path: task.file
        for task in scan_branch(table, predicate, branch).plan_files()
    }


def _conflict_message(name: str, windows: dict[str, list[TimeWindow]]) -> str:
    listed = "; ".join(
        f"{group}: {', '.join(str(w) for w in found)}" for group, found in windows.items()
    )
    return (
        f"cannot promote experiment {name!r}: main changed windows the experiment also "
        f"rewrote since its branch was made ({listed}); promoting would drop main's newer rows. "
        "Rewrite those windows in the experiment again, or promote with --overwrite "
        "(overwrite=True) to replace them anyway"
    )
