"""Asset checks on every `features/<group>`: the data checks of `offline_store.quality`.

Severe failures (wrong schema, null keys, rows outside their partition, ambiguous duplicates,
empty files) are ERROR checks marked blocking: a run that materializes the group stops before
its downstream assets, and `online/<group>` and `snowflake/<group>` only auto-run once every
blocking check of their upstream passed, so bad data is not served or published. Staleness is a
warning: it is worth a look, not a reason to stop serving what there is.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import dagster as dg
from pyiceberg.table import Table

from feature_platform.offline_store import quality
from feature_platform.orchestration.feature_assets import feature_asset_key
from feature_platform.orchestration.metadata import metadata_value
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition
from feature_platform.specs import PARTITION_WIDTH

# How far back the duplicate check scans (at least one ttl, where the group has one).
DUPLICATE_SCAN = dt.timedelta(days=3)
FRESHNESS_GRACE = dt.timedelta(hours=3)


def freshness_limit(definition: FeatureGroupDefinition) -> dt.timedelta:
    """Two of the group's scheduling periods plus a grace.

    A group is scheduled at the coarser of its own and its source's partitioning (an hourly
    group on a daily log runs daily), and a period is only computed once it has ended.
    """
    source = definition.source.partitioning
    cadence = max(definition.group.partition_width, PARTITION_WIDTH[source or "hourly"])
    return 2 * cadence + FRESHNESS_GRACE


@dataclass(frozen=True)
class _DataCheck:
    name: str
    description: str
    run: Callable[[Table], quality.CheckOutcome]
    blocking: bool = True  # an ERROR that stops downstream assets; else a WARN


def build_quality_checks(definition: FeatureGroupDefinition) -> list[dg.AssetChecksDefinition]:
    """The group's data checks, as one multi-check: one step and one table load for all six."""
    group = definition.group
    key = feature_asset_key(group.name)
    limit = freshness_limit(definition)
    scan_back = max(DUPLICATE_SCAN, group.ttl or DUPLICATE_SCAN)

    def no_duplicate_rows(table: Table) -> quality.CheckOutcome:
        since = (quality.newest_event_time(table) or dt.datetime.now(dt.UTC)) - scan_back
        return quality.no_duplicate_rows(table, group, since)

    checks = [
        _DataCheck(
            "schema_matches_spec",
            "Every column of the spec exists in the table with the spec's type.",
            lambda table: quality.schema_matches_spec(table, group),
        ),
        _DataCheck(
            "no_null_join_keys",
            "No row lacks a join key (from the data files' null counts).",
            lambda table: quality.no_null_join_keys(table, group),
        ),
        _DataCheck(
            "event_times_inside_partitions",
            "Each data file's event times lie inside its partition's window.",
            lambda table: quality.event_times_inside_partitions(table, group),
        ),
        _DataCheck(
            "no_duplicate_rows",
            f"No two rows share keys, event_time and created_at (rows of the last {scan_back}).",
            no_duplicate_rows,
        ),
        _DataCheck(
            "no_empty_data_files",
            "No data file holds 0 rows or 0 bytes.",
            quality.no_empty_data_files,
        ),
        _DataCheck(
            "fresh",
            f"The newest event time is at most {limit} old.",
            lambda table: quality.fresh(table, limit),
            blocking=False,
        ),
    ]

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(
                check.name, asset=key, blocking=check.blocking, description=check.description
            )
            for check in checks
        ],
        can_subset=True,
        name=f"{group.name}_data_checks",
    )
    def data_checks(
        context: dg.AssetCheckExecutionContext, feature_store: FeatureStoreResource
    ) -> Iterator[dg.AssetCheckResult]:
        table = feature_store.get_store().table(group.name)
        selected = {check_key.name for check_key in context.selected_asset_check_keys}
        for check in checks:
            if check.name not in selected:
                continue
            outcome = check.run(table)
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=check.name,
                passed=outcome.passed,
                severity=(
                    dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN
                ),
                metadata={name: metadata_value(value) for name, value in outcome.facts.items()},
            )

    return [data_checks]


def build_quality_definitions(definition: FeatureGroupDefinition) -> dg.Definitions:
    return dg.Definitions(asset_checks=build_quality_checks(definition))
