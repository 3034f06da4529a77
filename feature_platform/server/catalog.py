"""The specs a feature server serves, kept in memory and refreshed off the request path.

A request must never wait on the catalog (a Glue or PostgreSQL round trip), so the applied
groups are read at startup and then every `refresh_seconds` by a background thread: a group
applied or evolved while the server runs becomes servable within that interval, without a
restart. Training sets are code (the registry module), loaded once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from feature_platform.errors import FeaturePlatformError, UnknownFeatureGroupError
from feature_platform.specs import FeatureGroup
from feature_platform.store import FeatureStore
from feature_platform.training.definition import TrainingSetDefinition

logger = logging.getLogger(__name__)

TrainingSets = Callable[[], tuple[TrainingSetDefinition, ...]]


def registered_training_sets() -> tuple[TrainingSetDefinition, ...]:
    """The registry's training sets (`FEATURE_PLATFORM_REGISTRY`, else the demo's)."""
    from feature_platform.registry import load_training_sets

    return load_training_sets()


class ServedCatalog:
    """Applied feature groups and registered training sets, as of the last refresh."""

    def __init__(
        self,
        store: FeatureStore,
        refresh_seconds: float,
        training_sets: TrainingSets = registered_training_sets,
    ) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        #: Called after a refresh that changed any spec (the reader drops its cached plans).
        self.on_change: Callable[[], None] = lambda: None
        self._groups: Mapping[str, FeatureGroup] = {}
        self._training_sets: Mapping[str, TrainingSetDefinition] = {}
        self._training_sets_error = ""
        self._load_training_sets = training_sets
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Load everything now (a server is not ready before), then refresh in the background.

        Raises:
            FeaturePlatformError: The catalog cannot be read at startup.
        """
        self.refresh()
        try:
            self._training_sets = {t.name: t for t in self._load_training_sets()}
        except FeaturePlatformError as exc:  # the groups are still servable
            self._training_sets_error = f" (the registry's training sets did not load: {exc})"
            logger.warning("serving without training sets: %s", exc)
        self._thread = threading.Thread(
            target=self._run, name="feature-server-catalog-refresh", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def refresh(self) -> bool:
        """Re-read the applied groups; True when any changed (cached read plans are dropped)."""
        groups = {group.name: group for group in self._store.list_feature_groups()}
        changed = groups != self._groups
        if changed:
            self._groups = groups
            self.on_change()
        return changed

    def group(self, name: str) -> FeatureGroup:
        """The group as last read from the catalog.

        Raises:
            UnknownFeatureGroupError: No group of that name was applied as of the last refresh.
        """
        group = self._groups.get(name)
        if group is None:
            raise UnknownFeatureGroupError(
                f"unknown feature group {name!r}; applied groups: {sorted(self._groups)} (a group "
                f"applied in the last {self._refresh_seconds:g} s is not servable yet)"
            )
        return group

    def online_groups(self) -> list[FeatureGroup]:
        return [group for group in self._groups.values() if group.online]

    def training_set(self, name: str) -> TrainingSetDefinition | None:
        return self._training_sets.get(name)

    def training_set_names(self) -> list[str]:
        return sorted(self._training_sets)

    @property
    def training_sets_note(self) -> str:
        return self._training_sets_error

    def _run(self) -> None:
        while not self._stop.wait(self._refresh_seconds):
            try:
                if self.refresh():
                    logger.info("feature groups refreshed: %s", sorted(self._groups))
            except Exception:  # keep serving the last specs; the next round tries again
                logger.exception("could not refresh the feature groups from the catalog")
