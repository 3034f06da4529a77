"""Offline writes of an online group refuse rows its online store could never hold.

Any offline row may become an entity's latest value and be synced; a row the online store
refuses would then fail every sync of the group, for every entity. So the check runs on the
offline write, where the caller still has the rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore, StoreConfig
from feature_platform.errors import InvalidValueError, ItemTooLargeError

DAY = dt.datetime(2026, 11, 9, tzinfo=dt.UTC)


def _group(online: bool) -> FeatureGroup:
    return FeatureGroup(
        name="measures",
        entity=Entity("user", ["user_id"]),
        features=[Feature("x", "float64"), Feature("note", "string")],
        start="2026-11-01",
        online=online,
    )


def _rows(x: float, note: str = "ok", users: int = 3) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(users)],
            "event_time": [DAY + dt.timedelta(hours=12)] * users,
            "x": [1.0] * (users - 1) + [x],
            "note": [note] * users,
        }
    )


@pytest.fixture
def store(home: Path) -> FeatureStore:
    return FeatureStore(config=StoreConfig.embedded(home, offline_buffer_rows=0))


@pytest.mark.parametrize("write", ["window", "offline", "both"])
@pytest.mark.parametrize(
    ("rows", "error", "message"),
    [
        (_rows(1e-140), InvalidValueError, r"magnitude between 1e-130 and 1e\+126"),
        (_rows(1.0, note="n" * 500_000), ItemTooLargeError, "409,600-byte item limit"),
    ],
    ids=["number-out-of-range", "item-too-large"],
)
def test_an_online_group_refuses_rows_its_online_store_cannot_hold(
    store: FeatureStore, write: str, rows: pl.DataFrame, error: type[Exception], message: str
) -> None:
    store.apply(_group(online=True))

    def attempt() -> object:
        if write == "window":
            return store.write_window("measures", rows, DAY, DAY + dt.timedelta(days=1))
        return store.write("measures", rows, to=write)  # type: ignore[arg-type]

    with pytest.raises(error, match=message):
        attempt()
    assert store.table("measures").snapshots() == []  # nothing offline
    online = store.get_online_features(["measures:x"], [{"user_id": "u0"}])
    assert online["x"].to_list() == [None]  # nothing online


def test_an_offline_group_keeps_them(store: FeatureStore) -> None:
    store.apply(_group(online=False))
    store.write_window("measures", _rows(1e-140), DAY, DAY + dt.timedelta(days=1))
    assert store.read("measures")["x"].to_list() == [1.0, 1.0, 1e-140]
