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

from feature_platform.errors import FeatureNotOnlineError, SchemaMismatchError
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
        plan = self._plan(tuple(features), full_feature_names)
        entities = _entity_frame(entity_rows)
        missing = [k for k in plan.key_columns if k not in entities.columns]
        if missing:
            raise SchemaMismatchError(
                f"entity rows lack join keys {missing}; the requested features need "
                f"{list(plan.key_columns)}"
            )
        output = entities.select(plan.key_columns)
        for request in plan.requests:
            values = self._online.read(
                request.group, output.select(request.group.join_keys), request.features, now
            )
            output = output.hstack(
                values.select(request.features).rename(request.renames).get_columns()
            )
        return output

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


def _entity_frame(entity_rows: Sequence[Mapping[str, Any]] | Any) -> pl.DataFrame:
    if isinstance(entity_rows, Mapping):
        raise SchemaMismatchError(
            "entity_rows must be a list of rows (dicts) or a frame, not one dict; wrap it in a list"
        )
    if isinstance(entity_rows, list | tuple):
        return pl.DataFrame(list(entity_rows)) if entity_rows else pl.DataFrame()
    return as_polars(entity_rows)
