"""Half-open UTC time windows, the unit of every backfill write.

Naive datetimes are rejected rather than assumed to be UTC: a window that silently shifts by
the writer's local offset would overwrite the wrong rows, which is the kind of bug a feature
store exists to prevent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from feature_platform.errors import InvalidWindowError


def parse_iso(text: str) -> dt.date | dt.datetime:
    """An ISO date alone stays a date (midnight UTC wherever an instant is needed, as a
    `datetime.date` is); anything longer is a datetime, naive or aware as written.

    Raises:
        ValueError: Not ISO 8601.
    """
    return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)


@dataclass(frozen=True)
class InstantWording:
    """How a caller words the three ways a value is not an instant.

    Window bounds, feature group starts and source starts take the same forms, but each caller
    refuses bad values with its own error and wording; these `str.format` templates get
    ``what`` (the argument), ``value`` (as passed), ``iso`` (a naive datetime in ISO form) and
    ``example`` (that datetime made aware in UTC).
    """

    unparsable: str
    naive: str
    not_a_time: str


_WINDOW_WORDING = InstantWording(
    unparsable="{what} {value!r} is not an ISO-8601 date or timestamp",
    naive="{what} {iso} has no time zone; pass an aware datetime such as {example}",
    not_a_time="{what} must be a datetime, date or ISO string, not {value!r}",
)


def as_utc(
    value: object, what: str, error: Callable[[str], Exception], wording: InstantWording
) -> dt.datetime:
    """Convert an aware datetime, a date (midnight UTC) or an ISO string to aware UTC.

    The one conversion behind window bounds and starts, so that they agree on what an instant
    is (a naive value is never assumed to be UTC; see the module docstring).

    Raises:
        Exception: `error` with `wording`'s message: the value is naive, unparsable or of
            another type.
    """
    if isinstance(value, str):
        try:
            value = parse_iso(value)
        except ValueError as exc:
            raise error(wording.unparsable.format(what=what, value=value)) from exc
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            example = value.replace(tzinfo=dt.UTC).isoformat()
            raise error(wording.naive.format(what=what, iso=value.isoformat(), example=example))
        return value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise error(wording.not_a_time.format(what=what, value=value))


def to_utc(value: dt.datetime | dt.date | str, what: str) -> dt.datetime:
    """Convert an aware datetime, a date (midnight UTC) or an ISO string to aware UTC.

    Raises:
        InvalidWindowError: The value is naive, unparsable or of another type.
    """
    return as_utc(value, what, InvalidWindowError, _WINDOW_WORDING)


@dataclass(frozen=True)
class TimeWindow:
    """The instants ``start <= t < end``, both bounds aware and in UTC."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, start: dt.datetime | dt.date | str, end: dt.datetime | dt.date | str) -> TimeWindow:
        window = cls(to_utc(start, "window start"), to_utc(end, "window end"))
        if window.end <= window.start:
            raise InvalidWindowError(
                f"window end {window.end.isoformat()} must be after start "
                f"{window.start.isoformat()}"
            )
        return window

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def merge_adjacent(windows: Iterable[TimeWindow]) -> list[TimeWindow]:
    """The windows sorted, with touching or overlapping ones merged: one scan per range (30
    daily windows in a row read as one)."""
    merged: list[TimeWindow] = []
    for window in sorted(windows, key=lambda w: w.start):
        if merged and merged[-1].end >= window.start:
            merged[-1] = TimeWindow(merged[-1].start, max(merged[-1].end, window.end))
        else:
            merged.append(window)
    return merged
