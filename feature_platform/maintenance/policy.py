"""How aggressively maintenance runs; one frozen value per feature group (defaults are sane)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from feature_platform.errors import InvalidSpecError

MIB = 1024 * 1024


@dataclass(frozen=True)
class MaintenancePolicy:
    """Thresholds of compaction, snapshot expiry and orphan-file removal.

    Args:
        small_file_bytes: A data file below this size counts as small.
        min_small_files: A partition is compacted when it has more small files than this.
        target_file_bytes: Compaction writes files of about this size.
        dedupe: Also drop exact duplicate rows (same keys, event_time, created_at).
        snapshot_retention: Snapshots older than this are expired...
        retain_last: ...except the newest `retain_last` ones of main, which are always kept.
        orphan_min_age: Unreferenced files younger than this are left alone (in-flight writes).
        max_snapshots: The snapshot-count check warns above this.
        experiment_max_age: The experiments check warns about experiments older than this
            (their branches keep snapshots and files alive, and main moves under them).
    """

    small_file_bytes: int = 32 * MIB
    min_small_files: int = 4
    target_file_bytes: int = 256 * MIB
    dedupe: bool = False
    snapshot_retention: dt.timedelta = dt.timedelta(days=7)
    retain_last: int = 10
    orphan_min_age: dt.timedelta = dt.timedelta(days=3)
    max_snapshots: int = 500
    experiment_max_age: dt.timedelta = dt.timedelta(days=14)

    def __post_init__(self) -> None:
        if self.small_file_bytes <= 0 or self.target_file_bytes < self.small_file_bytes:
            raise InvalidSpecError("need 0 < small_file_bytes <= target_file_bytes")
        if self.min_small_files < 1:
            raise InvalidSpecError("min_small_files must be at least 1")
        if self.retain_last < 1:
            raise InvalidSpecError("retain_last must be at least 1 (the current snapshot)")
        if self.snapshot_retention < dt.timedelta(0) or self.orphan_min_age < dt.timedelta(0):
            raise InvalidSpecError("retention and orphan age must not be negative")
        if self.experiment_max_age <= dt.timedelta(0):
            raise InvalidSpecError("experiment_max_age must be positive")
