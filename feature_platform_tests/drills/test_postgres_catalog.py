"""The concurrency drills with the Iceberg SQL catalog on a real PostgreSQL server.

Production keeps the catalog in PostgreSQL (`FEATURE_PLATFORM_CATALOG_URI=postgresql+psycopg2://
...`), where concurrent commits meet in PostgreSQL's transactions instead of SQLite's file lock:
16 partitions written at once, and racers overwriting one partition, land exactly once.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import psycopg2
import pytest

from feature_platform import FeatureStore, StoreConfig
from feature_platform_tests.drills import postgres_workers, workers
from feature_platform_tests.drills.integrity import assert_every_snapshot_whole, content
from feature_platform_tests.drills.pool import Pool
from feature_platform_tests.helpers import assert_no_empty_files, canonical, user_group
from feature_platform_tests.postgres import PostgresServer

pytestmark = [pytest.mark.drill, pytest.mark.integration]

PARTITIONS = 16
PROCESSES = 2  # of 8 writer threads each, every one with its own store and connection
ROWS = 300
DAYS = list(range(-9, PARTITIONS - 9))

# Four racers in two processes (two threads each, each with its own store and connection):
# (users, offset) of the first write into the empty window and of the overwrite after it;
# distinct sizes, so a doubled or mixed window shows.
RACERS = {
    "a": ((300, 100_000), (350, 500_000)),
    "b": ((500, 200_000), (450, 600_000)),
    "c": ((400, 300_000), (250, 700_000)),
    "d": ((200, 400_000), (150, 800_000)),
}


@pytest.fixture
def config(postgres: PostgresServer, tmp_path: Path, request: pytest.FixtureRequest) -> StoreConfig:
    """An unbuffered store whose catalog is a fresh PostgreSQL database (warehouse: a folder)."""
    database = "iceberg_" + re.sub(r"\W+", "_", request.node.name.lower())[:40]
    url = postgres.create_database(database)
    config = StoreConfig.embedded(tmp_path / "home", catalog_uri=url, offline_buffer_rows=0)
    FeatureStore(config=config).apply(user_group())
    return config


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    return canonical(frame.select("user_id", "event_time", "clicks"))


def _metadata_in_postgres(config: StoreConfig) -> str:
    """The table's current metadata file as the catalog's row in PostgreSQL records it."""
    assert config.catalog_uri
    connection = psycopg2.connect(config.catalog_uri.replace("postgresql+psycopg2", "postgresql"))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT metadata_location FROM iceberg_tables WHERE table_name = %s",
                (workers.GROUP,),
            )
            [(location,)] = cursor.fetchall()
    finally:
        connection.close()
    return str(location)


def test_sixteen_partitions_at_once_land_exactly_once_on_a_postgresql_catalog(
    config: StoreConfig, pool: Pool
) -> None:
    jobs = [(config, DAYS[i::PROCESSES], ROWS) for i in range(PROCESSES)]

    written = pool.run_together(postgres_workers.write_windows_at, jobs)

    assert [n for rows in written for n in rows] == [ROWS] * PARTITIONS
    table = FeatureStore(config=config).table(workers.GROUP)
    assert _metadata_in_postgres(config) == table.metadata_location
    rows = content(table)
    expected = pl.concat([workers.window_frame(day, ROWS, 1_000 * day) for day in DAYS])
    assert _rows(rows).equals(_rows(expected))  # every window's rows, each exactly once
    assert_every_snapshot_whole(table)
    assert_no_empty_files(table)
    added = [int(s.summary["added-records"]) for s in table.snapshots() if s.summary]
    assert added == [ROWS] * PARTITIONS  # one commit per partition, none lost


def _window_at(store: FeatureStore, snapshot_id: int | None) -> str:
    """Which one write's rows day 0 holds at a snapshot, e.g. "a1" or "c2"."""
    rows = _rows(store.read(workers.GROUP, as_of=snapshot_id))
    for racer, frames in RACERS.items():
        for phase, frame in enumerate(frames, start=1):
            if rows.equals(_rows(workers.window_frame(0, *frame))):
                return f"{racer}{phase}"
    raise AssertionError(f"snapshot {snapshot_id}: {rows.height} rows, not one write's rows")


def test_racing_overwriters_leave_exactly_one_copy_on_a_postgresql_catalog(
    config: StoreConfig, pool: Pool, tmp_path: Path
) -> None:
    barrier = str(tmp_path / "first-writes-done")
    jobs = [
        (config, {r: RACERS[r] for r in ("a", "b")}, barrier, len(RACERS)),
        (config, {r: RACERS[r] for r in ("c", "d")}, barrier, len(RACERS)),
    ]

    ends = {k: v for result in pool.run_together(postgres_workers.race_twice_at, jobs)
            for k, v in result.items()}  # fmt: skip

    store = FeatureStore(config=config)
    table = store.table(workers.GROUP)
    assert _metadata_in_postgres(config) == table.metadata_location
    order = [s.snapshot_id for s in table.snapshots()]
    assert len(order) == 2 * len(RACERS)  # every write committed once, none lost or doubled
    first_phase_end = max((e[0] for e in ends.values()), key=order.index)
    assert _window_at(store, first_phase_end).endswith("1")
    assert _window_at(store, None).endswith("2")
    # Every snapshot that was ever current holds exactly one write's rows: never two copies,
    # never a mix, never an empty window.
    for entry in table.metadata.snapshot_log:
        _window_at(store, entry.snapshot_id)
    assert_every_snapshot_whole(table)
    assert_no_empty_files(table)
