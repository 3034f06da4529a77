"""Expectations a feature group declares about the rows it publishes, as plain data.

They sit in the spec (`Feature(..., expectations=[...])`, `FeatureGroup(..., expectations=[...],
expectation_mode=...)`) so they travel with it: stored in the table's properties, shown by
`describe`, turned into Dagster asset checks. A spec only constructs when every expectation fits
its feature's type (a range on a string, allowed values of another type, a negative null
fraction, a factor of 1 or less are refused, naming the feature and the expectation), so a
write is never the first place a mistyped expectation shows up. Evaluating them on a frame is
`offline_store.audit`'s concern.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from feature_platform.errors import InvalidSpecError

ExpectationMode = Literal["strict", "warn"]
MODES: tuple[ExpectationMode, ...] = ("strict", "warn")
_NUMERIC = frozenset({"int32", "int64", "float32", "float64"})
_DISCRETE = frozenset({"int32", "int64", "string", "bool"})
Bound = int | float | dt.date | dt.datetime


def _mode_problem(mode: object) -> str | None:
    if mode is None or mode in MODES:
        return None
    return f"has mode {mode!r}; use 'strict', 'warn' or None (the group's mode)"


@dataclass(frozen=True)
class ValueRange:
    """Every non-null value lies in ``[min, max]`` (both inclusive; either may be None).

    Fits numeric features (bounds are numbers), date features (dates) and timestamp features
    (aware datetimes). Nulls are not judged here: `MaxNullFraction` does that.
    """

    min: Bound | None = None
    max: Bound | None = None
    mode: ExpectationMode | None = None
    kind: ClassVar[str] = "in_range"

    def describe(self) -> str:
        low = "-inf" if self.min is None else _show(self.min)
        high = "+inf" if self.max is None else _show(self.max)
        return f"range [{low}, {high}]"

    def problem(self, dtype: str | None) -> str | None:
        """Why this range cannot apply to a feature of `dtype`, or None when it can."""
        if dtype not in _NUMERIC | {"date", "timestamp"}:
            return f"does not apply to a {dtype} feature: ranges need numbers, dates or timestamps"
        if self.min is None and self.max is None:
            return "needs a min, a max or both"
        for bound in (self.min, self.max):
            if bound is not None and not _fits_bound(bound, dtype):
                return f"has bound {bound!r}, which is not {_bound_kind(dtype)}"
        if self.min is not None and self.max is not None and self.min > self.max:  # type: ignore[operator]
            return f"has min {self.min!r} above max {self.max!r}"
        return _mode_problem(self.mode)

    def to_dict(self) -> dict[str, Any]:
        return {"min": _encode(self.min), "max": _encode(self.max)}


@dataclass(frozen=True)
class AllowedValues:
    """Every non-null value is one of `values` (string, integer and bool features)."""

    values: Sequence[Any]
    mode: ExpectationMode | None = None
    kind: ClassVar[str] = "allowed_values"

    def __post_init__(self) -> None:
        values = self.values
        if isinstance(values, Iterable) and not isinstance(values, str | bytes | Mapping):
            object.__setattr__(self, "values", tuple(values))

    def describe(self) -> str:
        shown = ", ".join(_show(v) for v in list(self.values)[:10])
        more = f", ... ({len(self.values)} values)" if len(self.values) > 10 else ""
        return f"allowed values [{shown}{more}]"

    def problem(self, dtype: str | None) -> str | None:
        """Why these values cannot apply to a feature of `dtype`, or None when they can."""
        if dtype not in _DISCRETE:
            return (
                f"does not apply to a {dtype} feature: allowed values need a string, integer or "
                "bool feature (use a range for numbers with a fraction, dates and times)"
            )
        if not isinstance(self.values, tuple) or not self.values:
            return "needs a non-empty list of values"
        wrong = [v for v in self.values if not _fits_value(v, dtype)]
        if wrong:
            return f"lists {wrong[:5]!r}, which are not {dtype} values"
        return _mode_problem(self.mode)

    def to_dict(self) -> dict[str, Any]:
        return {"values": list(self.values)}


@dataclass(frozen=True)
class MaxNullFraction:
    """At most `fraction` (0 to 1) of a window's rows hold null for the feature."""

    fraction: float
    mode: ExpectationMode | None = None
    kind: ClassVar[str] = "max_null_fraction"

    def describe(self) -> str:
        return f"null fraction <= {_show(self.fraction)}"

    def problem(self, dtype: str | None) -> str | None:
        """Why this fraction is not one, or None (it fits every dtype)."""
        if not _is_number(self.fraction) or not 0 <= self.fraction <= 1:
            return f"has fraction {self.fraction!r}; give a number from 0 to 1"
        return _mode_problem(self.mode)

    def to_dict(self) -> dict[str, Any]:
        return {"fraction": self.fraction}


@dataclass(frozen=True)
class RowCountVsLastWeek:
    """A window holds between ``1/factor`` and ``factor`` times the rows the same window held
    one week earlier (a group expectation). Without rows a week earlier (the first week, a
    window before the group's start, an empty window then) it is skipped and passes."""

    factor: float
    mode: ExpectationMode | None = None
    kind: ClassVar[str] = "row_count_vs_last_week"

    def describe(self) -> str:
        return f"row count within {_show(self.factor)}x of the same window a week earlier"

    def problem(self, dtype: str | None = None) -> str | None:
        """Why this factor is not one, or None (`dtype` is unused: it judges the group)."""
        if not _is_number(self.factor) or not self.factor > 1:
            return f"has factor {self.factor!r}; give a number above 1 (2: half to twice)"
        return _mode_problem(self.mode)

    def to_dict(self) -> dict[str, Any]:
        return {"factor": self.factor}


FeatureExpectation = ValueRange | AllowedValues | MaxNullFraction
GroupExpectation = RowCountVsLastWeek
Expectation = FeatureExpectation | GroupExpectation
_FEATURE_KINDS: dict[str, type[FeatureExpectation]] = {
    cls.kind: cls for cls in (ValueRange, AllowedValues, MaxNullFraction)
}
_GROUP_KINDS: dict[str, type[GroupExpectation]] = {RowCountVsLastWeek.kind: RowCountVsLastWeek}


def feature_expectations(feature: str, dtype: str, given: object) -> tuple[FeatureExpectation, ...]:
    """`given` checked against the feature's dtype, as a tuple.

    Raises:
        InvalidSpecError: One does not fit, naming the feature and the expectation.
    """
    return _checked(f"feature {feature!r}", given, _FEATURE_KINDS, dtype)  # type: ignore[return-value]


def group_expectations(group: str, given: object, mode: object) -> tuple[GroupExpectation, ...]:
    """The group's own expectations checked, as a tuple, and its mode.

    Raises:
        InvalidSpecError: One is malformed or belongs on a feature, or the mode is unknown.
    """
    if mode not in MODES:
        raise InvalidSpecError(
            f"feature group {group!r}: expectation_mode must be 'strict' or 'warn', not {mode!r}"
        )
    return _checked(f"feature group {group!r}", given, _GROUP_KINDS, None)  # type: ignore[return-value]


def _checked(
    owner: str, given: object, kinds: Mapping[str, type[Expectation]], dtype: str | None
) -> tuple[Expectation, ...]:
    if isinstance(given, str | bytes | Mapping) or not isinstance(given, Iterable):
        raise InvalidSpecError(f"{owner}: expectations must be a list, e.g. [MaxNullFraction(0.1)]")
    expectations: list[Expectation] = []
    seen: set[str] = set()
    for expectation in given:
        known = ValueRange | AllowedValues | MaxNullFraction | RowCountVsLastWeek
        if not isinstance(expectation, known) or not isinstance(expectation, tuple(kinds.values())):
            raise InvalidSpecError(
                f"{owner}: {expectation!r} is not an expectation it can declare; "
                + _where(expectation)
            )
        reason = expectation.problem(dtype)
        if reason:
            raise InvalidSpecError(f"{owner}: expectation {expectation.kind} {reason}")
        if expectation.kind in seen:
            raise InvalidSpecError(f"{owner} declares expectation {expectation.kind} twice")
        seen.add(expectation.kind)
        expectations.append(expectation)
    return tuple(expectations)


def _where(expectation: object) -> str:
    if isinstance(expectation, RowCountVsLastWeek):
        return "RowCountVsLastWeek goes on the FeatureGroup (expectations=[...])"
    if isinstance(expectation, ValueRange | AllowedValues | MaxNullFraction):
        return f"{type(expectation).__name__} goes on a Feature (Feature(..., expectations=[...]))"
    return (
        "use ValueRange, AllowedValues or MaxNullFraction on a Feature, RowCountVsLastWeek on "
        "the FeatureGroup"
    )


def expectation_to_dict(expectation: Expectation) -> dict[str, Any]:
    """A JSON-ready form, kept in the table's spec property."""
    mode = {} if expectation.mode is None else {"mode": expectation.mode}
    return {"kind": expectation.kind, **expectation.to_dict(), **mode}


def expectation_from_dict(data: Mapping[str, Any], dtype: str | None) -> Expectation:
    """The expectation `expectation_to_dict` gave (bounds of date and timestamp features are
    stored as ISO text)."""
    fields = {key: value for key, value in data.items() if key != "kind"}
    cls = {**_FEATURE_KINDS, **_GROUP_KINDS}.get(str(data.get("kind")))
    if cls is None:
        raise InvalidSpecError(f"unknown expectation kind {data.get('kind')!r} in a stored spec")
    if cls is ValueRange and dtype in ("date", "timestamp"):
        for name in ("min", "max"):
            if isinstance(fields.get(name), str):
                fields[name] = _decode(fields[name], dtype)
    return cls(**fields)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fits_bound(bound: object, dtype: str | None) -> bool:
    if dtype == "timestamp":
        return isinstance(bound, dt.datetime) and bound.tzinfo is not None
    if dtype == "date":
        return isinstance(bound, dt.date) and not isinstance(bound, dt.datetime)
    return _is_number(bound)


def _bound_kind(dtype: str | None) -> str:
    return {"timestamp": "an aware datetime", "date": "a date"}.get(str(dtype), "a finite number")


def _fits_value(value: object, dtype: str | None) -> bool:
    if dtype == "string":
        return isinstance(value, str)
    if dtype == "bool":
        return isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool)


def _encode(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def _decode(text: str, dtype: str) -> dt.date | dt.datetime:
    return dt.datetime.fromisoformat(text) if dtype == "timestamp" else dt.date.fromisoformat(text)


def _show(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)
