"""`IcebergSource`: an Iceberg table read one time window at a time.

The window becomes a row filter on the time column, so pyiceberg prunes partitions and files by
their statistics and opens only the files that can hold the window's rows. Completeness comes
from a watermark: a table property a producer sets (``feature-platform.watermark``), or else
the largest event time in the current snapshot's file statistics, minus the lateness the
producer allows. Neither reads a data file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

import polars as pl
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.conversions import from_bytes
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.table import DataScan, FileScanTask, Table
from pyiceberg.types import (
    PrimitiveType,
    StringType,
    TimestampNanoType,
    TimestampType,
    TimestamptzNanoType,
    TimestamptzType,
)
from pyiceberg.utils.config import Config

from feature_platform.errors import InvalidSpecError, SourceError
from feature_platform.offline_store.reads import time_range_filter
from feature_platform.sources.base import (
    DEFAULT_START,
    DEFAULT_TIME_COLUMN,
    Completeness,
    SourceObservation,
    frozen_pairs,
    normalise_common_fields,
    source_error,
    validated_columns,
)
from feature_platform.sources.rows import checked_rows, window_filter
from feature_platform.specs import Partitioning
from feature_platform.time_windows import TimeWindow

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore

WATERMARK_PROPERTY = "feature-platform.watermark"
_AWARE = (TimestamptzType, TimestamptzNanoType)
_NAIVE = (TimestampType, TimestampNanoType)
_NANO = (TimestampNanoType, TimestamptzNanoType)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class _Watermark:
    """What the table says about arrival: a watermark, or why there is none."""

    value: dt.datetime | None
    known: bool
    evidence: str


@dataclass(frozen=True)
class IcebergSource:
    """An Iceberg table of time-stamped rows, in the store's catalog or another one.

    Args:
        table: ``"namespace.table"``.
        time_column: The column holding each row's event time (timestamptz; or timestamp with
            `naive_timezone`).
        columns: The columns to read (the time column is always read); None reads all.
        catalog: Name of a pyiceberg catalog configured outside the code, through
            ``PYICEBERG_CATALOG__<NAME>__URI`` / ``__WAREHOUSE`` / ... variables or
            ``.pyiceberg.yaml``, read when the source is used (not when pyiceberg was
            imported); None reads from the feature store's own catalog.
        catalog_properties: Extra properties of the named catalog (a mapping is accepted and
            kept as sorted pairs). They may hold credentials, so they stay out of the repr.
        asset_key: Key of a Dagster asset defined elsewhere (another code location) that this
            table is; the platform then defines no asset for it. Default
            ``("sources", <table name>)``, an asset this code location defines.
        partitioning: Partitions of the source's Dagster asset; None for an unpartitioned one.
        start: The first instant the table holds (aware).
        description: Shown in the Dagster UI; a sentence naming the table by default.
        allowed_lateness: How late rows may still arrive after the newest one: subtracted from
            the statistics watermark (not from the `watermark_property`, which a producer sets
            when it knows).
        watermark_property: Table property holding an ISO-8601 aware timestamp before which
            every row has arrived, set by the table's producer; None to ignore properties.
        naive_timezone: Zone of a ``timestamp`` (without zone) time column's wall-clock values,
            e.g. ``"UTC"``; None refuses such columns.

    Raises:
        InvalidSpecError: An argument is malformed (the message names it).
    """

    table: str
    time_column: str = DEFAULT_TIME_COLUMN
    columns: tuple[str, ...] | None = None
    catalog: str | None = None
    catalog_properties: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    asset_key: tuple[str, ...] | None = None
    partitioning: Partitioning | None = None
    start: dt.datetime = DEFAULT_START
    description: str = ""
    allowed_lateness: dt.timedelta = dt.timedelta(0)
    watermark_property: str | None = WATERMARK_PROPERTY
    naive_timezone: str | None = None

    def __post_init__(self) -> None:
        what = f"IcebergSource({self.table!r})"
        parts = self.table.split(".") if isinstance(self.table, str) else []
        if len(parts) < 2 or not all(parts):
            raise InvalidSpecError(
                f"{what}: table must be 'namespace.table', e.g. 'raw.click_events'"
            )
        if self.catalog is not None and (not isinstance(self.catalog, str) or not self.catalog):
            raise InvalidSpecError(f"{what}: catalog must be a catalog name or None")
        pairs = frozen_pairs(self.catalog_properties, "catalog_properties", what)
        if pairs and self.catalog is None:
            raise InvalidSpecError(
                f"{what}: catalog_properties configure a named catalog; pass catalog='<name>' "
                "too (without one the source reads the feature store's own catalog)"
            )
        if self.watermark_property is not None and not (
            isinstance(self.watermark_property, str) and self.watermark_property
        ):
            raise InvalidSpecError(f"{what}: watermark_property must be a property name or None")
        object.__setattr__(self, "catalog_properties", pairs)
        object.__setattr__(self, "columns", validated_columns(self.columns, self.time_column, what))
        where = f" in catalog {self.catalog}" if self.catalog else ""
        described = f"Iceberg table {self.table}{where} (time column {self.time_column})"
        normalise_common_fields(self, what, default_description=described)

    # --- Source --------------------------------------------------------------------------------

    @property
    def key(self) -> tuple[str, ...]:
        return self.asset_key or ("sources", self.table.rsplit(".", 1)[1])

    @property
    def defines_asset(self) -> bool:
        return self.asset_key is None

    @property
    def name(self) -> str:
        """How messages name the source: ``raw.click_events (iceberg)``."""
        where = f", catalog {self.catalog}" if self.catalog else ""
        return f"{self.table} (iceberg{where})"

    def read(self, store: FeatureStore, window: TimeWindow) -> pl.DataFrame:
        """The rows of `window`, read through a time filter pyiceberg prunes files with.

        Raises:
            SourceError: The catalog or table cannot be opened, the time column is missing or
                not a timestamp, a requested column does not exist, or the rows break the
                contract (`checked_rows`).
        """
        table = self._load(store)
        schema = table.schema()
        time_type = self._time_type(table)
        names = schema.column_names
        wanted = list(self.columns) if self.columns is not None else list(names)
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise source_error(
                self.name, f"has no columns {unknown}; its columns are {list(names)}"
            )
        if self.time_column not in wanted:
            wanted.append(self.time_column)
        scan = self._scan(table, time_type, window, tuple(wanted))
        try:
            tasks = list(scan.plan_files())
            self._refuse_null_times(table, tasks, window)
            # The planned tasks are read as they are: `scan.to_arrow()` would plan them again.
            arrow = ArrowScan(
                table.metadata, table.io, scan.projection(), scan.row_filter, scan.case_sensitive
            ).to_table(tasks)
        except SourceError:
            raise
        except Exception as exc:  # storage errors differ by FileIO (OSError, botocore, ...)
            raise source_error(self.name, f"cannot read the table's files: {exc}") from exc
        frame = cast(pl.DataFrame, pl.from_arrow(arrow)).select(wanted)
        if isinstance(time_type, _NAIVE) and self.naive_timezone not in (None, "UTC"):
            # The pushed-down bounds were widened to cover any offset change; now cut exactly.
            dtype = frame.schema[self.time_column]
            assert isinstance(dtype, pl.Datetime)
            frame = frame.filter(
                window_filter(self.time_column, dtype, window, self.naive_timezone)
            )
        return checked_rows(self.name, frame, self.time_column, window, self.naive_timezone)

    def plan(self, table: Table, window: TimeWindow) -> list[FileScanTask]:
        """The data files a read of `window` opens: those whose partition and statistics may
        hold rows of the window (the benchmark and tests measure pruning with it)."""
        return list(self._scan(table, self._time_type(table), window).plan_files())

    def completeness(self, store: FeatureStore, window: TimeWindow) -> Completeness:
        """Complete when the table's watermark (see the class docstring) reaches the window's end.

        Raises:
            SourceError: The table cannot be opened, or its watermark property is malformed.
        """
        watermark = self._watermark(self._load(store))
        if not watermark.known:
            return Completeness.unknown(watermark.evidence)
        return Completeness.from_watermark(window, watermark.value, watermark.evidence)

    def observe(self, store: FeatureStore) -> SourceObservation | None:
        """The watermark and the current snapshot id."""
        table = self._load(store)
        watermark = self._watermark(table)
        snapshot = table.current_snapshot()
        return SourceObservation(
            complete_through=watermark.value,
            snapshot_id=None if snapshot is None else snapshot.snapshot_id,
            details={"watermark_evidence": watermark.evidence},
        )

    # --- internals -----------------------------------------------------------------------------

    def _catalog(self, store: FeatureStore) -> Catalog:
        if self.catalog is None:
            return store.catalog
        # pyiceberg's own `load_catalog(name)` reads PYICEBERG_CATALOG__* once, when pyiceberg
        # is imported; a fresh `Config()` reads the environment (and .pyiceberg.yaml) now.
        configured = Config().get_catalog_config(self.catalog) or {}
        properties = {str(k): str(v) for k, v in configured.items() if not isinstance(v, dict)}
        properties.update(dict(self.catalog_properties))
        try:
            return load_catalog(self.catalog, **properties)
        except (ValueError, ImportError, NotImplementedError) as exc:
            variable = f"PYICEBERG_CATALOG__{self.catalog.upper()}__URI"
            raise source_error(
                self.name,
                f"catalog {self.catalog!r} is not configured or cannot be loaded ({exc}); set "
                f"{variable} (and its __WAREHOUSE, __TYPE...), add it to .pyiceberg.yaml, or "
                "pass catalog_properties",
            ) from exc

    def _load(self, store: FeatureStore) -> Table:
        try:
            return self._catalog(store).load_table(self.table)
        except SourceError:
            raise
        except (NoSuchTableError, NoSuchNamespaceError) as exc:
            where = f"catalog {self.catalog!r}" if self.catalog else "the feature store's catalog"
            raise source_error(
                self.name, f"table {self.table} does not exist in {where}: {exc}"
            ) from exc
        except Exception as exc:  # unreachable catalogs fail with their client's own errors
            raise source_error(self.name, f"cannot open the catalog: {exc}") from exc

    def _time_type(self, table: Table) -> PrimitiveType:
        schema = table.schema()
        if self.time_column not in schema.column_names:
            raise source_error(
                self.name,
                f"has no time column {self.time_column!r}; its columns are "
                f"{list(schema.column_names)}. Set time_column= to the column holding each "
                "row's event time",
            )
        field_type = schema.find_field(self.time_column).field_type
        if isinstance(field_type, _AWARE):
            return field_type
        if isinstance(field_type, _NAIVE):
            if self.naive_timezone is None:
                raise source_error(
                    self.name,
                    f"time column {self.time_column!r} is {field_type} (no time zone): set "
                    "naive_timezone='UTC' (or the zone its wall-clock times are in), or store "
                    "timestamptz",
                )
            return field_type
        if isinstance(field_type, StringType):
            raise source_error(
                self.name,
                f"time column {self.time_column!r} holds text (string), not timestamps: parse "
                "it into a timestamptz column where the table is written",
            )
        raise source_error(
            self.name,
            f"time column {self.time_column!r} is {field_type}, not a timestamp; a source "
            "needs the instant of each row",
        )

    def _scan(
        self,
        table: Table,
        time_type: PrimitiveType,
        window: TimeWindow,
        columns: tuple[str, ...] = ("*",),
    ) -> DataScan:
        start, end = self._bounds(time_type, window)
        return table.scan(
            row_filter=time_range_filter(self.time_column, start, end), selected_fields=columns
        )

    def _refuse_null_times(
        self, table: Table, tasks: list[FileScanTask], window: TimeWindow
    ) -> None:
        """Refuse the window when its files hold rows without a time.

        The time filter would drop such rows unseen, so the files' null counts (manifest
        statistics, no data read) are checked instead. Nulls in files the window does not
        touch (a day-partitioned table keeps them in a partition of their own) belong to no
        window, and do not stop its reads.
        """
        field_id = table.schema().find_field(self.time_column).field_id
        nulls = sum((task.file.null_value_counts or {}).get(field_id, 0) for task in tasks)
        if nulls:
            raise source_error(
                self.name,
                f"{nulls} rows in the {len(tasks)} data files of {window} have no "
                f"{self.time_column!r} (null): every row needs its event time",
            )

    def _bounds(
        self, time_type: PrimitiveType, window: TimeWindow
    ) -> tuple[dt.datetime, dt.datetime]:
        """Filter bounds pyiceberg accepts for the column: aware for timestamptz, wall-clock
        (widened by a day outside UTC, then cut exactly after the read) for timestamp."""
        if isinstance(time_type, _AWARE):
            return window.start, window.end
        zone = _zone(self.naive_timezone or "UTC")
        start = window.start.astimezone(zone).replace(tzinfo=None)
        end = window.end.astimezone(zone).replace(tzinfo=None)
        if self.naive_timezone in (None, "UTC"):
            return start, end
        return start - dt.timedelta(days=1), end + dt.timedelta(days=1)

    def _watermark(self, table: Table) -> _Watermark:
        if self.watermark_property is not None:
            text = table.properties.get(self.watermark_property)
            if text is not None:
                return _Watermark(
                    self._parse_property(text),
                    True,
                    f"table property {self.watermark_property} = {text}",
                )
        snapshot = table.current_snapshot()
        if snapshot is None:
            return _Watermark(None, True, f"table {self.table} has no snapshot: nothing arrived")
        time_type = self._time_type(table)
        field_id = table.schema().find_field(self.time_column).field_id
        newest: int | None = None
        files = 0
        try:
            tasks = list(table.scan(snapshot_id=snapshot.snapshot_id).plan_files())
        except Exception as exc:  # manifests live on the table's storage
            raise source_error(self.name, f"cannot read the table's manifests: {exc}") from exc
        for task in tasks:
            files += 1
            bound = (task.file.upper_bounds or {}).get(field_id)
            if bound is None:
                return _Watermark(
                    None,
                    False,
                    f"data file {task.file.file_path} has no upper bound for "
                    f"{self.time_column} (column metrics disabled), and no "
                    f"{self.watermark_property} property is set",
                )
            value = int(from_bytes(time_type, bound))
            newest = value if newest is None else max(newest, value)
        if newest is None:
            return _Watermark(None, True, f"snapshot {snapshot.snapshot_id} has no data files")
        unit = dt.timedelta(microseconds=1)
        instant = _EPOCH + (newest // 1000 if isinstance(time_type, _NANO) else newest) * unit
        if isinstance(time_type, _NAIVE):
            wall = instant.replace(tzinfo=None)
            instant = wall.replace(tzinfo=_zone(self.naive_timezone or "UTC")).astimezone(dt.UTC)
        lateness = (
            f" minus allowed lateness {self.allowed_lateness}" if self.allowed_lateness else ""
        )
        return _Watermark(
            instant - self.allowed_lateness,
            True,
            f"newest {self.time_column} {instant.isoformat()} in the statistics of {files} data "
            f"files of snapshot {snapshot.snapshot_id}{lateness}",
        )

    def _parse_property(self, text: str) -> dt.datetime:
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise source_error(
                self.name,
                f"table property {self.watermark_property} = {text!r} is not an ISO-8601 "
                "timestamp; the producer must write e.g. 2026-11-05T00:00:00+00:00",
            ) from exc
        if value.tzinfo is None or value.utcoffset() is None:
            raise source_error(
                self.name,
                f"table property {self.watermark_property} = {text!r} has no time zone; the "
                "producer must write an aware timestamp such as 2026-11-05T00:00:00+00:00",
            )
        return value.astimezone(dt.UTC)


def _zone(name: str) -> dt.tzinfo:
    return dt.UTC if name == "UTC" else ZoneInfo(name)
