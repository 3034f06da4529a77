"""`SnowflakeSource`: a Snowflake table or query read one time window at a time.

The window's bounds reach Snowflake as bound parameters (``%(start)s``, ``%(end)s``, the
connector's default ``pyformat`` style), never formatted into the SQL, and a table's name and
columns are validated and quoted like every Snowflake name the platform writes. Completeness is
a watermark: ``MAX(<time column>)`` of the table (or the result of `watermark_query`), minus
the lateness the producer allows.

The connection is dagster-snowflake's `SnowflakeResource`, built from the ``SNOWFLAKE_*``
variables every Snowflake connection of the platform uses (`snowflake_resource_from_env`),
unless the source is given its own `connection` factory (e.g. ``resource.get_connection`` of a
configured resource). The client is imported only when a source is used: it costs seconds,
which code locations that never read Snowflake should not pay.

Snowflake's ``TIMESTAMP_NTZ`` (its default ``TIMESTAMP``) holds wall-clock times with no zone,
and by convention they are UTC; so this source reads naive times as UTC unless told otherwise
(``naive_timezone=None`` refuses them, another zone converts from it). Column names come back
lower-case: Snowflake folds unquoted names to upper case, and feature code uses lower case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import polars as pl

from feature_platform.errors import (
    ConfigurationError,
    InvalidIdentifierError,
    InvalidSpecError,
)
from feature_platform.snowflake.connection import snowflake_resource_from_env
from feature_platform.snowflake.naming import quote_identifier
from feature_platform.snowflake.settings import validate_snowflake_identifier
from feature_platform.sources.base import (
    DEFAULT_START,
    DEFAULT_TIME_COLUMN,
    Completeness,
    SourceObservation,
    normalise_common_fields,
    source_error,
    validated_columns,
)
from feature_platform.sources.rows import checked_rows
from feature_platform.specs import Partitioning
from feature_platform.time_windows import TimeWindow

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore

ConnectionFactory = Callable[[], AbstractContextManager[Any]]
"""Opens a DB-API connection to Snowflake, e.g. ``SnowflakeResource(...).get_connection``."""


@dataclass(frozen=True)
class SnowflakeSource:
    """Rows of a Snowflake table, or of a query over a time window.

    Args:
        table: ``TABLE``, ``SCHEMA.TABLE`` or ``DATABASE.SCHEMA.TABLE``, each part an unquoted
            Snowflake identifier (it is quoted upper-case, as Snowflake stores such names).
        query: Instead of `table`: a SELECT with ``%(start)s`` and ``%(end)s`` where the
            window's bounds go (bound by the connector, as aware timestamps); a literal ``%``
            is written ``%%``. It must return only rows of the window.
        time_column: The column holding each row's event time (an unquoted identifier).
        columns: Table only: the columns to read (the time column is always read).
        watermark_query: A query returning one timestamp before which every row has arrived.
            Default for a table: ``SELECT MAX(<time_column>) FROM <table>``; a query source
            without one cannot tell its completeness (the Dagster layer then judges it).
        allowed_lateness: How late rows may arrive after the newest one; subtracted from the
            watermark.
        asset_key: Key of a Dagster asset defined elsewhere that this data is. Default
            ``("sources", <table name, lower-case>)``; required for a query source.
        partitioning: Partitions of the source's Dagster asset; None for an unpartitioned one.
        start: The first instant the source holds (aware).
        description: Shown in the Dagster UI; a sentence naming the table by default.
        naive_timezone: The zone of ``TIMESTAMP_NTZ`` values, ``"UTC"`` by default (see the
            module docstring); None refuses naive times.
        connection: Opens a connection (a context manager), e.g. a configured
            `SnowflakeResource`'s ``get_connection``; default: a `SnowflakeResource` from the
            ``SNOWFLAKE_*`` variables (`snowflake_resource_from_env`). Not part of the
            source's identity (equality, hash).

    Raises:
        InvalidSpecError: An argument is malformed (the message names it).
    """

    table: str | None = None
    query: str | None = None
    time_column: str = DEFAULT_TIME_COLUMN
    columns: tuple[str, ...] | None = None
    watermark_query: str | None = None
    allowed_lateness: dt.timedelta = dt.timedelta(0)
    asset_key: tuple[str, ...] | None = None
    partitioning: Partitioning | None = None
    start: dt.datetime = DEFAULT_START
    description: str = ""
    naive_timezone: str | None = "UTC"
    connection: ConnectionFactory | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        what = f"SnowflakeSource({self.table or 'query'!r})"
        if (self.table is None) == (self.query is None):
            raise InvalidSpecError(f"{what}: give exactly one of table= and query=")
        _identifier(self.time_column, "time_column", what)
        object.__setattr__(self, "columns", validated_columns(self.columns, self.time_column, what))
        if self.table is not None:
            parts = self.table.split(".") if isinstance(self.table, str) else [self.table]
            if not 1 <= len(parts) <= 3:
                raise InvalidSpecError(
                    f"{what}: table must be TABLE, SCHEMA.TABLE or DATABASE.SCHEMA.TABLE"
                )
            for part in parts:
                _identifier(part, "table", what)
            for column in self.columns or ():
                _identifier(column, "columns", what)
        else:
            self._check_query(what)
        if self.watermark_query is not None and (
            not isinstance(self.watermark_query, str) or not self.watermark_query.strip()
        ):
            raise InvalidSpecError(f"{what}: watermark_query must be a SELECT or None")
        if self.connection is not None and not callable(self.connection):
            raise InvalidSpecError(
                f"{what}: connection must be a callable opening a connection, e.g. "
                "resource.get_connection"
            )
        subject = f"table {self.table}" if self.table else "query"
        normalise_common_fields(
            self, what, default_description=f"Snowflake {subject} (time column {self.time_column})"
        )

    def _check_query(self, what: str) -> None:
        if not isinstance(self.query, str) or not self.query.strip():
            raise InvalidSpecError(f"{what}: query must be a SELECT")
        if self.columns is not None:
            raise InvalidSpecError(f"{what}: columns applies to table=; select them in the query")
        if self.asset_key is None:
            raise InvalidSpecError(
                f"{what}: a query source needs asset_key=('sources', '<name>') to name its asset"
            )
        missing = [p for p in ("%(start)s", "%(end)s") if p not in self.query]
        if missing:
            raise InvalidSpecError(
                f"{what}: query must filter on the window with {' and '.join(missing)}, e.g. "
                "WHERE event_time >= %(start)s AND event_time < %(end)s"
            )
        try:
            self.query % {"start": "", "end": ""}  # the connector formats it the same way
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidSpecError(
                f"{what}: query has a '%' that is not a parameter ({exc}); write a literal % as %%"
            ) from exc

    # --- Source --------------------------------------------------------------------------------

    @property
    def key(self) -> tuple[str, ...]:
        if self.asset_key is not None:
            return self.asset_key
        assert self.table is not None
        return ("sources", self.table.rsplit(".", 1)[-1].lower())

    @property
    def defines_asset(self) -> bool:
        return self.asset_key is None

    @property
    def name(self) -> str:
        """How messages name the source: ``RAW.EVENTS.CLICKS (snowflake)``."""
        if self.table is not None:
            return f"{self.table} (snowflake)"
        return f"{'/'.join(self.key)} (snowflake query)"

    def read(self, store: FeatureStore, window: TimeWindow) -> pl.DataFrame:
        """The rows of `window`, the bounds bound as parameters.

        Raises:
            SourceError: Snowflake is not configured or refuses the connection (credentials,
                network), the SQL fails (missing table or column), or the rows break the
                contract (`checked_rows`).
        """
        zone = ZoneInfo(self.naive_timezone) if self.naive_timezone else dt.UTC
        # Aware bounds in the naive times' zone: Snowflake compares them with TIMESTAMP_TZ/LTZ
        # as instants, and with TIMESTAMP_NTZ as that zone's wall-clock time.
        params = {"start": window.start.astimezone(zone), "end": window.end.astimezone(zone)}
        with self._session() as connection:
            cursor = connection.cursor()
            cursor.execute(self.query or self._select(), params)
            frame = self._lower_case(_fetch_frame(cursor))
        return checked_rows(self.name, frame, self.time_column.lower(), window, self.naive_timezone)

    def completeness(self, store: FeatureStore, window: TimeWindow) -> Completeness:
        """Complete when the watermark minus `allowed_lateness` reaches the window's end;
        unknown for a query source without `watermark_query`.

        Raises:
            SourceError: The watermark query fails or returns something else than a timestamp.
        """
        if self.table is None and self.watermark_query is None:
            return Completeness.unknown(
                f"{self.name} has no watermark_query, so it cannot tell what has arrived"
            )
        watermark, evidence = self._watermark()
        return Completeness.from_watermark(window, watermark, evidence)

    def observe(self, store: FeatureStore) -> SourceObservation | None:
        """The watermark; None for a query source without `watermark_query`."""
        if self.table is None and self.watermark_query is None:
            return None
        watermark, evidence = self._watermark()
        return SourceObservation(complete_through=watermark, details={"evidence": evidence})

    # --- internals -----------------------------------------------------------------------------

    def _fqn(self) -> str:
        assert self.table is not None
        return ".".join(quote_identifier(part) for part in self.table.split("."))

    def _select(self) -> str:
        time_column = quote_identifier(self.time_column)
        if self.columns is None:
            projection = "*"
        else:
            wanted = [*self.columns]
            if self.time_column not in wanted:
                wanted.append(self.time_column)
            projection = ", ".join(quote_identifier(c) for c in wanted)
        # Null times are selected too, so the read refuses them instead of dropping them.
        return (
            f"SELECT {projection} FROM {self._fqn()} WHERE ({time_column} >= %(start)s AND "
            f"{time_column} < %(end)s) OR {time_column} IS NULL"
        )

    @contextmanager
    def _session(self) -> Iterator[Any]:
        """A connection; every Snowflake error inside becomes a `SourceError` naming us."""
        from snowflake.connector.errors import Error as SnowflakeError

        try:
            factory = self.connection or snowflake_resource_from_env().get_connection
        except ConfigurationError as exc:
            raise source_error(
                self.name, f"{exc}, or give the source a connection= factory"
            ) from exc
        try:
            with factory() as connection:
                yield connection
        except SnowflakeError as exc:
            raise source_error(self.name, f"Snowflake refused the request: {exc}") from exc

    def _lower_case(self, frame: pl.DataFrame) -> pl.DataFrame:
        lowered = [c.lower() for c in frame.columns]
        clashes = sorted({c for c in lowered if lowered.count(c) > 1})
        if clashes:
            raise source_error(
                self.name, f"returns columns that differ only in case: {clashes}; alias them"
            )
        return frame.rename(dict(zip(frame.columns, lowered, strict=True)))

    def _watermark(self) -> tuple[dt.datetime | None, str]:
        sql = self.watermark_query or f"SELECT MAX({quote_identifier(self.time_column)}) FROM "
        if self.watermark_query is None:
            sql += self._fqn()
        with self._session() as connection:
            cursor = connection.cursor()
            cursor.execute(sql)
            row = cursor.fetchone()
        value = None if not row else row[0]
        if value is None:
            return None, f"{sql} returned nothing: no row has arrived"
        if not isinstance(value, dt.datetime):
            raise source_error(
                self.name, f"the watermark query {sql!r} returned {value!r}, not a timestamp"
            )
        if value.tzinfo is None:
            if self.naive_timezone is None:
                raise source_error(
                    self.name,
                    f"the watermark query returned a naive timestamp {value.isoformat()}; set "
                    "naive_timezone to its zone",
                )
            value = value.replace(tzinfo=ZoneInfo(self.naive_timezone))
        value = value.astimezone(dt.UTC)
        lateness = (
            f" minus allowed lateness {self.allowed_lateness}" if self.allowed_lateness else ""
        )
        return value - self.allowed_lateness, f"{sql} = {value.isoformat()}{lateness}"


def _identifier(name: object, argument: str, what: str) -> str:
    try:
        return validate_snowflake_identifier(name, argument)
    except InvalidIdentifierError as exc:
        raise InvalidSpecError(f"{what}: {argument}: {exc}") from exc


def _fetch_frame(cursor: Any) -> pl.DataFrame:
    """The result as a frame: through Arrow with the Snowflake connector's cursor, else (other
    DB-API cursors, such as fakesnow's) from the rows and the column types in the description."""
    fetch_arrow = getattr(cursor, "fetch_arrow_all", None)
    if fetch_arrow is not None:
        table = fetch_arrow(force_return_table=True, force_microsecond_precision=True)
        return cast(pl.DataFrame, pl.from_arrow(table))
    from snowflake.connector.constants import FIELD_ID_TO_NAME

    rows = cursor.fetchall()
    names: list[str] = []
    types: dict[str, pl.DataType] = {}
    for column in cursor.description:
        names.append(column.name)
        dtype = _polars_type(FIELD_ID_TO_NAME.get(column.type_code), column.scale)
        if dtype is not None:
            types[column.name] = dtype
    return pl.DataFrame(
        rows, schema=names, schema_overrides=types, orient="row", infer_schema_length=None
    )


def _polars_type(snowflake_type: str | None, scale: int | None) -> pl.DataType | None:
    """The polars type of a Snowflake result column; None lets polars infer it."""
    if snowflake_type == "FIXED":
        return pl.Int64() if not scale else pl.Float64()
    simple: dict[str, pl.DataType] = {
        "REAL": pl.Float64(),
        "TEXT": pl.String(),
        "DATE": pl.Date(),
        "TIMESTAMP_NTZ": pl.Datetime("us"),
        "TIMESTAMP_LTZ": pl.Datetime("us", "UTC"),
        "TIMESTAMP_TZ": pl.Datetime("us", "UTC"),
        "BOOLEAN": pl.Boolean(),
        "BINARY": pl.Binary(),
    }
    return simple.get(snowflake_type or "")
