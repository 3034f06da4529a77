"""Micro-batch ingestion in Dagster: a sensor per feature group watching its landing folder.

Each tick lists ``<landing>/<group>/`` and launches a small run for the files not yet launched
(`streaming.landing_launches`: the cursor holds the files in flight, the run key does the same
inside Dagster). A run pushes its files (`streaming.landing_push`); this module only turns what
happened into logs, metadata and the run's outcome: a run whose files the store could not take
now fails retryably, and Dagster's run retries, or else the sensor's relaunch, push them again;
a run that quarantined a file fails for good, since a retry would change nothing.
"""

import time

import dagster as dg

from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition
from feature_platform.streaming.landing import LandingZone
from feature_platform.streaming.landing_launches import RELAUNCH_AFTER_SECONDS, plan_launches
from feature_platform.streaming.landing_push import LandingBatch, LandingPush, push_landing_files


def landing_job_name(group: str) -> str:
    return f"push_{group}_landing_files"


class LandingRunConfig(dg.Config):
    """The files one run pushes, as landing-file keys (`LandingFile.key`)."""

    files: list[str]


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
        for key in sorted(wanted - {f.key for f in files}):
            # Filed away by an earlier attempt of this run, or replaced since.
            context.log.info(f"{key}: no longer waiting in the landing zone; skipped")
        try:
            batch = push_landing_files(store, zone, files, lambda push: _log(context, push))
        finally:
            store.close()
        context.add_output_metadata(
            {name: dg.MetadataValue.int(v) for name, v in batch.totals().items()}
        )
        _fail_unless_all_pushed(context, group.name, batch)

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


def _log(context: dg.OpExecutionContext, push: LandingPush) -> None:
    file = push.file
    if push.status == "gone":
        context.log.info(f"{file.key}: taken by another run, or replaced; skipped")
    elif push.status == "quarantined":
        context.log.error(f"{file.name}: quarantined to {push.moved_to}: {push.reason}")
    else:
        context.log.info(f"{file.name}: {push.rows} rows pushed, moved to {push.moved_to}")


def _fail_unless_all_pushed(
    context: dg.OpExecutionContext, group: str, batch: LandingBatch
) -> None:
    """Fail the run retryably if files stay pending, for good if any was quarantined.

    Raises:
        dagster.Failure: Some file was not pushed.
    """
    quarantined = batch.quarantined
    if batch.unavailable is not None:
        unavailable = batch.unavailable
        context.log.warning(f"{batch.pending[0]}: not pushed now, left pending: {unavailable}")
        # Retryable (the default): run retries rerun this op, and the sensor relaunches the
        # files still pending after `relaunch_after_seconds`; write ids make reruns safe.
        raise dg.Failure(
            description=(
                f"{len(batch.pending)} landing file(s) of {group} could not be pushed now and "
                f"stay pending for a retry ({type(unavailable).__name__}: {unavailable})"
                + (f"; {len(quarantined)} were quarantined" if quarantined else "")
            ),
            metadata={
                "pending": dg.MetadataValue.json(batch.pending),
                "quarantined": dg.MetadataValue.json(quarantined),
            },
            allow_retries=True,
        ) from unavailable
    if quarantined:
        # Not retryable: the quarantined files are gone, a retry would change nothing.
        raise dg.Failure(
            description=f"{len(quarantined)} landing file(s) of {group} were quarantined",
            metadata={"quarantined": dg.MetadataValue.json(quarantined)},
            allow_retries=False,
        )


def evaluate_landing(
    zone: LandingZone,
    group: str,
    cursor: str | None,
    now: float | None = None,
    relaunch_after_seconds: float = RELAUNCH_AFTER_SECONDS,
) -> dg.SensorResult:
    """Run requests for files not in flight, and the new cursor (pure but for the listing)."""
    launches, new_cursor = plan_launches(
        zone.pending(group), cursor, time.time() if now is None else now, relaunch_after_seconds
    )
    requests = [
        dg.RunRequest(
            run_key=launch.run_key,
            run_config=dg.RunConfig(
                ops={f"push_{group}_files": LandingRunConfig(files=list(launch.keys))}
            ),
            tags={"feature_group": group, "landing_files": str(len(launch.keys))},
        )
        for launch in launches
    ]
    skip = None if requests else dg.SkipReason(f"no new files under {zone.uri}/{group}/")
    return dg.SensorResult(run_requests=requests, cursor=new_cursor, skip_reason=skip)
