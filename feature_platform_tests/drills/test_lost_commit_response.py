"""Drill: a commit that succeeded but was reported as failed is not applied twice.

The catalog applies the commit, then the writer sees an error instead of the answer (the
connection dropped, a transport retry ran into its own first attempt). Two errors are drilled:
`CommitFailedException` (which pyiceberg retries itself, refreshing the table first) and an
`OperationalError` from the catalog database (an unknown outcome, which only the store's own
retry handles). Either way the rows must be in the table once, as one logical write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests.exceptions
from botocore.exceptions import ReadTimeoutError
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException
from sqlalchemy.exc import OperationalError

from feature_platform import FeatureStore, StoreConfig
from feature_platform.offline_store.writes import WRITE_ID_PROPERTY, WriteResult
from feature_platform_tests.drills.integrity import assert_every_snapshot_whole, content
from feature_platform_tests.helpers import DAY_START, user_frame, user_group

pytestmark = [pytest.mark.drill, pytest.mark.integration]

GROUP = "user_stats"
NEXT_DAY = DAY_START + dt.timedelta(days=1)
NEW = user_frame(users=40, offset=1_000)
OLD = user_frame(users=25, offset=7)
EXPECTED = NEW.select("user_id", "clicks").sort("user_id")


def lost_response(error: str) -> Exception:
    if error == "commit-failed":
        return CommitFailedException("connection reset; the retried request met its own commit")
    if error == "glue-read-timeout":  # botocore, as from Glue's UpdateTable
        return ReadTimeoutError(endpoint_url="https://glue.eu-west-1.amazonaws.com/")
    if error == "rest-timeout":  # requests, as from a REST catalog
        return requests.exceptions.ReadTimeout("read timed out")
    return OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))


class LosingCatalog:
    """Wraps the catalog class's commit: the first `fail_first` commits are refused before the
    catalog sees them (ordinary conflicts), the next one is applied and then reported as failed.

    It replaces the class's `commit_table`, which is where a lost answer happens (inside the
    catalog's transport), beneath anything the store wraps around the catalog.
    """

    def __init__(self, catalog: Catalog, error: str, fail_first: int = 0) -> None:
        self.commit = type(catalog).commit_table
        self.error = error
        self.fail_first = fail_first
        self.calls = 0
        self.applied_then_lost = 0
        self.reload_failed = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.fail_first:
            raise CommitFailedException("a concurrent writer committed first")
        response = self.commit(*args, **kwargs)
        if self.calls == self.fail_first + 1:
            self.applied_then_lost += 1
            raise lost_response(self.error)
        return response


def _store(home: Path, commit_retries: int = 10) -> FeatureStore:
    config = StoreConfig.embedded(home, offline_buffer_rows=0, commit_retries=commit_retries)
    store = FeatureStore(config=config)
    store.apply(user_group())
    return store


WRITES: dict[str, Callable[[FeatureStore], WriteResult]] = {
    # The streaming path, unbuffered: one append per `write`, under a generated write id.
    "append": lambda store: store.write(GROUP, NEW, to="offline").offline_commits[0],
    # A partition run into an empty window (an append, refused if the window filled meanwhile) ...
    "window-first-write": lambda store: store.write_window(GROUP, NEW, DAY_START, NEXT_DAY),
    # ... and over existing rows (an overwrite: one snapshot removing and adding files).
    "window-overwrite": lambda store: store.write_window(GROUP, NEW, DAY_START, NEXT_DAY),
}


def _write_ids_since(store: FeatureStore, before: set[int]) -> dict[str, int]:
    """Snapshots committed since `before`, counted per write id."""
    counts: dict[str, int] = {}
    for snapshot in store.table(GROUP).snapshots():
        if snapshot.snapshot_id in before or snapshot.summary is None:
            continue
        write_id = snapshot.summary.additional_properties[WRITE_ID_PROPERTY]
        counts[write_id] = counts.get(write_id, 0) + 1
    return counts


def _holds_new_once(table_rows: pl.DataFrame) -> bool:
    return table_rows.select("user_id", "clicks").sort("user_id").equals(EXPECTED)


@pytest.mark.parametrize(
    "error", ["commit-failed", "operational-error", "glue-read-timeout", "rest-timeout"]
)
@pytest.mark.parametrize("write", list(WRITES))
def test_a_commit_applied_but_reported_failed_is_not_applied_twice(
    home: Path, monkeypatch: pytest.MonkeyPatch, write: str, error: str
) -> None:
    store = _store(home)
    if write == "window-overwrite":
        store.write_window(GROUP, OLD, DAY_START, NEXT_DAY)
    before = {s.snapshot_id for s in store.table(GROUP).snapshots()}
    losing = LosingCatalog(store.catalog, error)
    monkeypatch.setattr(type(store.catalog), "commit_table", losing)

    result = WRITES[write](store)

    monkeypatch.undo()
    assert losing.applied_then_lost == 1  # the drill happened
    table = store.table(GROUP)
    assert _holds_new_once(content(table))
    write_ids = _write_ids_since(store, before)
    assert len(write_ids) == 1  # one logical write ...
    assert list(write_ids.values()) == [1]  # ... once, in one snapshot
    assert result.committed
    assert result.snapshot_id == table.current_snapshot().snapshot_id  # type: ignore[union-attr]
    assert result.rows_replaced == (OLD.height if write == "window-overwrite" else 0)
    assert_every_snapshot_whole(table)


@pytest.mark.parametrize(
    ("commit_retries", "conflicts_first"),
    [(0, 0), (2, 2)],
    ids=["no-retries", "last-of-three-attempts"],
)
@pytest.mark.parametrize("write", ["append", "window-overwrite"])
def test_a_commit_applied_but_reported_failed_on_the_last_attempt_keeps_the_table_whole(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    write: str,
    commit_retries: int,
    conflicts_first: int,
) -> None:
    store = _store(home, commit_retries=commit_retries)
    if write == "window-overwrite":
        store.write_window(GROUP, OLD, DAY_START, NEXT_DAY)
    losing = LosingCatalog(store.catalog, "commit-failed", fail_first=conflicts_first)
    monkeypatch.setattr(type(store.catalog), "commit_table", losing)

    result = WRITES[write](store)

    monkeypatch.undo()
    assert losing.applied_then_lost == 1
    assert result.committed
    table = store.table(GROUP)
    assert_every_snapshot_whole(table)  # pyiceberg alone deleted the applied snapshot's files
    assert _holds_new_once(content(table))


def test_a_lost_answer_and_a_failed_reload_on_the_last_attempt_keep_the_table_whole(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same network blip loses the commit's answer and fails the reload that would tell
    whether it landed: the outcome is unknown, and nothing the commit wrote may be deleted."""
    store = _store(home, commit_retries=0)  # the first attempt is pyiceberg's last
    losing = LosingCatalog(store.catalog, "commit-failed")
    catalog_class = type(store.catalog)
    load_table = catalog_class.load_table

    def load_failing_after_the_loss(catalog: Catalog, *args: Any, **kwargs: Any) -> Any:
        if losing.applied_then_lost and not losing.reload_failed:
            losing.reload_failed = True
            raise lost_response("operational-error")
        return load_table(catalog, *args, **kwargs)

    monkeypatch.setattr(catalog_class, "commit_table", losing)
    monkeypatch.setattr(catalog_class, "load_table", load_failing_after_the_loss)

    result = WRITES["append"](store)

    monkeypatch.undo()
    assert losing.applied_then_lost == 1
    assert losing.reload_failed
    assert result.committed
    table = store.table(GROUP)
    assert_every_snapshot_whole(table)
    assert _holds_new_once(content(table))
    assert len(_write_ids_since(store, set())) == 1
