"""Snowflake's registered table and `_LATEST` view show main only while an experiment is open:
on the generated DDL, and read from the registered metadata file as Snowflake's object-store
integration reads it (`StaticTable`)."""

from __future__ import annotations

import polars as pl
from pyiceberg.table import StaticTable

from feature_platform import FeatureStore
from feature_platform.snowflake.registration import plan_registration
from feature_platform_tests.experiments.builders import (
    GROUP,
    clicks_by_day,
    day_window,
    fill_main,
    frame_with_extra_feature,
    group_with_extra_feature,
)
from feature_platform_tests.helpers import unbuffered_store


def test_registration_shows_main_only_while_an_experiment_is_open(home: object) -> None:
    store: FeatureStore = unbuffered_store(home)
    fill_main(store, range(2))
    before = plan_registration(store, GROUP, None)
    store.apply(group_with_extra_feature(), experiment="wider")
    store.write_window(GROUP, frame_with_extra_feature(1), *day_window(1), experiment="wider")
    during = plan_registration(store, GROUP, None)

    # The view (main's spec) is the same statement; the table statements differ only in the
    # metadata file they name, and nothing mentions the experiment or its feature.
    assert during.statements[2:] == before.statements[2:]
    assert [
        s.replace(during.metadata_location.rsplit("/", 1)[1], "M") for s in during.statements[:2]
    ] == [s.replace(before.metadata_location.rsplit("/", 1)[1], "M") for s in before.statements[:2]]
    assert not any("clicks_x2" in s or "exp_" in s for s in during.statements)

    static = StaticTable.from_metadata(
        during.metadata_location, properties=dict(store.table(GROUP).io.properties)
    )
    frame = pl.from_arrow(static.scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    assert list(clicks_by_day(frame).values()) == [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]
    assert frame["clicks_x2"].null_count() == frame.height  # table-wide column, null on main
