"""`online/<group>` through Dagster: the cursor lives in its metadata, backfills cost nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.definitions import build_definitions
from feature_platform.demo.feature_groups import USER_ENGAGEMENT
from feature_platform.orchestration.resources import FeatureStoreResource

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
ONLINE = dg.AssetKey(["online", "user_engagement"])


def test_sync_asset_keeps_its_cursor_and_skips_expired_backfills(home: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=n) for n in (2, 1)]
    expired_day = today - dt.timedelta(days=9)  # beyond the group's 7-day ttl
    definitions = build_definitions()
    resources = {"feature_store": FeatureStoreResource(home=str(home))}

    with dg.DagsterInstance.ephemeral() as instance:

        def run(path: list[str], first: str | None = None, last: str | None = None) -> None:
            tags = {RANGE_START: first, RANGE_END: last} if first and last else {}
            asset = definitions.get_assets_def(dg.AssetKey(path))
            result = dg.materialize([asset], instance=instance, resources=resources, tags=tags)
            assert result.success

        def last_sync() -> dict[str, object]:
            event = instance.get_latest_materialization_event(ONLINE)
            assert event is not None
            assert event.asset_materialization is not None
            return {k: v.value for k, v in event.asset_materialization.metadata.items()}

        first_event_day = (expired_day - dt.timedelta(days=6)).isoformat()
        run(["demo", "click_events"], first_event_day, days[-1].isoformat())
        run(["features", "user_engagement"], days[0].isoformat(), days[-1].isoformat())
        run(["online", "user_engagement"])
        bootstrap = last_sync()
        assert bootstrap["bootstrap"] is True
        assert bootstrap["items_written"] > 100

        store = FeatureStore(home)
        table = store.table("user_engagement")
        assert bootstrap["offline_snapshot_id"] == str(table.current_snapshot().snapshot_id)  # type: ignore[union-attr]
        latest = (
            store.read("user_engagement")
            .sort("user_id", "event_time")
            .group_by("user_id")
            .last()
            .sort("user_id")
        )
        online = store.get_online_features(
            ["user_engagement:clicks_7d", "user_engagement:top_category_7d"],
            latest.select("user_id"),
        )
        assert online.equals(latest.select("user_id", "clicks_7d", "top_category_7d"))

        run(["features", "user_engagement"], expired_day.isoformat(), expired_day.isoformat())
        run(["online", "user_engagement"])
        backfill = last_sync()
        assert backfill["bootstrap"] is False
        assert backfill["from_snapshot_id"] == bootstrap["offline_snapshot_id"]
        assert backfill["windows_expired"] == backfill["windows_examined"] == 1
        assert backfill["items_written"] == backfill["items_skipped"] == 0
        assert backfill["items_corrected"] == backfill["items_deleted"] == 0
        assert backfill["rows_read"] == 0


def test_a_raised_ttl_bootstraps_the_next_sync_and_a_lowered_one_does_not(home: Path) -> None:
    """Raising the ttl commits no offline snapshot, yet brings old values back to life."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    old_day, recent_day = today - dt.timedelta(days=10), today - dt.timedelta(days=1)
    asset = build_definitions().get_assets_def(ONLINE)
    resources = {"feature_store": FeatureStoreResource(home=str(home))}
    store = FeatureStore(home)
    store.apply(USER_ENGAGEMENT)  # ttl 7 days: old_day's values are expired
    for day, users, clicks in ((old_day, ["old_a", "old_b"], 5), (recent_day, ["recent"], 6)):
        rows = engagement_rows(day, users, clicks)
        store.write_window("user_engagement", rows, day, day + dt.timedelta(days=1))

    with dg.DagsterInstance.ephemeral() as instance:

        def sync() -> tuple[dict[str, object], list[str]]:
            """Run the asset: its materialization metadata and its log messages."""
            result = dg.materialize([asset], instance=instance, resources=resources)
            assert result.success
            [event] = result.asset_materializations_for_node(asset.op.name)
            messages = [
                entry.user_message
                for entry in instance.all_logs(result.run_id)
                if entry.user_message
            ]
            return {k: v.value for k, v in event.metadata.items()}, messages

        def online_clicks() -> dict[str, int | None]:
            users = ["old_a", "old_b", "recent"]
            with FeatureStore(home) as reader:
                frame = reader.get_online_features(
                    ["user_engagement:clicks_7d"], [{"user_id": u} for u in users]
                )
            return dict(zip(users, frame["clicks_7d"].to_list(), strict=True))

        first, _ = sync()
        assert (first["bootstrap"], first["items_written"], first["ttl_seconds"]) == (
            True,
            1,
            "604800.0",
        )
        assert online_clicks() == {"old_a": None, "old_b": None, "recent": 6}

        store.apply(dataclasses.replace(USER_ENGAGEMENT, ttl=dt.timedelta(days=14)))
        raised, messages = sync()
        assert raised["bootstrap"] is True
        assert raised["from_snapshot_id"] == "none"
        assert raised["ttl_seconds"] == "1209600.0"
        assert any("ttl was raised from 7 days, 0:00:00 to 14 days" in m for m in messages)
        assert online_clicks() == {"old_a": 5, "old_b": 5, "recent": 6}

        unchanged, _ = sync()
        assert (unchanged["bootstrap"], unchanged["items_written"]) == (False, 0)

        store.apply(dataclasses.replace(USER_ENGAGEMENT, ttl=dt.timedelta(days=3)))
        lowered, _ = sync()  # reads hide what the shorter ttl expires: nothing to load
        assert (lowered["bootstrap"], lowered["ttl_seconds"]) == (False, "259200.0")
        assert online_clicks() == {"old_a": None, "old_b": None, "recent": 6}

        store.apply(dataclasses.replace(USER_ENGAGEMENT, ttl=None))
        unlimited, messages = sync()
        assert (unlimited["bootstrap"], unlimited["ttl_seconds"]) == (True, "none")
        assert any("to unlimited since the last sync" in m for m in messages)
        assert online_clicks() == {"old_a": 5, "old_b": 5, "recent": 6}
        still_unlimited, _ = sync()
        assert still_unlimited["bootstrap"] is False


def engagement_rows(day: dt.datetime, users: list[str], clicks_7d: int) -> pl.DataFrame:
    """`user_engagement` rows at noon of `day`, computed an hour later."""
    count = len(users)
    noon = day + dt.timedelta(hours=12)
    return pl.DataFrame(
        {
            "user_id": users,
            "event_time": [noon] * count,
            "computed_at": [noon + dt.timedelta(hours=1)] * count,
            "impressions_1d": [10] * count,
            "clicks_1d": [2] * count,
            "ctr_1d": [0.2] * count,
            "clicks_7d": [clicks_7d] * count,
            "avg_dwell_7d": [30.0] * count,
            "top_category_7d": ["sports"] * count,
        }
    )


def test_a_sync_into_another_online_table_loads_every_live_value(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cursor says what one online table holds: written elsewhere now (a backend switch,
    a new prefix or folder), the sync must not skip what that table never received."""
    day = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day -= dt.timedelta(days=1)
    asset = build_definitions().get_assets_def(ONLINE)
    resources = {"feature_store": FeatureStoreResource(home=str(home))}
    store = FeatureStore(home)
    store.apply(USER_ENGAGEMENT)
    store.write_window(
        "user_engagement", engagement_rows(day, ["a", "b"], 5), day, day + dt.timedelta(days=1)
    )

    with dg.DagsterInstance.ephemeral() as instance:

        def sync() -> dict[str, object]:
            result = dg.materialize([asset], instance=instance, resources=resources)
            assert result.success
            [event] = result.asset_materializations_for_node(asset.op.name)
            return {k: v.value for k, v in event.metadata.items()}

        first = sync()
        assert str(first["online_table"]).startswith("sqlite:")
        assert first["items_written"] == 2
        monkeypatch.setenv("FEATURE_PLATFORM_ONLINE__FOLDER", str(tmp_path / "new_online"))
        moved = sync()
        unchanged = sync()

    assert moved["online_table"] != first["online_table"]
    assert (moved["bootstrap"], moved["items_written"]) == (True, 2)
    assert (unchanged["bootstrap"], unchanged["items_written"]) == (False, 0)
    with FeatureStore(config=FeatureStoreResource(home=str(home)).store_config()) as reader:
        online = reader.get_online_features(["user_engagement:clicks_7d"], [{"user_id": "a"}])
    assert online["clicks_7d"].to_list() == [5]
