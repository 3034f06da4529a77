"""Experiment branches of a group's offline table: where an experiment's windows are written.

An experiment `x` of a group is the Iceberg branch ``exp_x`` of the group's table plus a record
in the table's properties (``feature-platform.experiment.x``): the snapshot of main the branch
was made from (what promotion compares main against), when it was made, and the group's spec
in the experiment when it differs from main's (a feature added only in the experiment). Main's
spec (``feature_platform.spec``) and main's snapshots are never touched by an experiment, so
every reader of main (Snowflake, `sql`, the online sync, scheduled training sets) sees nothing
of it until it is promoted.

The record and the branch are created together, in one commit, on the first write. A table
whose main has no snapshot yet cannot have experiments (Iceberg has nothing to branch from, and
pyiceberg refuses writes to other branches of such a table).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.table.update.snapshot import ManageSnapshots

from feature_platform.errors import CommitConflictError, InvalidRequestError
from feature_platform.identifiers import validate_identifier

EXPERIMENT_BRANCH_PREFIX = "exp_"
EXPERIMENT_PROPERTY_PREFIX = "feature-platform.experiment."
# Summary property of the main snapshots a promotion commits: the branch they came from, so a
# promotion rerun after a crash does not take its own commits for main's changes.
PROMOTED_FROM_PROPERTY = "feature-platform.promoted-from"
_ATTEMPTS = 8


def experiment_branch(name: object) -> str:
    """The branch of experiment `name`; the name must be an identifier.

    Raises:
        InvalidIdentifierError: `name` is not an identifier (checked before any side effect).
    """
    return EXPERIMENT_BRANCH_PREFIX + validate_identifier(name, "experiment")


@dataclass(frozen=True)
class ExperimentRecord:
    """One group's part of an experiment, as kept in the table's properties.

    Attributes:
        name: The experiment.
        base_snapshot_id: Main's snapshot the branch was made from (None: main was empty).
        created_at: When the experiment first wrote to this group.
        spec: The group's spec (JSON) in the experiment, when it was applied there with changes.
    """

    name: str
    base_snapshot_id: int | None
    created_at: dt.datetime
    spec: str | None = None

    @property
    def branch(self) -> str:
        return EXPERIMENT_BRANCH_PREFIX + self.name

    @property
    def property_key(self) -> str:
        return EXPERIMENT_PROPERTY_PREFIX + self.name

    def to_json(self) -> str:
        return json.dumps(
            {
                "base_snapshot_id": self.base_snapshot_id,
                "created_at": self.created_at.isoformat(),
                "spec": self.spec,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, name: str, text: str) -> ExperimentRecord:
        data = json.loads(text)
        return cls(
            name=name,
            base_snapshot_id=data.get("base_snapshot_id"),
            created_at=dt.datetime.fromisoformat(data["created_at"]),
            spec=data.get("spec"),
        )


def experiment_records(table: Table) -> dict[str, ExperimentRecord]:
    """The experiments recorded on this table, by name."""
    return {
        key.removeprefix(EXPERIMENT_PROPERTY_PREFIX): ExperimentRecord.from_json(
            key.removeprefix(EXPERIMENT_PROPERTY_PREFIX), value
        )
        for key, value in table.properties.items()
        if key.startswith(EXPERIMENT_PROPERTY_PREFIX)
    }


def experiment_record(table: Table, name: str) -> ExperimentRecord | None:
    key = EXPERIMENT_PROPERTY_PREFIX + validate_identifier(name, "experiment")
    text = table.properties.get(key)
    return None if text is None else ExperimentRecord.from_json(name, text)


def branch_head(table: Table, name: str) -> Snapshot | None:
    """The newest snapshot of the experiment's branch (None: it has none yet)."""
    return table.snapshot_by_name(experiment_branch(name))


def open_experiment(
    load_table: Callable[[], Table], name: str, now: dt.datetime | None = None
) -> ExperimentRecord:
    """The experiment's record on this table, created (with its branch at main's head) if new.

    Two processes starting the same experiment at once race on one commit: the loser reloads
    and finds the winner's record.

    Raises:
        InvalidIdentifierError: `name` is not an identifier; nothing is created.
        InvalidRequestError: Main has no snapshot to branch from; nothing is created.
        CommitConflictError: The table kept changing underneath every attempt.
    """
    branch = experiment_branch(name)
    for _ in range(_ATTEMPTS):
        table = load_table()
        existing = experiment_record(table, name)
        if existing is not None:
            return existing
        main = table.current_snapshot()
        if main is None:
            raise InvalidRequestError(
                f"cannot start experiment {name!r} on {'.'.join(table.name())}: its main has "
                "no data yet, and an experiment is a branch of main's data (Iceberg branches "
                "need a snapshot); write main's windows first"
            )
        record = ExperimentRecord(
            name=name,
            base_snapshot_id=main.snapshot_id,
            created_at=now or dt.datetime.now(dt.UTC),
        )
        try:
            with table.transaction() as transaction:
                transaction.set_properties({record.property_key: record.to_json()})
                if branch not in table.metadata.refs:
                    with ManageSnapshots(transaction) as manage:
                        manage.create_branch(main.snapshot_id, branch)
            return record
        except CommitFailedException:
            continue  # another writer committed meanwhile: look again
    raise CommitConflictError(
        f"could not start experiment {name!r} on {'.'.join(load_table().name())}: the table "
        "kept changing concurrently; retry"
    )


def record_experiment_spec(
    load_table: Callable[[], Table], record: ExperimentRecord, spec: str | None
) -> ExperimentRecord:
    """Keep the group's spec in the experiment (None: the same as main's)."""
    updated = replace(record, spec=spec)
    for _ in range(_ATTEMPTS):
        table = load_table()
        try:
            with table.transaction() as transaction:
                transaction.set_properties({updated.property_key: updated.to_json()})
            return updated
        except CommitFailedException:
            continue
    raise CommitConflictError(f"could not record the spec of experiment {record.name!r}; retry")


def drop_experiment(
    load_table: Callable[[], Table], name: str, extra_properties: dict[str, str] | None = None
) -> bool:
    """Remove the experiment's branch and record in one commit (its files stay until the
    snapshots only it kept expire and orphan removal runs).

    Args:
        load_table: Loads the table fresh.
        name: The experiment.
        extra_properties: Table properties to set in the same commit (a promoted spec).

    Returns:
        Whether the table had the experiment.
    """
    branch = experiment_branch(name)
    for _ in range(_ATTEMPTS):
        table = load_table()
        record = experiment_record(table, name)
        if record is None and branch not in table.metadata.refs:
            return False
        try:
            with table.transaction() as transaction:
                if branch in table.metadata.refs and branch != MAIN_BRANCH:
                    with ManageSnapshots(transaction) as manage:
                        manage.remove_branch(branch)
                if extra_properties:
                    transaction.set_properties(extra_properties)
                if record is not None:
                    transaction.remove_properties(record.property_key)
            return True
        except CommitFailedException:
            continue
    raise CommitConflictError(f"could not drop experiment {name!r}: the table kept changing")


@dataclass(frozen=True)
class ExperimentView:
    """What a reader of experiment `name` reads of one group: the branch's head and the
    group's spec in the experiment, or main's current state where the group is not in it.

    Attributes:
        branch: ``exp_<name>``, or ``main`` for a group the experiment did not write.
        snapshot: The snapshot to read (None: nothing to read).
        spec: The group's spec JSON in the experiment (None: main's spec).
    """

    branch: str
    snapshot: Snapshot | None
    spec: str | None


def experiment_view(table: Table, name: str) -> ExperimentView:
    """Where experiment `name` reads `table` from (main, for a group it did not write)."""
    record = experiment_record(table, name)
    branch = experiment_branch(name)
    if record is None and branch not in table.metadata.refs:
        return ExperimentView(MAIN_BRANCH, table.current_snapshot(), None)
    return ExperimentView(branch, table.snapshot_by_name(branch), record.spec if record else None)


def experiment_lineage(table: Table) -> set[int]:
    """Snapshots an open experiment needs, for snapshot expiry to keep.

    Its branch's snapshots back to its base (which windows it rewrote) and main's back to that
    base (which windows main changed since): expiring either would make promotion unable to
    tell a conflict from none.
    """
    from pyiceberg.table.snapshots import ancestors_of

    keep: set[int] = set()
    main = table.current_snapshot()
    for record in experiment_records(table).values():
        for head in (table.snapshot_by_name(record.branch), main):
            if head is None:
                continue
            for snapshot in ancestors_of(head, table.metadata):
                keep.add(snapshot.snapshot_id)
                if snapshot.snapshot_id == record.base_snapshot_id:
                    break
    return keep
