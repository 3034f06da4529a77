"""`training_sets/<name>`: a training set as an asset, downstream of the groups it reads.

Lineage in the UI then answers which feature groups fed a model's data, and the materialization
metadata records the exact snapshot of each, so the set can be rebuilt bit for bit (`as_of`).
"""

import datetime as dt
import time

import dagster as dg
import polars as pl
from pydantic import Field

from feature_platform.errors import ConfigurationError
from feature_platform.orchestration.automation import after_upstream_updates
from feature_platform.orchestration.feature_assets import feature_asset_key
from feature_platform.orchestration.resources import (
    FeatureStoreResource,
    SnowflakeRegistrationResource,
)
from feature_platform.store import FeatureStore
from feature_platform.time_windows import TimeWindow, to_utc
from feature_platform.training.definition import TrainingSetDefinition
from feature_platform.training.retrieval import TrainingSet
from feature_platform.training.sql_retrieval import SnowflakeTarget
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

    resources = {"feature_store", *(["snowflake"] if definition.engine == "snowflake" else [])}

    @dg.asset(
        key=training_set_asset_key(definition.name),
        deps=deps,
        group_name="training_sets",
        description=definition.description or None,
        owners=[definition.owner] if definition.owner else None,
        kinds={"iceberg", definition.engine},
        metadata={"features": ", ".join(definition.features), "engine": definition.engine},
        automation_condition=after_upstream_updates(),
        required_resource_keys=resources,
    )
    def training_set(
        context: dg.AssetExecutionContext, config: TrainingSetRunConfig
    ) -> dg.MaterializeResult[None]:
        feature_store: FeatureStoreResource = context.resources.feature_store
        store = feature_store.get_store()
        window = config.window(definition)
        started = time.perf_counter()
        labels = definition.labels(store, window)
        experiment = config.experiment or None
        if definition.engine == "snowflake" and experiment is None:
            built = _in_snowflake(context.resources.snowflake, store, definition, labels)
        else:
            built = store.build_training_set(
                labels,
                definition.features,
                full_feature_names=definition.full_feature_names,
                timestamp_column=definition.timestamp_column,
                experiment=experiment,
                # An experiment's branches are read in process: the SQL engines read main.
                engine="polars" if experiment else definition.engine,  # type: ignore[arg-type]
                name=definition.name,
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
                **_sql_metadata(built),
            }
        )

    return dg.Definitions(assets=[training_set])


def _in_snowflake(
    resource: SnowflakeRegistrationResource,
    store: FeatureStore,
    definition: TrainingSetDefinition,
    labels: pl.DataFrame,
) -> TrainingSet:
    """Build in Snowflake through the deployment's `snowflake` resource."""
    settings = resource.settings()
    if settings is None:
        raise ConfigurationError(
            f"training set {definition.name!r} runs in Snowflake, but the snowflake resource has "
            "no account or FEATURE_PLATFORM_SNOWFLAKE__* is unset"
        )
    with resource.connection().get_connection() as connection:
        return store.build_training_set(
            labels,
            definition.features,
            full_feature_names=definition.full_feature_names,
            timestamp_column=definition.timestamp_column,
            engine="snowflake",
            snowflake=SnowflakeTarget(settings, connection),
            name=definition.name,
        )


def _sql_metadata(built: TrainingSet) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {"engine": dg.MetadataValue.text(built.engine)}
    if built.statement is not None:
        metadata["statement"] = dg.MetadataValue.md(f"```sql\n{built.statement}\n```")
    if built.table is not None:
        metadata["snowflake_table"] = dg.MetadataValue.text(built.table)
    return metadata
