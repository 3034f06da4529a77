"""`compaction/<group>`: scheduled maintenance of a group's Iceberg table, and its health checks."""

import dagster as dg

from feature_platform.maintenance.compaction import plan_compaction
from feature_platform.maintenance.runner import MaintenanceReport, maintain_group
from feature_platform.orchestration.feature_assets import feature_asset_key
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.orchestration.run_config import NoOptions
from feature_platform.sources import FeatureGroupDefinition

MAINTENANCE_PREFIX = "compaction"


def maintenance_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([MAINTENANCE_PREFIX, name])


def build_maintenance_definitions(definition: FeatureGroupDefinition) -> dg.Definitions:
    """The maintenance asset of one group, its job and schedule, and two table-health checks."""
    group = definition.group
    policy = definition.maintenance
    features_key = feature_asset_key(group.name)

    @dg.asset(
        key=maintenance_asset_key(group.name),
        deps=[features_key],
        group_name="maintenance",
        description=(
            f"Compacts small files of {group.name}, expires snapshots older than "
            f"{policy.snapshot_retention} (keeping the last {policy.retain_last}) with their "
            f"files, and removes orphan files older than {policy.orphan_min_age}."
        ),
        kinds={"iceberg"},
        owners=[group.owner] if group.owner else None,
        pool=f"iceberg_{group.name}",
    )
    def maintenance(
        context: dg.AssetExecutionContext, config: NoOptions, feature_store: FeatureStoreResource
    ) -> dg.MaterializeResult[None]:
        report = maintain_group(feature_store.get_store(), group.name, policy)
        for message in report.compaction.skipped:
            context.log.warning(message)
        return dg.MaterializeResult(metadata=maintenance_metadata(report))

    @dg.asset_check(
        asset=features_key,
        name="few_small_files",
        description=f"Warns when a partition has more than {policy.min_small_files} small files.",
    )
    def few_small_files(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        plans = plan_compaction(feature_store.get_store().table(group.name), policy)
        worst = sorted(plans, key=lambda p: len(p.files), reverse=True)[:10]
        return dg.AssetCheckResult(
            passed=not plans,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "partitions_needing_compaction": len(plans),
                "worst": dg.MetadataValue.json({p.partition: len(p.files) for p in worst}),
            },
        )

    @dg.asset_check(
        asset=features_key,
        name="few_snapshots",
        description=f"Warns when the table keeps more than {policy.max_snapshots} snapshots.",
    )
    def few_snapshots(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        count = len(feature_store.get_store().table(group.name).snapshots())
        return dg.AssetCheckResult(
            passed=count <= policy.max_snapshots,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"snapshots": count, "limit": policy.max_snapshots},
        )

    job = dg.define_asset_job(
        f"{group.name}_maintenance_job",
        selection=dg.AssetSelection.assets(maintenance_asset_key(group.name)),
    )
    schedule = dg.ScheduleDefinition(
        name=f"{group.name}_maintenance_schedule",
        job=job,
        cron_schedule=definition.maintenance_schedule,
        execution_timezone="UTC",
        # Maintenance is safe to run unattended, and small files pile up if it does not run.
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    return dg.Definitions(
        assets=[maintenance],
        asset_checks=[few_small_files, few_snapshots],
        jobs=[job],
        schedules=[schedule],
    )


def maintenance_metadata(report: MaintenanceReport) -> dict[str, dg.MetadataValue]:
    compaction, expiry, orphans = report.compaction, report.expiry, report.orphans
    return {
        "partitions_compacted": dg.MetadataValue.int(len(compaction.partitions)),
        "files_before": dg.MetadataValue.int(compaction.files_before),
        "files_after": dg.MetadataValue.int(compaction.files_after),
        "bytes_before": dg.MetadataValue.int(compaction.bytes_before),
        "bytes_after": dg.MetadataValue.int(compaction.bytes_after),
        "rows_rewritten": dg.MetadataValue.int(compaction.rows_rewritten),
        "duplicates_dropped": dg.MetadataValue.int(compaction.duplicates_dropped),
        "partitions_skipped": dg.MetadataValue.int(len(compaction.skipped)),
        "compaction_seconds": dg.MetadataValue.float(compaction.seconds),
        "snapshots_before": dg.MetadataValue.int(expiry.snapshots_before),
        "snapshots_expired": dg.MetadataValue.int(len(expiry.snapshots_expired)),
        "stored_files_before": dg.MetadataValue.int(expiry.files_before),
        "stored_bytes_before": dg.MetadataValue.int(expiry.bytes_before),
        "stored_files_after": dg.MetadataValue.int(orphans.files_after),
        "stored_bytes_after": dg.MetadataValue.int(orphans.bytes_after),
        "expired_files_deleted": dg.MetadataValue.int(len(expiry.files_deleted)),
        "expired_bytes_deleted": dg.MetadataValue.int(expiry.bytes_deleted),
        "expiry_seconds": dg.MetadataValue.float(expiry.seconds),
        "orphan_files_deleted": dg.MetadataValue.int(len(orphans.files_deleted)),
        "orphan_bytes_deleted": dg.MetadataValue.int(orphans.bytes_deleted),
        "orphans_too_young": dg.MetadataValue.int(orphans.too_young),
        "orphan_seconds": dg.MetadataValue.float(orphans.seconds),
    }
