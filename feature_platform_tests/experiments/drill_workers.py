"""What the experiment drills' processes run: each opens its own store on the shared home."""

from __future__ import annotations

import time

from feature_platform import StoreConfig
from feature_platform.errors import PromotionConflictError
from feature_platform.experiments.promotion import promote_experiment
from feature_platform.store import FeatureStore
from feature_platform_tests.experiments.builders import DAYS, GROUP, day_window
from feature_platform_tests.helpers import user_frame


def _store(home: str) -> FeatureStore:
    return FeatureStore(config=StoreConfig.embedded(home, offline_buffer_rows=0, commit_retries=20))


def write_days(home: str, experiment: str | None, offset: int, start_at: float) -> int:
    """Write every day once, to `experiment` (None: main), with values shifted by `offset`."""
    store = _store(home)
    time.sleep(max(0.0, start_at - time.time()))
    for index in range(len(DAYS)):
        frame = user_frame(DAYS[index], offset=offset)
        store.write_window(GROUP, frame, *day_window(index), experiment=experiment)
    return offset


def promote(home: str, overwrite: bool, start_at: float) -> str:
    store = _store(home)
    time.sleep(max(0.0, start_at - time.time()))
    try:
        promote_experiment(store, "x", overwrite=overwrite)
    except PromotionConflictError as exc:
        return f"refused: {exc}"
    return "promoted"


def race(home: str, *args: object) -> str:
    """One job of the race: a promotion (home, overwrite) or a backfill (home, None, offset)."""
    start_at = args[-1]
    assert isinstance(start_at, float)
    if len(args) == 2:
        return promote(home, bool(args[0]), start_at)
    offset = args[1]
    assert isinstance(offset, int)
    return str(write_days(home, None, offset, start_at))
