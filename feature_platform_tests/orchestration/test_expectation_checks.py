"""A group's expectations as asset checks on `features/<group>`, run through `dg.materialize`
on a test instance: their results, severities and metadata as the UI shows them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import Entity, Feature, FeatureGroup
from feature_platform.definitions import build_definitions
from feature_platform.expectations import AllowedValues, RowCountVsLastWeek, ValueRange
from feature_platform.offline_store.audit import recorded_expectations
from feature_platform.orchestration.feature_assets import feature_asset_key
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition, ParquetSource
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.helpers import canonical, unbuffered_store

GROUP = FeatureGroup(
    name="page_stats",
    entity=Entity("user", ["user_id"]),
    features=[
        Feature("views", "int64", expectations=[ValueRange(0, 100)]),
        Feature("kind", "string", expectations=[AllowedValues(["web", "app"], mode="warn")]),
    ],
    expectations=[RowCountVsLastWeek(2, mode="warn")],
    start="2026-11-01",
)
KEY = feature_asset_key("page_stats")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
CHECKS = ["expect_views_in_range", "expect_kind_allowed_values", "expect_row_count_vs_last_week"]


def per_day(rows: pl.DataFrame, window: TimeWindow) -> pl.DataFrame:
    return rows.group_by("user_id").agg(
        pl.col("event_time").max(), pl.col("views").sum().cast(pl.Int64), pl.col("kind").first()
    )


def _land(root: Path, day: str, users: int, views: int = 3, kind: str = "web") -> None:
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    folder = root / f"dt={day}"
    folder.mkdir(parents=True)
    pl.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(users)],
            "event_time": [start + dt.timedelta(hours=i % 24) for i in range(users)],
            "views": [views + i * 0 for i in range(users)],
            "kind": [kind] * users,
        }
    ).write_parquet(folder / "part-0.parquet")


@pytest.fixture
def instance() -> dg.DagsterInstance:
    with dg.instance_for_test() as instance:
        yield instance  # type: ignore[misc]


def _materialize(
    tmp_path: Path, day: str, instance: dg.DagsterInstance, last: str | None = None
) -> dg.ExecuteInProcessResult:
    """One partition, or with `last` the range `day...last` in one run (as a backfill's)."""
    source = ParquetSource(str(tmp_path / "raw"), partitioning="daily", start="2026-11-01")
    definitions = build_definitions([FeatureGroupDefinition(GROUP, per_day, source)])
    span = {"partition_key": day} if last is None else {"tags": {RANGE_START: day, RANGE_END: last}}
    return dg.materialize(
        [definitions.get_assets_def(KEY)],
        resources={"feature_store": FeatureStoreResource(home=str(tmp_path / "home"))},
        instance=instance,
        raise_on_error=False,
        **span,  # type: ignore[arg-type]
    )


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_each_expectation_is_a_check_on_the_feature_asset() -> None:
    source = ParquetSource("raw", partitioning="daily", start="2026-11-01")
    asset = build_definitions([FeatureGroupDefinition(GROUP, per_day, source)]).get_assets_def(KEY)
    specs = {spec.name: spec for spec in asset.check_specs}
    assert sorted(specs) == sorted(CHECKS)
    assert specs["expect_views_in_range"].blocking
    assert specs["expect_views_in_range"].description == (
        "views: range [0, 100] (strict: a window failing it is not written)."
    )
    assert not specs["expect_kind_allowed_values"].blocking
    assert not specs["expect_row_count_vs_last_week"].blocking


def test_a_passing_partition_reports_every_check_and_a_rerun_is_identical(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    _land(tmp_path / "raw", "2026-11-02", users=4)
    first = _materialize(tmp_path, "2026-11-02", instance)
    assert first.success
    store = unbuffered_store(tmp_path / "home")
    content = canonical(store.read("page_stats").drop("created_at"))
    again = _materialize(tmp_path, "2026-11-02", instance)
    assert again.success
    assert_frame_equal(canonical(store.read("page_stats").drop("created_at")), content)
    for run in (first, again):
        evaluations = _evaluations(run)
        assert sorted(evaluations) == sorted(CHECKS)
        assert all(e.passed for e in evaluations.values())
        assert evaluations["expect_views_in_range"].severity == dg.AssetCheckSeverity.ERROR
        assert evaluations["expect_kind_allowed_values"].severity == dg.AssetCheckSeverity.WARN
        row_count = evaluations["expect_row_count_vs_last_week"].metadata
        assert row_count["last_window"].value == (
            "[2026-11-02T00:00:00+00:00, 2026-11-03T00:00:00+00:00): 4 rows; skipped: no rows "
            "in the same window a week earlier"
        )
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(KEY, "expect_views_in_range"), limit=5
    )
    # Dagster also keeps a PLANNED record per partition for an unpartitioned check of a
    # partitioned asset; the evaluations, which the UI shows, are these.
    evaluated = [record.status.value for record in history if record.status.value != "PLANNED"]
    assert evaluated == ["SUCCEEDED", "SUCCEEDED"]


def test_a_strict_failure_fails_the_run_shows_the_check_and_commits_nothing(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    _land(tmp_path / "raw", "2026-11-02", users=4)
    assert _materialize(tmp_path, "2026-11-02", instance).success
    store = unbuffered_store(tmp_path / "home")
    before = store.table("page_stats").metadata_location
    _land(tmp_path / "raw", "2026-11-03", users=3, views=500)

    result = _materialize(tmp_path, "2026-11-03", instance)

    assert not result.success
    assert store.table("page_stats").metadata_location == before
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None
    assert "expect_views_in_range (strict): views: range [0, 100]: 3 of 3 rows" in failure.message
    evaluation = _evaluations(result)["expect_views_in_range"]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["failing_rows"].value == 3
    assert evaluation.metadata["failures"].value == [
        {
            "window": "[2026-11-03T00:00:00+00:00, 2026-11-04T00:00:00+00:00)",
            "detail": "3 of 3 rows with a value outside the range",
            "examples": ["500 (3 rows, e.g. user_id=u0)"],
        }
    ]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(KEY, "expect_views_in_range")]
    )
    assert latest[dg.AssetCheckKey(KEY, "expect_views_in_range")].status.value == "FAILED"
    assert not result.get_asset_materialization_events()


def test_a_warn_failure_commits_and_is_recorded(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    _land(tmp_path / "raw", "2026-11-02", users=3)
    assert _materialize(tmp_path, "2026-11-02", instance).success
    _land(tmp_path / "raw", "2026-11-09", users=7, kind="tv")  # an unknown kind, 7 rows vs 3

    result = _materialize(tmp_path, "2026-11-09", instance)

    assert result.success
    evaluations = _evaluations(result)
    assert evaluations["expect_views_in_range"].passed
    for name in ("expect_kind_allowed_values", "expect_row_count_vs_last_week"):
        assert not evaluations[name].passed
        assert evaluations[name].severity == dg.AssetCheckSeverity.WARN
    assert evaluations["expect_row_count_vs_last_week"].metadata["last_window"].value == (
        "[2026-11-09T00:00:00+00:00, 2026-11-10T00:00:00+00:00): 7 rows, 3 a week earlier "
        "(allowed 1.5 to 6)"
    )
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["expectations_checked"].value == 3
    failed = metadata["expectations_failed"].value
    assert [f["check"] for f in failed] == CHECKS[1:]
    store = unbuffered_store(tmp_path / "home")
    assert store.read("page_stats", start="2026-11-09").height == 7
    recorded = recorded_expectations(store.table("page_stats").current_snapshot())
    assert recorded is not None
    assert [f["check"] for f in recorded["failed"]] == CHECKS[1:]


def test_a_run_of_several_windows_reports_each_check_once_and_stops_at_a_refused_one(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    _land(tmp_path / "raw", "2026-11-02", users=2)
    _land(tmp_path / "raw", "2026-11-03", users=2, kind="tv")  # warn: written, recorded
    _land(tmp_path / "raw", "2026-11-04", users=2, views=500)  # strict: refused
    _land(tmp_path / "raw", "2026-11-05", users=2)  # never reached

    result = _materialize(tmp_path, "2026-11-02", instance, last="2026-11-05")

    assert not result.success
    evaluations = _evaluations(result)
    assert sorted(evaluations) == sorted(CHECKS)
    kind = evaluations["expect_kind_allowed_values"].metadata
    assert (kind["windows_checked"].value, kind["windows_failed"].value) == (3, 1)
    assert [f["window"][:11] for f in kind["failures"].value] == ["[2026-11-03"]
    views = evaluations["expect_views_in_range"]
    assert not views.passed
    assert [f["window"][:11] for f in views.metadata["failures"].value] == ["[2026-11-04"]
    days = unbuffered_store(tmp_path / "home").read("page_stats").get_column("event_time").dt.date()
    assert sorted(days.unique().to_list()) == [dt.date(2026, 11, 2), dt.date(2026, 11, 3)]


def test_checks_executed_alone_judge_the_newest_stored_window(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    _land(tmp_path / "raw", "2026-11-02", users=3)
    _land(tmp_path / "raw", "2026-11-03", users=2, kind="tv")  # warn: written, recorded
    assert _materialize(tmp_path, "2026-11-02", instance, last="2026-11-03").success
    before = unbuffered_store(tmp_path / "home").table("page_stats").metadata_location
    source = ParquetSource(str(tmp_path / "raw"), partitioning="daily", start="2026-11-01")
    definitions = build_definitions([FeatureGroupDefinition(GROUP, per_day, source)])

    result = dg.materialize(  # the UI's "Execute" on the checks: no partition, no asset
        [definitions.get_assets_def(KEY)],
        selection=dg.AssetSelection.checks_for_assets(KEY),
        resources={"feature_store": FeatureStoreResource(home=str(tmp_path / "home"))},
        instance=instance,
    )

    assert result.success
    assert not result.get_asset_materialization_events()
    evaluations = _evaluations(result)
    assert sorted(evaluations) == sorted(CHECKS)
    assert evaluations["expect_views_in_range"].passed
    kinds = evaluations["expect_kind_allowed_values"]
    assert not kinds.passed
    assert kinds.metadata["last_window"].value.startswith(
        "[2026-11-03T00:00:00+00:00, 2026-11-04T00:00:00+00:00)"
    )
    store = unbuffered_store(tmp_path / "home")
    assert store.table("page_stats").metadata_location == before  # nothing written
