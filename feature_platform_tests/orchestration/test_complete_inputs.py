"""Backfills never compute from incomplete inputs; schedules and automation wait for them.

Each test builds the deployment the way a user would (`build_definitions(feature_groups=...)`
with a source of their own, or the demo's), materializes through Dagster and reads the table
back: a run over a window whose input has not fully arrived fails, names what is missing and
leaves the table at its snapshot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore
from feature_platform.definitions import build_definitions
from feature_platform.demo.event_log import INGESTED_PROPERTY_PREFIX, RAW_NAMESPACE
from feature_platform.demo.feature_groups import CLICK_EVENTS
from feature_platform.errors import InvalidSpecError
from feature_platform.offline_store.writes import window_filter
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import (
    Completeness,
    FeatureGroupDefinition,
    FeatureGroupSource,
    SourceObservation,
)
from feature_platform.specs import Partitioning
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.helpers import canonical, read_independently, unbuffered_store

UTC = dt.UTC
USERS = dg.AssetKey(["features", "user_engagement"])
ARTICLES = dg.AssetKey(["features", "article_popularity"])
UPSTREAM = dg.AssetKey(["upstream", "events"])
FIRST_DAY = dt.datetime(2026, 11, 1, tzinfo=UTC)
MINUTES_15 = dt.timedelta(minutes=15)


def _day(day: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, tzinfo=UTC)


def _ingest(store: FeatureStore, first: int, last: int) -> None:
    for day in range(first, last + 1):
        CLICK_EVENTS.ingest(store, TimeWindow(_day(day), _day(day + 1)))


def _resources(home: Path) -> dict[str, object]:
    return {"feature_store": FeatureStoreResource(home=str(home))}


def _run(
    home: Path,
    key: dg.AssetKey,
    partition: str,
    definitions: dg.Definitions | None = None,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    definitions = definitions or build_definitions()
    return dg.materialize(
        [definitions.get_assets_def(key)],
        resources=_resources(home),
        partition_key=partition,
        instance=instance,
        raise_on_error=False,
    )


def _tick(
    name: str, home: Path, instance: dg.DagsterInstance, tick: dt.datetime
) -> dg.ScheduleExecutionData:
    """One evaluation of the schedule `name`, as the daemon would run it."""
    repository = build_definitions().get_repository_def()
    # As a context manager: the context opens its own instance from the ref, which must be
    # closed again (an open one stays Dagster's current state storage after the test).
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=tick,
        resources=_resources(home),
        repository_def=repository,
    ) as context:
        return repository.get_schedule_def(name).evaluate_tick(context)


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error is not None
    return error.message


def test_one_missing_lookback_day_fails_naming_it_and_the_window_is_kept(home: Path) -> None:
    store = unbuffered_store(home)
    _ingest(store, 2, 8)
    assert _run(home, USERS, "2026-11-08").success
    table = store.table("user_engagement")
    snapshot = table.current_snapshot()
    before = read_independently(table)
    # The raw log loses 2026-11-05 (retention): its rows and its arrival record are gone.
    events = store.catalog.load_table((RAW_NAMESPACE, "click_events"))
    events.delete(window_filter("event_time", TimeWindow(_day(5), _day(6))))
    with events.transaction() as transaction:
        transaction.remove_properties(INGESTED_PROPERTY_PREFIX + "2026-11-05")

    message = _failure_message(_run(home, USERS, "2026-11-08"))

    assert "the input of 2026-11-08 is incomplete" in message
    assert "missing 2026-11-05 (days ingested into raw.click_events)" in message
    assert "allow_incomplete_inputs" in message
    table = unbuffered_store(home).table("user_engagement")
    assert table.current_snapshot() == snapshot
    assert_frame_equal(canonical(read_independently(table)), canonical(before))


def test_a_range_with_one_incomplete_window_writes_none_of_it(home: Path) -> None:
    store = unbuffered_store(home)
    _ingest(store, 1, 7)  # 2026-11-08 has not arrived
    result = dg.materialize(
        [build_definitions().get_assets_def(USERS)],
        resources=_resources(home),
        tags={
            "dagster/asset_partition_range_start": "2026-11-06",
            "dagster/asset_partition_range_end": "2026-11-08",
        },
        raise_on_error=False,
    )
    message = _failure_message(result)
    assert "the input of 2026-11-08 is incomplete" in message
    assert store.table("user_engagement").current_snapshot() is None


def test_an_hourly_group_names_the_missing_day_of_its_lookback(home: Path) -> None:
    store = unbuffered_store(home)
    _ingest(store, 8, 8)  # 01:00 on the 8th reads back 23 hours, into the 7th
    message = _failure_message(_run(home, ARTICLES, "2026-11-08-01:00"))
    assert "the input of 2026-11-08-01:00 is incomplete" in message
    assert "missing 2026-11-07 " in message
    assert _run(home, ARTICLES, "2026-11-08-23:00").success  # 00:00 to 24:00 of the 8th


# A source of the user's own: events kept in the test, with the completeness evidence chosen by
# the test (a watermark, or none so that Dagster's partitions decide).


@dataclass(frozen=True)
class _Events:
    rows: tuple[tuple[str, dt.datetime], ...] = ()
    watermark: dt.datetime | None = None
    partitioning: Partitioning | None = None
    key: tuple[str, ...] = ("upstream", "events")
    start: dt.datetime = FIRST_DAY
    description: str = "Events of another team, landed by their own pipeline."
    defines_asset: bool = False
    knows_watermark: bool = True

    def read(self, store: FeatureStore, window: TimeWindow) -> pl.DataFrame:
        frame = pl.DataFrame(
            list(self.rows),
            schema={"user_id": pl.String, "event_time": pl.Datetime("us", "UTC")},
            orient="row",
        )
        return frame.filter(pl.col("event_time").is_between(window.start, window.end, "left"))

    def completeness(self, store: FeatureStore, window: TimeWindow) -> Completeness:
        if not self.knows_watermark:
            return Completeness.unknown("no watermark")
        return Completeness.from_watermark(window, self.watermark, "the test's watermark")

    def observe(self, store: FeatureStore) -> SourceObservation | None:
        return SourceObservation(complete_through=self.watermark) if self.knows_watermark else None


CLICKS = FeatureGroup(
    name="clicks_per_user",
    entity=Entity("user", ["user_id"]),
    features=[Feature("clicks_1d", "int64")],
    start="2026-11-01",
)


def _clicks(events: pl.DataFrame, window: TimeWindow) -> pl.DataFrame:
    return events.group_by("user_id").agg(
        pl.col("event_time").max(), pl.len().cast(pl.Int64).alias("clicks_1d")
    )


def _definitions(source: _Events) -> dg.Definitions:
    return build_definitions(feature_groups=[FeatureGroupDefinition(CLICKS, _clicks, source)])


CLICKS_KEY = dg.AssetKey(["features", "clicks_per_user"])


def test_a_quiet_window_behind_the_watermark_is_complete_and_written_empty(home: Path) -> None:
    source = _Events(rows=(("u1", _day(2) + dt.timedelta(hours=3)),), watermark=_day(4))
    definitions = _definitions(source)
    assert _run(home, CLICKS_KEY, "2026-11-02", definitions).success
    quiet = _run(home, CLICKS_KEY, "2026-11-03", definitions)  # no events, but complete
    assert quiet.success
    metadata = quiet.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["empty_windows"].value == 1
    assert metadata["input_completeness"].value == "the test's watermark"
    message = _failure_message(_run(home, CLICKS_KEY, "2026-11-04", definitions))
    assert "[2026-11-04T00:00:00+00:00, 2026-11-05T00:00:00+00:00)" in message
    assert unbuffered_store(home).read("clicks_per_user").height == 1


def test_a_source_of_another_code_location_is_judged_by_its_materializations(
    home: Path,
) -> None:
    source = _Events(
        rows=(("u1", _day(3) + dt.timedelta(hours=1)),),
        partitioning="daily",
        knows_watermark=False,
    )
    definitions = _definitions(source)
    spec = next(s for s in definitions.resolve_all_asset_specs() if s.key == CLICKS_KEY)
    assert [dep.asset_key for dep in spec.deps] == [UPSTREAM]
    with dg.DagsterInstance.ephemeral() as instance:
        message = _failure_message(_run(home, CLICKS_KEY, "2026-11-03", definitions, instance))
        assert "missing 2026-11-03 (Dagster materializations of upstream/events)" in message
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=UPSTREAM, partition="2026-11-03")
        )
        assert _run(home, CLICKS_KEY, "2026-11-03", definitions, instance).success
    assert unbuffered_store(home).read("clicks_per_user").height == 1


def test_a_source_that_cannot_tell_fails_unless_told_to_go_ahead(home: Path) -> None:
    source = _Events(rows=(("u1", _day(3)),), knows_watermark=False)
    definitions = _definitions(source)
    message = _failure_message(_run(home, CLICKS_KEY, "2026-11-03", definitions))
    assert "it cannot tell whether" in message
    result = dg.materialize(
        [definitions.get_assets_def(CLICKS_KEY)],
        resources=_resources(home),
        partition_key="2026-11-03",
        run_config={
            "ops": {"features__clicks_per_user": {"config": {"allow_incomplete_inputs": True}}}
        },
    )
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert list(metadata["incomplete_inputs_allowed"].value) == ["2026-11-03"]
    assert metadata["rows_written"].value == 1


def test_an_external_source_is_an_observed_asset_of_its_own(home: Path) -> None:
    source = _Events(watermark=_day(5), defines_asset=True)
    definitions = _definitions(source)
    spec = next(s for s in definitions.resolve_all_asset_specs() if s.key == UPSTREAM)
    assert spec.group_name == "sources"
    assert not definitions.resolve_asset_graph().get(UPSTREAM).is_materializable
    sensor = definitions.get_repository_def().get_sensor_def("upstream_events_observer")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources=_resources(home))
        result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        (observation,) = result.asset_events
        assert isinstance(observation, dg.AssetObservation)
        assert observation.metadata["complete_through"].value == _day(5).timestamp()
        again = dg.build_sensor_context(
            instance=instance, resources=_resources(home), cursor=result.cursor
        )
        assert isinstance(sensor(again), dg.SkipReason)


def test_the_schedule_waits_for_the_input_and_then_requests_the_partition(home: Path) -> None:
    store = unbuffered_store(home)
    _ingest(store, 1, 7)
    tick = _day(9) + dt.timedelta(minutes=30)
    with dg.instance_for_test() as instance:  # schedule contexts need an instance ref
        waiting = _tick("user_engagement_schedule", home, instance, tick)
        # 2026-11-06 and -07 have their 7 days; 2026-11-08 waits for its own day.
        assert [r.partition_key for r in waiting.run_requests or []] == [
            "2026-11-06",
            "2026-11-07",
        ]
        _ingest(store, 8, 8)
        for partition in ("2026-11-06", "2026-11-07"):
            assert _run(home, USERS, partition, instance=instance).success
        ready = _tick("user_engagement_schedule", home, instance, tick)
        assert [r.partition_key for r in ready.run_requests or []] == ["2026-11-08"]


def test_the_schedule_skips_with_the_missing_input_named(home: Path) -> None:
    with dg.instance_for_test() as instance:
        result = _tick("article_popularity_schedule", home, instance, _day(9) + MINUTES_15)
    assert not result.run_requests
    assert result.skip_message is not None
    assert "waiting for input: 2026-11-06-00:00: 2026-11-05" in result.skip_message


def test_the_hourly_group_on_a_daily_log_runs_each_arrived_day_in_one_run(home: Path) -> None:
    _ingest(unbuffered_store(home), 7, 8)
    with dg.instance_for_test() as instance:
        result = _tick("article_popularity_schedule", home, instance, _day(9) + MINUTES_15)
    # The 6th would need the 5th; the 7th needs the 6th's last 23 hours: only the 8th is ready.
    assert [
        (
            r.tags["dagster/asset_partition_range_start"],
            r.tags["dagster/asset_partition_range_end"],
        )
        for r in result.run_requests or []
    ] == [("2026-11-08-00:00", "2026-11-08-23:00")]


def test_automation_runs_the_online_sync_snowflake_and_training_set_after_a_backfill(
    home: Path,
) -> None:
    definitions = build_definitions()
    sensors = {s.name: s for s in definitions.sensors or []}
    assert sensors["feature_platform_automation"].default_status == dg.DefaultSensorStatus.RUNNING
    checks = {
        key: [c for c in definitions.asset_checks if any(k.asset_key == key for k in c.check_keys)]
        for key in (USERS, ARTICLES)
    }
    with dg.DagsterInstance.ephemeral() as instance:
        first = dg.evaluate_automation_conditions(defs=definitions, instance=instance)
        assert first.total_requested == 0
        _ingest(unbuffered_store(home), 2, 8)
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=CLICK_EVENTS.key, partition="2026-11-08")
        )
        for key, tags in (
            (USERS, ("2026-11-08", "2026-11-08")),
            (ARTICLES, ("2026-11-08-00:00", "2026-11-08-23:00")),
        ):
            result = dg.materialize(
                [definitions.get_assets_def(key), *checks[key]],
                instance=instance,
                resources=_resources(home),
                tags={
                    "dagster/asset_partition_range_start": tags[0],
                    "dagster/asset_partition_range_end": tags[1],
                },
            )
            assert result.success
        after = dg.evaluate_automation_conditions(
            defs=definitions, instance=instance, cursor=first.cursor
        )
    requested = {
        key.to_user_string()
        for key in definitions.resolve_asset_graph().get_all_asset_keys()
        if after.get_num_requested(key)
    }
    assert requested == {
        "online/user_engagement",
        "online/article_popularity",
        "snowflake/user_engagement",
        "snowflake/article_popularity",
        "training_sets/click_through",
    }


def test_the_demo_source_says_which_days_arrived(home: Path) -> None:
    store = unbuffered_store(home)
    _ingest(store, 3, 4)
    verdict = CLICK_EVENTS.completeness(store, TimeWindow(_day(2), _day(5)))
    assert verdict.known
    assert verdict.missing == ("2026-11-02",)
    assert CLICK_EVENTS.observe(store) == SourceObservation(newest_partition="2026-11-04")


WEEKLY = FeatureGroup(
    name="clicks_per_user_7d",
    entity=Entity("user", ["user_id"]),
    features=[Feature("clicks_7d", "int64")],
    start="2026-11-01",
)


def _weekly(daily: pl.DataFrame, window: TimeWindow) -> pl.DataFrame:
    return daily.group_by("user_id").agg(
        pl.col("event_time").max(), pl.col("clicks_1d").sum().alias("clicks_7d")
    )


def test_a_group_computed_from_another_group_waits_for_its_partitions(home: Path) -> None:
    events = _Events(
        rows=tuple(("u1", _day(day) + dt.timedelta(hours=2)) for day in range(1, 9)),
        watermark=_day(9),
    )
    daily = FeatureGroupDefinition(CLICKS, _clicks, events)
    weekly = FeatureGroupDefinition(
        WEEKLY, _weekly, FeatureGroupSource(CLICKS), lookback=dt.timedelta(days=6)
    )
    definitions = build_definitions(feature_groups=[daily, weekly])
    weekly_key = dg.AssetKey(["features", "clicks_per_user_7d"])
    spec = next(s for s in definitions.resolve_all_asset_specs() if s.key == weekly_key)
    assert [dep.asset_key for dep in spec.deps] == [CLICKS_KEY]  # lineage: group -> group
    with dg.DagsterInstance.ephemeral() as instance:
        for day in range(3, 9):  # 2026-11-02 is not computed yet
            assert _run(home, CLICKS_KEY, f"2026-11-0{day}", definitions, instance).success
        message = _failure_message(_run(home, weekly_key, "2026-11-08", definitions, instance))
        assert "missing 2026-11-02 (Dagster materializations of features/clicks_per_user)" in (
            message
        )
        assert _run(home, CLICKS_KEY, "2026-11-02", definitions, instance).success
        assert _run(home, weekly_key, "2026-11-08", definitions, instance).success
    weekly_rows = unbuffered_store(home).read("clicks_per_user_7d")
    assert weekly_rows.get_column("clicks_7d").to_list() == [7]


def test_two_different_sources_under_one_asset_key_are_refused() -> None:
    first = FeatureGroupDefinition(CLICKS, _clicks, _Events(watermark=_day(3)))
    second = FeatureGroupDefinition(WEEKLY, _weekly, _Events(watermark=_day(4)))
    with pytest.raises(InvalidSpecError, match="upstream/events that differs"):
        build_definitions(feature_groups=[first, second])
