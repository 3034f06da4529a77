"""Dagster partitions from spec partitioning, and the windows inside a (multi-partition) run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from feature_platform.specs import PARTITION_WIDTH, Partitioning
from feature_platform.time_windows import TimeWindow

# The run tags with which Dagster hands a partition range to one run (single-run backfills).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def partitions_def_for(
    partitioning: Partitioning, start: dt.datetime
) -> dg.TimeWindowPartitionsDefinition:
    """UTC daily or hourly partitions from `start`; the last one is the last complete window."""
    if partitioning == "daily":
        return dg.DailyPartitionsDefinition(start_date=start.strftime("%Y-%m-%d"), timezone="UTC")
    return dg.HourlyPartitionsDefinition(
        start_date=start.strftime("%Y-%m-%d-%H:%M"), timezone="UTC"
    )


def windows_in(window: dg.TimeWindow, partitioning: Partitioning) -> Iterator[TimeWindow]:
    """Split a run's time window into its partitions, each written as its own atomic commit."""
    width = PARTITION_WIDTH[partitioning]
    start = window.start.astimezone(dt.UTC)
    end = window.end.astimezone(dt.UTC)
    while start < end:
        yield TimeWindow(start, start + width)
        start += width
