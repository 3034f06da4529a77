"""`FeatureGroupSource`: an upstream group's offline rows as another group's input."""

from __future__ import annotations

import datetime as dt

import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore
from feature_platform.errors import InvalidSpecError, SourceError
from feature_platform.sources import FeatureGroupSource
from feature_platform.sources.rows import UTC_TIME
from feature_platform.time_windows import TimeWindow
from feature_platform_tests.helpers import DAY_START, NEXT_DAY, user_frame, user_group

DAY = TimeWindow(DAY_START, NEXT_DAY)


@pytest.fixture
def upstream(store: FeatureStore) -> FeatureStore:
    store.apply(user_group())
    for offset, start in enumerate((DAY_START, NEXT_DAY)):
        end = start + dt.timedelta(days=1)
        store.write_window("user_stats", user_frame(start, offset=10 * offset), start, end)
    return store


def test_the_source_takes_the_upstream_groups_key_partitions_and_start() -> None:
    group = user_group(partitioning="hourly")
    source = FeatureGroupSource(group)
    assert source.key == ("features", "user_stats")
    assert source.partitioning == "hourly"
    assert source.start == group.start_time
    assert not source.defines_asset
    assert "user_stats" in source.description
    tagged = FeatureGroupSource(user_group(tags={"team": "x"}))
    assert hash(FeatureGroupSource(user_group())) == hash(tagged)


def test_a_read_returns_the_windows_offline_rows(upstream: FeatureStore) -> None:
    rows = FeatureGroupSource(user_group()).read(upstream, DAY)
    assert rows.schema["event_time"] == UTC_TIME
    assert_frame_equal(rows, upstream.read("user_stats", start=DAY_START, end=NEXT_DAY))
    assert sorted(rows.get_column("clicks").to_list()) == [0, 1, 2, 3, 4]
    only = FeatureGroupSource(user_group(), features=("ctr",)).read(upstream, DAY)
    assert only.columns == ["user_id", "event_time", "created_at", "ctr"]


def test_completeness_is_left_to_the_upstream_assets_partitions(upstream: FeatureStore) -> None:
    source = FeatureGroupSource(user_group())
    verdict = source.completeness(upstream, DAY)
    assert not verdict.known
    assert "features/user_stats" in verdict.evidence
    assert source.observe(upstream) is None


def test_an_upstream_group_that_is_not_applied_is_a_source_error(store: FeatureStore) -> None:
    with pytest.raises(SourceError, match=r"source features/user_stats \(feature group\)"):
        FeatureGroupSource(user_group()).read(store, DAY)


def test_features_must_be_the_upstream_groups() -> None:
    with pytest.raises(InvalidSpecError, match=r"features \['views'\] are not features"):
        FeatureGroupSource(user_group(), features=("views",))
    with pytest.raises(InvalidSpecError, match="group must be the upstream FeatureGroup"):
        FeatureGroupSource("user_stats")  # type: ignore[arg-type]
