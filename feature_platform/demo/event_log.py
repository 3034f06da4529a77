"""The demo's raw click-event log: an Iceberg table partitioned by event day, written per day.

It is a source, not a feature group: it lives in its own namespace (`raw`) and keeps every event.
Writing a day replaces that day atomically, so regenerating it is idempotent. It registers as a
source exactly as a user's would (`ProducedSource`: the platform writes it, so its asset is
materializable), and it records which days have been ingested as table properties, so it can say
whether a feature window's input is complete in any process, with or without Dagster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyiceberg.types import DoubleType, NestedField, StringType, TimestamptzType

from feature_platform.demo.click_events import ClickEventConfig, generate_window
from feature_platform.offline_store.catalog import table_location, table_properties
from feature_platform.offline_store.reads import scan_table
from feature_platform.offline_store.writes import WriteResult, replace_window
from feature_platform.sources.base import (
    Completeness,
    SourceObservation,
    partition_key,
    partition_windows,
)
from feature_platform.specs import Partitioning
from feature_platform.time_windows import TimeWindow

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore

RAW_NAMESPACE = "raw"
# One property per ingested day (distinct keys, so two concurrent ingests never lose each
# other's record), set only after the day's data committed: a crash in between leaves the day
# "not arrived", and ingesting it again is idempotent.
INGESTED_PROPERTY_PREFIX = "feature-platform.ingested."

_SCHEMA = Schema(
    NestedField(1, "event_id", StringType(), True),
    NestedField(2, "user_id", StringType(), True),
    NestedField(3, "article_id", StringType(), True),
    NestedField(4, "category", StringType(), True),
    NestedField(5, "event_type", StringType(), True, doc="impression or click"),
    NestedField(6, "dwell_seconds", DoubleType(), False, doc="reading time of a click"),
    NestedField(7, "event_time", TimestamptzType(), True),
    NestedField(8, "ingested_at", TimestamptzType(), True, doc="when the event reached us"),
)
_PARTITIONING = PartitionSpec(
    PartitionField(source_id=7, field_id=1000, transform=DayTransform(), name="event_time_day")
)


@dataclass(frozen=True)
class ClickEventLog:
    """The `demo/click_events` source: synthetic events stored in Iceberg."""

    start: dt.datetime = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    config: ClickEventConfig = field(default_factory=ClickEventConfig)
    table_name: str = "click_events"
    key: tuple[str, ...] = ("demo", "click_events")
    partitioning: Partitioning = "daily"
    description: str = "Synthetic news impressions and clicks, ~5% arriving up to 36 h late."
    defines_asset: bool = True

    def table(self, store: FeatureStore) -> Table:
        catalog = store.catalog
        catalog.create_namespace_if_not_exists(RAW_NAMESPACE)
        location = table_location(store.config, RAW_NAMESPACE, self.table_name)
        return catalog.create_table_if_not_exists(
            (RAW_NAMESPACE, self.table_name),
            schema=_SCHEMA,
            partition_spec=_PARTITIONING,
            properties=table_properties(store.config),
            location=location,
        )

    def ingest(
        self, store: FeatureStore, window: TimeWindow, arrived_by: dt.datetime | None = None
    ) -> WriteResult:
        """Replace the window of the log with its events that have arrived by `arrived_by` (now).

        Late events are missing from an early ingest and appear when the partition is ingested
        again, as with a real source; feature partitions rerun after that see them.
        """
        table = self.table(store)
        cutoff = arrived_by or dt.datetime.now(dt.UTC)
        events = generate_window(window, self.config).filter(pl.col("ingested_at") <= cutoff)
        data = events.to_arrow().cast(table.schema().as_arrow())
        result = replace_window(
            lambda: store.catalog.load_table((RAW_NAMESPACE, self.table_name)),
            data,
            "event_time",
            window,
        )
        arrived = {
            INGESTED_PROPERTY_PREFIX + partition_key(self.partitioning, day): cutoff.isoformat()
            for day in partition_windows(self.partitioning, self.start, window)
            if day.end <= cutoff  # a day still under way has not fully arrived
        }
        if arrived:
            with self.table(store).transaction() as transaction:
                transaction.set_properties(arrived)
        return result

    def produce(self, store: FeatureStore, window: TimeWindow) -> int:
        return self.ingest(store, window).rows_written

    def completeness(self, store: FeatureStore, window: TimeWindow) -> Completeness:
        """Complete when every day of the window has been ingested after it ended."""
        properties = self.table(store).properties
        missing = tuple(
            key
            for key in (
                partition_key(self.partitioning, day)
                for day in partition_windows(self.partitioning, self.start, window)
            )
            if INGESTED_PROPERTY_PREFIX + key not in properties
        )
        return Completeness(
            known=True,
            missing=missing,
            evidence=f"days ingested into {RAW_NAMESPACE}.{self.table_name}",
        )

    def observe(self, store: FeatureStore) -> SourceObservation | None:
        days = sorted(
            name.removeprefix(INGESTED_PROPERTY_PREFIX)
            for name in self.table(store).properties
            if name.startswith(INGESTED_PROPERTY_PREFIX)
        )
        return SourceObservation(newest_partition=days[-1] if days else None)

    def read(self, store: FeatureStore, window: TimeWindow) -> pl.DataFrame:
        return scan_table(
            self.table(store),
            columns=[f.name for f in _SCHEMA.fields],
            time_column="event_time",
            start=window.start,
            end=window.end,
        )
