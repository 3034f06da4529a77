"""What only the embedded store has: its SQLite file, reopening, and threads sharing it."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from feature_platform import Feature
from feature_platform.errors import ConfigurationError, IncompatibleOnlineTableError
from feature_platform.online_store import EmbeddedOnlineStore
from feature_platform_tests.online_store.builders import T0, keys_frame, profile_group, write_frame


def test_state_lives_in_one_wal_file_under_the_folder_and_survives_reopening(
    tmp_path: Path,
) -> None:
    group = profile_group()
    with EmbeddedOnlineStore(tmp_path / "home") as store:
        store.ensure_table(group)
        store.write(group, write_frame(group, [{"user_id": "u", "event_time": T0, "size": 5}]))

    assert store.path == tmp_path / "home" / "online_store.db"
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with EmbeddedOnlineStore(tmp_path / "home") as reopened:
        assert reopened.read(group, keys_frame(group, ("u",)), ["size"]).row(0)[1:] == (T0, 5)


def test_readers_in_threads_never_see_a_value_go_back(tmp_path: Path) -> None:
    group = profile_group()
    store = EmbeddedOnlineStore(tmp_path)
    store.ensure_table(group)
    request = keys_frame(group, ("u",), ("v",))
    seen: list[list[int]] = [[] for _ in range(2)]
    errors: list[BaseException] = []
    done = threading.Event()

    def reader(index: int) -> None:
        try:
            while not done.is_set():
                sizes = store.read(group, request, ["size"]).get_column("size").to_list()
                if sizes[0] is not None:
                    seen[index].append(sizes[0])
        except BaseException as exc:  # surfaced below with its cause
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for size in range(50):
        rows = [{"user_id": user, "event_time": T0, "size": size} for user in ("u", "v")]
        rows[0]["event_time"] = T0.replace(microsecond=size)
        store.write(group, write_frame(group, rows))
    done.set()
    for thread in threads:
        thread.join(timeout=30)
    store.close()

    assert errors == []
    assert all(values == sorted(values) for values in seen)
    assert sum(len(values) for values in seen) > 0


def test_a_table_this_store_did_not_make_is_refused(tmp_path: Path) -> None:
    store = EmbeddedOnlineStore(tmp_path)
    with sqlite3.connect(store.path) as connection:
        connection.execute('CREATE TABLE "fg_profile" (user_id TEXT PRIMARY KEY)')

    with pytest.raises(IncompatibleOnlineTableError, match="not created by this store"):
        store.ensure_table(profile_group())


def test_reading_a_feature_added_without_ensure_table_says_what_to_run(tmp_path: Path) -> None:
    before = profile_group()
    after = profile_group(features=[*before.features, Feature("clicks", "int64")])
    store = EmbeddedOnlineStore(tmp_path)
    store.ensure_table(before)

    with pytest.raises(IncompatibleOnlineTableError, match="run ensure_table"):
        store.read(after, keys_frame(after, ("u",)), ["clicks"])


@pytest.mark.parametrize("filename", ["", "..", "sub/online.db", "/tmp/online.db"])
def test_the_database_stays_inside_the_folder(tmp_path: Path, filename: str) -> None:
    with pytest.raises(ConfigurationError, match="plain file name"):
        EmbeddedOnlineStore(tmp_path, filename=filename)
