"""What one sync read and wrote, and the metadata an orchestrator records of it."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field, fields, replace

CURSOR_METADATA = "offline_snapshot_id"
"""The metadata key of the snapshot a sync reached: the next sync's cursor."""

# Per-field options of `SyncReport.as_metadata`, kept in each field's `metadata`.
_KEY = "key"  # the metadata key, when not the field's name
_TEXT = "text"  # recorded as text, "none" for None (ids exceed what some stores hold exactly)
_LEFT_OUT = "left_out"  # not recorded (the orchestrator knows it, or records it its own way)

MetadataValue = str | int | float | bool


@dataclass(frozen=True, kw_only=True)
class SyncReport:
    """What one sync read and wrote; `to_snapshot_id` is the cursor for the next sync.

    The fields are also the sync's recorded metadata, in this order (`as_metadata`), so a
    field added here is recorded wherever a report is.

    Attributes:
        group: The feature group synced.
        to_snapshot_id: The offline snapshot now reflected online (None: empty table).
        from_snapshot_id: The cursor the sync started from (None: a full bootstrap).
        bootstrap: Whether every live value was loaded, not just changes.
        after_interrupted_sync: Whether the sync distrusted the online state at the cursor
            (a sync since then stopped part way), so it rewrote unchanged entities too.
        windows_examined: Partition windows touched by the snapshots since the cursor.
        windows_expired: Of those, windows entirely older than the ttl (not read).
        rows_read: Offline rows read.
        entities_changed: Entities whose latest live row changed in the examined windows (each
            costs one online request: written, skipped, corrected, deleted or refused).
        entities_superseded: Entities skipped because a newer row exists outside them.
        items_written: Online items created or replaced.
        items_skipped: Items the online store refused as not newer than what it holds.
        items_corrected: Items rewritten to an older row because a backfill took away the
            newer row the sync had written.
        items_deleted: Items deleted because a backfill took away the entity's last live row.
        corrections_refused: Corrections and deletions the online store refused because the
            stored item was no longer the row taken away (e.g. a newer value pushed online
            since, or an item already corrected by a sync that stopped part way).
        seconds: Wall time of the sync.
        ttl: The group's ttl the sync applied (None: unlimited). A later sync with a larger
            ttl must load every live value: the values that became live are in no change.
    """

    group: str = field(metadata={_LEFT_OUT: True})
    to_snapshot_id: int | None = field(metadata={_KEY: CURSOR_METADATA, _TEXT: True})
    from_snapshot_id: int | None = field(metadata={_TEXT: True})
    bootstrap: bool = False
    after_interrupted_sync: bool = False
    windows_examined: int = 0
    windows_expired: int = 0
    rows_read: int = 0
    entities_changed: int = 0
    entities_superseded: int = 0
    items_written: int = 0
    items_skipped: int = 0
    items_corrected: int = 0
    items_deleted: int = 0
    corrections_refused: int = 0
    seconds: float = 0.0
    ttl: dt.timedelta | None = field(default=None, metadata={_LEFT_OUT: True})

    @property
    def online_requests(self) -> int:
        """Items sent to the online store (written, corrected, deleted or refused there)."""
        return (
            self.items_written
            + self.items_skipped
            + self.items_corrected
            + self.items_deleted
            + self.corrections_refused
        )

    def finished(self, started: float) -> SyncReport:
        """The report with the wall time since `started` (a `time.perf_counter()` reading)."""
        return replace(self, seconds=round(time.perf_counter() - started, 3))

    def as_metadata(self) -> dict[str, MetadataValue]:
        """The report as plain metadata values, keyed as orchestrators record them.

        Snapshot ids are text ("none" when unset); the group and the ttl are left out.
        """
        metadata: dict[str, MetadataValue] = {}
        for report_field in fields(self):
            options = report_field.metadata
            if options.get(_LEFT_OUT):
                continue
            value = getattr(self, report_field.name)
            if options.get(_TEXT):
                value = "none" if value is None else str(value)
            metadata[options.get(_KEY, report_field.name)] = value
        return metadata
