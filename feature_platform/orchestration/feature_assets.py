"""The asset factory: one `FeatureGroupDefinition` in, the group's Dagster definitions out.

Each group becomes a time-partitioned asset ``features/<group>`` whose partitions are its
backfill unit, a job over it and a schedule that materializes the newest partition.
"""

import dagster as dg

from feature_platform.orchestration.metadata import column_schema, write_metadata
from feature_platform.orchestration.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    partitions_def_for,
    windows_in,
)
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.orchestration.run_config import NoOptions
from feature_platform.sources import FeatureGroupDefinition
from feature_platform.specs import PARTITION_WIDTH

FEATURES_PREFIX = "features"


def feature_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([FEATURES_PREFIX, name])


def build_feature_group_definitions(definition: FeatureGroupDefinition) -> dg.Definitions:
    """Asset, job and schedule of one feature group."""
    group = definition.group
    partitions_def = partitions_def_for(group.partitioning, group.start_time)
    source_dependency = dg.AssetDep(
        dg.AssetKey(list(definition.source.key)),
        partition_mapping=dg.TimeWindowPartitionMapping(
            start_offset=-definition.lookback_partitions,
            allow_nonexistent_upstream_partitions=True,
        ),
    )

    @dg.asset(
        key=feature_asset_key(group.name),
        deps=[source_dependency],
        partitions_def=partitions_def,
        # One run per backfill: the UI's partition backfill and `dagster asset materialize
        # --partition-range` both hand the whole range to one run, which commits per partition.
        backfill_policy=dg.BackfillPolicy.single_run(),
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
        pool=f"iceberg_{group.name}",
    )
    def feature_group_asset(
        context: dg.AssetExecutionContext, config: NoOptions, feature_store: FeatureStoreResource
    ) -> dg.MaterializeResult[None]:
        store = feature_store.get_store()
        store.apply(group)
        results = []
        for window in windows_in(context.partition_time_window, group.partitioning):
            frame = definition.compute(store, window)
            result = store.write_window(group.name, frame, window.start, window.end)
            context.log.info(
                f"{group.name} {window}: {result.rows_written} rows written, "
                f"{result.rows_replaced} replaced"
                + ("" if result.rows_written else " (empty window: no data file written)")
            )
            results.append(result)
        return dg.MaterializeResult(metadata=write_metadata(results))

    job = dg.define_asset_job(
        f"{group.name}_job",
        selection=dg.AssetSelection.assets(feature_asset_key(group.name)),
        description=f"Materialize partitions of feature group {group.name}.",
    )
    return dg.Definitions(
        assets=[feature_group_asset], jobs=[job], schedules=[_schedule(definition, job)]
    )


def _schedule(
    definition: FeatureGroupDefinition, job: "dg.UnresolvedAssetJobDefinition"
) -> "dg.ScheduleDefinition | dg.UnresolvedPartitionedAssetScheduleDefinition":
    """Materialize partitions as soon as their source data is complete.

    When the source lands as often as the group's partitions, that is the newest partition. When
    it lands less often (an hourly group on a daily event log), running every hour would write
    empty windows, so the schedule runs at the source's cadence and materializes, in one run,
    every partition of the source period that just completed.
    """
    group = definition.group
    name = f"{group.name}_schedule"
    if PARTITION_WIDTH[definition.source.partitioning] <= group.partition_width:
        return dg.build_schedule_from_partitioned_job(
            job,
            name=name,
            description=f"Materialize the newest complete partition of {group.name}.",
            minute_of_hour=15 if group.partitioning == "hourly" else 30,
            hour_of_day=1 if group.partitioning == "daily" else None,
        )
    partitions_def = partitions_def_for(group.partitioning, group.start_time)
    source_partitions = partitions_def_for(definition.source.partitioning, definition.source.start)

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=_cron_after(definition.source.partitioning),
        execution_timezone="UTC",
        description=(
            f"Materialize the {group.partitioning} partitions of {group.name} for each completed "
            f"{definition.source.partitioning} partition of its source."
        ),
    )
    def catch_up(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        source_window = source_partitions.get_prev_partition_window(
            context.scheduled_execution_time
        )
        if source_window is None:
            return dg.SkipReason("the source has no complete partition yet")
        keys = partitions_def.get_partition_keys_in_time_window(source_window)
        return dg.RunRequest(
            run_key=f"{keys[0]}...{keys[-1]}",
            tags={
                RANGE_START_TAG: keys[0],
                RANGE_END_TAG: keys[-1],
            },
        )

    return catch_up


def _cron_after(source_partitioning: str) -> str:
    """A while after the source's own schedule (minute 5) has ingested the period."""
    return "45 0 * * *" if source_partitioning == "daily" else "45 * * * *"
