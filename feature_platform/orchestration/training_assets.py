"""`training_sets/<name>`: a training set as an asset, downstream of the groups it reads.

Lineage in the UI then answers which feature groups fed a model's data, and the materialization
metadata records the exact snapshot of each, so the set can be rebuilt bit for bit (`as_of`).
"""

import datetime as dt
import time

import dagster as dg
from pydantic import Field

from feature_platform.orchestration.automation import after_upstream_updates
from feature_platform.orchestration.feature_assets import feature_asset_key
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.time_windows import TimeWindow, to_utc
from feature_platform.training.definition import TrainingSetDefinition
from feature_platform.training.storage import write_training_set

TRAINING_SETS_PREFIX = "training_sets"


def training_set_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([TRAINING_SETS_PREFIX, name])


class TrainingSetRunConfig(dg.Config):
    """Label window of one build; both empty: the definition's default window ending today."""

    labels_start: str = ""
    labels_end: str = ""
    experiment: str = Field(
        default="",
        description=(
            "Read the groups this experiment wrote from their branch exp_<experiment> (the "
            "others from main) and store the set on the training-set table's branch of that "
            "name, leaving the main training set as it is."
        ),
    )

    def window(self, definition: TrainingSetDefinition) -> TimeWindow:
        if not self.labels_start and not self.labels_end:
            return definition.default_window()
        end = to_utc(self.labels_end, "labels_end") if self.labels_end else dt.datetime.now(dt.UTC)
        if self.labels_start:
            return TimeWindow.of(self.labels_start, end)
        return TimeWindow.of(end - definition.label_window, end)


def build_training_set_definitions(definition: TrainingSetDefinition) -> dg.Definitions:
    """The asset that builds and stores one training set."""
    deps = [feature_asset_key(group) for group in definition.group_names]
    if definition.label_source:
        deps.insert(0, dg.AssetKey(list(definition.label_source)))

    @dg.asset(
        key=training_set_asset_key(definition.name),
        deps=deps,
        group_name="training_sets",
        description=definition.description or None,
        owners=[definition.owner] if definition.owner else None,
        kinds={"iceberg", "polars"},
        metadata={"features": ", ".join(definition.features)},
        automation_condition=after_upstream_updates(),
    )
    def training_set(
        context: dg.AssetExecutionContext,
        config: TrainingSetRunConfig,
        feature_store: FeatureStoreResource,
    ) -> dg.MaterializeResult[None]:
        store = feature_store.get_store()
        window = config.window(definition)
        started = time.perf_counter()
        labels = definition.labels(store, window)
        experiment = config.experiment or None
        built = store.build_training_set(
            labels,
            definition.features,
            full_feature_names=definition.full_feature_names,
            timestamp_column=definition.timestamp_column,
            experiment=experiment,
        )
        stored = write_training_set(
            store.catalog, store.config, definition.name, built, experiment=experiment
        )
        seconds = round(time.perf_counter() - started, 3)
        context.log.info(f"{definition.name}: {stored.rows} rows for labels in {window}")
        return dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(stored.rows),
                "labels_window": dg.MetadataValue.text(str(window)),
                "source_snapshots": dg.MetadataValue.json(stored.sources),
                "source_branches": dg.MetadataValue.json(
                    {stats.group: built.branches.get(stats.group, "main") for stats in built.groups}
                ),
                "branch": dg.MetadataValue.text(stored.branch),
                "feature_rows_read": dg.MetadataValue.json(
                    {stats.group: stats.rows_read for stats in built.groups}
                ),
                "table": dg.MetadataValue.text(stored.table),
                "snapshot_id": dg.MetadataValue.text(str(stored.snapshot_id)),
                "metadata_location": dg.MetadataValue.path(stored.metadata_location),
                "seconds": dg.MetadataValue.float(seconds),
                "dagster/row_count": dg.MetadataValue.int(stored.rows),
            }
        )

    return dg.Definitions(assets=[training_set])
