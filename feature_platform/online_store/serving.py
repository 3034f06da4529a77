"""Online feature reads for serving: the latest values of several groups in one call.

Serving code calls this per request, so everything that does not depend on the request (parsed
feature references, group specs, output names) is prepared once and cached; a spec is
re-read from the catalog at most every `spec_refresh_seconds`, so a group switched online or
evolved elsewhere is picked up without a restart.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from feature_platform.dtypes import converts_losslessly, polars_dtype
from feature_platform.errors import (
    FeatureNotOnlineError,
    InvalidFeatureReferenceError,
    NaiveTimestampError,
    SchemaMismatchError,
)
from feature_platform.offline_store.validation import as_polars
from feature_platform.online_store import OnlineStore
from feature_platform.online_store.reads import EPOCH, MICROSECOND
from feature_platform.references import GroupRequest, plan_requests
from feature_platform.specs import EVENT_TIME_COLUMN, FeatureGroup

DEFAULT_SPEC_REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class _Key:
    """A join key of the request and the type its column is built with from rows of dicts.

    Python ints carry no width, so a column of them is built with the key's own dtype rather
    than inferred (polars would infer Int64 and an int32 key would be refused).
    """

    name: str
    dtype: str
    polars: pl.DataType
    keyed_by: str  # which groups key it by what, for error messages
    integer: bool  # Python bools are ints: such a column must be checked for them


@dataclass(frozen=True)
class ServedFeatures:
    """An online read with what a feature server reports per value besides the value.

    Attributes:
        frame: The join keys, then each feature; values past their group's ttl are null, as
            `OnlineFeatureReader.read` returns them.
        groups: Per feature column of `frame` (after the keys), the index of its group in
            `event_times` and `cutoffs`.
        event_times: Per requested group, the stored event time of each row's value in epoch
            microseconds (None where the entity has none), also for expired values.
        cutoffs: Per requested group, the oldest live event time in epoch microseconds (None
            without a ttl): an older value expired.
    """

    frame: pl.DataFrame
    groups: tuple[int, ...]
    event_times: tuple[list[int | None], ...]
    cutoffs: tuple[int | None, ...]


@dataclass(frozen=True)
class _Plan:
    requests: tuple[GroupRequest, ...]
    key_columns: tuple[str, ...]
    keys: tuple[_Key, ...]
    loaded_at: float


class OnlineFeatureReader:
    """Reads features of several groups for a batch of entities, in request order."""

    def __init__(
        self,
        online: OnlineStore,
        load_group: Callable[[str], FeatureGroup],
        spec_refresh_seconds: float = DEFAULT_SPEC_REFRESH_SECONDS,
    ) -> None:
        self._online = online
        self._load_group = load_group
        self._refresh = spec_refresh_seconds
        self._plans: dict[tuple[tuple[str, ...], bool], _Plan] = {}
        self._lock = threading.Lock()

    def read(
        self,
        features: Iterable[str],
        entity_rows: Sequence[Mapping[str, Any]] | Any,
        *,
        full_feature_names: bool = False,
        now: dt.datetime | None = None,
    ) -> pl.DataFrame:
        """The join keys of `entity_rows` followed by each requested feature.

        Raises:
            FeatureNotOnlineError: A requested group is not online.
            SchemaMismatchError: `entity_rows` lacks a join key of a requested group.
        """
        plan, keys = self._plan_and_keys(features, entity_rows, full_feature_names)
        # Columns are moved, never selected: on small frames each `select` or `rename` goes
        # through polars' query engine and costs more than the online store's lookup itself.
        columns = keys.get_columns()
        for request in plan.requests:
            group_keys = request.group.join_keys
            if tuple(keys.columns) != group_keys:
                group_frame = pl.DataFrame([keys.get_column(k) for k in group_keys])
            else:
                group_frame = keys
            values = self._online.read(request.group, group_frame, request.features, now)
            for feature, output in zip(request.features, request.output_names, strict=True):
                columns.append(values.get_column(feature).alias(output))
        return pl.DataFrame(columns)

    def read_served(
        self,
        features: Iterable[str],
        entity_rows: Sequence[Mapping[str, Any]] | Any,
        *,
        full_feature_names: bool = False,
        now: dt.datetime | None = None,
    ) -> ServedFeatures:
        """`read`, with each value's event time and whether it expired (for a feature server).

        Raises:
            FeatureNotOnlineError: A requested group is not online.
            SchemaMismatchError: `entity_rows` lacks a join key of a requested group.
        """
        plan, keys = self._plan_and_keys(features, entity_rows, full_feature_names)
        if now is not None and now.tzinfo is None:
            raise NaiveTimestampError("now must be a timezone-aware datetime")
        elapsed = (dt.datetime.now(dt.UTC) if now is None else now) - EPOCH
        columns = keys.get_columns()
        groups: list[int] = []
        times: list[list[int | None]] = []
        cutoffs: list[int | None] = []
        for index, request in enumerate(plan.requests):
            group = request.group
            group_frame = pl.DataFrame([keys.get_column(k) for k in group.join_keys])
            values = self._online.read(group, group_frame, request.features, keep_expired=True)
            stored = values.get_column(EVENT_TIME_COLUMN).to_physical().to_list()
            cutoff = None if group.ttl is None else (elapsed - group.ttl) // MICROSECOND
            expired = (
                []
                if cutoff is None
                else [i for i, t in enumerate(stored) if t is not None and t < cutoff]
            )
            for feature, output in zip(request.features, request.output_names, strict=True):
                value = values.get_column(feature)
                if expired:  # rare: only then is a column copied
                    value = value.scatter(expired, None)
                columns.append(value.alias(output))
                groups.append(index)
            times.append(stored)
            cutoffs.append(cutoff)
        return ServedFeatures(pl.DataFrame(columns), tuple(groups), tuple(times), tuple(cutoffs))

    def _plan_and_keys(
        self,
        features: Iterable[str],
        entity_rows: Sequence[Mapping[str, Any]] | Any,
        full_feature_names: bool,
    ) -> tuple[_Plan, pl.DataFrame]:
        if isinstance(features, str):
            raise InvalidFeatureReferenceError(
                f"features must be a list of references; write features=[{features!r}]"
            )
        plan = self._plan(tuple(features), full_feature_names)
        return plan, _key_frame(entity_rows, plan.keys)

    def invalidate(self) -> None:
        """Forget cached specs (after `apply` in this process)."""
        with self._lock:
            self._plans.clear()

    def _plan(self, features: tuple[str, ...], full_feature_names: bool) -> _Plan:
        key = (features, full_feature_names)
        plan = self._plans.get(key)
        if plan is not None and time.monotonic() - plan.loaded_at < self._refresh:
            return plan
        requests = plan_requests(
            features,
            self._load_group,
            full_feature_names=full_feature_names,
            entity_columns=(),
        )
        offline = [r.group.name for r in requests if not r.group.online]
        if offline:
            raise FeatureNotOnlineError(
                f"feature groups {offline} are not online: set online=True in their spec and "
                "apply it, then materialize online/<group> to load the latest values (an "
                "online table left from an earlier online period is kept, but no longer synced)"
            )
        key_columns = tuple(dict.fromkeys(k for r in requests for k in r.group.join_keys))
        keys = tuple(_request_key(name, requests) for name in key_columns)
        outputs = {name for r in requests for name in r.output_names}
        clash = sorted(outputs & set(key_columns))
        if clash:
            raise SchemaMismatchError(
                f"features {clash} are named like join keys; pass full_feature_names=True"
            )
        plan = _Plan(tuple(requests), key_columns, keys, time.monotonic())
        with self._lock:
            self._plans[key] = plan
        return plan


def _request_key(name: str, requests: Sequence[GroupRequest]) -> _Key:
    """The key `name` with the one dtype every requested group that has it can look up.

    Groups may key the same name by int32 and int64: int32 then serves both (a value outside
    it cannot be looked up in the int32 group anyway).

    Raises:
        SchemaMismatchError: Two groups key `name` by types no one column can satisfy.
    """
    typed = {
        r.group.name: r.group.entity.key_dtype(name) for r in requests if name in r.group.join_keys
    }
    dtypes = set(typed.values())
    if len(typed) == 1:
        ((group, dtype),) = typed.items()
        keyed_by = f"feature group {group!r} keys it by {dtype}"
    else:
        keyed_by = "feature groups " + ", ".join(f"{g!r} by {d}" for g, d in typed.items())
    for dtype in sorted(dtypes):
        if all(converts_losslessly(polars_dtype(dtype), other) for other in dtypes):
            return _Key(name, dtype, polars_dtype(dtype), keyed_by, dtype != "string")
    raise SchemaMismatchError(
        f"join key {name!r} is typed differently by the requested groups ({typed}); no one "
        "column can serve them all: request these groups in separate calls"
    )


def _key_frame(
    entity_rows: Sequence[Mapping[str, Any]] | Any, keys: tuple[_Key, ...]
) -> pl.DataFrame:
    """The join-key columns of the request, in request order.

    A frame's columns are taken as they are (the online store checks their types); rows of
    dicts are built into columns of each key's dtype.

    Raises:
        SchemaMismatchError: A key is missing, a value does not fit its key's type, or
            `entity_rows` is one dict, not a list.
    """
    if isinstance(entity_rows, Mapping):
        raise SchemaMismatchError(
            "entity_rows must be a list of rows (dicts) or a frame, not one dict; wrap it in a list"
        )
    if isinstance(entity_rows, list | tuple):
        try:
            values = [[row[key.name] for row in entity_rows] for key in keys]
        except (KeyError, TypeError, IndexError):
            _check_rows(entity_rows, keys)
            raise
        columns = []
        for key, column in zip(keys, values, strict=True):
            try:
                series = pl.Series(key.name, column, dtype=key.polars, strict=True)
            except (TypeError, OverflowError, pl.exceptions.PolarsError) as exc:
                _misfit(key, column)
                raise SchemaMismatchError(  # each value fits alone: should not happen
                    f"join key {key.name!r} must be {key.dtype} ({key.keyed_by}); its values "
                    f"do not build one {key.dtype} column ({exc}); pass {_KEY_VALUES[key.dtype]}"
                ) from exc
            if key.integer and bool in map(type, column):  # polars takes True as 1
                _misfit(key, column)
            columns.append(series)
        return pl.DataFrame(columns)
    entities = as_polars(entity_rows)
    missing = [k.name for k in keys if k.name not in entities.columns]
    if missing:
        _missing_keys(missing, keys)
    return pl.DataFrame([entities.get_column(k.name) for k in keys])


def _check_rows(entity_rows: Sequence[Any], keys: tuple[_Key, ...]) -> None:
    """Raise the error a list of rows that could not be read deserves (off the fast path)."""
    for index, row in enumerate(entity_rows):
        if not isinstance(row, Mapping):
            raise SchemaMismatchError(
                f"entity row {index} is a {type(row).__name__}, not a dict; give each row as a "
                f"dict of the join keys {[k.name for k in keys]}, or pass a frame"
            )
    missing = sorted({k.name for row in entity_rows for k in keys if k.name not in row})
    if missing:
        _missing_keys(missing, keys)


def _misfit(key: _Key, column: Sequence[Any]) -> None:
    """Raise naming the first value of `column` that is not a `key.dtype` (off the fast path)."""
    for index, value in enumerate(column):
        if not _fits(value, key):
            raise SchemaMismatchError(
                f"join key {key.name!r} must be {key.dtype} ({key.keyed_by}), but entity row "
                f"{index} has {value!r} ({type(value).__name__}); pass {_KEY_VALUES[key.dtype]}"
            )


def _fits(value: Any, key: _Key) -> bool:
    if isinstance(value, bool):
        return False
    try:
        pl.Series([value], dtype=key.polars, strict=True)
    except (TypeError, OverflowError, pl.exceptions.PolarsError):
        return False
    return True


_KEY_VALUES: Final[Mapping[str, str]] = {
    "int32": "ints from -2**31 to 2**31 - 1",
    "int64": "ints from -2**63 to 2**63 - 1",
    "string": "str values",
}


def _missing_keys(missing: list[str], keys: tuple[_Key, ...]) -> None:
    raise SchemaMismatchError(
        f"entity rows lack join keys {missing}; the requested features need "
        f"{[k.name for k in keys]}"
    )
