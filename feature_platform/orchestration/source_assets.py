"""Dagster assets of the sources feature groups read, built from what each source says of itself.

A source the platform writes (`ProducedSource`, like the demo's event log) becomes a
materializable asset with a job and a schedule; any other source this code location defines
becomes an external asset, with a sensor that records how far it is complete (watermark,
newest partition, snapshot) as observations; a source whose key names an asset defined elsewhere
(another code location's, or another feature group) adds nothing: the feature asset's dependency
on that key draws the lineage.
"""

import json

import dagster as dg

from feature_platform.orchestration.partitions import partitions_def_for, windows_in
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.orchestration.run_config import NoOptions
from feature_platform.sources.base import ProducedSource, Source, SourceObservation

SOURCES_GROUP = "sources"
OBSERVATION_INTERVAL_SECONDS = 300


def source_asset_key(source: Source) -> dg.AssetKey:
    return dg.AssetKey(list(source.key))


def build_source_definitions(source: Source) -> dg.Definitions:
    """The source's asset, and how it is kept current: a schedule, or observations."""
    if not source.defines_asset:
        return dg.Definitions()
    if isinstance(source, ProducedSource):
        return _produced_source_definitions(source)
    return _external_source_definitions(source)


def _produced_source_definitions(source: ProducedSource) -> dg.Definitions:
    """A partitioned asset whose partitions the platform writes, its job and schedule."""
    key = source_asset_key(source)
    name = "_".join(source.key)
    partitioning = source.partitioning or "daily"
    partitions_def = partitions_def_for(partitioning, source.start)

    @dg.asset(
        key=key,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=SOURCES_GROUP,
        description=source.description or None,
        kinds={"iceberg", "polars"},
        pool=f"source_{name}",
    )
    def produced_source(
        context: dg.AssetExecutionContext, config: NoOptions, feature_store: FeatureStoreResource
    ) -> dg.MaterializeResult[None]:
        store = feature_store.get_store()
        rows = sum(
            source.produce(store, window)
            for window in windows_in(context.partition_time_window, partitioning)
        )
        return dg.MaterializeResult(metadata={"rows_written": dg.MetadataValue.int(rows)})

    job = dg.define_asset_job(f"{source.key[-1]}_job", selection=dg.AssetSelection.assets(key))
    schedule = dg.build_schedule_from_partitioned_job(
        job,
        name=f"{source.key[-1]}_schedule",
        minute_of_hour=5,
        hour_of_day=0 if partitioning == "daily" else None,
    )
    return dg.Definitions(assets=[produced_source], jobs=[job], schedules=[schedule])


def _external_source_definitions(source: Source) -> dg.Definitions:
    """An external asset (data that arrives by other means) and a sensor observing it."""
    key = source_asset_key(source)
    spec = dg.AssetSpec(
        key,
        description=source.description or None,
        group_name=SOURCES_GROUP,
        partitions_def=(
            partitions_def_for(source.partitioning, source.start) if source.partitioning else None
        ),
    )

    @dg.sensor(
        name=f"{'_'.join(source.key)}_observer",
        minimum_interval_seconds=OBSERVATION_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Records how far {key.to_user_string()} is complete, as an observation.",
    )
    def observe_source(
        context: dg.SensorEvaluationContext, feature_store: FeatureStoreResource
    ) -> dg.SensorResult | dg.SkipReason:
        observation = source.observe(feature_store.get_store())
        if observation is None:
            return dg.SkipReason(f"{key.to_user_string()} cannot tell how far it is complete")
        metadata = observation_metadata(observation)
        fingerprint = json.dumps({k: str(v.value) for k, v in metadata.items()}, sort_keys=True)
        if fingerprint == context.cursor:
            return dg.SkipReason("no change since the last observation")
        return dg.SensorResult(
            asset_events=[dg.AssetObservation(asset_key=key, metadata=metadata)],
            cursor=fingerprint,
        )

    return dg.Definitions(assets=[spec], sensors=[observe_source])


def observation_metadata(observation: SourceObservation) -> dict[str, dg.MetadataValue]:
    """The observation's facts as Dagster metadata (only those the source knows)."""
    metadata: dict[str, dg.MetadataValue] = {}
    if observation.complete_through is not None:
        metadata["complete_through"] = dg.MetadataValue.timestamp(observation.complete_through)
    if observation.newest_partition is not None:
        metadata["newest_partition"] = dg.MetadataValue.text(observation.newest_partition)
    if observation.snapshot_id is not None:
        metadata["snapshot_id"] = dg.MetadataValue.text(str(observation.snapshot_id))
    for name, value in observation.details.items():
        metadata[name] = (
            dg.MetadataValue.text(value)
            if isinstance(value, str)
            else dg.MetadataValue.float(value)
            if isinstance(value, float)
            else dg.MetadataValue.int(value)
        )
    return metadata
