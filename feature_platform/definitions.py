"""The Dagster entry point: registered feature groups in, `Definitions` out.

Global policy lives here, in one place: which resources the environment gets, and which
definitions make up the deployment.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from feature_platform.config import StoreConfig
from feature_platform.errors import InvalidSpecError
from feature_platform.orchestration.automation import automation_sensor
from feature_platform.orchestration.experiment_checks import build_experiment_checks
from feature_platform.orchestration.feature_assets import build_feature_group_definitions
from feature_platform.orchestration.landing_sensors import build_landing_definitions
from feature_platform.orchestration.maintenance_assets import build_maintenance_definitions
from feature_platform.orchestration.online_assets import build_online_definitions
from feature_platform.orchestration.quality_checks import build_quality_definitions
from feature_platform.orchestration.resources import current_environment, resources_for
from feature_platform.orchestration.snowflake_assets import build_snowflake_definitions
from feature_platform.orchestration.source_assets import build_source_definitions
from feature_platform.orchestration.training_assets import build_training_set_definitions
from feature_platform.registry import load_feature_groups, load_training_sets
from feature_platform.sources import FeatureGroupDefinition, Source
from feature_platform.training.definition import TrainingSetDefinition, check_training_set_names


def build_definitions(
    feature_groups: Sequence[FeatureGroupDefinition] | None = None,
    training_sets: Sequence[TrainingSetDefinition] | None = None,
) -> dg.Definitions:
    """Assemble the deployment; the environment is read here and nowhere else.

    Args:
        feature_groups: The groups of the deployment; default: the registry's
            (`FEATURE_PLATFORM_REGISTRY`, else the demo's). A feature repository made by
            ``feature-platform init`` passes its own.
        training_sets: Likewise; default: the registry's when `feature_groups` is not given,
            none otherwise.
    """
    if feature_groups is None:
        feature_groups = load_feature_groups()
        if training_sets is None:
            training_sets = load_training_sets()
    training_sets = training_sets or ()
    check_training_set_names(training_sets, [definition.name for definition in feature_groups])
    online_kind = StoreConfig.from_env().online_store
    sources = _distinct_sources(feature_groups)
    return dg.Definitions.merge(
        *[build_source_definitions(source) for source in sources],
        *[build_feature_group_definitions(definition) for definition in feature_groups],
        *[build_maintenance_definitions(definition) for definition in feature_groups],
        *[build_quality_definitions(definition) for definition in feature_groups],
        *[build_experiment_checks(definition) for definition in feature_groups],
        *[build_online_definitions(definition, online_kind) for definition in feature_groups],
        *[build_landing_definitions(definition) for definition in feature_groups],
        *[build_snowflake_definitions(definition) for definition in feature_groups],
        *[build_training_set_definitions(definition) for definition in training_sets],
        # One process per run: a step's own process would import the whole stack (seconds) for
        # each of a group's asset checks. Runs still go to separate processes, tasks or pods.
        dg.Definitions(
            resources=resources_for(current_environment()),
            executor=dg.in_process_executor,
            sensors=[automation_sensor()],
        ),
    )


def _distinct_sources(feature_groups: Sequence[FeatureGroupDefinition]) -> list[Source]:
    """Each source once (groups may share one); two different sources under one key are refused.

    Raises:
        InvalidSpecError: Two groups name different sources with the same asset key.
    """
    by_key: dict[tuple[str, ...], Source] = {}
    for definition in feature_groups:
        source = by_key.setdefault(tuple(definition.source.key), definition.source)
        if source != definition.source:
            raise InvalidSpecError(
                f"feature group {definition.name} reads a source with asset key "
                f"{'/'.join(source.key)} that differs from another group's source with that key "
                f"({source!r} vs {definition.source!r}); give one of them its own asset_key"
            )
    return list(by_key.values())


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
