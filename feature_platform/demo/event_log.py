"""The demo's raw click-event log: an Iceberg table partitioned by event day, written per day.

It is a source, not a feature group: it lives in its own namespace (`raw`) and keeps every event.
Writing a day replaces that day atomically, so regenerating it is idempotent.
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
from feature_platform.specs import Partitioning
from feature_platform.time_windows import TimeWindow

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore

RAW_NAMESPACE = "raw"

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
        return replace_window(
            lambda: store.catalog.load_table((RAW_NAMESPACE, self.table_name)),
            data,
            "event_time",
            window,
        )

    def read(self, store: FeatureStore, window: TimeWindow) -> pl.DataFrame:
        return scan_table(
            self.table(store),
            columns=[f.name for f in _SCHEMA.fields],
            time_column="event_time",
            start=window.start,
            end=window.end,
        )
