"""Micro-batch ingestion: a sensor per feature group watching its landing folder.

Each tick lists ``<landing>/<group>/`` and launches a small run for the files not yet launched.
The cursor holds the files in flight (launched, not yet filed away by their run), so a sensor
restart launches nothing twice; the run key does the same inside Dagster. A file keeps its key
while a run holds it (claimed), and a replaced file gets a new one, so it is launched anew. A
file whose run died without filing it away is relaunched once it has been in flight for
`relaunch_after_seconds`.

A run tells two kinds of failure apart. A bad file (unreadable, or rows that do not fit the
group) is quarantined: pushing it again would fail the same way. A store that cannot take the
rows now (catalog unreachable, commits conflicting after every retry, online store throttled)
leaves the file pending and fails the run retryably: Dagster's run retries, or else the sensor's
relaunch, push it again, and its write id (from the file's bytes) makes that commit it once.
"""

import json
import time
from dataclasses import dataclass
from typing import Literal

import dagster as dg

from feature_platform.errors import FeaturePlatformError, InvalidFrameError, UnknownFeatureError
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition
from feature_platform.store import FeatureStore
from feature_platform.streaming.landing import (
    LandingFile,
    LandingFileError,
    LandingZone,
    parse_landing_file,
)

FILES_PER_RUN = 20
RELAUNCH_AFTER_SECONDS = 1800.0
# Errors of a write that say the file's rows are bad, so a retry would fail the same way. Any
# other error of the store (`CommitConflictError`, `OnlineStoreError`, ...) is about the store
# or the deployment, not the file: the file must stay pending.
FILE_ERRORS = (InvalidFrameError, UnknownFeatureError)


def landing_job_name(group: str) -> str:
    return f"push_{group}_landing_files"


class LandingRunConfig(dg.Config):
    """The files one run pushes, as landing-file keys (`LandingFile.key`)."""

    files: list[str]


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


def build_landing_definitions(definition: FeatureGroupDefinition) -> dg.Definitions:
    """The push job and landing sensor of one group."""
    group = definition.group

    @dg.op(
        name=f"push_{group.name}_files",
        description=f"Pushes landing files of {group.name} and files them away.",
        pool=f"iceberg_{group.name}",
    )
    def push_files(
        context: dg.OpExecutionContext,
        config: LandingRunConfig,
        feature_store: FeatureStoreResource,
    ) -> None:
        store = feature_store.get_store()
        zone = LandingZone.from_config(store.config)
        wanted = set(config.files)
        files = [f for f in zone.pending(group.name) if f.key in wanted]
        gone = sorted(wanted - {f.key for f in files})
        for key in gone:  # filed away by an earlier attempt of this run, or replaced since
            context.log.info(f"{key}: no longer waiting in the landing zone; skipped")
        totals = {"files": 0, "rows": 0, "online_items_written": 0, "online_items_skipped": 0}
        quarantined: list[str] = []
        unavailable: FeaturePlatformError | None = None
        left: list[str] = []  # files this run leaves pending, for a retry or relaunch
        try:
            for index, file in enumerate(files):
                try:
                    push = push_landing_file(store, zone, file)
                except FeaturePlatformError as exc:
                    # The store, not the file: the files after it would wait out the same
                    # outage (each through its commit retries), so they wait for the retry too.
                    unavailable = exc
                    left = [f.name for f in files[index:]]
                    context.log.warning(f"{file.name}: not pushed now, left pending: {exc}")
                    break
                if push.status == "gone":
                    context.log.info(f"{file.key}: taken by another run, or replaced; skipped")
                    continue
                if push.status == "quarantined":
                    quarantined.append(f"{file.name}: {push.reason} (moved to {push.moved_to})")
                    context.log.error(f"{file.name}: quarantined to {push.moved_to}: {push.reason}")
                    continue
                totals["files"] += 1
                totals["rows"] += push.rows
                totals["online_items_written"] += push.online_items_written
                totals["online_items_skipped"] += push.online_items_skipped
                context.log.info(f"{file.name}: {push.rows} rows pushed, moved to {push.moved_to}")
        finally:
            store.close()
        context.add_output_metadata({name: dg.MetadataValue.int(v) for name, v in totals.items()})
        if unavailable is not None:
            # Retryable (the default): run retries rerun this op, and the sensor relaunches the
            # files still pending after `relaunch_after_seconds`; write ids make reruns safe.
            raise dg.Failure(
                description=(
                    f"{len(left)} landing file(s) of {group.name} could not be pushed now and "
                    f"stay pending for a retry ({type(unavailable).__name__}: {unavailable})"
                    + (f"; {len(quarantined)} were quarantined" if quarantined else "")
                ),
                metadata={
                    "pending": dg.MetadataValue.json(left),
                    "quarantined": dg.MetadataValue.json(quarantined),
                },
                allow_retries=True,
            ) from unavailable
        if quarantined:
            # Not retryable: the quarantined files are gone, a retry would change nothing.
            raise dg.Failure(
                description=f"{len(quarantined)} landing file(s) of {group.name} were quarantined",
                metadata={"quarantined": dg.MetadataValue.json(quarantined)},
                allow_retries=False,
            )

    @dg.job(
        name=landing_job_name(group.name),
        description=f"Push landing files of {group.name} into its offline and online stores.",
        tags={"feature_group": group.name},
    )
    def push_job() -> None:
        push_files()

    @dg.sensor(
        name=f"{group.name}_landing_files",
        job=push_job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Launches runs for new files under <landing>/{group.name}/.",
    )
    def landing_sensor(
        context: dg.SensorEvaluationContext, feature_store: FeatureStoreResource
    ) -> dg.SensorResult:
        zone = LandingZone.from_config(feature_store.store_config())
        return evaluate_landing(zone, group.name, context.cursor)

    return dg.Definitions(jobs=[push_job], sensors=[landing_sensor])


def evaluate_landing(
    zone: LandingZone,
    group: str,
    cursor: str | None,
    now: float | None = None,
    relaunch_after_seconds: float = RELAUNCH_AFTER_SECONDS,
) -> dg.SensorResult:
    """Run requests for files not in flight, and the new cursor (pure but for the listing)."""
    now = time.time() if now is None else now
    state = json.loads(cursor) if cursor else {}
    in_flight: dict[str, list[float]] = state.get("in_flight", {})
    pending = zone.pending(group)
    waiting = {f.key for f in pending}
    in_flight = {k: v for k, v in in_flight.items() if k in waiting}  # the rest are done
    to_launch: list[tuple[LandingFile, int]] = []
    for file in pending:
        launched = in_flight.get(file.key)
        if launched is None:
            to_launch.append((file, 0))
        elif now - launched[0] >= relaunch_after_seconds:
            to_launch.append((file, int(launched[1]) + 1))
    requests = []
    for start in range(0, len(to_launch), FILES_PER_RUN):
        batch = to_launch[start : start + FILES_PER_RUN]
        keys = [file.key for file, _ in batch]
        attempt = max(n for _, n in batch)
        run_key = "|".join(keys) + (f"#relaunch{attempt}" if attempt else "")
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                run_config=dg.RunConfig(ops={f"push_{group}_files": LandingRunConfig(files=keys)}),
                tags={"feature_group": group, "landing_files": str(len(keys))},
            )
        )
        for file, n in batch:
            in_flight[file.key] = [now, n]
    skip = None if requests else dg.SkipReason(f"no new files under {zone.uri}/{group}/")
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps({"in_flight": in_flight}, sort_keys=True),
        skip_reason=skip,
    )
