"""Drill: a run of the `online/<group>` asset is killed half way, then the asset runs again.

The killed run wrote newer values for part of the entities, then a fix put the partition back
to what it held at the asset's cursor. The next run starts from the same cursor, where the
partition looks unchanged; it must notice, from its own event log, that a sync stopped part way
and rewrite those entities, not trust the online store to still hold the cursor's state.
"""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.definitions import build_definitions
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform_tests.drills import workers
from feature_platform_tests.drills.pool import Pool

pytestmark = [pytest.mark.drill, pytest.mark.integration]

GROUP = "user_engagement"
ONLINE = dg.AssetKey(["online", GROUP])
FEATURES = ["clicks_7d", "top_category_7d"]
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def _online_equals_offline_latest(store: FeatureStore) -> int:
    """Entities whose online values differ from the offline table's latest row."""
    latest = store.read(GROUP).sort("user_id", "event_time", "created_at").group_by("user_id")
    expected = latest.last().select("user_id", *FEATURES).sort("user_id")
    online = store.get_online_features(
        [f"{GROUP}:{f}" for f in FEATURES], expected.select("user_id")
    )
    return expected.join(online, on=expected.columns, how="anti", nulls_equal=True).height


def test_a_killed_sync_run_is_noticed_and_the_next_run_rewrites_what_it_left(
    home: Path, tmp_path: Path, pool: Pool
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    first, last = today - dt.timedelta(days=2), today - dt.timedelta(days=1)
    definitions = build_definitions()
    resources = {"feature_store": FeatureStoreResource(home=str(home))}
    instance_dir = tmp_path / "dagster"
    instance_dir.mkdir()

    with dg.DagsterInstance.local_temp(str(instance_dir)) as instance:

        def run(path: list[str], tags: dict[str, str] | None = None) -> dict[str, object]:
            """Materialize an asset; the metadata of its (last) materialization."""
            asset = definitions.get_assets_def(dg.AssetKey(path))
            result = dg.materialize([asset], instance=instance, resources=resources, tags=tags)
            assert result.success
            event = result.asset_materializations_for_node(asset.op.name)[-1]
            return {k: v.value for k, v in event.metadata.items()}

        source_days = {RANGE_START: (first - dt.timedelta(days=7)).isoformat()}
        run(["demo", "click_events"], {**source_days, RANGE_END: last.isoformat()})
        run(["features", GROUP], {RANGE_START: first.isoformat(), RANGE_END: last.isoformat()})
        assert run(["online", GROUP])["bootstrap"] is True

        store = FeatureStore(home)
        day = dt.datetime.combine(last, dt.time(), dt.UTC)
        window = (day, day + dt.timedelta(days=1))
        good = store.read(GROUP, *window).rename({"created_at": "computed_at"})
        bad = good.with_columns(pl.col("clicks_7d") + 1_000)  # e.g. a bad upstream ...
        store.write_window(GROUP, bad, *window)
        keep = bad.height // 2
        [child] = pool.take()  # ... half synced by a run that was then killed
        child.start(workers.online_asset_run_then_die, str(home), str(instance_dir), GROUP, keep)
        assert child.exitcode() == -signal.SIGKILL
        assert _online_equals_offline_latest(store) == bad.height - keep  # half synced
        store.write_window(GROUP, good, *window)  # ... then the fix: the day as at the cursor
        assert _online_equals_offline_latest(store) == keep  # the killed run's values are wrong

        rerun = run(["online", GROUP])

        assert rerun["after_interrupted_sync"] is True
        assert _online_equals_offline_latest(store) == 0
        # Once a run finished, the next one trusts its cursor again and has nothing to do.
        again = run(["online", GROUP])
        assert again["after_interrupted_sync"] is False
        assert again["items_written"] == again["items_skipped"] == 0
