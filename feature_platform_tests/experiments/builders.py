"""A group with a few days on main and an experiment that rewrote some of them."""

from __future__ import annotations

import datetime as dt

import polars as pl
from pyiceberg.table import Table

from feature_platform import Feature, FeatureGroup, FeatureStore
from feature_platform_tests.helpers import DAY_START, user_frame, user_group

GROUP = "user_stats"
DAYS = [DAY_START + dt.timedelta(days=i) for i in range(4)]


def day_window(index: int) -> tuple[dt.datetime, dt.datetime]:
    return DAYS[index], DAYS[index] + dt.timedelta(days=1)


def fill_main(store: FeatureStore, days: range = range(4), offset: int = 0) -> None:
    store.apply(user_group())
    for index in days:
        store.write_window(GROUP, user_frame(DAYS[index], offset=offset), *day_window(index))


def write_experiment(store: FeatureStore, name: str, days: list[int], offset: int = 100) -> None:
    for index in days:
        frame = user_frame(DAYS[index], offset=offset)
        store.write_window(GROUP, frame, *day_window(index), experiment=name)


def group_with_extra_feature() -> FeatureGroup:
    return user_group(features=[*user_group().features, Feature("clicks_x2", "int64")])


def frame_with_extra_feature(index: int, offset: int = 100) -> pl.DataFrame:
    return user_frame(DAYS[index], offset=offset).with_columns(clicks_x2=pl.col("clicks") * 2)


def data_file_paths(table: Table, snapshot_id: int | None = None) -> set[str]:
    return {task.file.file_path for task in table.scan(snapshot_id=snapshot_id).plan_files()}


def clicks_by_day(frame: pl.DataFrame) -> dict[str, list[int]]:
    """The `clicks` values of each day, sorted: which write each day holds."""
    days = frame.with_columns(day=pl.col("event_time").dt.date().cast(pl.String))
    return {
        day: sorted(part["clicks"].to_list())
        for (day,), part in days.sort("day").group_by(["day"], maintain_order=True)
    }
