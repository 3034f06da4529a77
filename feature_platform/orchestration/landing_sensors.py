"""Micro-batch ingestion: a sensor per feature group watching its landing folder.

Each tick lists ``<landing>/<group>/`` and launches a small run for the files not yet launched.
The cursor holds the files in flight (launched, not yet moved away by their run), so a sensor
restart launches nothing twice; the run key does the same inside Dagster. A file whose run died
without moving it is relaunched once it has been in flight for `relaunch_after_seconds`.
"""

import json
import time

import dagster as dg

from feature_platform.errors import FeaturePlatformError
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition
from feature_platform.store import FeatureStore
from feature_platform.streaming.landing import LandingFile, LandingFileError, LandingZone

FILES_PER_RUN = 20
RELAUNCH_AFTER_SECONDS = 1800.0


def landing_job_name(group: str) -> str:
    return f"push_{group}_landing_files"


class LandingRunConfig(dg.Config):
    """The files one run pushes, as landing-file keys (`LandingFile.key`)."""

    files: list[str]


def push_landing_file(store: FeatureStore, zone: LandingZone, file: LandingFile) -> dict[str, int]:
    """Push one file (online too when the group is online) and move it to ``_processed``.

    Raises:
        LandingFileError: The file is unreadable or its rows do not fit the group; it stays
            in place for the caller to quarantine.
    """
    group = store.get_feature_group(file.group)
    frame = zone.read(file)
    try:
        result = store.write(
            file.group,
            frame,
            to="both" if group.online else "offline",
            idempotency_key=file.write_id,
        )
    except FeaturePlatformError as exc:
        raise LandingFileError(f"{file.name}: {exc}") from exc
    zone.mark_processed(file)
    online = result.online
    return {
        "rows": result.rows,
        "online_items_written": online.written if online else 0,
        "online_items_skipped": (online.skipped_stale + online.superseded) if online else 0,
    }


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
        for key in gone:  # processed by an earlier attempt of this run, or replaced since
            context.log.info(f"{key}: no longer waiting in the landing zone; skipped")
        totals = {"files": 0, "rows": 0, "online_items_written": 0, "online_items_skipped": 0}
        failures = []
        for file in files:
            try:
                counts = push_landing_file(store, zone, file)
            except LandingFileError as exc:
                where = zone.quarantine(file, str(exc))
                failures.append(f"{file.name}: {exc} (moved to {where})")
                continue
            totals["files"] += 1
            for name, value in counts.items():
                totals[name] += value
            context.log.info(f"{file.name}: {counts['rows']} rows pushed")
        store.close()
        context.add_output_metadata({name: dg.MetadataValue.int(v) for name, v in totals.items()})
        if failures:
            raise dg.Failure(
                description=f"{len(failures)} landing file(s) of {group.name} were quarantined",
                metadata={"quarantined": dg.MetadataValue.json(failures)},
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
