"""`online/<group>`: the online store kept in step with the offline table, for online groups.

The asset's cursor (the offline snapshot it last synced) is kept in its own materialization
metadata, so the code stays stateless and any run launcher can run it; a run that fails records
nothing and the next one starts from the same cursor (online writes are latest-wins, so redoing
part of a sync is harmless).

Each sync first records an observation ("sync started"). A started sync with no materialization
after it stopped part way (it failed, or its process was killed): the online store may then
hold values the offline table held only in between, so the next sync rewrites every entity of
the changed windows instead of skipping those that look unchanged since the cursor.

Next to the cursor the metadata records the ttl the sync applied. Raising a group's ttl commits
no offline snapshot, so the values it brings back to life are in no change since the cursor:
a run that finds the ttl larger than recorded loads every live value instead (a bootstrap;
online items are only replaced by newer-or-equal rows, so this is safe). A lowered ttl needs
nothing: reads hide values older than the ttl.
"""

import datetime as dt
import math

import dagster as dg

from feature_platform.online_sync import SyncReport, sync_online
from feature_platform.orchestration.automation import after_upstream_updates
from feature_platform.orchestration.feature_assets import feature_asset_key
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition

ONLINE_PREFIX = "online"
CURSOR_METADATA = "offline_snapshot_id"
LOCATION_METADATA = "online_table"  # the cursor holds only for the table it was reached in
TTL_METADATA = "ttl_seconds"  # the ttl the sync applied, in seconds, or "none" (unlimited)


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
        automation_condition=after_upstream_updates(),
        pool=f"online_{group.name}",
    )
    def online_sync(
        context: dg.AssetExecutionContext,
        config: OnlineSyncConfig,
        feature_store: FeatureStoreResource,
    ) -> dg.MaterializeResult[None]:
        store = feature_store.get_store()
        last_sync = _latest_materialization(context, key)
        last = _metadata_of(last_sync)
        cursor = None if config.full_resync else _last_cursor(last)
        spec = store.get_feature_group(group.name)  # the applied spec, as the sync reads it
        ttl = spec.ttl
        recorded = _recorded_ttl_seconds(last)
        if cursor is not None and recorded is not None and _seconds(ttl) > recorded:
            context.log.info(
                f"{group.name}: the ttl was raised from {_ttl_label(recorded)} to "
                f"{_ttl_label(_seconds(ttl))} since the last sync; values it made live again "
                "are in no offline change since the cursor, so every live value is loaded "
                "(a bootstrap; online items are only replaced by newer-or-equal rows)"
            )
            cursor = None
        location = store.online.location(spec)
        recorded_location = (last or {}).get(LOCATION_METADATA)
        if cursor is not None and recorded_location not in (None, location):
            context.log.info(
                f"{group.name}: the last sync wrote to {recorded_location}, this one writes to "
                f"{location}; its cursor says nothing about this table, so every live value "
                "is loaded (a bootstrap)"
            )
            cursor = None
        interrupted = _a_sync_stopped_part_way(context, key, last_sync)
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
        report = sync_online(store, group.name, cursor, after_interrupted_sync=interrupted)
        context.log.info(
            f"{group.name}: {report.items_written} items written, {report.items_skipped} "
            f"refused as stale, {report.items_corrected} corrected and {report.items_deleted} "
            f"deleted (their newest row left the table), {report.entities_superseded} superseded, "
            f"{report.windows_expired} of {report.windows_examined} windows past the ttl"
        )
        metadata = sync_metadata(report)
        # Should the ttl have changed between the check above and the sync's own read of the
        # spec, record the shorter: a later run then still sees the raise and bootstraps.
        applied = min(_seconds(ttl), _seconds(report.ttl))
        metadata[TTL_METADATA] = dg.MetadataValue.text(_ttl_text(applied))
        metadata[LOCATION_METADATA] = dg.MetadataValue.text(location)
        return dg.MaterializeResult(metadata=metadata)

    return dg.Definitions(assets=[online_sync])


def _latest_materialization(
    context: dg.AssetExecutionContext, key: dg.AssetKey
) -> dg.EventLogRecord | None:
    """The record of the asset's latest materialization (the last finished sync), if any."""
    records = context.instance.fetch_materializations(key, limit=1).records
    return records[0] if records else None


def _metadata_of(record: dg.EventLogRecord | None) -> dict[str, object] | None:
    """The metadata values of a materialization record, or None when there is none."""
    materialization = record.asset_materialization if record is not None else None
    if materialization is None:
        return None
    return {name: value.value for name, value in materialization.metadata.items()}


def _last_cursor(last: dict[str, object] | None) -> int | None:
    text = str((last or {}).get(CURSOR_METADATA, ""))
    return int(text) if text.isdigit() else None


def _recorded_ttl_seconds(last: dict[str, object] | None) -> float | None:
    """The ttl the last sync applied (`math.inf`: unlimited); None when it recorded none.

    Materializations from before the ttl was recorded say nothing about it: they do not force
    a bootstrap (a full resync does, when wanted).
    """
    if last is None or TTL_METADATA not in last:
        return None
    text = str(last[TTL_METADATA])
    if text == "none":
        return math.inf
    try:
        return float(text)
    except ValueError:
        return None


def _seconds(ttl: dt.timedelta | None) -> float:
    return math.inf if ttl is None else ttl.total_seconds()


def _ttl_text(seconds: float) -> str:
    return "none" if math.isinf(seconds) else repr(seconds)


def _ttl_label(seconds: float) -> str:
    if math.isinf(seconds):
        return "unlimited"
    try:
        return str(dt.timedelta(seconds=seconds))
    except OverflowError:
        return f"{seconds:g} s"


def _a_sync_stopped_part_way(
    context: dg.AssetExecutionContext, key: dg.AssetKey, finished: dg.EventLogRecord | None
) -> bool:
    """Whether the latest "sync started" observation has no materialization (`finished`, the
    latest) after it."""
    started = context.instance.fetch_observations(key, limit=1).records
    if not started:
        return False
    return finished is None or finished.storage_id < started[0].storage_id


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
        "items_corrected": dg.MetadataValue.int(report.items_corrected),
        "items_deleted": dg.MetadataValue.int(report.items_deleted),
        "corrections_refused": dg.MetadataValue.int(report.corrections_refused),
        "seconds": dg.MetadataValue.float(report.seconds),
    }
