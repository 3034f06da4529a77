"""Where a sync starts: from the last sync's cursor, or from scratch when that cursor lies.

An orchestrator records each sync's report (`SyncReport.as_metadata`) plus the ttl it applied
(`TTL_METADATA`) and the online table it wrote (`LOCATION_METADATA`), and hands that record
back here as plain values. The cursor is then dropped (the sync bootstraps: it loads every live
value, which is safe because online items are only replaced by newer-or-equal rows) when:

- the ttl was raised: that commits no offline snapshot, so the values it brings back to life are
  in no change since the cursor (a lowered ttl needs nothing: reads hide values older than it);
- the online table changed: the cursor says nothing about a table it was not reached in.

A sync that started after the last finished one and never finished itself stopped part way: the
online store may then hold values the offline table held only in between, so the next sync
rewrites every entity of the changed windows instead of skipping those that look unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from feature_platform.sync.report import CURSOR_METADATA

LOCATION_METADATA = "online_table"
"""The metadata key of the online table a sync wrote (a cursor holds only for it)."""
TTL_METADATA = "ttl_seconds"
"""The metadata key of the ttl a sync applied: seconds, or "none" (unlimited)."""


@dataclass(frozen=True)
class SyncStart:
    """How the next sync starts.

    Attributes:
        cursor: The snapshot to sync from; None loads every live value.
        after_interrupted_sync: A sync stopped part way since the last finished one.
        reason: Why the recorded cursor is not used, for the log (None: it is, or none is
            recorded, or a full resync was asked for).
    """

    cursor: int | None
    after_interrupted_sync: bool = False
    reason: str | None = None


def sync_start(
    last: Mapping[str, object] | None,
    *,
    ttl: dt.timedelta | None,
    location: str,
    full_resync: bool = False,
    last_started: int | None = None,
    last_finished: int | None = None,
) -> SyncStart:
    """Decide how the next sync starts from what the last finished sync recorded.

    Args:
        last: The last finished sync's recorded metadata values; None if none finished.
        ttl: The group's ttl now (None: unlimited).
        location: The online table the sync will write (`OnlineStore.location`).
        full_resync: Ignore the cursor and load every live value.
        last_started: The position (e.g. an event-log storage id) of the latest record that
            a sync started, if any.
        last_finished: The position of the last finished sync's record, if any.
    """
    recorded = last or {}
    cursor = None if full_resync else _cursor(recorded)
    reason = None
    raised_from = _recorded_ttl_seconds(recorded)
    recorded_location = recorded.get(LOCATION_METADATA)
    if cursor is None:
        pass
    elif raised_from is not None and _seconds(ttl) > raised_from:
        reason = (
            f"the ttl was raised from {_ttl_label(raised_from)} to {_ttl_label(_seconds(ttl))} "
            "since the last sync; values it made live again are in no offline change since the "
            "cursor, so every live value is loaded (a bootstrap; online items are only replaced "
            "by newer-or-equal rows)"
        )
    elif recorded_location not in (None, location):
        reason = (
            f"the last sync wrote to {recorded_location}, this one writes to {location}; its "
            "cursor says nothing about this table, so every live value is loaded (a bootstrap)"
        )
    stopped = last_started is not None and (last_finished is None or last_finished < last_started)
    return SyncStart(None if reason else cursor, stopped, reason)


def ttl_record(ttl: dt.timedelta | None) -> str:
    """The `TTL_METADATA` value of a sync that applied `ttl`."""
    seconds = _seconds(ttl)
    return "none" if math.isinf(seconds) else repr(seconds)


def _cursor(recorded: Mapping[str, object]) -> int | None:
    text = str(recorded.get(CURSOR_METADATA, ""))
    return int(text) if text.isdigit() else None


def _recorded_ttl_seconds(recorded: Mapping[str, object]) -> float | None:
    """The ttl the last sync applied (`math.inf`: unlimited); None when it recorded none.

    Syncs recorded before the ttl was say nothing about it: they do not force a bootstrap (a
    full resync does, when wanted).
    """
    if TTL_METADATA not in recorded:
        return None
    text = str(recorded[TTL_METADATA])
    if text == "none":
        return math.inf
    try:
        return float(text)
    except ValueError:
        return None


def _seconds(ttl: dt.timedelta | None) -> float:
    return math.inf if ttl is None else ttl.total_seconds()


def _ttl_label(seconds: float) -> str:
    if math.isinf(seconds):
        return "unlimited"
    try:
        return str(dt.timedelta(seconds=seconds))
    except OverflowError:
        return f"{seconds:g} s"
