"""One group's part of an experiment: its branch, its base on main, the windows it rewrote.

Both sides are read from the history of the one table: the windows the experiment rewrote are
those its branch's snapshots changed since the base snapshot it was made from, the windows main
changed are those main's snapshots changed since that base (skipping the experiment's own
promotion commits, so a promotion resumed after a crash does not conflict with itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from feature_platform.errors import ExperimentHistoryError
from feature_platform.offline_store.branches import (
    PROMOTED_FROM_PROPERTY,
    ExperimentRecord,
    experiment_record,
)
from feature_platform.offline_store.changes import windows_changed_between
from feature_platform.offline_store.schema import applied_group
from feature_platform.specs import FeatureGroup
from feature_platform.time_windows import TimeWindow


@dataclass(frozen=True)
class GroupExperiment:
    """Experiment `record.name` on one group's table, as loaded.

    Attributes:
        table: The group's table.
        record: The experiment's record on it.
        main_spec: The group's spec on main.
        spec: The group's spec in the experiment.
        head: The branch's newest snapshot (None: nothing written yet).
        rewritten: The partition windows the branch changed since its base, sorted.
    """

    table: Table
    record: ExperimentRecord
    main_spec: FeatureGroup
    spec: FeatureGroup
    head: Snapshot | None
    rewritten: tuple[TimeWindow, ...]

    @property
    def group(self) -> str:
        return self.main_spec.name

    def main_changed(self, table: Table | None = None) -> list[TimeWindow] | None:
        """The windows main changed since the branch was made (None: unknown, so all)."""
        return main_changed_windows(table or self.table, self.record, self.main_spec)

    def conflicts(self, table: Table | None = None) -> list[TimeWindow]:
        """The rewritten windows main also changed since the branch was made."""
        changed = self.main_changed(table)
        if changed is None:
            return list(self.rewritten)
        return sorted(set(self.rewritten) & set(changed), key=lambda w: w.start)


def load_group_experiment(table: Table, name: str) -> GroupExperiment | None:
    """The experiment's part on this table (None: the experiment did not write it).

    Raises:
        ExperimentHistoryError: The branch's base is no longer in its history.
    """
    record = experiment_record(table, name)
    if record is None:
        return None
    main_spec = applied_group(table)
    spec = FeatureGroup.from_json(record.spec) if record.spec else main_spec
    head = table.snapshot_by_name(record.branch)
    rewritten: list[TimeWindow] = []
    if head is not None:
        found = windows_changed_between(
            table, record.base_snapshot_id, head, main_spec.partition_width
        )
        if found is None:
            raise ExperimentHistoryError(
                f"cannot tell which windows experiment {name!r} rewrote in "
                f"{'.'.join(table.name())}: its base snapshot {record.base_snapshot_id} is no "
                "longer in the branch's history; discard the experiment and start it again"
            )
        rewritten = found
    return GroupExperiment(table, record, main_spec, spec, head, tuple(rewritten))


def main_changed_windows(
    table: Table, record: ExperimentRecord, group: FeatureGroup
) -> list[TimeWindow] | None:
    main = table.current_snapshot()
    if main is None or main.snapshot_id == record.base_snapshot_id:
        return []
    return windows_changed_between(
        table,
        record.base_snapshot_id,
        main,
        group.partition_width,
        ignore=lambda summary: summary.get(PROMOTED_FROM_PROPERTY) == record.branch,
    )
