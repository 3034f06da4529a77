"""A feature group with the logic that computes it: spec, transformation, source and lookback.

The source says how to read just the rows a window needs (its window widened by the lookback),
which is what keeps a backfill of one partition cheap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from feature_platform.errors import InvalidSpecError
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.sources.base import Source
from feature_platform.specs import FeatureGroup
from feature_platform.time_windows import TimeWindow

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore


# A run start costs seconds (a process) to a minute (an ECS task); a month of daily or a week of
# hourly windows keeps that small beside the run's own work while a year's backfill still
# becomes a dozen runs or more that can run side by side.
DEFAULT_PARTITIONS_PER_RUN = {"daily": 30, "hourly": 168}

Transformation = Callable[[pl.DataFrame, TimeWindow], pl.DataFrame]


@dataclass(frozen=True)
class FeatureGroupDefinition:
    """A feature group with the logic that computes one of its windows.

    Args:
        group: The spec.
        transform: ``(source rows of [window.start - lookback, window.end), window) -> rows of
            the window``. Must be deterministic: a backfill reruns it.
        source: Where the input rows come from.
        lookback: How much history before the window the transformation needs (e.g. six days
            for a seven-day aggregate of a daily group).
        maintenance: Compaction, snapshot-expiry and orphan-removal thresholds.
        maintenance_schedule: Cron of the maintenance run (every 6 hours by default).
        partitions_per_run: How many partitions one run of a backfill takes. A backfill of a
            longer range is split into several runs that Dagster's run coordinator and the
            table's pool run side by side; each run still writes window by window, each window
            in one commit. Fewer, larger runs pay the run start (a process, an ECS task or a
            pod) less often; more, smaller runs finish a long backfill sooner when several can
            run at once. Default: a month of daily or a week of hourly partitions.
    """

    group: FeatureGroup
    transform: Transformation
    source: Source
    lookback: dt.timedelta = dt.timedelta(0)
    maintenance: MaintenancePolicy = field(default_factory=MaintenancePolicy)
    maintenance_schedule: str = "0 */6 * * *"
    partitions_per_run: int | None = None

    def __post_init__(self) -> None:
        if self.lookback < dt.timedelta(0):
            raise InvalidSpecError(f"{self.group.name}: lookback must not be negative")
        per_run = self.partitions_per_run
        if per_run is not None and (isinstance(per_run, bool) or not isinstance(per_run, int)):
            raise InvalidSpecError(
                f"{self.group.name}: partitions_per_run must be a whole number, got {per_run!r}"
            )
        if per_run is not None and per_run < 1:
            raise InvalidSpecError(
                f"{self.group.name}: partitions_per_run must be at least 1, got {per_run}"
            )

    @property
    def name(self) -> str:
        return self.group.name

    def input_window(self, window: TimeWindow) -> TimeWindow:
        return TimeWindow(window.start - self.lookback, window.end)

    def compute(self, store: FeatureStore, window: TimeWindow) -> pl.DataFrame:
        """Read exactly the input the window needs and run the transformation."""
        return self.transform(self.source.read(store, self.input_window(window)), window)

    @property
    def backfill_partitions_per_run(self) -> int:
        """`partitions_per_run`, or the default: about a month of daily, a week of hourly."""
        if self.partitions_per_run is not None:
            return self.partitions_per_run
        return DEFAULT_PARTITIONS_PER_RUN[self.group.partitioning]

    @property
    def lookback_partitions(self) -> int:
        """The lookback in the group's own partitions, rounded up.

        Dagster's `TimeWindowPartitionMapping` offsets count downstream partitions, so an hourly
        group with a 23-hour lookback reads source partitions from 23 hours before its own.
        """
        return -(-self.lookback // self.group.partition_width)
