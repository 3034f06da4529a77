"""Expectations judged on a window write before its commit: strict refuses and leaves the table
at its snapshot, warn commits and records, the row count compares with a week earlier."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import Feature, FeatureStore
from feature_platform.errors import ExpectationFailedError
from feature_platform.expectations import (
    AllowedValues,
    MaxNullFraction,
    RowCountVsLastWeek,
    ValueRange,
)
from feature_platform.offline_store.audit import (
    audit_before_promote,
    audit_window,
    enforce,
    recorded_expectations,
)
from feature_platform.offline_store.validation import prepare_frame
from feature_platform.offline_store.window_counts import previous_week_rows, rows_in_window
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.helpers import DAY_START, NEXT_DAY, canonical, user_frame, user_group

WEEK = dt.timedelta(days=7)
# user_frame: clicks 0..4, ctr null for u0, segments s0 s1 s2 s0 s1, a subscriber every other row.
GROUP = user_group(
    features=[
        Feature("clicks", "int64", expectations=[ValueRange(0, 2)]),
        Feature("ctr", "float64", expectations=[MaxNullFraction(0.1)]),
        Feature("segment", "string", expectations=[AllowedValues(["s0", "s1"])]),
        Feature("is_subscriber", "bool", expectations=[AllowedValues([True, False])]),
    ],
    expectations=[RowCountVsLastWeek(2)],
)
PASSING = GROUP.feature_names  # the frame below meets every expectation


def _good(day: dt.datetime = DAY_START, users: int = 5) -> pl.DataFrame:
    return user_frame(day, users).with_columns(
        pl.col("clicks") % 3, pl.col("ctr").fill_null(0.5), pl.lit("s1").alias("segment")
    )


def _state(store: FeatureStore) -> tuple[str, int | None]:
    table = store.table("user_stats")
    snapshot = table.current_snapshot()
    return table.metadata_location, snapshot.snapshot_id if snapshot else None


def test_strict_refuses_the_write_and_the_table_stays_at_its_snapshot(
    store: FeatureStore,
) -> None:
    store.apply(GROUP)
    store.write_window("user_stats", _good(), DAY_START, NEXT_DAY)
    before, rows = _state(store), store.read("user_stats")
    with pytest.raises(ExpectationFailedError) as refused:
        store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    assert _state(store) == before
    assert_frame_equal(store.read("user_stats"), rows)
    report = refused.value.report
    assert {r.check_name for r in report.failures} == {
        "expect_clicks_in_range",
        "expect_ctr_max_null_fraction",
        "expect_segment_allowed_values",
    }
    assert {r.check_name for r in report.results if r.passed} == {
        "expect_is_subscriber_allowed_values",
        "expect_row_count_vs_last_week",
    }


def test_the_error_names_each_failed_expectation_with_counts_and_examples(
    store: FeatureStore,
) -> None:
    store.apply(GROUP)
    frame = user_frame(users=8).with_columns(
        pl.when(pl.col("user_id") == "u7").then(250).otherwise(pl.col("clicks")).alias("clicks")
    )
    with pytest.raises(ExpectationFailedError) as refused:
        store.write_window("user_stats", frame, DAY_START, NEXT_DAY)
    message = str(refused.value)
    assert message.splitlines()[0] == (
        "feature group 'user_stats', window [2026-11-10T00:00:00+00:00, "
        "2026-11-11T00:00:00+00:00): 3 strict expectation(s) failed, so the write was refused "
        "and nothing was committed (fix the rows, or the expectation, and write the window again)"
    )
    assert message.splitlines()[1:] == [
        # clicks 3, 4, 5, 6 and 250 lie above 2; each value once, the smallest first.
        "  - expect_clicks_in_range (strict): clicks: range [0, 2]: 5 of 8 rows with a value "
        "outside the range; examples: 3 (1 row, e.g. user_id=u3), 4 (1 row, e.g. user_id=u4), "
        "5 (1 row, e.g. user_id=u5), 6 (1 row, e.g. user_id=u6), 250 (1 row, e.g. user_id=u7)",
        "  - expect_ctr_max_null_fraction (strict): ctr: null fraction <= 0.1: 1 of 8 rows "
        "null (12.50%); examples: user_id=u0",
        # s2 twice (u2, u5): the most frequent offending value comes first.
        "  - expect_segment_allowed_values (strict): segment: allowed values ['s0', 's1']: "
        "2 of 8 rows with a value not allowed; examples: 's2' (2 rows, e.g. user_id=u2)",
    ]


def test_warn_commits_and_records_the_failures(store: FeatureStore) -> None:
    store.apply(dataclasses.replace(GROUP, expectation_mode="warn"))
    result = store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    assert result.committed
    assert result.rows_written == 5
    assert result.expectations is not None
    assert [r.check_name for r in result.expectations.failures] == [
        "expect_clicks_in_range",
        "expect_ctr_max_null_fraction",
        "expect_segment_allowed_values",
    ]
    assert_frame_equal(
        canonical(store.read("user_stats").drop("created_at")),
        canonical(user_frame().drop("computed_at")),
        check_column_order=False,
    )
    table = store.table("user_stats")
    recorded = recorded_expectations(table.snapshot_by_id(result.snapshot_id))  # type: ignore[arg-type]
    assert recorded is not None
    assert recorded["checked"] == 5
    assert [(f["check"], f["failing"], f["examples"]) for f in recorded["failed"]] == [
        ("expect_clicks_in_range", 2, ["3 (1 row, e.g. user_id=u3)", "4 (1 row, e.g. user_id=u4)"]),
        ("expect_ctr_max_null_fraction", 1, ["user_id=u0"]),
        ("expect_segment_allowed_values", 1, ["'s2' (1 row, e.g. user_id=u2)"]),
    ]


def test_an_expectation_may_override_the_group_mode(store: FeatureStore) -> None:
    lenient = dataclasses.replace(
        GROUP,
        features=[Feature("clicks", "int64", expectations=[ValueRange(0, 2, mode="warn")])],
    )
    store.apply(lenient)
    frame = user_frame().select("user_id", "event_time", "computed_at", "clicks")
    result = store.write_window("user_stats", frame, DAY_START, NEXT_DAY)
    assert result.expectations is not None
    assert [(r.check_name, r.mode) for r in result.expectations.failures] == [
        ("expect_clicks_in_range", "warn")
    ]
    strict = dataclasses.replace(
        GROUP,
        expectation_mode="warn",
        features=[Feature("clicks", "int64", expectations=[ValueRange(0, 2, mode="strict")])],
    )
    store.apply(strict)
    with pytest.raises(ExpectationFailedError, match="expect_clicks_in_range \\(strict\\)"):
        store.write_window("user_stats", frame, DAY_START, NEXT_DAY)


def test_a_passing_write_records_that_it_was_checked(store: FeatureStore) -> None:
    store.apply(GROUP)
    result = store.write_window("user_stats", _good(), DAY_START, NEXT_DAY)
    assert result.expectations is not None
    assert result.expectations.passed
    snapshot = store.table("user_stats").current_snapshot()
    assert recorded_expectations(snapshot) == {"checked": 5, "failed": []}


def test_a_group_without_expectations_is_not_audited(store: FeatureStore) -> None:
    store.apply(user_group())
    result = store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    assert result.expectations is None
    assert recorded_expectations(store.table("user_stats").current_snapshot()) is None


def test_row_count_against_the_same_window_a_week_earlier(store: FeatureStore) -> None:
    store.apply(GROUP)
    first = store.write_window("user_stats", _good(users=10), DAY_START, NEXT_DAY)
    assert first.expectations is not None
    skipped = first.expectations.results[-1]
    # The first week has nothing to compare with: skipped, and passing.
    assert (skipped.check_name, skipped.passed) == ("expect_row_count_vs_last_week", True)
    assert "skipped: no rows in the same window a week earlier" in skipped.detail

    later, later_end = DAY_START + WEEK, NEXT_DAY + WEEK
    for users in (5, 20):  # half and twice: the band's inclusive edges
        result = store.write_window("user_stats", _good(later, users), later, later_end)
        assert result.expectations is not None
        assert result.expectations.passed
    before = _state(store)
    with pytest.raises(ExpectationFailedError) as refused:
        store.write_window("user_stats", _good(later, 21), later, later_end)
    assert (
        "expect_row_count_vs_last_week (strict): row count within 2x of the same window a "
        "week earlier: 21 rows, 10 a week earlier (allowed 5 to 20)" in str(refused.value)
    )
    with pytest.raises(ExpectationFailedError, match="4 rows, 10 a week earlier"):
        store.write_window("user_stats", _good(later, 4), later, later_end)
    # An empty window where a week earlier held rows is the drop worth refusing.
    with pytest.raises(ExpectationFailedError, match="0 rows, 10 a week earlier"):
        store.write_window("user_stats", _good(later, 1).clear(), later, later_end)
    assert _state(store) == before


def test_the_week_earlier_count_reads_only_that_window(store: FeatureStore) -> None:
    store.apply(user_group())
    store.write_window("user_stats", user_frame(users=24), DAY_START, NEXT_DAY)
    store.write_window("user_stats", user_frame(DAY_START - WEEK, users=3), DAY_START - WEEK,
                       NEXT_DAY - WEEK)  # fmt: skip
    table = store.table("user_stats")
    assert rows_in_window(table, TimeWindow(DAY_START, NEXT_DAY)) == 24  # from the manifest
    # A window inside a day's file: the file is read, event times only (one row per hour).
    morning = TimeWindow(DAY_START, DAY_START + dt.timedelta(hours=6))
    assert rows_in_window(table, morning) == 6
    week_on = TimeWindow(DAY_START + WEEK, NEXT_DAY + WEEK)
    assert previous_week_rows(table, user_group(), week_on) == 24
    assert previous_week_rows(table, user_group(), TimeWindow(DAY_START, NEXT_DAY)) == 3
    # Before the group's start (2026-11-01) there is nothing to compare with.
    early = TimeWindow(
        dt.datetime(2026, 11, 2, tzinfo=dt.UTC), dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    )
    assert previous_week_rows(table, user_group(), early) is None


def test_reruns_are_idempotent(store: FeatureStore) -> None:
    store.apply(dataclasses.replace(GROUP, expectation_mode="warn"))
    first = store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    content = canonical(store.read("user_stats"))
    again = store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    assert again.expectations == first.expectations
    assert_frame_equal(canonical(store.read("user_stats")), content)
    snapshots = store.table("user_stats").snapshots()
    assert recorded_expectations(snapshots[-1]) == recorded_expectations(snapshots[-2])

    store.apply(GROUP)  # now strict: refused, and refused again, with the table unchanged
    before = _state(store)
    messages = []
    for _ in range(2):
        with pytest.raises(ExpectationFailedError) as refused:
            store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
        messages.append(str(refused.value))
    assert messages[0] == messages[1]
    assert _state(store) == before


def test_streamed_pushes_are_not_audited(store: FeatureStore) -> None:
    """A micro-batch is a slice of a window: its rows are judged by the window's next write."""
    store.apply(GROUP)
    pushed = store.write("user_stats", user_frame())
    assert pushed.offline_commits
    assert pushed.offline_commits[0].expectations is None
    assert store.read("user_stats").height == 5


def test_audit_window_and_enforce_judge_any_frame() -> None:
    """The entry point a promotion uses on a branch's rows, without a store."""
    window = TimeWindow(DAY_START, NEXT_DAY)
    rows = prepare_frame(GROUP, user_frame(), window=window)
    report = audit_window(GROUP, rows, window, previous_week_rows=1)
    assert [r.check_name for r in report.strict_failures] == [
        "expect_clicks_in_range",
        "expect_ctr_max_null_fraction",
        "expect_segment_allowed_values",
        "expect_row_count_vs_last_week",
    ]
    with pytest.raises(ExpectationFailedError):
        enforce(report)
    good = audit_window(GROUP, prepare_frame(GROUP, _good(), window=window), window,
                        previous_week_rows=None)  # fmt: skip
    assert enforce(good) is good
    assert all(r.rows == 5 for r in good.results)
    # A frame lacking a feature column holds nulls there.
    empty = audit_window(GROUP, _good().drop("ctr"), window, previous_week_rows=None)
    assert [r.check_name for r in empty.failures] == ["expect_ctr_max_null_fraction"]


def test_a_promotion_judges_every_window_before_publishing_any(store: FeatureStore) -> None:
    store.apply(GROUP)
    store.write_window("user_stats", _good(users=10), DAY_START, NEXT_DAY)
    main = store.table("user_stats")
    day, later = TimeWindow(DAY_START, NEXT_DAY), TimeWindow(DAY_START + WEEK, NEXT_DAY + WEEK)

    def branch(window: TimeWindow, users: int) -> tuple[TimeWindow, pl.DataFrame]:
        return window, prepare_frame(GROUP, _good(window.start, users), window=window)

    # Alone, the later window compares with main's 10 rows a week earlier.
    (report,) = audit_before_promote(main, GROUP, [branch(later, 9)])
    assert report.passed
    assert report.results[-1].detail == "9 rows, 10 a week earlier (allowed 5 to 20)"
    # With the experiment's own 4 rows for that day, 9 rows a week on is too many.
    with pytest.raises(ExpectationFailedError, match="9 rows, 4 a week earlier") as refused:
        audit_before_promote(main, GROUP, [branch(day, 4), branch(later, 9)])
    assert refused.value.report.window == later
    bad = (later, prepare_frame(GROUP, user_frame(later.start), window=later))
    with pytest.raises(ExpectationFailedError, match="expect_clicks_in_range") as refused:
        audit_before_promote(main, GROUP, [branch(day, 10), bad])
    assert str(refused.value).count("feature group 'user_stats', window") == 1
    assert store.table("user_stats").metadata_location == main.metadata_location
