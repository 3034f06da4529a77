"""Pins the deployment's asset graph, jobs and schedules, so a change to them is deliberate."""

from __future__ import annotations

import dagster as dg
import pytest

from feature_platform.definitions import build_definitions, defs


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return build_definitions()


def test_asset_keys_and_dependencies(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    edges = {
        key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_keys)
        for key in graph.get_all_asset_keys()
    }
    assert edges == {
        "demo/click_events": [],
        "features/user_engagement": ["demo/click_events"],
        "features/article_popularity": ["demo/click_events"],
        "compaction/user_engagement": ["features/user_engagement"],
        "compaction/article_popularity": ["features/article_popularity"],
        "online/user_engagement": ["features/user_engagement"],
        "online/article_popularity": ["features/article_popularity"],
        "snowflake/user_engagement": ["features/user_engagement"],
        "snowflake/article_popularity": ["features/article_popularity"],
        "training_sets/click_through": [
            "demo/click_events",
            "features/article_popularity",
            "features/user_engagement",
        ],
    }


def test_partitions_definitions(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()

    def partitions(key: str) -> tuple[str, str, str]:
        partitions_def = graph.get(dg.AssetKey.from_user_string(key)).partitions_def
        assert isinstance(partitions_def, dg.TimeWindowPartitionsDefinition)
        return (
            partitions_def.cron_schedule,
            partitions_def.timezone,
            partitions_def.start.isoformat(),
        )

    assert partitions("demo/click_events") == ("0 0 * * *", "UTC", "2026-11-01T00:00:00+00:00")
    assert partitions("features/user_engagement") == (
        "0 0 * * *",
        "UTC",
        "2026-11-01T00:00:00+00:00",
    )
    assert partitions("features/article_popularity") == (
        "0 * * * *",
        "UTC",
        "2026-11-01T00:00:00+00:00",
    )


def test_partition_mappings_read_only_the_lookback(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    user = dg.AssetKey(["features", "user_engagement"])
    article = dg.AssetKey(["features", "article_popularity"])
    events = dg.AssetKey(["demo", "click_events"])
    assert graph.get_partition_mapping(user, events) == dg.TimeWindowPartitionMapping(
        start_offset=-6, allow_nonexistent_upstream_partitions=True
    )
    assert graph.get_partition_mapping(article, events) == dg.TimeWindowPartitionMapping(
        start_offset=-23, allow_nonexistent_upstream_partitions=True
    )
    for child, partition, expected in [
        (article, "2026-11-08-13:00", ["2026-11-07", "2026-11-08"]),  # reads 23 h back
        (article, "2026-11-08-23:00", ["2026-11-08"]),
        (user, "2026-11-08", [f"2026-11-0{d}" for d in range(2, 9)]),
    ]:
        child_partitions = graph.get(child).partitions_def
        upstream = graph.get_partition_mapping(
            child, events
        ).get_upstream_mapped_partitions_result_for_partitions(
            child_partitions.subset_with_partition_keys([partition]),
            child_partitions,
            graph.get(events).partitions_def,
        )
        assert sorted(upstream.partitions_subset.get_partition_keys()) == expected


def test_feature_backfills_split_into_runs_of_a_month_or_a_week(
    definitions: dg.Definitions,
) -> None:
    graph = definitions.resolve_asset_graph()
    policies = {
        key.to_user_string(): graph.get(key).backfill_policy
        for key in graph.get_all_asset_keys()
        if key.path[0] == "features"
    }
    assert policies == {
        "features/user_engagement": dg.BackfillPolicy.multi_run(30),  # daily
        "features/article_popularity": dg.BackfillPolicy.multi_run(168),  # hourly
    }


def test_jobs_and_schedules(definitions: dg.Definitions) -> None:
    repository = definitions.get_repository_def()
    schedules = {s.name: (s.cron_schedule, s.job_name) for s in repository.schedule_defs}
    assert schedules == {
        "click_events_schedule": ("5 0 * * *", "click_events_job"),
        # Hourly ticks: each computes the recent partitions whose input has arrived.
        "user_engagement_schedule": ("30 * * * *", "user_engagement_job"),
        "article_popularity_schedule": ("15 * * * *", "article_popularity_job"),
        "user_engagement_maintenance_schedule": ("0 */6 * * *", "user_engagement_maintenance_job"),
        "article_popularity_maintenance_schedule": (
            "0 */6 * * *",
            "article_popularity_maintenance_job",
        ),
    }


def test_table_health_checks_on_every_feature_group(definitions: dg.Definitions) -> None:
    checks = {
        (key.asset_key.to_user_string(), key.name)
        for key in definitions.resolve_asset_graph().asset_check_keys
    }
    groups = ("user_engagement", "article_popularity")
    assert (
        checks
        == {
            (f"features/{group}", check)
            for group in groups
            for check in (
                "few_small_files",
                "few_snapshots",
                "schema_matches_spec",
                "no_null_join_keys",
                "event_times_inside_partitions",
                "no_duplicate_rows",
                "no_empty_data_files",
                "fresh",
                "experiments_not_stale",
            )
        }
        | {(f"snowflake/{group}", "snowflake_readable") for group in groups}
        | DEMO_EXPECTATIONS
    )
    blocking = {
        key.name
        for key in definitions.resolve_asset_graph().asset_check_keys
        if definitions.resolve_asset_graph().get_check_spec(key).blocking
    }
    assert blocking == {
        "schema_matches_spec",
        "no_null_join_keys",
        "event_times_inside_partitions",
        "no_duplicate_rows",
        "no_empty_data_files",
    } | {name for _, name in DEMO_EXPECTATIONS if name != "expect_row_count_vs_last_week"}


# The demo groups' expectations (feature_platform/demo/feature_groups.py): strict ones block
# downstream assets, the warn-mode row count does not.
DEMO_EXPECTATIONS = {
    ("features/user_engagement", f"expect_{name}")
    for name in (
        "impressions_1d_in_range",
        "clicks_1d_in_range",
        "ctr_1d_in_range",
        "clicks_7d_in_range",
        "avg_dwell_7d_in_range",
        "top_category_7d_allowed_values",
        "row_count_vs_last_week",
    )
} | {
    ("features/article_popularity", f"expect_{name}")
    for name in (
        "impressions_24h_in_range",
        "clicks_24h_in_range",
        "ctr_24h_in_range",
        "category_allowed_values",
        "category_max_null_fraction",
    )
}


def test_asset_descriptions_owners_and_schema_show_in_the_ui(definitions: dg.Definitions) -> None:
    spec = next(
        s
        for s in definitions.resolve_all_asset_specs()
        if s.key.path == ["features", "user_engagement"]
    )
    assert spec.owners == ["team:recsys"]
    assert spec.kinds == {"iceberg", "polars"}
    assert spec.tags["partitioning"] == "daily"
    assert spec.group_name == "features"
    schema = spec.metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns][:3] == ["user_id", "event_time", "created_at"]


def test_module_level_definitions_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_ENV", "local")
    loaded = defs()
    assert len(list(loaded.resolve_all_asset_specs())) == 10
