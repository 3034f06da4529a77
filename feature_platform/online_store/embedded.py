"""The default online store: one SQLite file under the store's home, one table per group.

SQLite gives the embedded store what DynamoDB gives production: a keyed upsert whose condition
the database evaluates atomically. Latest-wins is a single statement, so concurrent writers
(threads or processes) cannot interleave a read and a write:

    INSERT ... ON CONFLICT(_pk) DO UPDATE SET ... WHERE excluded._event_time > _event_time
        OR (excluded._event_time = _event_time AND excluded._created_at > _created_at)

A write over a named version adds ``OR (_event_time = ? AND _created_at = ?)``, and a
conditional delete is ``DELETE ... WHERE _pk = ? AND _event_time = ? AND _created_at = ?``;
each request's rows run in one transaction.

Layout: a ``WITHOUT ROWID`` table keyed by the encoded hash key, so a lookup is one B-tree
search; ``_event_time``/``_created_at`` in epoch microseconds; the join keys and one column per
feature. Own columns start with ``_``, which no identifier can, so they never collide with a
feature. Values keep their type: integers as INTEGER (bools 0/1, dates as days and timestamps as
microseconds since the epoch), floats as REAL, strings as TEXT.

Reads are latency-critical, so SQL is built once per (group, features) and SQLite's statement
cache reuses the prepared statement; connections are pooled (SQLite connections must not be
used by two threads at once) and WAL mode lets reads run while a write is committing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import polars as pl

from feature_platform.errors import (
    ConfigurationError,
    IncompatibleOnlineTableError,
    OnlineStoreError,
    OnlineTableMissingError,
)
from feature_platform.online_store.base import Fetch, OnlineStore
from feature_platform.online_store.limits import DEFAULT_TTL_ATTRIBUTE
from feature_platform.online_store.reads import FoundItems, ReadPlan
from feature_platform.online_store.versions import Versions
from feature_platform.online_store.writes import PreparedWrite
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup

DEFAULT_FILENAME: Final = "online_store.db"
_SQL_TYPES: Final = {
    "int32": "INTEGER",
    "int64": "INTEGER",
    "float32": "REAL",
    "float64": "REAL",
    "bool": "INTEGER",
    "string": "TEXT",
    "date": "INTEGER",
    "timestamp": "INTEGER",
}
_OWN_COLUMNS: Final = ("_pk", "_event_time", "_created_at")
# Lookups of many keys bind a padded power-of-two number of parameters, so each plan needs at
# most a handful of prepared statements (SQLite's cache is per SQL text).
_MAX_KEYS_PER_QUERY: Final = 512
_IDLE_CONNECTIONS: Final = 32


def _q(identifier: str) -> str:
    """An identifier quoted for SQLite.

    Brackets, not double quotes: SQLite reads a double-quoted name that matches no column as a
    string literal, so a read of a column missing from the table would return its own name.
    """
    return f"[{identifier}]"


def table_name(group: FeatureGroup) -> str:
    """The SQLite table of a group; the prefix keeps clear of SQLite's reserved ``sqlite_``."""
    return f"fg_{group.name}"


class EmbeddedOnlineStore(OnlineStore):
    """Latest feature values in a SQLite file: the store's default, no server needed.

    Args:
        folder: Directory holding the database file (created if missing); usually the store's
            home folder.
        filename: Name of the database file inside `folder`.
        busy_timeout_seconds: How long a write waits for another writer's lock before failing.

    The same DynamoDB item limits apply as in production (see `limits`), so a frame that works
    here works there.
    """

    ttl_attribute = DEFAULT_TTL_ATTRIBUTE

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        filename: str = DEFAULT_FILENAME,
        busy_timeout_seconds: float = 30.0,
    ) -> None:
        super().__init__()
        if not filename or Path(filename).name != filename or filename in (".", ".."):
            raise ConfigurationError(
                f"filename {filename!r} must be a plain file name inside the folder"
            )
        if busy_timeout_seconds < 0:
            raise ConfigurationError("busy_timeout_seconds must be >= 0")
        self.path = Path(folder).expanduser().resolve() / filename
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._timeout = busy_timeout_seconds
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._open: list[sqlite3.Connection] = []
        with self._connection() as connection:
            connection.execute("PRAGMA journal_mode=WAL")  # persistent: set once per file

    def __repr__(self) -> str:
        return f"EmbeddedOnlineStore({str(self.path)!r})"

    def location(self, group: FeatureGroup) -> str:
        return f"sqlite:{self.path}#{table_name(group)}"

    # -- tables -----------------------------------------------------------------------------

    def _ensure_table(self, group: FeatureGroup) -> None:
        table = table_name(group)
        typed = [(key, group.entity.key_dtype(key)) for key in group.join_keys]
        typed += [(f.name, str(f.dtype)) for f in group.features]
        definitions = ", ".join(f"{_q(name)} {_SQL_TYPES[dtype]}" for name, dtype in typed)
        with self._connection() as connection, _transaction(connection):
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {_q(table)} (_pk TEXT PRIMARY KEY NOT NULL, "
                f"_event_time INTEGER NOT NULL, _created_at INTEGER NOT NULL, {definitions}) "
                "WITHOUT ROWID"
            )
            existing = {row[1] for row in connection.execute(f"PRAGMA table_info({_q(table)})")}
            if not set(_OWN_COLUMNS) <= existing:
                raise IncompatibleOnlineTableError(
                    f"SQLite table {table!r} in {self.path} was not created by this store "
                    f"(it lacks {list(_OWN_COLUMNS)}); drop it or use another file"
                )
            for name, dtype in typed:  # a feature added to the group since the table was made
                if name not in existing:
                    connection.execute(
                        f"ALTER TABLE {_q(table)} ADD COLUMN {_q(name)} {_SQL_TYPES[dtype]}"
                    )

    def _delete_table(self, group: FeatureGroup) -> None:
        with self._connection() as connection:
            connection.execute(f"DROP TABLE IF EXISTS {_q(table_name(group))}")

    # -- writes -----------------------------------------------------------------------------

    def _write(self, group: FeatureGroup, prepared: PreparedWrite, replace_equal: bool) -> int:
        table = table_name(group)
        newer_created = ">=" if replace_equal else ">"
        columns = [*group.join_keys, *group.feature_names]
        quoted = [*_OWN_COLUMNS, *(_q(c) for c in columns)]
        names = ", ".join(quoted)
        updates = ", ".join(f"{c} = excluded.{c}" for c in quoted[1:])
        sql = (
            f"INSERT INTO {_q(table)} ({names}) VALUES ({', '.join('?' * (len(columns) + 3))}) "
            f"ON CONFLICT(_pk) DO UPDATE SET {updates} "
            f"WHERE excluded._event_time > {_q(table)}._event_time "
            f"OR (excluded._event_time = {_q(table)}._event_time "
            f"AND excluded._created_at {newer_created} {_q(table)}._created_at)"
        )
        storage = _storage_frame(group, prepared)
        if prepared.replacing is not None:
            # Positional parameters bind in order of appearance: these two come after VALUES.
            sql += f" OR ({_q(table)}._event_time = ? AND {_q(table)}._created_at = ?)"
            named = [version or (None, None) for version in prepared.replacing]
            storage = storage.with_columns(
                pl.Series("_replaces_event_time", [v[0] for v in named], dtype=pl.Int64),
                pl.Series("_replaces_created_at", [v[1] for v in named], dtype=pl.Int64),
            )
        rows = storage.rows()
        # SQLite has one writer at a time; queueing this process's writers on a lock is much
        # faster than letting them poll SQLite's busy handler (other processes still do).
        with self._write_lock, self._connection() as connection, _translated(group, table):
            with _transaction(connection):
                cursor = connection.executemany(sql, rows)
            return cursor.rowcount

    def _delete_items(self, group: FeatureGroup, versions: Versions) -> int:
        table = table_name(group)
        sql = f"DELETE FROM {_q(table)} WHERE _pk = ? AND _event_time = ? AND _created_at = ?"
        rows = [(pk, event_us, created_us) for pk, (event_us, created_us) in versions.by_pk.items()]
        with self._write_lock, self._connection() as connection, _translated(group, table):
            with _transaction(connection):
                cursor = connection.executemany(sql, rows)
            return cursor.rowcount

    # -- reads ------------------------------------------------------------------------------

    def _compile_read(self, plan: ReadPlan) -> Fetch:
        table = table_name(plan.group)
        selected = ", ".join(["_pk", "_event_time", *(_q(f) for f in plan.features)])
        head = f"SELECT {selected} FROM {_q(table)} WHERE _pk"
        single = f"{head} = ?"
        many = {
            size: f"{head} IN ({', '.join('?' * size)})"
            for size in (2**power for power in range(_MAX_KEYS_PER_QUERY.bit_length()))
        }
        group = plan.group

        def fetch(pks: list[str]) -> FoundItems:
            with self._connection() as connection, _translated(group, table):
                if len(pks) == 1:
                    rows = connection.execute(single, pks).fetchall()
                else:
                    rows = []
                    for start in range(0, len(pks), _MAX_KEYS_PER_QUERY):
                        chunk = pks[start : start + _MAX_KEYS_PER_QUERY]
                        size = 1 << (len(chunk) - 1).bit_length()
                        chunk += chunk[-1:] * (size - len(chunk))
                        rows += connection.execute(many[size], chunk).fetchall()
            return {row[0]: row[1:] for row in rows}

        return fetch

    # -- connections ------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection, used by one thread at a time and returned afterwards."""
        try:
            connection = self._idle.pop()
        except IndexError:
            connection = self._connect()
        try:
            yield connection
        finally:
            if self._closed or len(self._idle) >= _IDLE_CONNECTIONS:
                self._discard(connection)
            else:
                self._idle.append(connection)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path,
            timeout=self._timeout,
            isolation_level=None,  # we issue BEGIN IMMEDIATE ourselves
            check_same_thread=False,  # pooled: one thread at a time, but not always the same
            cached_statements=256,
        )
        # WAL with synchronous=NORMAL survives process crashes; a power cut may lose the last
        # commits, which the next materialization rewrites.
        connection.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._open.append(connection)
        return connection

    def _discard(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            if connection in self._open:
                self._open.remove(connection)
        connection.close()

    def _close(self) -> None:
        with self._lock:
            connections, self._open, self._idle = self._open, [], []
        for connection in connections:
            connection.close()


def _storage_frame(group: FeatureGroup, prepared: PreparedWrite) -> pl.DataFrame:
    """The prepared rows as SQLite values: epoch microseconds and days for times and dates.

    Series casts, not expressions: a prepared timestamp is UTC microseconds, so its integer
    form is the epoch value, and a cast avoids the expression engine's per-call overhead.
    """
    frame = prepared.frame
    columns = [
        pl.Series("_pk", prepared.pks, dtype=pl.String),
        frame.get_column(EVENT_TIME_COLUMN).cast(pl.Int64),
        frame.get_column(CREATED_AT_COLUMN).cast(pl.Int64),
        *(frame.get_column(key) for key in group.join_keys),
    ]
    for feature in group.features:
        series = frame.get_column(feature.name)
        if feature.dtype == "timestamp":
            series = series.cast(pl.Int64)
        elif feature.dtype == "date":
            series = series.cast(pl.Int32)
        columns.append(series)
    return pl.DataFrame(columns)


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE takes the write lock up front, so the busy timeout applies to it."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


@contextmanager
def _translated(group: FeatureGroup, table: str) -> Iterator[None]:
    """SQLite's errors for a missing table or column, as errors that say what to run."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if message.startswith("no such table"):
            raise OnlineTableMissingError(
                f"the online table of feature group {group.name!r} does not exist; "
                "run ensure_table (apply) first"
            ) from exc
        if "no such column" in message or "has no column named" in message:
            raise IncompatibleOnlineTableError(
                f"the online table of feature group {group.name!r} lacks a feature column "
                f"({message}); run ensure_table (apply) to add new features"
            ) from exc
        raise OnlineStoreError(f"SQLite failed on table {table!r}: {message}") from exc
