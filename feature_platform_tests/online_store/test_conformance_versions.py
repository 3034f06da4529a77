"""The online-store contract for named versions, run against every implementation.

Part of the conformance suite (`test_conformance.py`): a write over a named version and a
conditional delete act on a stored item only when its ``(event_time, created_at)`` is exactly
the one named, on SQLite and on DynamoDB alike. The offline sync relies on this to undo a row a
backfill took away without touching a newer value pushed online since.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from feature_platform import Entity
from feature_platform.errors import (
    InvalidRequestError,
    NaiveTimestampError,
    NullKeyError,
    OnlineStoreClosedError,
    OnlineTableMissingError,
    SchemaMismatchError,
)
from feature_platform.online_store import OnlineDeleteReport, OnlineStore, OnlineWriteReport
from feature_platform_tests.online_store.builders import T0, keys_frame, profile_group, write_frame

SECOND = dt.timedelta(seconds=1)
GROUP = profile_group()


def _version(user: str, event: dt.datetime, created: dt.datetime | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {"user_id": [user], "event_time": [event], "created_at": [created or event]},
        schema={
            "user_id": pl.String,
            "event_time": pl.Datetime("us", "UTC"),
            "created_at": pl.Datetime("us", "UTC"),
        },
    )


def _row(
    user: str, size: int, event: dt.datetime, created: dt.datetime | None = None
) -> dict[str, Any]:
    return {"user_id": user, "event_time": event, "created_at": created or event, "size": size}


def _stored(store: OnlineStore, *users: str) -> dict[str, tuple[object, object]]:
    """Event time and size per user, read at the time of the items (no ttl in this group)."""
    frame = store.read(GROUP, keys_frame(GROUP, *((u,) for u in users)), ["size"])
    return {r["user_id"]: (r["event_time"], r["size"]) for r in frame.to_dicts()}


@pytest.fixture
def store(online_store: OnlineStore) -> OnlineStore:
    """The store with one item: `u` at T0 + 10 s (created T0 + 20 s), size 10."""
    online_store.ensure_table(GROUP)
    online_store.write(
        GROUP, write_frame(GROUP, [_row("u", 10, T0 + 10 * SECOND, T0 + 20 * SECOND)])
    )
    return online_store


def test_an_older_row_replaces_exactly_the_named_version(store: OnlineStore) -> None:
    older = write_frame(GROUP, [_row("u", 1, T0)])

    wrong_event = store.write(
        GROUP, older, replacing=_version("u", T0 + 11 * SECOND, T0 + 20 * SECOND)
    )
    wrong_created = store.write(GROUP, older, replacing=_version("u", T0 + 10 * SECOND, T0))
    assert (wrong_event.written, wrong_event.skipped_stale) == (0, 1)
    assert (wrong_created.written, wrong_created.skipped_stale) == (0, 1)
    assert _stored(store, "u") == {"u": (T0 + 10 * SECOND, 10)}

    named = store.write(GROUP, older, replacing=_version("u", T0 + 10 * SECOND, T0 + 20 * SECOND))

    assert named == OnlineWriteReport("profile", rows=1, written=1, skipped_stale=0, superseded=0)
    assert _stored(store, "u") == {"u": (T0, 1)}


def test_a_replacing_write_still_follows_latest_wins_for_other_items(store: OnlineStore) -> None:
    """Missing or older items are written, equal ones with replace_equal; newer ones are kept."""
    store.write(GROUP, write_frame(GROUP, [_row("old", 5, T0), _row("equal", 6, T0)]))
    rows = [
        _row("u", 1, T0),  # stored newer, and not the named version: kept
        _row("old", 2, T0 + SECOND),  # stored older: latest wins
        _row("equal", 3, T0),  # stored equal: replaced only with replace_equal
        _row("new", 4, T0),  # nothing stored: written
    ]
    named = pl.concat([_version(user, T0 - SECOND) for user in ("u", "old", "equal", "new")])

    report = store.write(GROUP, write_frame(GROUP, rows), replace_equal=True, replacing=named)

    assert (report.written, report.skipped_stale) == (3, 1)
    assert _stored(store, "u", "old", "equal", "new") == {
        "u": (T0 + 10 * SECOND, 10),
        "old": (T0 + SECOND, 2),
        "equal": (T0, 3),
        "new": (T0, 4),
    }
    # Without replace_equal an equal item is kept, even when named by another version.
    again = write_frame(GROUP, [_row("equal", 7, T0)])
    assert store.write(GROUP, again, replacing=_version("equal", T0 - SECOND)).skipped_stale == 1
    assert _stored(store, "equal") == {"equal": (T0, 3)}


def test_delete_removes_exactly_the_named_versions(store: OnlineStore) -> None:
    store.write(GROUP, write_frame(GROUP, [_row("v", 2, T0), _row("w", 3, T0)]))
    named = pl.concat(
        [
            _version("u", T0 + 10 * SECOND, T0 + 20 * SECOND),  # exactly stored: deleted
            _version("v", T0, T0 + SECOND),  # another created_at: kept
            _version("w", T0 - SECOND),  # another event_time: kept
            _version("nobody", T0),  # missing: nothing to delete
        ]
    )

    report = store.delete_items(GROUP, named)

    assert report == OnlineDeleteReport("profile", rows=4, deleted=1, kept=3)
    assert _stored(store, "u", "v", "w") == {"u": (None, None), "v": (T0, 2), "w": (T0, 3)}
    assert store.delete_items(GROUP, named.head(1)).deleted == 0  # already gone
    # A deleted item is gone, not hidden: an older row can be written again.
    assert store.write(GROUP, write_frame(GROUP, [_row("u", 1, T0)])).written == 1
    assert _stored(store, "u") == {"u": (T0, 1)}


def test_delete_takes_whole_rows_and_any_time_zone(store: OnlineStore) -> None:
    """Rows read back (features included) name their items; times compare as instants."""
    stored = write_frame(GROUP, [_row("u", 10, T0 + 10 * SECOND, T0 + 20 * SECOND)])
    in_tokyo = stored.with_columns(
        pl.col("event_time", "created_at").dt.convert_time_zone("Asia/Tokyo")
    )

    assert store.delete_items(GROUP, in_tokyo).deleted == 1
    assert _stored(store, "u") == {"u": (None, None)}


def test_many_named_versions_at_once(online_store: OnlineStore) -> None:
    """More items than one request or pool window holds, with composite integer keys."""
    entity = Entity("article", ["site", "article_id"], key_dtypes={"article_id": pl.Int64})
    group = profile_group("articles", entity=entity)
    online_store.ensure_table(group)
    rows = [
        {"site": "s|1", "article_id": i, "event_time": T0 + SECOND, "size": i} for i in range(300)
    ]
    online_store.write(group, write_frame(group, rows))
    versions = write_frame(group, rows).select("site", "article_id", "event_time", "created_at")
    older = write_frame(group, [{**row, "event_time": T0, "size": -1} for row in rows[:150]])

    replaced = online_store.write(group, older, replacing=versions.head(150))
    deleted = online_store.delete_items(group, versions.slice(150))

    assert (replaced.written, deleted.deleted, deleted.kept) == (150, 150, 0)
    request = keys_frame(group, *(("s|1", i) for i in range(300)))
    sizes = online_store.read(group, request, ["size"]).get_column("size").to_list()
    assert sizes == [-1] * 150 + [None] * 150


BAD_VERSIONS: dict[str, tuple[type[Exception], Callable[[pl.DataFrame], pl.DataFrame]]] = {
    "missing-created-at": (SchemaMismatchError, lambda f: f.drop("created_at")),
    "naive-event-time": (
        NaiveTimestampError,
        lambda f: f.with_columns(pl.col("event_time").dt.replace_time_zone(None)),
    ),
    "null-key": (NullKeyError, lambda f: f.with_columns(pl.lit(None, pl.String).alias("user_id"))),
    "text-time": (SchemaMismatchError, lambda f: f.with_columns(pl.lit("T0").alias("event_time"))),
    "entity-twice": (InvalidRequestError, lambda f: pl.concat([f, f])),
}


@pytest.mark.parametrize("case", sorted(BAD_VERSIONS))
def test_bad_versions_are_refused_before_any_change(store: OnlineStore, case: str) -> None:
    error, corrupt = BAD_VERSIONS[case]
    named = corrupt(_version("u", T0 + 10 * SECOND, T0 + 20 * SECOND))
    older = write_frame(GROUP, [_row("u", 1, T0)])

    with pytest.raises(error):
        store.delete_items(GROUP, named)
    with pytest.raises(error):
        store.write(GROUP, older, replacing=named)

    assert _stored(store, "u") == {"u": (T0 + 10 * SECOND, 10)}


def test_replacing_names_no_item_the_frame_does_not_write(store: OnlineStore) -> None:
    """A named version only permits a write; it creates or removes nothing by itself."""
    frame = write_frame(GROUP, [_row("other", 1, T0)])
    named = _version("u", T0 + 10 * SECOND, T0 + 20 * SECOND)

    report = store.write(GROUP, frame, replacing=named)

    assert (report.rows, report.written) == (1, 1)
    assert _stored(store, "u", "other") == {"u": (T0 + 10 * SECOND, 10), "other": (T0, 1)}


def test_named_versions_need_the_table_and_an_open_store(online_store: OnlineStore) -> None:
    named = _version("u", T0)
    with pytest.raises(OnlineTableMissingError, match="ensure_table"):
        online_store.delete_items(GROUP, named)
    with pytest.raises(OnlineTableMissingError, match="ensure_table"):
        online_store.write(GROUP, write_frame(GROUP, [_row("u", 1, T0)]), replacing=named)
    online_store.ensure_table(GROUP)
    assert online_store.delete_items(GROUP, named.clear()).rows == 0  # nothing named: no request
    online_store.close()
    with pytest.raises(OnlineStoreClosedError):
        online_store.delete_items(GROUP, named)
