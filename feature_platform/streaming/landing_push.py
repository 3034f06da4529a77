"""Pushing landing files into their feature group, and telling a bad file from a busy store.

A push tells two kinds of failure apart. A bad file (unreadable, or rows that do not fit the
group) is quarantined: pushing it again would fail the same way. A store that cannot take the
rows now (catalog unreachable, commits conflicting after every retry, online store throttled)
leaves the file pending: a later push of it commits it once, since its write id comes from the
file's bytes. The Dagster job (`orchestration.landing_sensors`) only turns these outcomes into
logs, metadata and a retryable or final failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from feature_platform.errors import FeaturePlatformError, InvalidFrameError, UnknownFeatureError
from feature_platform.store import FeatureStore
from feature_platform.streaming.landing import (
    LandingFile,
    LandingFileError,
    LandingZone,
    parse_landing_file,
)

# Errors of a write that say the file's rows are bad, so a retry would fail the same way. Any
# other error of the store (`CommitConflictError`, `OnlineStoreError`, ...) is about the store
# or the deployment, not the file: the file must stay pending.
FILE_ERRORS = (InvalidFrameError, UnknownFeatureError)


@dataclass(frozen=True)
class LandingPush:
    """What one push of a landing file did.

    Attributes:
        status: ``pushed`` (committed, or found committed before, and filed away),
            ``quarantined`` (the file is bad; `reason` says why) or ``gone`` (no longer waiting
            as listed: another run took it, or it was replaced and its new content waits under
            a new key).
        moved_to: Where the file went; None when another run took it over meanwhile.
    """

    file: LandingFile
    status: Literal["pushed", "quarantined", "gone"]
    rows: int = 0
    online_items_written: int = 0
    online_items_skipped: int = 0
    reason: str | None = None
    moved_to: str | None = None


def push_landing_file(store: FeatureStore, zone: LandingZone, file: LandingFile) -> LandingPush:
    """Claim one file, push its rows (online too when the group is online), file it away.

    What is filed away is exactly what was read and pushed: a file replaced meanwhile stays
    pending as a new file (see `feature_platform.streaming.landing`).

    Raises:
        FeaturePlatformError: The store cannot take the rows now (`CommitConflictError` when the
            catalog is unreachable or commits kept conflicting, `OnlineStoreError` when the
            online store throttles or fails), or the group is not applied. The file is fine and
            stays pending (claimed); pushing it again commits it once (same write id), and
            rewrites the online values it may already have written (latest wins, so no harm).
        OSError: The landing storage could not be reached; the file stays pending.
    """
    group = store.get_feature_group(file.group)
    claim = zone.claim(file)
    if claim is None:
        return LandingPush(file, "gone")
    try:
        if claim.payload is None:
            raise LandingFileError(claim.refusal or f"{file.name} could not be read")
        frame = parse_landing_file(group, file.name, claim.payload)
        result = store.write(
            file.group,
            frame,
            to="both" if group.online else "offline",
            idempotency_key=claim.write_id,
        )
    except (LandingFileError, *FILE_ERRORS) as exc:
        reason = str(exc) if isinstance(exc, LandingFileError) else f"{file.name}: {exc}"
        where = zone.quarantine(claim, reason)
        return LandingPush(file, "quarantined", reason=reason, moved_to=where)
    online = result.online
    return LandingPush(
        file,
        "pushed",
        rows=result.rows,
        online_items_written=online.written if online else 0,
        online_items_skipped=(online.skipped_stale + online.superseded) if online else 0,
        moved_to=zone.archive(claim),
    )


@dataclass
class LandingBatch:
    """What pushing one run's files came to.

    Attributes:
        pushes: One per file tried, in order.
        pending: Names of the files left pending for a retry: the one the store could not take
            and every file after it.
        unavailable: Why the store could not take that file; None when every file was tried.
    """

    pushes: list[LandingPush] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    unavailable: FeaturePlatformError | None = None

    @property
    def quarantined(self) -> list[str]:
        """Each quarantined file with its reason and where it went, for the run's failure."""
        return [
            f"{push.file.name}: {push.reason} (moved to {push.moved_to})"
            for push in self.pushes
            if push.status == "quarantined"
        ]

    def totals(self) -> dict[str, int]:
        """Files and rows pushed, and online items written or skipped, over the whole batch."""
        pushed = [push for push in self.pushes if push.status == "pushed"]
        return {
            "files": len(pushed),
            "rows": sum(push.rows for push in pushed),
            "online_items_written": sum(push.online_items_written for push in pushed),
            "online_items_skipped": sum(push.online_items_skipped for push in pushed),
        }


def push_landing_files(
    store: FeatureStore,
    zone: LandingZone,
    files: Sequence[LandingFile],
    on_push: Callable[[LandingPush], None] = lambda push: None,
) -> LandingBatch:
    """Push `files` in order, quarantining bad ones, until the store cannot take one now.

    That file and the ones after it stay pending: they would wait out the same outage (each
    through its commit retries), so they wait for the retry too. `on_push` sees each push as it
    is made, so a long run reports as it goes.

    Raises:
        OSError: The landing storage could not be reached; the files not pushed stay pending.
    """
    batch = LandingBatch()
    for index, file in enumerate(files):
        try:
            push = push_landing_file(store, zone, file)
        except FeaturePlatformError as exc:
            batch.unavailable = exc
            batch.pending = [f.name for f in files[index:]]
            break
        batch.pushes.append(push)
        on_push(push)
    return batch
