"""A group's expectations as asset checks on `features/<group>`, one check per expectation.

Expectations are judged on each window's rows before its commit (`offline_store.audit`), inside
the materialization, so their checks are declared on the feature asset itself and their results
come from that audit: a check can only be as fresh as the write it gated, and a rerun of the
check alone would judge the table, not what was about to be published. Like the data checks
(`quality_checks`), a strict expectation is an ERROR check marked blocking (downstream assets do
not auto-run while it fails) and a warn expectation a WARN one. A run writing several windows
reports each check once: passed when every window passed, with the failing windows' counts
and examples in its metadata. A check executed on its own (the UI's "Execute") judges the
newest window main holds, as it is stored: what was published, not what a write would publish.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import dagster as dg

from feature_platform.offline_store.audit import (
    ExpectationReport,
    ExpectationResult,
    audit_window,
    check_name,
    declared,
)
from feature_platform.offline_store.quality import newest_event_time
from feature_platform.offline_store.window_counts import previous_week_rows
from feature_platform.orchestration.metadata import metadata_value
from feature_platform.sources.base import partition_windows
from feature_platform.specs import FeatureGroup
from feature_platform.store import FeatureStore
from feature_platform.time_windows import TimeWindow

MAX_LISTED_WINDOWS = 20


def expectation_check_specs(group: FeatureGroup, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """One check per declared expectation, named as `ExpectationResult.check_name`."""
    specs = []
    for feature, expectation in declared(group):
        mode = expectation.mode or group.expectation_mode
        consequence = (
            "a window failing it is not written"
            if mode == "strict"
            else "a window failing it is written and the failure recorded"
        )
        subject = f"{feature}: " if feature else ""
        specs.append(
            dg.AssetCheckSpec(
                check_name(feature, expectation),
                asset=key,
                blocking=mode == "strict",
                description=f"{subject}{expectation.describe()} ({mode}: {consequence}).",
            )
        )
    return specs


def audit_newest_stored_window(store: FeatureStore, group: FeatureGroup) -> list[ExpectationReport]:
    """The newest partition window main holds, judged as stored (none: the table is empty)."""
    table = store.table(group.name)
    newest = newest_event_time(table)
    if newest is None or not declared(group):
        return []
    instant = TimeWindow(newest, newest + dt.timedelta(microseconds=1))
    window = next(partition_windows(group.partitioning, group.start_time, instant))
    frame = store.read(group.name, window.start, window.end)
    earlier = previous_week_rows(table, group, window)
    return [audit_window(group, frame, window, previous_week_rows=earlier)]


def expectation_check_results(
    key: dg.AssetKey, reports: Sequence[ExpectationReport], selected: Iterable[dg.AssetCheckKey]
) -> list[dg.AssetCheckResult]:
    """Each selected check's result over the windows of a run (its reports, in order)."""
    by_check: dict[str, list[tuple[ExpectationReport, ExpectationResult]]] = {}
    for report in reports:
        for result in report.results:
            by_check.setdefault(result.check_name, []).append((report, result))
    wanted = {check.name for check in selected if check.asset_key == key}
    return [_check_result(key, name, judged) for name, judged in by_check.items() if name in wanted]


def _check_result(
    key: dg.AssetKey, name: str, judged: list[tuple[ExpectationReport, ExpectationResult]]
) -> dg.AssetCheckResult:
    failed = [(report, result) for report, result in judged if not result.passed]
    last = judged[-1][1]
    metadata = {
        "expectation": last.expectation,
        "mode": last.mode,
        "windows_checked": len(judged),
        "windows_failed": len(failed),
        "rows_checked": sum(result.rows for _, result in judged),
        "failing_rows": sum(result.failing for _, result in judged),
        "last_window": f"{judged[-1][0].window}: {last.detail}",
        "failures": [
            {"window": str(report.window), "detail": r.detail, "examples": list(r.examples)}
            for report, r in failed[:MAX_LISTED_WINDOWS]
        ],
    }
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR
        if last.mode == "strict"
        else dg.AssetCheckSeverity.WARN,
        metadata={field: metadata_value(value) for field, value in metadata.items()},
    )


def expectation_metadata(reports: Sequence[ExpectationReport]) -> dict[str, dg.MetadataValue]:
    """The materialization's record of its audits: the expectations judged, and every failure
    committed in warn mode (the snapshot summaries hold the same per window)."""
    if not reports:
        return {}
    warned = [
        {"window": str(report.window), **result.to_dict()}
        for report in reports
        for result in report.failures
    ]
    return {
        "expectations_checked": dg.MetadataValue.int(sum(len(r.results) for r in reports)),
        "expectations_failed": dg.MetadataValue.json(warned),
    }
