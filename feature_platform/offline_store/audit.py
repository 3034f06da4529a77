"""A group's expectations evaluated on a window's rows before they are committed.

`audit_window` judges one window's frame and returns an `ExpectationReport` (every expectation,
passed or not, with counts and example values); `enforce` raises `ExpectationFailedError` when a
strict expectation failed, so nothing is committed and the table stays at its snapshot. Warn
failures go with the commit: `summary_properties` records them in the snapshot summary, where
`recorded_expectations` reads them back later. The window write path (`FeatureStore.write_window`,
hence every `features/<group>` materialization) calls `audit_before_write`; a promotion of an
experiment judges every window it would publish first, with `audit_before_promote` (or
`audit_window` and `enforce` per window).

Streamed micro-batches (`FeatureStore.write`) are not audited: a batch is an arbitrary slice of a
window, so its null fraction and row count say nothing about the window, and refusing a push
would drop or block a stream. The window's next write audits those rows with the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from feature_platform.errors import ExpectationFailedError
from feature_platform.expectations import (
    AllowedValues,
    Expectation,
    ExpectationMode,
    MaxNullFraction,
    RowCountVsLastWeek,
    ValueRange,
)
from feature_platform.offline_store.window_counts import previous_week_rows, week_earlier
from feature_platform.specs import FeatureGroup
from feature_platform.time_windows import TimeWindow

EXPECTATIONS_PROPERTY = "feature-platform.expectations"
EXAMPLES = 5


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation judged on one window.

    Attributes:
        check_name: Stable name (``expect_<feature>_<kind>``, ``expect_<kind>`` for the group's
            own), also the Dagster asset check's name.
        feature: The feature judged, or None for a group expectation.
        expectation: What was expected, in words.
        mode: ``strict`` or ``warn``, after the expectation's override.
        passed: Whether the window met it (a skipped row-count comparison passes).
        rows: Rows in the window.
        failing: Rows breaking it (null rows for a null fraction; for the row count, the
            window's rows when outside the band, else 0).
        examples: A few offending values with the keys of a row holding each.
        detail: The counts in words, as the error and the UI show them.
        facts: Figures for tools (bounds, the week-earlier count, ...).
    """

    check_name: str
    feature: str | None
    expectation: str
    mode: ExpectationMode
    passed: bool
    rows: int
    failing: int = 0
    examples: tuple[str, ...] = ()
    detail: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        subject = f"{self.feature}: " if self.feature else ""
        examples = f"; examples: {', '.join(self.examples)}" if self.examples else ""
        return (
            f"{self.check_name} ({self.mode}): {subject}{self.expectation}: {self.detail}{examples}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check_name,
            "mode": self.mode,
            "passed": self.passed,
            "rows": self.rows,
            "failing": self.failing,
            "examples": list(self.examples),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ExpectationReport:
    """Every expectation of a group judged on one window's rows."""

    group: str
    window: TimeWindow
    results: tuple[ExpectationResult, ...]

    @property
    def failures(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    @property
    def strict_failures(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.failures if r.mode == "strict")

    @property
    def passed(self) -> bool:
        return not self.failures

    def message(self) -> str:
        """Every failure, one per line, strict ones first."""
        strict = self.strict_failures
        head = (
            f"feature group {self.group!r}, window {self.window}: "
            f"{len(strict)} strict expectation(s) failed, so the write was refused and nothing "
            "was committed (fix the rows, or the expectation, and write the window again)"
            if strict
            else f"feature group {self.group!r}, window {self.window}: "
            f"{len(self.failures)} expectation(s) failed in warn mode"
        )
        ordered = sorted(self.failures, key=lambda r: r.mode != "strict")
        return "\n".join([head, *(f"  - {r.line()}" for r in ordered)])

    def summary_properties(self) -> dict[str, str]:
        """What a commit records: how many expectations were judged and which failed."""
        if not self.results:
            return {}
        failed = [r.to_dict() for r in self.failures]
        return {EXPECTATIONS_PROPERTY: json.dumps({"checked": len(self.results), "failed": failed})}


def declared(group: FeatureGroup) -> list[tuple[str | None, Expectation]]:
    """The group's expectations with the feature each judges (None: the group's own)."""
    pairs: list[tuple[str | None, Expectation]] = [
        (feature.name, expectation)
        for feature in group.features
        for expectation in feature.expectations
    ]
    return pairs + [(None, expectation) for expectation in group.expectations]


def check_name(feature: str | None, expectation: Expectation) -> str:
    return f"expect_{feature}_{expectation.kind}" if feature else f"expect_{expectation.kind}"


def audit_window(
    group: FeatureGroup,
    frame: pl.DataFrame,
    window: TimeWindow,
    *,
    previous_week_rows: int | None,
) -> ExpectationReport:
    """Judge every expectation of `group` on the rows `frame` would publish for `window`.

    Args:
        group: The group, with its expectations.
        frame: The window's rows as they would be committed (the group's feature columns;
            `prepare_frame` output, or rows read back from a branch).
        window: The window the rows replace.
        previous_week_rows: Rows of the same window a week earlier (`previous_week_rows`); None
            or 0 when there is nothing to compare with: the row count is then skipped.
    """
    results = []
    for feature, expectation in declared(group):
        mode = expectation.mode or group.expectation_mode
        judged = _judge(expectation, feature, frame, group.join_keys, previous_week_rows)
        results.append(
            ExpectationResult(
                check_name=check_name(feature, expectation),
                feature=feature,
                expectation=expectation.describe(),
                mode=mode,
                rows=frame.height,
                **judged,
            )
        )
    return ExpectationReport(group.name, window, tuple(results))


def enforce(report: ExpectationReport) -> ExpectationReport:
    """Raise when a strict expectation failed; return the report otherwise (warn failures
    included: the caller commits and records them).

    Raises:
        ExpectationFailedError: Naming every failed expectation with counts and examples.
    """
    if report.strict_failures:
        raise ExpectationFailedError(report.message(), report)
    return report


def audit_before_write(
    table: Table, group: FeatureGroup, rows: pl.DataFrame, window: TimeWindow
) -> ExpectationReport | None:
    """The window write's audit: judged against the table's main state, strict failures
    raised; None for a group without expectations (nothing is read).

    Raises:
        ExpectationFailedError: A strict expectation failed; nothing was committed.
    """
    if not declared(group):
        return None
    needs_count = any(isinstance(e, RowCountVsLastWeek) for e in group.expectations)
    earlier = previous_week_rows(table, group, window) if needs_count else None
    return enforce(audit_window(group, rows, window, previous_week_rows=earlier))


def audit_before_promote(
    main: Table, group: FeatureGroup, frames: Iterable[tuple[TimeWindow, pl.DataFrame]]
) -> list[ExpectationReport]:
    """Every window an experiment would publish, judged before any of them is.

    Each row count is compared with what the same window a week earlier would hold after the
    promotion: the experiment's own rows when it rewrote that window too, else main's.

    Raises:
        ExpectationFailedError: A window fails a strict expectation; the message names every
            such window and its failures, and nothing should be promoted.
    """
    if not declared(group):
        return []  # the frames are not even read
    given = list(frames)
    heights = {window: frame.height for window, frame in given}
    needs_count = any(isinstance(e, RowCountVsLastWeek) for e in group.expectations)
    reports = []
    for window, frame in given:
        earlier = heights.get(week_earlier(window)) if needs_count else None
        if needs_count and earlier is None:
            earlier = previous_week_rows(main, group, window)
        reports.append(audit_window(group, frame, window, previous_week_rows=earlier))
    refused = [report for report in reports if report.strict_failures]
    if refused:
        raise ExpectationFailedError("\n".join(r.message() for r in refused), refused[0])
    return reports


def recorded_expectations(snapshot: Snapshot | None) -> dict[str, Any] | None:
    """What a commit recorded of its audit (``{"checked": n, "failed": [...]}``), or None."""
    summary = snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
    text = summary.get(EXPECTATIONS_PROPERTY)
    return None if text is None else dict(json.loads(text))


def _judge(
    expectation: Expectation,
    feature: str | None,
    frame: pl.DataFrame,
    keys: Sequence[str],
    earlier: int | None,
) -> dict[str, Any]:
    if isinstance(expectation, RowCountVsLastWeek):
        return _row_count(expectation, frame.height, earlier)
    assert feature is not None  # feature expectations always judge a feature
    values = frame.get_column(feature) if feature in frame.columns else None
    if values is None:  # a frame without the column holds nulls there
        values = pl.Series(feature, [None] * frame.height)
        frame = frame.with_columns(values)
    if isinstance(expectation, MaxNullFraction):
        return _null_fraction(expectation, frame, feature, keys)
    if isinstance(expectation, ValueRange):
        column = pl.col(feature)
        low = column < expectation.min if expectation.min is not None else pl.lit(False)
        high = column > expectation.max if expectation.max is not None else pl.lit(False)
        bad = frame.filter(column.is_not_null() & (low | high))
        return _offending(bad, values, keys, "outside the range")
    assert isinstance(expectation, AllowedValues)
    bad = frame.filter(pl.col(feature).is_not_null() & ~pl.col(feature).is_in(expectation.values))
    return _offending(bad, values, keys, "not allowed")


def _offending(
    bad: pl.DataFrame, values: pl.Series, keys: Sequence[str], what: str
) -> dict[str, Any]:
    """Failing rows counted, with a few distinct offending values (the most frequent first)
    and the keys of one row holding each."""
    feature, checked = values.name, values.len() - values.null_count()
    if bad.is_empty():
        return {"passed": True, "detail": f"all {_rows(checked)} with a value meet it"}
    counts = bad.group_by(feature).agg(pl.len().alias("_rows"), *(pl.first(k) for k in keys))
    top = counts.sort(["_rows", feature], descending=[True, False]).head(EXAMPLES)
    examples = tuple(
        f"{_show(row[feature])} ({_rows(row['_rows'])}, e.g. {_keys(row, keys)})"
        for row in top.iter_rows(named=True)
    )
    return {
        "passed": False,
        "failing": bad.height,
        "examples": examples,
        "detail": f"{bad.height} of {_rows(checked)} with a value {what}",
    }


def _null_fraction(
    expectation: MaxNullFraction, frame: pl.DataFrame, feature: str, keys: Sequence[str]
) -> dict[str, Any]:
    nulls = frame.get_column(feature).null_count()
    fraction = nulls / frame.height if frame.height else 0.0
    passed = fraction <= expectation.fraction
    sample = frame.filter(pl.col(feature).is_null()).head(EXAMPLES)
    return {
        "passed": passed,
        "failing": nulls if not passed else 0,
        "examples": () if passed else tuple(_keys(r, keys) for r in sample.iter_rows(named=True)),
        "detail": f"{nulls} of {frame.height} rows null ({fraction:.2%})",
        "facts": {"null_rows": nulls, "null_fraction": round(fraction, 6)},
    }


def _row_count(expectation: RowCountVsLastWeek, rows: int, earlier: int | None) -> dict[str, Any]:
    if not earlier:  # None or 0: no rows to compare with
        return {
            "passed": True,
            "detail": f"{rows} rows; skipped: no rows in the same window a week earlier",
            "facts": {"previous_week_rows": None},
        }
    low, high = earlier / expectation.factor, earlier * expectation.factor
    passed = low <= rows <= high
    return {
        "passed": passed,
        "failing": 0 if passed else rows,
        "detail": f"{rows} rows, {earlier} a week earlier (allowed {low:g} to {high:g})",
        "facts": {"previous_week_rows": earlier},
    }


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _keys(row: Mapping[str, Any], keys: Sequence[str]) -> str:
    return ", ".join(f"{key}={row.get(key)}" for key in keys)


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)
