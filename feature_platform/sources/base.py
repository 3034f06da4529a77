"""What every source promises: read one window, and say whether that window is complete.

A feature window computed from incomplete input is wrong in a way no check downstream can see (a
7-day sum missing a day is just a smaller number), so a source must be able to say, before a
backfill replaces a window, whether its input is all there. It says so from evidence about
arrival (partitions that exist, a watermark, a commit), never from row counts: a quiet hour with
no events is complete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from feature_platform.errors import InvalidSpecError, SourceError
from feature_platform.identifiers import IDENTIFIER_PATTERN
from feature_platform.specs import PARTITION_WIDTH, Partitioning
from feature_platform.time_windows import InstantWording, TimeWindow, as_utc

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore


@dataclass(frozen=True)
class Completeness:
    """What a source knows about one input window.

    Attributes:
        known: False when the source cannot tell by itself (its completeness is then judged from
            the Dagster materializations of its asset, if it has partitions).
        missing: Names of the parts of the window that have not arrived (partition keys such as
            ``2026-11-05`` or ``dt=2026-11-05``, or a range past the watermark).
        complete_through: The source's watermark, where it has one: every row before it has
            arrived.
        evidence: How the source decided, for the run's metadata and error messages.
    """

    known: bool
    missing: tuple[str, ...] = ()
    complete_through: dt.datetime | None = None
    evidence: str = ""

    @property
    def complete(self) -> bool:
        return self.known and not self.missing

    @classmethod
    def unknown(cls, why: str) -> Completeness:
        return cls(known=False, evidence=why)

    @classmethod
    def from_watermark(
        cls, window: TimeWindow, watermark: dt.datetime | None, evidence: str
    ) -> Completeness:
        """Complete when the watermark has reached the window's end."""
        if watermark is not None and watermark >= window.end:
            return cls(known=True, complete_through=watermark, evidence=evidence)
        since = window.start if watermark is None else max(watermark, window.start)
        return cls(
            known=True,
            missing=(f"[{since.isoformat()}, {window.end.isoformat()})",),
            complete_through=watermark,
            evidence=evidence,
        )


@dataclass(frozen=True)
class SourceObservation:
    """How far a source is complete right now, reported as a Dagster observation.

    Attributes:
        complete_through: The watermark, if the source has one.
        newest_partition: The newest partition that has arrived, for partitioned sources.
        snapshot_id: The source table's current snapshot (Iceberg sources).
        details: Anything else worth showing in the UI.
    """

    complete_through: dt.datetime | None = None
    newest_partition: str | None = None
    snapshot_id: int | None = None
    details: Mapping[str, str | int | float] = field(default_factory=dict)


class Source(Protocol):
    """A time-ordered upstream dataset that feature groups are computed from.

    Implementations are frozen dataclasses (hashable, comparable), so several groups can share
    one source and the Dagster layer builds its asset once.
    """

    @property
    def key(self) -> tuple[str, ...]:
        """Dagster asset key path of the source, e.g. ``("raw", "click_events")``."""
        ...

    @property
    def partitioning(self) -> Partitioning | None:
        """Partitions of the source's Dagster asset; None when the asset is not partitioned."""
        ...

    @property
    def start(self) -> dt.datetime:
        """The first instant the source holds (its first partition starts here)."""
        ...

    @property
    def description(self) -> str: ...

    @property
    def defines_asset(self) -> bool:
        """Whether this code location defines the source's asset.

        False when `key` names an asset defined elsewhere: another code location's asset, or
        another feature group (which then shows upstream of this one in the lineage).
        """
        ...

    def read(self, store: FeatureStore, window: TimeWindow) -> pl.DataFrame:
        """Rows whose event time lies in `window`, with the time pushed down into the read.

        Raises:
            SourceError: The source cannot be read, or its rows break the contract (missing or
                naive time column, rows outside the window); the message names the source.
        """
        ...

    def completeness(self, store: FeatureStore, window: TimeWindow) -> Completeness:
        """Whether every row of `window` has arrived, from arrival evidence only."""
        ...

    def observe(self, store: FeatureStore) -> SourceObservation | None:
        """How far the source is complete now; None when it cannot tell by itself."""
        ...


@runtime_checkable
class ProducedSource(Source, Protocol):
    """A source the platform itself writes (the demo's event log): its asset is materializable."""

    def produce(self, store: FeatureStore, window: TimeWindow) -> int:
        """Write the source's rows of `window` (idempotently); returns the rows written."""
        ...


def partition_windows(
    partitioning: Partitioning, start: dt.datetime, window: TimeWindow
) -> Iterator[TimeWindow]:
    """The partitions (of a source starting at `start`) that overlap `window`.

    Partitions before the source's start do not exist, so a lookback reaching past it asks for
    nothing there.
    """
    width = PARTITION_WIDTH[partitioning]
    first = max(window.start, start)
    anchor = first.replace(minute=0, second=0, microsecond=0)
    if partitioning == "daily":
        anchor = anchor.replace(hour=0)
    while anchor < window.end:
        yield TimeWindow(anchor, anchor + width)
        anchor += width


def partition_key(partitioning: Partitioning, window: TimeWindow) -> str:
    """Dagster's key of the partition starting at ``window.start`` (``2026-11-05`` or
    ``2026-11-05-13:00``)."""
    return window.start.strftime("%Y-%m-%d" if partitioning == "daily" else "%Y-%m-%d-%H:%M")


# --- argument checks shared by the concrete sources ------------------------------------------
# A source is built when a code location loads, so a bad argument should fail there, naming the
# argument, rather than in the first run that reads it.

DEFAULT_START = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
DEFAULT_TIME_COLUMN = "event_time"
_START_WORDING = InstantWording(
    unparsable="{what} {value!r} is not an ISO-8601 date",
    naive="{what} {iso} has no time zone; pass an aware datetime such as {example}",
    not_a_time="{what} must be an aware datetime, a date or an ISO string, not {value!r}",
)


def source_error(label: str, message: str) -> SourceError:
    """A `SourceError` whose message names the source first (``source raw.events (iceberg)``)."""
    return SourceError(f"source {label}: {message}")


def validated_key(
    key: Sequence[str] | None, default: tuple[str, ...], what: str
) -> tuple[str, ...]:
    """The asset key: `key` if given, else `default`; every part a safe identifier.

    Raises:
        InvalidSpecError: A part is not ``^[a-z][a-z0-9_]{0,62}$``, or the key is empty.
    """
    if key is not None and (isinstance(key, str) or not isinstance(key, Sequence)):
        raise InvalidSpecError(
            f"{what}: asset_key must be a tuple of names such as ('raw', 'click_events'), "
            f"not {key!r}"
        )
    parts = tuple(default if key is None else key)
    if not parts:
        raise InvalidSpecError(f"{what}: asset_key must have at least one part")
    for part in parts:
        if not isinstance(part, str) or not IDENTIFIER_PATTERN.fullmatch(part):
            argument = "asset_key" if key is not None else "the default asset key"
            raise InvalidSpecError(
                f"{what}: {argument} part {part!r} of {parts!r} must match "
                f"{IDENTIFIER_PATTERN.pattern}; pass asset_key=('sources', 'my_name')"
            )
    return parts


class _CommonFields(Protocol):
    """The fields every source dataclass has, as `normalise_common_fields` reads them."""

    @property
    def asset_key(self) -> tuple[str, ...] | None: ...

    @property
    def key(self) -> tuple[str, ...]: ...

    @property
    def partitioning(self) -> Partitioning | None: ...

    @property
    def start(self) -> dt.datetime: ...

    @property
    def allowed_lateness(self) -> dt.timedelta: ...

    @property
    def naive_timezone(self) -> str | None: ...

    @property
    def description(self) -> str: ...


def normalise_common_fields(
    source: _CommonFields, what: str, *, default_description: str, check_lateness: bool = True
) -> None:
    """Check the asset key, start and naive time zone every source has, normalising them in place.

    Sources are frozen dataclasses, so this sets the normalised key and start (and the default
    description) the way their ``__post_init__`` would, through `object.__setattr__`.

    Args:
        source: The source being constructed.
        what: How messages name it, e.g. ``IcebergSource('raw.clicks')``.
        default_description: The description when none was given: a sentence naming the data.
        check_lateness: Check `allowed_lateness` too (between start and time zone); False for
            a source whose own checks decide whether lateness applies (ParquetSource's layout).

    Raises:
        InvalidSpecError: A field is malformed (the message names it).
    """
    if source.asset_key is not None:
        object.__setattr__(source, "asset_key", validated_key(source.asset_key, (), what))
    validated_key(None, source.key, what)
    object.__setattr__(source, "start", validated_start(source.start, source.partitioning, what))
    if check_lateness:
        validated_lateness(source.allowed_lateness, what)
    validated_timezone(source.naive_timezone, what)
    if not source.description:
        object.__setattr__(source, "description", default_description)


def validated_start(start: object, partitioning: Partitioning | None, what: str) -> dt.datetime:
    """`start` as an aware UTC datetime, on a partition boundary when the source is partitioned.

    Raises:
        InvalidSpecError: `start` is naive, not a date, datetime or ISO string, or not on a
            boundary.
    """
    # A string such as "2026-11-01", as a FeatureGroup's start is written, is accepted too.
    instant = as_utc(start, f"{what}: start", InvalidSpecError, _START_WORDING)
    if partitioning is not None:
        if partitioning not in PARTITION_WIDTH:
            raise InvalidSpecError(
                f"{what}: partitioning must be 'daily', 'hourly' or None, not {partitioning!r}"
            )
        if (instant - _EPOCH) % PARTITION_WIDTH[partitioning]:
            raise InvalidSpecError(
                f"{what}: start {instant.isoformat()} is not on a {partitioning} partition "
                "boundary (UTC)"
            )
    return instant


def validated_lateness(lateness: object, what: str) -> dt.timedelta:
    """Raises InvalidSpecError unless `lateness` is a timedelta of zero or more."""
    if not isinstance(lateness, dt.timedelta) or lateness < dt.timedelta(0):
        raise InvalidSpecError(
            f"{what}: allowed_lateness must be a timedelta of zero or more, not {lateness!r}"
        )
    return lateness


def validated_timezone(name: object, what: str) -> str | None:
    """Raises InvalidSpecError unless `name` is None or an IANA zone such as ``UTC``."""
    if name is None:
        return None
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidSpecError(
            f"{what}: naive_timezone {name!r} is not a known time zone; use e.g. 'UTC'"
        ) from exc
    return str(name)


def validated_columns(
    columns: Sequence[str] | None, time_column: str, what: str
) -> tuple[str, ...] | None:
    """The projected columns as a tuple (hashable), without repeats; None means all.

    Raises:
        InvalidSpecError: `columns` is a bare string, holds a non-string or repeats a name.
    """
    if not isinstance(time_column, str) or not time_column:
        raise InvalidSpecError(f"{what}: time_column must be a column name, not {time_column!r}")
    if columns is None:
        return None
    if isinstance(columns, str) or not all(isinstance(c, str) and c for c in columns):
        raise InvalidSpecError(
            f"{what}: columns must be a tuple of column names such as ('user_id', 'amount'), "
            f"not {columns!r}"
        )
    names = tuple(columns)
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise InvalidSpecError(f"{what}: columns repeats {repeated}")
    return names


def frozen_pairs(
    value: Mapping[str, str] | Sequence[tuple[str, str]], argument: str, what: str
) -> tuple[tuple[str, str], ...]:
    """Settings as sorted ``(key, value)`` pairs, so a source holding them stays hashable.

    Raises:
        InvalidSpecError: A key or value is not a string.
    """
    pairs = list(value.items()) if isinstance(value, Mapping) else list(value)
    for pair in pairs:
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and all(isinstance(part, str) for part in pair)
        ):
            raise InvalidSpecError(
                f"{what}: {argument} must map strings to strings, e.g. {{'s3.region': "
                f"'eu-west-1'}}; got {pair!r}"
            )
    return tuple(sorted(pairs))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
