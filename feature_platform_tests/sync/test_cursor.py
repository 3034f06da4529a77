"""Where a sync starts, decided from the last sync's recorded metadata alone."""

from __future__ import annotations

import datetime as dt

from feature_platform.sync import SyncReport
from feature_platform.sync.cursor import sync_start, ttl_record

WEEK = dt.timedelta(days=7)


def recorded(ttl: dt.timedelta | None = WEEK, table: str = "online.scores") -> dict[str, object]:
    report = SyncReport(group="scores", from_snapshot_id=None, to_snapshot_id=42, ttl=ttl)
    return {**report.as_metadata(), "ttl_seconds": ttl_record(ttl), "online_table": table}


def test_the_recorded_cursor_is_kept_while_ttl_and_table_hold() -> None:
    start = sync_start(recorded(), ttl=dt.timedelta(days=3), location="online.scores")
    assert (start.cursor, start.after_interrupted_sync, start.reason) == (42, False, None)


def test_a_raised_ttl_or_another_table_drops_the_cursor_saying_why() -> None:
    raised = sync_start(recorded(), ttl=None, location="online.scores")
    assert raised.cursor is None
    assert raised.reason is not None
    assert "raised from 7 days, 0:00:00 to unlimited" in raised.reason
    moved = sync_start(recorded(), ttl=WEEK, location="elsewhere")
    assert moved.cursor is None
    assert moved.reason is not None
    assert "wrote to online.scores" in moved.reason


def test_no_record_a_full_resync_and_old_records_without_a_ttl() -> None:
    assert sync_start(None, ttl=WEEK, location="t") == sync_start(
        recorded(), ttl=WEEK, location="online.scores", full_resync=True
    )
    old = {"offline_snapshot_id": "42"}  # recorded before the ttl and table were
    assert sync_start(old, ttl=None, location="t").cursor == 42


def test_a_start_with_no_finish_after_it_was_interrupted() -> None:
    def interrupted(started: int | None, finished: int | None) -> bool:
        start = sync_start(
            None, ttl=None, location="t", last_started=started, last_finished=finished
        )
        return start.after_interrupted_sync

    assert not interrupted(None, None)
    assert not interrupted(3, 4)
    assert interrupted(5, 4)
    assert interrupted(5, None)


def test_the_report_metadata_keys_and_values() -> None:
    report = SyncReport(group="g", from_snapshot_id=None, to_snapshot_id=7, items_written=2)
    metadata = report.as_metadata()
    assert list(metadata)[:3] == ["offline_snapshot_id", "from_snapshot_id", "bootstrap"]
    assert (metadata["offline_snapshot_id"], metadata["from_snapshot_id"]) == ("7", "none")
    assert metadata["items_written"] == 2
    assert "group" not in metadata
    assert "ttl" not in metadata
