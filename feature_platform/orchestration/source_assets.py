"""Dagster assets of the sources feature groups read, such as the demo's click-event log."""

import dagster as dg

from feature_platform.demo.event_log import ClickEventLog
from feature_platform.errors import ConfigurationError
from feature_platform.orchestration.partitions import partitions_def_for, windows_in
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.orchestration.run_config import NoOptions
from feature_platform.sources import Source


def build_source_definitions(source: Source) -> dg.Definitions:
    """Dagster definitions of a source; each kind of source registers its builder here."""
    if isinstance(source, ClickEventLog):
        return build_click_events_definitions(source)
    raise ConfigurationError(
        f"no Dagster asset builder for source {type(source).__name__}; add one to "
        "feature_platform/orchestration/source_assets.py"
    )


def build_click_events_definitions(log: ClickEventLog) -> dg.Definitions:
    """The `demo/click_events` asset (one partition per event day), its job and schedule."""
    partitions_def = partitions_def_for(log.partitioning, log.start)
    key = dg.AssetKey(list(log.key))

    @dg.asset(
        key=key,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="sources",
        description="Synthetic news impressions and clicks, ~5% arriving up to 36 h late.",
        kinds={"iceberg", "polars"},
        owners=["team:recsys"],
        pool=f"iceberg_{log.table_name}",
    )
    def click_events(
        context: dg.AssetExecutionContext, config: NoOptions, feature_store: FeatureStoreResource
    ) -> dg.MaterializeResult[None]:
        store = feature_store.get_store()
        rows = 0
        for window in windows_in(context.partition_time_window, log.partitioning):
            rows += log.ingest(store, window).rows_written
        return dg.MaterializeResult(metadata={"rows_written": dg.MetadataValue.int(rows)})

    job = dg.define_asset_job("click_events_job", selection=dg.AssetSelection.assets(key))
    schedule = dg.build_schedule_from_partitioned_job(
        job, name="click_events_schedule", minute_of_hour=5, hour_of_day=0
    )
    return dg.Definitions(assets=[click_events], jobs=[job], schedules=[schedule])
