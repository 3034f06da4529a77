"""The asset factory: one `FeatureGroupDefinition` in, the group's Dagster definitions out.

Each group becomes a time-partitioned asset ``features/<group>`` whose partitions are its
backfill unit, a job over it and a schedule that materializes the newest partition once its
input is complete. Before any window is replaced, the run checks that the input of every window
it computes has arrived; a window computed from a partial input would silently understate (or
wipe) features, which no data check downstream can tell from real data.
"""

import datetime as dt
from collections.abc import Generator, Iterator
from typing import TypedDict

import dagster as dg
from pydantic import Field

from feature_platform.errors import ExpectationFailedError
from feature_platform.offline_store.audit import ExpectationReport
from feature_platform.offline_store.branches import experiment_branch
from feature_platform.offline_store.writes import WriteResult
from feature_platform.orchestration.automation import after_upstream_updates
from feature_platform.orchestration.completeness import InputCheck, check_inputs
from feature_platform.orchestration.expectation_checks import (
    audit_newest_stored_window,
    expectation_check_results,
    expectation_check_specs,
    expectation_metadata,
)
from feature_platform.orchestration.metadata import column_schema, write_metadata
from feature_platform.orchestration.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    partitions_def_for,
    windows_in,
)
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition
from feature_platform.sources.base import partition_key, partition_windows
from feature_platform.specs import PARTITION_WIDTH, FeatureGroup, Partitioning
from feature_platform.store import FeatureStore
from feature_platform.time_windows import TimeWindow

FEATURES_PREFIX = "features"
# Materialization metadata naming the experiment a run wrote to: such a partition is not
# materialized on main, so the schedule still computes it there.
EXPERIMENT_METADATA = "experiment"


def feature_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([FEATURES_PREFIX, name])


class DownstreamAssetArgs(TypedDict):
    """`dg.asset` arguments of an asset kept in step with a group's offline table."""

    deps: list[dg.AssetKey]
    owners: list[str] | None
    automation_condition: dg.AutomationCondition[dg.AssetKey]


def downstream_asset_args(group: FeatureGroup) -> DownstreamAssetArgs:
    """Copies of a group's table (online sync, Snowflake registration) belong to its owner and
    follow each of its updates, but not while a blocking data check of the group fails."""
    return DownstreamAssetArgs(
        deps=[feature_asset_key(group.name)],
        owners=[group.owner] if group.owner else None,
        automation_condition=after_upstream_updates(),
    )


class FeatureRunConfig(dg.Config):
    """Run options of a feature group's materialization."""

    allow_incomplete_inputs: bool = Field(
        default=False,
        description=(
            "Compute windows even though part of their input has not arrived (the missing "
            "parts are recorded in the materialization metadata). Off: such a run fails and "
            "writes nothing."
        ),
    )
    experiment: str = Field(
        default="",
        description=(
            "Write the windows to this experiment (the Iceberg branch exp_<experiment> of the "
            "group's table, made from main on first use) instead of main. Main, the online "
            "store and Snowflake see nothing of it until `feature-platform experiment promote`."
        ),
    )


def build_feature_group_definitions(definition: FeatureGroupDefinition) -> dg.Definitions:
    """Asset, job and schedule of one feature group."""
    group = definition.group
    partitions_def = partitions_def_for(group.partitioning, group.start_time)
    source = definition.source
    source_dependency = dg.AssetDep(
        dg.AssetKey(list(source.key)),
        partition_mapping=(
            dg.TimeWindowPartitionMapping(
                start_offset=-definition.lookback_partitions,
                allow_nonexistent_upstream_partitions=True,
            )
            if source.partitioning is not None
            else None
        ),
    )

    @dg.multi_asset(
        specs=[_feature_asset_spec(group, source_dependency)],
        name=feature_asset_key(group.name).to_python_identifier(),
        partitions_def=partitions_def,
        # A backfill's range is split into runs of `partitions_per_run` partitions; each run
        # commits window by window, and the run coordinator and the table's pool bound how many
        # run at once.
        backfill_policy=dg.BackfillPolicy.multi_run(definition.backfill_partitions_per_run),
        pool=f"iceberg_{group.name}",
        check_specs=expectation_check_specs(group, feature_asset_key(group.name)),
        # The expectation checks are judged on the rows a main write is about to commit; a run
        # into an experiment judges none (promotion does), so their results must be optional
        # (a multi-asset that can subset, for one asset).
        can_subset=True,
    )
    def feature_group_asset(
        context: dg.AssetExecutionContext,
        config: FeatureRunConfig,
        feature_store: FeatureStoreResource,
    ) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
        store = feature_store.get_store()
        if (
            feature_asset_key(group.name) not in context.selected_asset_keys
        ):  # its checks executed alone
            audits = audit_newest_stored_window(store, group)
            yield from expectation_check_results(
                feature_asset_key(group.name), audits, context.selected_asset_check_keys
            )
            return
        experiment = config.experiment or None
        # Creates or evolves the table (no data); in an experiment, only the experiment's spec.
        store.apply(group, experiment=experiment)
        windows = list(windows_in(context.partition_time_window, group.partitioning))
        inputs = check_inputs(definition, store, context.instance, windows)
        if not inputs.complete and not config.allow_incomplete_inputs:
            raise dg.Failure(
                description=inputs.message(definition),
                metadata={"missing_inputs": dg.MetadataValue.json(inputs.missing)},
                allow_retries=False,
            )
        results, audits = yield from _write_windows(context, definition, store, windows, experiment)
        yield dg.MaterializeResult(
            metadata=write_metadata(results)
            | _input_metadata(inputs)
            | _experiment_metadata(experiment)
            | expectation_metadata(audits),
            check_results=expectation_check_results(
                feature_asset_key(group.name), audits, context.selected_asset_check_keys
            ),
        )

    job = dg.define_asset_job(
        f"{group.name}_job",
        selection=dg.AssetSelection.assets(feature_asset_key(group.name)),
        description=f"Materialize partitions of feature group {group.name}.",
    )
    return dg.Definitions(
        assets=[feature_group_asset], jobs=[job], schedules=[_schedule(definition, job)]
    )


def _feature_asset_spec(group: FeatureGroup, source_dependency: dg.AssetDep) -> dg.AssetSpec:
    """The group's table as the UI shows it: its columns, keys, ttl and owner."""
    return dg.AssetSpec(
        key=feature_asset_key(group.name),
        deps=[source_dependency],
        group_name="features",
        description=group.description or None,
        owners=[group.owner] if group.owner else None,
        tags={**group.tags, "partitioning": group.partitioning},
        kinds={"iceberg", "polars"},
        metadata={
            "dagster/column_schema": column_schema(group),
            "entity": group.entity.name,
            "join_keys": ", ".join(group.join_keys),
            "ttl": str(group.ttl) if group.ttl else "none",
            "online": group.online,
        },
    )


def _write_windows(
    context: dg.AssetExecutionContext,
    definition: FeatureGroupDefinition,
    store: FeatureStore,
    windows: list[TimeWindow],
    experiment: str | None,
) -> Generator[dg.AssetCheckResult, None, tuple[list[WriteResult], list[ExpectationReport]]]:
    """Compute and replace each window in turn; the write results and expectation audits.

    Windows written into an experiment are not audited here (their expectations are judged when
    the experiment is promoted), so such a run reports no expectation check.

    A window refused by a strict expectation ends the run without retries (the same rows would
    be refused again), after reporting the expectation checks: the refused window's failures
    with the audits of the windows committed before it.
    """
    group = definition.group
    results, audits = [], list[ExpectationReport]()
    for window in windows:
        frame = definition.compute(store, window)
        try:
            result = store.write_window(
                group.name, frame, window.start, window.end, experiment=experiment
            )
        except ExpectationFailedError as refused:
            if isinstance(refused.report, ExpectationReport):
                audits.append(refused.report)
            yield from expectation_check_results(
                feature_asset_key(group.name), audits, context.selected_asset_check_keys
            )
            raise dg.Failure(description=str(refused), allow_retries=False) from refused
        audits += [result.expectations] if result.expectations else []
        context.log.info(
            f"{group.name} {window}{f' (experiment {experiment})' if experiment else ''}: "
            f"{result.rows_written} rows written, "
            f"{result.rows_replaced} replaced"
            + ("" if result.rows_written else " (empty window: no data file written)")
        )
        results.append(result)
    return results, audits


CATCH_UP_PERIODS = 3  # how many past periods a tick still computes if they were waiting for input


def _experiment_metadata(experiment: str | None) -> dict[str, dg.MetadataValue]:
    if experiment is None:
        return {}
    return {
        EXPERIMENT_METADATA: dg.MetadataValue.text(experiment),
        "branch": dg.MetadataValue.text(experiment_branch(experiment)),
    }


def _input_metadata(inputs: InputCheck) -> dict[str, dg.MetadataValue]:
    """What the run knew of its input: how it decided, and what it computed without."""
    metadata: dict[str, dg.MetadataValue] = {
        "input_completeness": dg.MetadataValue.text(inputs.evidence or "complete")
    }
    if not inputs.complete:
        metadata["incomplete_inputs_allowed"] = dg.MetadataValue.json(inputs.missing)
    return metadata


def _schedule(
    definition: FeatureGroupDefinition, job: "dg.UnresolvedAssetJobDefinition"
) -> dg.ScheduleDefinition:
    """Materialize partitions as soon as their input is complete, not merely when the clock says.

    Each tick looks at the last few periods that have ended, skips what is materialized and
    requests what has a complete input (a run key per period, so nothing is requested twice).
    A period is the group's partition, or, where the source lands less often than the group's
    partitions (an hourly group on a daily event log), the source's partition: every group
    partition inside it is computed in one run once it has arrived, instead of hourly runs
    writing empty windows.
    """
    group = definition.group
    source = definition.source
    key = feature_asset_key(group.name)
    width = group.partition_width
    period = max(width, PARTITION_WIDTH[source.partitioning]) if source.partitioning else width
    name = f"{group.name}_schedule"

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule="15 * * * *" if group.partitioning == "hourly" else "30 * * * *",
        execution_timezone="UTC",
        description=(
            f"Materialize each {'day' if period >= dt.timedelta(days=1) else 'hour'} of "
            f"{group.name} once its input from {'/'.join(source.key)} is complete."
        ),
    )
    def materialize_when_complete(
        context: dg.ScheduleEvaluationContext, feature_store: FeatureStoreResource
    ) -> list[dg.RunRequest] | dg.SkipReason:
        tick = context.scheduled_execution_time.astimezone(dt.UTC)
        done = _materialized_on_main(context.instance, key)
        store = feature_store.get_store()
        requests, waiting = [], []
        for unit in _recent_periods(tick, period, group.partitioning, group.start_time):
            keys = [partition_key(group.partitioning, w) for w in unit]
            if all(k in done for k in keys):
                continue
            inputs = check_inputs(definition, store, context.instance, unit)
            if not inputs.complete:
                waiting.append(f"{keys[0]}: {', '.join(inputs.missing_parts()[:3])}")
                continue
            run_key = keys[0] if len(keys) == 1 else f"{keys[0]}...{keys[-1]}"
            if len(keys) == 1:
                requests.append(dg.RunRequest(run_key=run_key, partition_key=keys[0]))
            else:
                tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
                requests.append(dg.RunRequest(run_key=run_key, tags=tags))
        if requests:
            return requests
        if waiting:
            return dg.SkipReason("waiting for input: " + "; ".join(waiting))
        return dg.SkipReason("every recent partition is materialized")

    return materialize_when_complete


def _materialized_on_main(instance: dg.DagsterInstance, key: dg.AssetKey) -> set[str]:
    """Partitions materialized, less those whose latest materialization went to an experiment."""
    done = instance.get_materialized_partitions(key)
    latest = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=200)
    seen: set[str] = set()
    for record in latest.records:
        materialization = record.asset_materialization
        partition = record.partition_key
        if materialization is None or partition is None or partition in seen:
            continue
        seen.add(partition)
        if EXPERIMENT_METADATA in materialization.metadata:
            done.discard(partition)
    return set(done)


def _recent_periods(
    tick: dt.datetime, period: dt.timedelta, partitioning: Partitioning, start: dt.datetime
) -> list[list[TimeWindow]]:
    """The group's partitions in each of the last `CATCH_UP_PERIODS` periods ended by `tick`."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    end = epoch + ((tick - epoch) // period) * period
    units = []
    for back in range(CATCH_UP_PERIODS, 0, -1):
        period_end = end - (back - 1) * period
        unit = list(
            partition_windows(partitioning, start, TimeWindow(period_end - period, period_end))
        )
        if unit:
            units.append(unit)
    return units
