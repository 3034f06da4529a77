"""A store with tables to query, shared by a module's SQL tests (they only read it)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.training import TrainingSet
from feature_platform.training.storage import write_training_set
from feature_platform_tests.helpers import (
    DAY_START,
    NEXT_DAY,
    unbuffered_store,
    user_frame,
    user_group,
)


@pytest.fixture(scope="module")
def sql_store(tmp_path_factory: pytest.TempPathFactory) -> FeatureStore:
    """`user_stats` on two days (event times 00:00 to 04:00 UTC each day) and training set `churn`.

    Day one's clicks are 0..4, day two's 100..104, so a row's clicks say which row it is.
    """
    store = unbuffered_store(tmp_path_factory.mktemp("sql") / "home")
    store.apply(user_group(ttl=dt.timedelta(days=3650)))
    for day, offset in ((DAY_START, 0), (NEXT_DAY, 100)):
        store.write_window(
            "user_stats", user_frame(day, offset=offset), day, day + dt.timedelta(days=1)
        )
    frame = pl.DataFrame({"user_id": ["u1"], "label": [True]})
    write_training_set(store.catalog, store.config, "churn", TrainingSet(frame, ()))
    return store
