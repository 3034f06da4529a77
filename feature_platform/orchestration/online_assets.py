"""`online/<group>`: the online store kept in step with the offline table, for online groups.

The asset's cursor (the offline snapshot it last synced) is kept in its own materialization
metadata, so the code stays stateless and any run launcher can run it; a run that fails records
nothing and the next one starts from the same cursor (online writes are latest-wins, so redoing
part of a sync is harmless).

Each sync first records an observation ("sync started"). A started sync with no materialization
after it stopped part way (it failed, or its process was killed): the online store may then
hold values the offline table held only in between, so the next sync rewrites every entity of
the changed windows instead of skipping those that look unchanged since the cursor.
"""

import dagster as dg

from feature_platform.online_sync import SyncReport, sync_online
from feature_platform.orchestration.feature_assets import feature_asset_key
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition

ONLINE_PREFIX = "online"
CURSOR_METADATA = "offline_snapshot_id"


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
        deps=[feature_asset_key(group.name)],
        group_name="online",
        description=(
            f"Latest live values of {group.name} per {group.entity.name} in the online store "
            f"({ttl}). Syncs only entities whose latest row changed since the last run; "
            "backfills of windows older than the ttl or superseded by newer rows write nothing."
        ),
        owners=[group.owner] if group.owner else None,
        kinds={"dynamodb" if online_kind == "dynamodb" else "sqlite"},
        tags={"online": "true"},
        # Not while a blocking data check of the upstream group fails.
        automation_condition=dg.AutomationCondition.eager()
        & dg.AutomationCondition.all_deps_blocking_checks_passed(),
        pool=f"online_{group.name}",
    )
    def online_sync(
        context: dg.AssetExecutionContext,
        config: OnlineSyncConfig,
        feature_store: FeatureStoreResource,
    ) -> dg.MaterializeResult[None]:
        cursor = None if config.full_resync else _last_cursor(context, key)
        interrupted = _a_sync_stopped_part_way(context, key)
        if interrupted:
            context.log.warning(
                f"{group.name}: a previous sync started and did not finish; entities of the "
                "changed windows are rewritten even where they look unchanged since the cursor"
            )
        context.log_event(
            dg.AssetObservation(
                asset_key=key,
                metadata={"sync_started_from": dg.MetadataValue.text(str(cursor or "none"))},
            )
        )
        report = sync_online(
            feature_store.get_store(), group.name, cursor, after_interrupted_sync=interrupted
        )
        context.log.info(
            f"{group.name}: {report.items_written} items written, {report.items_skipped} "
            f"refused as stale, {report.entities_superseded} superseded, "
            f"{report.windows_expired} of {report.windows_examined} windows past the ttl"
        )
        return dg.MaterializeResult(metadata=sync_metadata(report))

    return dg.Definitions(assets=[online_sync])


def _last_cursor(context: dg.AssetExecutionContext, key: dg.AssetKey) -> int | None:
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get(CURSOR_METADATA)
    text = str(value.value) if value is not None else ""
    return int(text) if text.isdigit() else None


def _a_sync_stopped_part_way(context: dg.AssetExecutionContext, key: dg.AssetKey) -> bool:
    """Whether the latest "sync started" observation has no materialization after it."""
    started = context.instance.fetch_observations(key, limit=1).records
    if not started:
        return False
    finished = context.instance.fetch_materializations(key, limit=1).records
    return not finished or finished[0].storage_id < started[0].storage_id


def sync_metadata(report: SyncReport) -> dict[str, dg.MetadataValue]:
    return {
        CURSOR_METADATA: dg.MetadataValue.text(
            str(report.to_snapshot_id) if report.to_snapshot_id is not None else "none"
        ),
        "from_snapshot_id": dg.MetadataValue.text(str(report.from_snapshot_id or "none")),
        "bootstrap": dg.MetadataValue.bool(report.bootstrap),
        "after_interrupted_sync": dg.MetadataValue.bool(report.after_interrupted_sync),
        "windows_examined": dg.MetadataValue.int(report.windows_examined),
        "windows_expired": dg.MetadataValue.int(report.windows_expired),
        "rows_read": dg.MetadataValue.int(report.rows_read),
        "entities_changed": dg.MetadataValue.int(report.entities_changed),
        "entities_superseded": dg.MetadataValue.int(report.entities_superseded),
        "items_written": dg.MetadataValue.int(report.items_written),
        "items_skipped": dg.MetadataValue.int(report.items_skipped),
        "seconds": dg.MetadataValue.float(report.seconds),
    }
