"""Materialize the demo on the embedded store, recording the runs in the local Dagster instance.

Runs go through the real asset definitions and a persistent `DagsterInstance` (under the store's
home), so the Dagster UI started afterwards shows them as materialized partitions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from feature_platform.definitions import build_definitions
from feature_platform.demo.feature_groups import ARTICLE_POPULARITY, CLICK_EVENTS, USER_ENGAGEMENT
from feature_platform.demo.training_sets import CLICK_THROUGH
from feature_platform.orchestration.backfill_runs import asset_checks_of
from feature_platform.orchestration.feature_assets import feature_asset_key
from feature_platform.orchestration.online_assets import online_asset_key
from feature_platform.orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.orchestration.training_assets import (
    TrainingSetRunConfig,
    training_set_asset_key,
)


@dataclass(frozen=True)
class DemoRun:
    """Which partitions the demo materialized, for the summary the CLI prints."""

    name: str
    first: str
    last: str
    success: bool
    span: str = "partitions"  # what first...last counts; empty for unpartitioned assets

    def summary(self) -> str:
        status = "ok" if self.success else "FAILED"
        span = f": {self.span} {self.first} ... {self.last}" if self.span else ""
        return f"{status:6} {self.name}{span}"


def materialize_demo(home: Path, days: int, today: dt.date | None = None) -> list[DemoRun]:
    """Materialize the last `days` complete days of both demo feature groups.

    The event log gets six more days before them, since a user's 7-day aggregates read them.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    today = today or dt.datetime.now(dt.UTC).date()
    first_day = max(today - dt.timedelta(days=days), CLICK_EVENTS.start.date())
    last_day = today - dt.timedelta(days=1)
    events_first = max(first_day - dt.timedelta(days=6), CLICK_EVENTS.start.date())
    definitions = build_definitions()
    instance = dg.DagsterInstance.get()
    resources = {"feature_store": FeatureStoreResource(home=str(home))}
    plan = [
        (CLICK_EVENTS.key, events_first.isoformat(), last_day.isoformat()),
        (feature_asset_key(USER_ENGAGEMENT.name).path, first_day.isoformat(), last_day.isoformat()),
        (
            feature_asset_key(ARTICLE_POPULARITY.name).path,
            f"{first_day.isoformat()}-00:00",
            f"{last_day.isoformat()}-23:00",
        ),
    ]
    runs = []
    for path, first, last in plan:
        key = dg.AssetKey(list(path))
        # With their data checks, as a run from the UI.
        result = dg.materialize(
            [definitions.get_assets_def(key), *asset_checks_of(definitions, key)],
            instance=instance,
            resources=resources,
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
        )
        runs.append(DemoRun("/".join(path), first, last, result.success))
    for group in (USER_ENGAGEMENT, ARTICLE_POPULARITY):  # load the online store from them
        key = online_asset_key(group.name)
        result = dg.materialize(
            [definitions.get_assets_def(key)], instance=instance, resources=resources
        )
        runs.append(DemoRun(key.to_user_string(), "", "", result.success, span=""))
    # The training set's labels: the last two materialized days (or one if only one is).
    labels_start = max(first_day, last_day - dt.timedelta(days=1))
    labels_end = last_day + dt.timedelta(days=1)
    key = training_set_asset_key(CLICK_THROUGH.name)
    result = dg.materialize(
        [definitions.get_assets_def(key)],
        instance=instance,
        resources=resources,
        run_config=dg.RunConfig(
            ops={
                "training_sets__" + CLICK_THROUGH.name: TrainingSetRunConfig(
                    labels_start=labels_start.isoformat(), labels_end=labels_end.isoformat()
                )
            }
        ),
    )
    runs.append(
        DemoRun(
            key.to_user_string(),
            labels_start.isoformat(),
            last_day.isoformat(),
            result.success,
            span="labels of",
        )
    )
    return runs
