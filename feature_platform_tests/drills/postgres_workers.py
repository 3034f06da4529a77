"""What the PostgreSQL-catalog drills' child processes run: the drills' writers on a given store
configuration (the Iceberg SQL catalog on a PostgreSQL server) instead of an embedded home.

Like `workers`, this runs in freshly spawned processes: arguments are plain data (a frozen
`StoreConfig` pickles), and every writer thread has its own store and catalog connection, as
separate runs would.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from feature_platform import FeatureStore, StoreConfig
from feature_platform_tests.drills.workers import mark, write_window


def wait_for_racers(folder: str, racer: str, parties: int, timeout: float = 120.0) -> None:
    """A barrier across threads and processes: `racer` arrives, and waits for `parties` racers.

    Raises:
        TimeoutError: Not all arrived in time.
    """
    os.makedirs(folder, exist_ok=True)
    mark(os.path.join(folder, racer))
    deadline = time.monotonic() + timeout
    while len(os.listdir(folder)) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(os.listdir(folder))} of {parties} racers arrived")
        time.sleep(0.005)


def write_windows_at(
    config: StoreConfig, days: list[int], users: int, start_at: float
) -> list[int]:
    """`workers.write_windows_at` on `config`: each day replaced by its own thread and store."""
    stores = {day: FeatureStore(config=config) for day in days}
    for store in stores.values():
        store.table("user_stats")  # open the catalog before the start, as a run's setup would

    def run(day: int) -> int:
        return int(write_window(stores[day], day, users, 1_000 * day).rows_written)

    time.sleep(max(0.0, start_at - time.time()))
    with ThreadPoolExecutor(len(days)) as pool:
        return list(pool.map(run, days))


def race_twice_at(
    config: StoreConfig,
    writes: dict[str, tuple[tuple[int, int], tuple[int, int]]],
    barrier: str,
    parties: int,
    start_at: float,
) -> dict[str, list[int | None]]:
    """Racers on day 0: per name a thread and store writing a (first, second) pair of
    (users, offset) frames.

    All racers (`parties` across the processes) write their first frame into the empty window
    at once, wait until every first write is done, then overwrite the window at once. Returns
    the snapshot id each write ended on, per racer.
    """
    stores = {racer: FeatureStore(config=config) for racer in writes}
    for store in stores.values():
        store.table("user_stats")

    def race(racer: str) -> list[int | None]:
        first, second = writes[racer]
        ends = [write_window(stores[racer], 0, *first).snapshot_id]
        wait_for_racers(barrier, racer, parties)
        ends.append(write_window(stores[racer], 0, *second).snapshot_id)
        return ends

    time.sleep(max(0.0, start_at - time.time()))
    with ThreadPoolExecutor(len(writes)) as pool:
        return dict(zip(writes, pool.map(race, writes), strict=True))
