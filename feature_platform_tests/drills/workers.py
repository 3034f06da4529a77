"""What the drills' child processes run: real writers, syncs and pushes, some killed mid-way.

Each function runs in a freshly spawned process (`feature_platform_tests.drills.pool`), so this
module imports nothing heavier than the package itself; arguments are plain data (paths, not
multiprocessing primitives) because they travel through a pipe. A drill that kills its child
from the inside does it with SIGKILL at a precise point (after the data files are written,
after the catalog commit, after part of the online items): the process dies there and then,
with no ``finally``, no exit hook and no flush, exactly like ``kill -9`` or a lost machine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl

from feature_platform import FeatureStore, StoreConfig
from feature_platform_tests.helpers import DAY_START, user_frame

GROUP = "user_stats"
DAY = dt.timedelta(days=1)


def die() -> None:
    """``kill -9`` of the current process: nothing after this line runs."""
    os.kill(os.getpid(), signal.SIGKILL)


def mark(path: str) -> None:
    """Tell the test something happened (it polls for the file)."""
    with open(path, "a"):
        pass


def wait_for_all(folder: str, parties: int, timeout: float = 60.0) -> None:
    """A barrier across processes: returns once `parties` processes have arrived in `folder`.

    Raises:
        TimeoutError: Not all arrived in time.
    """
    os.makedirs(folder, exist_ok=True)
    mark(os.path.join(folder, str(os.getpid())))
    deadline = time.monotonic() + timeout
    while len(os.listdir(folder)) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(os.listdir(folder))} of {parties} arrived")
        time.sleep(0.005)


def window_frame(day: int, users: int, offset: int) -> pl.DataFrame:
    """Rows of `user_stats` for day `day` after DAY_START (deterministic, so the test can
    rebuild exactly what a child wrote)."""
    return user_frame(DAY_START + day * DAY, users=users, offset=offset)


def write_window(store: FeatureStore, day: int, users: int, offset: int) -> Any:
    start = DAY_START + day * DAY
    return store.write_window(GROUP, window_frame(day, users, offset), start, start + DAY)


# --- drill 1: a writer killed mid-write ---------------------------------------------------------


def write_then_die(config: StoreConfig, users: int, offset: int, kill_point: str) -> None:
    """Replace day 0 and die at `kill_point` of the commit.

    ``before_commit``: the data files and manifests are written, the catalog is never told.
    ``after_commit``: the catalog switched to the new metadata, the writer never learns it.
    """
    store = FeatureStore(config=config)
    catalog = store.catalog
    commit = catalog.commit_table

    def commit_then_die(*args: Any, **kwargs: Any) -> Any:
        if kill_point == "before_commit":
            die()
        commit(*args, **kwargs)
        die()

    catalog.commit_table = commit_then_die  # type: ignore[method-assign]
    write_window(store, 0, users, offset)
    raise AssertionError("the writer should have been killed inside its commit")


def write_in_a_loop(config: StoreConfig, frames: list[tuple[int, int]], started: str) -> None:
    """Replace day 0 with each (users, offset) frame in turn, forever, until killed from outside.

    The file `started` appears once the first write has committed, so that the kill lands in
    the steady state of back-to-back writes (files, manifests, commit, checks) at any point.
    """
    store = FeatureStore(config=config)
    turn = 0
    while True:
        users, offset = frames[turn % len(frames)]
        write_window(store, 0, users, offset)
        mark(started)
        turn += 1


# --- drills 2 and 3: concurrent window writers --------------------------------------------------


def write_windows_at(home: str, days: list[int], users: int, start_at: float) -> list[int]:
    """Partition runs as threads, each with its own store (and catalog connection): at the
    common start, each replaces its day (values offset by 1000 x day)."""
    stores = {
        day: FeatureStore(config=StoreConfig.embedded(home, offline_buffer_rows=0)) for day in days
    }
    for store in stores.values():
        store.table(GROUP)  # open the catalog before the start, as a run's setup would

    def run(day: int) -> int:
        return int(write_window(stores[day], day, users, 1_000 * day).rows_written)

    time.sleep(max(0.0, start_at - time.time()))
    with ThreadPoolExecutor(len(days)) as pool:
        return list(pool.map(run, days))


def write_twice_at(
    home: str, first: tuple[int, int], second: tuple[int, int], barriers: str, start_at: float
) -> list[int | None]:
    """Race on day 0 twice: into the empty window, then (after both are done) over it again.

    In the first race both writers have found the window empty before either commits (pinned
    with a barrier: the interleaving where both take the append path). Returns the snapshot id
    each write ended on, for the test to find each phase's outcome.
    """
    from feature_platform.offline_store import writes

    store = FeatureStore(config=StoreConfig.embedded(home, offline_buffer_rows=0))
    store.table(GROUP)
    files_in = writes._files_in
    checks = []

    def files_in_then_wait(table: Any, predicate: Any, *branch: Any) -> Any:
        found = files_in(table, predicate, *branch)
        checks.append(found)
        if len(checks) == 1:  # the first write's look at the window, before it commits
            with contextlib.suppress(TimeoutError):
                wait_for_all(os.path.join(barriers, "empty-window-seen"), 2, timeout=15)
        return found

    writes._files_in = files_in_then_wait
    time.sleep(max(0.0, start_at - time.time()))
    results = [write_window(store, 0, *first)]
    wait_for_all(os.path.join(barriers, "first-writes-done"), 2, timeout=120)
    results.append(write_window(store, 0, *second))  # both overwrite at once
    return [r.snapshot_id for r in results]


# --- drill 5: an online sync killed half way ----------------------------------------------------


def sync_then_die(
    config: StoreConfig, name: str, since: int | None, now: dt.datetime, keep: int
) -> None:
    """`sync_online` that dies after `keep` of its online items were written.

    The embedded store writes a sync's items in one SQLite transaction (all or nothing); the
    items are written in two parts here so that the kill leaves the online store half synced,
    as a DynamoDB sync (one conditional put per item) killed half way does.
    """
    from feature_platform.sync import sync_online

    store = FeatureStore(config=config)
    online = store.online
    write = online.write

    def write_part_then_die(group: Any, frame: pl.DataFrame, **kwargs: Any) -> Any:
        write(group, frame.head(keep), **kwargs)
        die()

    online.write = write_part_then_die  # type: ignore[method-assign]
    sync_online(store, name, since, now=now)
    raise AssertionError("the sync should have been killed half way")


# --- drill 6: landing-file pushes --------------------------------------------------------------


def push_then_die(home: str, group: str, key: str, kill_point: str) -> None:
    """A push run that dies at `kill_point` of one file's push.

    ``after_claim``: the file was claimed (renamed into ``_claimed/``) and read, nothing was
    committed. ``after_commit``: its rows were committed, it was never filed away.
    """
    from feature_platform.streaming.landing import LandingZone
    from feature_platform.streaming.landing_push import push_landing_file

    store = FeatureStore(home)
    zone = LandingZone.from_config(store.config)
    [file] = [f for f in zone.pending(group) if f.key == key]
    claim = zone.claim

    def claim_then_die(landing_file: Any) -> Any:
        claimed = claim(landing_file)
        assert claimed is not None, "the file should have been claimed"
        assert claimed.payload, "the claim should have read the file"
        die()

    if kill_point == "after_claim":
        zone.claim = claim_then_die  # type: ignore[method-assign]
    else:
        zone.archive = lambda _claim: die()  # type: ignore[method-assign]
    push_landing_file(store, zone, file)
    raise AssertionError(f"the push should have been killed {kill_point.replace('_', ' ')}")


def push_run_at(
    home: str, group: str, keys: list[str], contended: str, barrier: str, start_at: float
) -> dict[str, str]:
    """What one push run does with its files (`push_<group>_files`), started at `start_at`.

    `barrier` pins one interleaving of two runs holding the same file `contended`: both have
    listed it and go to claim it at the same moment (if only one gets there, it goes on after a
    while). Returns, per file, what happened: "pushed", "gone" (another run had taken it, or it
    was no longer pending when the run got to it), "quarantined" or the error.
    """
    from feature_platform.streaming.landing import LandingZone
    from feature_platform.streaming.landing_push import push_landing_file

    store = FeatureStore(home)
    zone = LandingZone.from_config(store.config)
    store.table(group)
    time.sleep(max(0.0, start_at - time.time()))
    pending = {f.key: f for f in zone.pending(group)}
    claim = zone.claim

    def claim_together(file: Any) -> Any:
        if file.key == contended:
            with contextlib.suppress(TimeoutError):
                wait_for_all(barrier, 2, timeout=15)
        return claim(file)

    zone.claim = claim_together  # type: ignore[method-assign]
    outcome: dict[str, str] = {}
    for key in keys:
        file = pending.get(key)
        if file is None:
            outcome[key] = "gone"
            continue
        try:
            outcome[key] = push_landing_file(store, zone, file).status
        except Exception as exc:  # reported to the test, which decides what is acceptable
            outcome[key] = f"{type(exc).__name__}: {exc}"
    store.close()
    return outcome


# --- drill 5b: the online sync asset, killed inside its run ----------------------------------


def online_asset_run_then_die(home: str, instance_dir: str, group: str, keep: int) -> None:
    """A run of the deployment's `online/<group>` asset that dies after `keep` online items.

    The run is recorded in the persistent Dagster instance at `instance_dir` (the one the test
    reads), up to the kill: its "sync started" observation and no materialization.
    """
    import dagster as dg

    from feature_platform.definitions import build_definitions
    from feature_platform.online_store.embedded import EmbeddedOnlineStore
    from feature_platform.orchestration.resources import FeatureStoreResource

    write = EmbeddedOnlineStore.write

    def write_part_then_die(self: Any, group_spec: Any, frame: pl.DataFrame, **kwargs: Any) -> Any:
        write(self, group_spec, frame.head(keep), **kwargs)
        die()

    EmbeddedOnlineStore.write = write_part_then_die  # type: ignore[method-assign]
    asset = build_definitions().get_assets_def(dg.AssetKey(["online", group]))
    with dg.DagsterInstance.from_config(instance_dir) as instance:
        dg.materialize(
            [asset],
            instance=instance,
            resources={"feature_store": FeatureStoreResource(home=home)},
        )
    raise AssertionError("the sync run should have been killed half way")
