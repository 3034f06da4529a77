"""`online/<group>`: the online store kept in step with the offline table, for online groups.

The asset only wires the sync (`feature_platform.sync`) to Dagster. Its cursor (the offline
snapshot it last synced) is kept in its own materialization metadata, so the code stays
stateless and any run launcher can run it; a run that fails records nothing and the next one
starts from the same cursor (online writes are latest-wins, so redoing part of a sync is
harmless). Next to the cursor the metadata records the ttl the sync applied and the online
table it wrote; `feature_platform.sync.cursor` decides from them whether the cursor still holds.

Each sync first records an observation ("sync started"). A started sync with no materialization
after it stopped part way (it failed, or its process was killed), so the next sync rewrites
every entity of the changed windows instead of skipping those that look unchanged.
"""

import dagster as dg

from feature_platform.offline_store.schema import applied_group
from feature_platform.orchestration.feature_assets import downstream_asset_args
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition
from feature_platform.sync import SyncReport, sync_table
from feature_platform.sync.cursor import LOCATION_METADATA, TTL_METADATA, sync_start, ttl_record

ONLINE_PREFIX = "online"


def online_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([ONLINE_PREFIX, name])


class OnlineSyncConfig(dg.Config):
    """Run options of one sync."""

    full_resync: bool = False  # ignore the cursor and load every live value again


def build_online_definitions(
    definition: FeatureGroupDefinition, online_kind: str = "embedded"
) -> dg.Definitions:
    """The sync asset of an online group (none for offline groups).

    `online_kind` (the configured online store) only labels the asset in the UI.
    """
    group = definition.group
    if not group.online:
        return dg.Definitions()
    key = online_asset_key(group.name)
    ttl = f"values older than {group.ttl} are not loaded" if group.ttl else "no ttl"

    @dg.asset(
        key=key,
        group_name="online",
        description=(
            f"Latest live values of {group.name} per {group.entity.name} in the online store "
            f"({ttl}). Syncs only entities whose latest row changed since the last run; "
            "backfills of windows older than the ttl or superseded by newer rows write nothing."
        ),
        kinds={"dynamodb" if online_kind == "dynamodb" else "sqlite"},
        tags={"online": "true"},
        pool=f"online_{group.name}",
        **downstream_asset_args(group),
    )
    def online_sync(
        context: dg.AssetExecutionContext,
        config: OnlineSyncConfig,
        feature_store: FeatureStoreResource,
    ) -> dg.MaterializeResult[None]:
        return _sync(context, key, feature_store, group.name, config.full_resync)

    return dg.Definitions(assets=[online_sync])


def _sync(
    context: dg.AssetExecutionContext,
    key: dg.AssetKey,
    feature_store: FeatureStoreResource,
    name: str,
    full_resync: bool,
) -> dg.MaterializeResult[None]:
    """One sync, started from what the asset's event log says about the last ones."""
    store = feature_store.get_store()
    table = store.table(name)  # loaded once: the spec checked here is the one the sync applies
    spec = applied_group(table)
    location = store.online.location(spec)
    finished = _latest_record(context.instance.fetch_materializations(key, limit=1))
    started = _latest_record(context.instance.fetch_observations(key, limit=1))
    start = sync_start(
        _metadata_of(finished),
        ttl=spec.ttl,
        location=location,
        full_resync=full_resync,
        last_started=started.storage_id if started else None,
        last_finished=finished.storage_id if finished else None,
    )
    if start.reason:
        context.log.info(f"{name}: {start.reason}")
    if start.after_interrupted_sync:
        context.log.warning(
            f"{name}: a previous sync started and did not finish; entities of the "
            "changed windows are rewritten even where they look unchanged since the cursor"
        )
    context.log_event(
        dg.AssetObservation(
            asset_key=key,
            metadata={"sync_started_from": dg.MetadataValue.text(str(start.cursor or "none"))},
        )
    )
    report = sync_table(
        table,
        spec,
        store.online,
        start.cursor,
        after_interrupted_sync=start.after_interrupted_sync,
    )
    context.log.info(
        f"{name}: {report.items_written} items written, {report.items_skipped} "
        f"refused as stale, {report.items_corrected} corrected and {report.items_deleted} "
        f"deleted (their newest row left the table), {report.entities_superseded} superseded, "
        f"{report.windows_expired} of {report.windows_examined} windows past the ttl"
    )
    metadata = sync_metadata(report)
    metadata[TTL_METADATA] = dg.MetadataValue.text(ttl_record(report.ttl))
    metadata[LOCATION_METADATA] = dg.MetadataValue.text(location)
    return dg.MaterializeResult(metadata=metadata)


def _latest_record(result: dg.EventRecordsResult) -> dg.EventLogRecord | None:
    return result.records[0] if result.records else None


def _metadata_of(record: dg.EventLogRecord | None) -> dict[str, object] | None:
    """The metadata values of a materialization record, or None when there is none."""
    materialization = record.asset_materialization if record is not None else None
    if materialization is None:
        return None
    return {name: value.value for name, value in materialization.metadata.items()}


def sync_metadata(report: SyncReport) -> dict[str, dg.MetadataValue]:
    """The report as Dagster metadata, typed so the UI shows numbers and flags as such."""
    return {key: _metadata_value(value) for key, value in report.as_metadata().items()}


def _metadata_value(value: str | int | float | bool) -> dg.MetadataValue:
    if isinstance(value, bool):  # before int: a bool is an int
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    return dg.MetadataValue.text(value)
