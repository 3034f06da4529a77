"""`online/<group>` through Dagster: the cursor lives in its metadata, backfills cost nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from feature_platform import FeatureStore
from feature_platform.definitions import build_definitions
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
        assert backfill["rows_read"] == 0
