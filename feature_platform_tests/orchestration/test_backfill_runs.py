"""A backfill's range splits into runs of `partitions_per_run` partitions (issue 14)."""

from __future__ import annotations

import dataclasses
from typing import Any

import dagster as dg
import pytest

from feature_platform.definitions import build_definitions
from feature_platform.demo.feature_groups import DEMO_FEATURE_GROUPS
from feature_platform.errors import InvalidSpecError
from feature_platform.orchestration.feature_assets import feature_asset_key

ENGAGEMENT = next(d for d in DEMO_FEATURE_GROUPS if d.name == "user_engagement")


def test_a_group_sets_how_many_partitions_a_run_takes() -> None:
    definition = dataclasses.replace(ENGAGEMENT, partitions_per_run=3)
    graph = build_definitions(feature_groups=[definition]).resolve_asset_graph()
    policy = graph.get(feature_asset_key("user_engagement")).backfill_policy
    assert policy == dg.BackfillPolicy.multi_run(3)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "user_engagement: partitions_per_run must be at least 1, got 0"),
        (-4, "user_engagement: partitions_per_run must be at least 1, got -4"),
        (2.5, "user_engagement: partitions_per_run must be a whole number, got 2.5"),
        (True, "user_engagement: partitions_per_run must be a whole number, got True"),
        ("7", "user_engagement: partitions_per_run must be a whole number, got '7'"),
    ],
)
def test_a_bad_partitions_per_run_is_named(value: Any, message: str) -> None:
    with pytest.raises(InvalidSpecError) as raised:
        dataclasses.replace(ENGAGEMENT, partitions_per_run=value)
    assert str(raised.value) == message
