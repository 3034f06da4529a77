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
from typing import Any

import polars as pl

from feature_platform.errors import (
    FeatureNotOnlineError,
    InvalidFeatureReferenceError,
    SchemaMismatchError,
)
from feature_platform.offline_store.validation import as_polars
from feature_platform.online_store import OnlineStore
from feature_platform.specs import FeatureGroup
from feature_platform.training.references import GroupRequest, plan_requests

DEFAULT_SPEC_REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class _Plan:
    requests: tuple[GroupRequest, ...]
    key_columns: tuple[str, ...]
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
        if isinstance(features, str):
            raise InvalidFeatureReferenceError(
                f"features must be a list of references; write features=[{features!r}]"
            )
        plan = self._plan(tuple(features), full_feature_names)
        keys = _key_frame(entity_rows, plan.key_columns)
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
        outputs = {name for r in requests for name in r.output_names}
        clash = sorted(outputs & set(key_columns))
        if clash:
            raise SchemaMismatchError(
                f"features {clash} are named like join keys; pass full_feature_names=True"
            )
        plan = _Plan(tuple(requests), key_columns, time.monotonic())
        with self._lock:
            self._plans[key] = plan
        return plan


def _key_frame(
    entity_rows: Sequence[Mapping[str, Any]] | Any, keys: tuple[str, ...]
) -> pl.DataFrame:
    """The join-key columns of the request, in request order.

    Raises:
        SchemaMismatchError: A key is missing, or `entity_rows` is one dict, not a list.
    """
    if isinstance(entity_rows, Mapping):
        raise SchemaMismatchError(
            "entity_rows must be a list of rows (dicts) or a frame, not one dict; wrap it in a list"
        )
    if isinstance(entity_rows, list | tuple):
        missing = sorted({k for row in entity_rows for k in keys if k not in row})
        if missing or not entity_rows:
            _missing_keys(missing or list(keys), keys)
        return pl.DataFrame({key: [row[key] for row in entity_rows] for key in keys})
    entities = as_polars(entity_rows)
    missing = [k for k in keys if k not in entities.columns]
    if missing:
        _missing_keys(missing, keys)
    return pl.DataFrame([entities.get_column(k) for k in keys])


def _missing_keys(missing: list[str], keys: tuple[str, ...]) -> None:
    raise SchemaMismatchError(
        f"entity rows lack join keys {missing}; the requested features need {list(keys)}"
    )
