"""Asset checks on every `features/<group>`: the data checks of `feature_platform.quality`.

Severe failures (wrong schema, null keys, rows outside their partition, ambiguous duplicates,
empty files) are ERROR checks marked blocking: a run that materializes the group stops before
its downstream assets, and `online/<group>` and `snowflake/<group>` only auto-run once every
blocking check of their upstream passed, so bad data is not served or published. Staleness is a
warning: it is worth a look, not a reason to stop serving what there is.
"""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from feature_platform import quality
from feature_platform.orchestration.feature_assets import feature_asset_key
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition
from feature_platform.specs import PARTITION_WIDTH

# How far back the duplicate check scans (at least one ttl, where the group has one).
DUPLICATE_SCAN = dt.timedelta(days=3)
FRESHNESS_GRACE = dt.timedelta(hours=3)

Check = Callable[[FeatureStoreResource], dg.AssetCheckResult]


def freshness_limit(definition: FeatureGroupDefinition) -> dt.timedelta:
    """Two of the group's scheduling periods plus a grace.

    A group is scheduled at the coarser of its own and its source's partitioning (an hourly
    group on a daily log runs daily), and a period is only computed once it has ended.
    """
    cadence = max(definition.group.partition_width, PARTITION_WIDTH[definition.source.partitioning])
    return 2 * cadence + FRESHNESS_GRACE


def build_quality_checks(definition: FeatureGroupDefinition) -> list[dg.AssetChecksDefinition]:
    group = definition.group
    key = feature_asset_key(group.name)
    limit = freshness_limit(definition)
    scan_back = max(DUPLICATE_SCAN, group.ttl or DUPLICATE_SCAN)

    def result(
        outcome: quality.CheckOutcome, severity: dg.AssetCheckSeverity
    ) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(
            passed=outcome.passed,
            severity=severity,
            metadata={name: _metadata(value) for name, value in outcome.facts.items()},
        )

    error = dg.AssetCheckSeverity.ERROR

    @dg.asset_check(
        asset=key,
        name="schema_matches_spec",
        blocking=True,
        description="Every column of the spec exists in the table with the spec's type.",
    )
    def schema_matches_spec(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        table = feature_store.get_store().table(group.name)
        return result(quality.schema_matches_spec(table, group), error)

    @dg.asset_check(
        asset=key,
        name="no_null_join_keys",
        blocking=True,
        description="No row lacks a join key (from the data files' null counts).",
    )
    def no_null_join_keys(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        table = feature_store.get_store().table(group.name)
        return result(quality.no_null_join_keys(table, group), error)

    @dg.asset_check(
        asset=key,
        name="event_times_inside_partitions",
        blocking=True,
        description="Each data file's event times lie inside its partition's window.",
    )
    def event_times_inside_partitions(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        table = feature_store.get_store().table(group.name)
        return result(quality.event_times_inside_partitions(table, group), error)

    @dg.asset_check(
        asset=key,
        name="no_duplicate_rows",
        blocking=True,
        description=(
            f"No two rows share keys, event_time and created_at (rows of the last {scan_back})."
        ),
    )
    def no_duplicate_rows(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        table = feature_store.get_store().table(group.name)
        newest = quality.newest_event_time(table)
        since = (newest or dt.datetime.now(dt.UTC)) - scan_back
        return result(quality.no_duplicate_rows(table, group, since), error)

    @dg.asset_check(
        asset=key,
        name="no_empty_data_files",
        blocking=True,
        description="No data file holds 0 rows or 0 bytes.",
    )
    def no_empty_data_files(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        table = feature_store.get_store().table(group.name)
        return result(quality.no_empty_data_files(table), error)

    @dg.asset_check(
        asset=key,
        name="fresh",
        description=f"The newest event time is at most {limit} old.",
    )
    def fresh(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        table = feature_store.get_store().table(group.name)
        return result(quality.fresh(table, limit), dg.AssetCheckSeverity.WARN)

    return [
        schema_matches_spec,
        no_null_join_keys,
        event_times_inside_partitions,
        no_duplicate_rows,
        no_empty_data_files,
        fresh,
    ]


def _metadata(value: object) -> dg.MetadataValue:
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if isinstance(value, list | dict):
        return dg.MetadataValue.json(value)
    return dg.MetadataValue.text("none" if value is None else str(value))


def build_quality_definitions(definition: FeatureGroupDefinition) -> dg.Definitions:
    return dg.Definitions(asset_checks=build_quality_checks(definition))
