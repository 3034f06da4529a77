"""A feature group's backfill run in this process, split into the runs a UI backfill would make.

Dagster's `dagster asset materialize --partition-range` refuses assets whose backfills are
several runs, and a daemon-driven backfill needs a running daemon. `run_backfill` executes the
same runs (the group's `partitions_per_run` partitions each, with the group's data checks, as
from the UI) one after another through the real definitions and a persistent instance, so a
laptop user or a CI job gets the result, and the UI the materializations, with one command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from feature_platform.errors import ConfigurationError, UnknownFeatureGroupError
from feature_platform.orchestration.feature_assets import FeatureRunConfig, feature_asset_key
from feature_platform.orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition


@dataclass(frozen=True)
class BackfillRun:
    """One run of a backfill: its partitions, its outcome and, if it failed, why."""

    first: str
    last: str
    run_id: str
    success: bool
    failure: str = ""


def parse_range(text: str) -> tuple[str, str]:
    """``"FIRST...LAST"`` as its two partition keys.

    Raises:
        ConfigurationError: `text` is not two keys joined by ``...``.
    """
    parts = text.split("...")
    if len(parts) != 2 or not all(part.strip() for part in parts):
        raise ConfigurationError(
            f"a partition range is FIRST...LAST (e.g. 2026-11-02...2026-11-08), got {text!r}"
        )
    return parts[0].strip(), parts[1].strip()


def chunks(keys: Sequence[str], per_run: int) -> list[list[str]]:
    """`keys` in order, cut into runs of at most `per_run`, as Dagster's multi-run policy does."""
    return [list(keys[start : start + per_run]) for start in range(0, len(keys), per_run)]


def partition_keys(definitions: dg.Definitions, group: str, first: str, last: str) -> list[str]:
    """The partition keys of `features/<group>` from `first` to `last`, both included.

    Raises:
        ConfigurationError: A key is not a partition of the group (wrong format, before the
            group's start, in the future) or `last` comes before `first`.
    """
    asset = definitions.get_assets_def(feature_asset_key(group))
    partitions_def = asset.partitions_def
    assert partitions_def is not None  # feature assets are always partitioned
    known = list(partitions_def.get_partition_keys())
    for key in (first, last):
        if key not in known:
            span = f"run from {known[0]!r} to {known[-1]!r}" if known else "have not begun yet"
            raise ConfigurationError(
                f"{key!r} is not a partition of features/{group}: its partitions {span}"
            )
    keys = known[known.index(first) : known.index(last) + 1]
    if not keys:
        raise ConfigurationError(f"the range {first}...{last} is empty: {last} comes first")
    return keys


def run_backfill(
    definitions: dg.Definitions,
    feature_groups: Sequence[FeatureGroupDefinition],
    group: str,
    partition_range: str,
    *,
    home: Path | None = None,
    allow_incomplete_inputs: bool = False,
    instance: dg.DagsterInstance | None = None,
    on_run: Callable[[BackfillRun], None] | None = None,
) -> list[BackfillRun]:
    """Materialize `partition_range` of `features/<group>`, run by run; stop at the first failure.

    Args:
        definitions: The code location's definitions (`build_definitions()`).
        feature_groups: Its feature group definitions, for the group's `partitions_per_run`.
        group: The feature group.
        partition_range: ``"FIRST...LAST"``, both included.
        home: The store's home; None uses the definitions' own store resource.
        allow_incomplete_inputs: As the run config of a UI backfill.
        instance: Where runs are recorded (default: the instance of ``DAGSTER_HOME``).
        on_run: Called with each run as it ends (a long backfill reports as it goes).

    Raises:
        UnknownFeatureGroupError: No registered group is called `group`.
        ConfigurationError: The range is malformed or outside the group's partitions.
    """
    by_name = {definition.name: definition for definition in feature_groups}
    if group not in by_name:
        raise UnknownFeatureGroupError(
            f"no feature group {group!r} is registered; registered: {sorted(by_name)}"
        )
    keys = partition_keys(definitions, group, *parse_range(partition_range))
    key = feature_asset_key(group)
    assets = [definitions.get_assets_def(key), *asset_checks_of(definitions, key)]
    resources = dict(definitions.resources or {})
    if home is not None:
        resources["feature_store"] = FeatureStoreResource(home=str(home))
    run_config = dg.RunConfig(
        ops={"__".join(key.path): FeatureRunConfig(allow_incomplete_inputs=allow_incomplete_inputs)}
    )
    runs = []
    active = instance or dg.DagsterInstance.get()
    try:
        for run_keys in chunks(keys, by_name[group].backfill_partitions_per_run):
            result = dg.materialize(
                assets,
                instance=active,
                resources=resources,
                run_config=run_config,
                tags={RANGE_START_TAG: run_keys[0], RANGE_END_TAG: run_keys[-1]},
                raise_on_error=False,
            )
            run = BackfillRun(
                run_keys[0], run_keys[-1], result.run_id, result.success, _failure(result)
            )
            runs.append(run)
            if on_run is not None:
                on_run(run)
            if not result.success:
                break
    finally:
        if instance is None:  # made here: its storage connections end with the backfill
            active.dispose()
    return runs


def asset_checks_of(
    definitions: dg.Definitions, key: dg.AssetKey
) -> list[dg.AssetChecksDefinition]:
    """The checks of `key`, to run with it as a UI materialization does.

    The automation sensor starts the assets downstream only once the blocking checks of their
    upstream have passed, so a materialization without its checks would stall them.
    """
    return [
        check
        for check in definitions.asset_checks or []
        if isinstance(check, dg.AssetChecksDefinition)
        and any(check_key.asset_key == key for check_key in check.check_keys)
    ]


def _failure(result: dg.ExecuteInProcessResult) -> str:
    """What the failed step said: a `dg.Failure`'s description, else the error's message."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            data = event.step_failure_data
            if data.user_failure_data is not None and data.user_failure_data.description:
                return data.user_failure_data.description
            if data.error is not None:
                return data.error.message.strip()
    return "" if result.success else "the run failed; see its log in the Dagster UI"
