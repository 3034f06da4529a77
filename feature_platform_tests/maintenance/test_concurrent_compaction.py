"""Compaction racing real writer processes never loses or resurrects a row."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.maintenance.runner import compact_group
from feature_platform_tests.helpers import (
    DAY_START,
    NEXT_DAY,
    canonical,
    unbuffered_store,
    user_frame,
    user_group,
)
from feature_platform_tests.processes import spawn_process

pytestmark = pytest.mark.integration

POLICY = MaintenancePolicy(min_small_files=2)


def _batch(i: int) -> pl.DataFrame:
    return user_frame(DAY_START + dt.timedelta(minutes=i), users=7, offset=1000 * i)


def _writer(home: str) -> None:
    """Appends, then replaces the whole day, then appends again, all while compaction runs."""
    store = unbuffered_store(home)
    for i in range(1, 16):
        store.write("user_stats", _batch(i))
    store.write_window("user_stats", _batch(100), DAY_START, NEXT_DAY)
    for i in range(101, 106):
        store.write("user_stats", _batch(i))


def test_compaction_during_appends_and_overwrites_loses_nothing(
    store: FeatureStore, home: Path
) -> None:
    store.apply(user_group())
    for i in range(200, 206):  # small files from before the writer started
        store.write("user_stats", _batch(i))

    writer = spawn_process(_writer, str(home))
    compactions = 0
    skipped = 0
    while writer.is_alive():
        report = compact_group(store, "user_stats", POLICY)
        compactions += len(report.partitions)
        skipped += len(report.skipped)
        time.sleep(0.05)
    writer.join()
    assert writer.exitcode == 0
    compact_group(store, "user_stats", POLICY)

    expected = pl.concat([_batch(i) for i in (100, *range(101, 106))]).rename(
        {"computed_at": "created_at"}
    )
    rows = store.read("user_stats")
    assert compactions > 0, "the race never happened: compaction had nothing to do"
    assert canonical(rows).equals(canonical(expected.select(rows.columns)))
