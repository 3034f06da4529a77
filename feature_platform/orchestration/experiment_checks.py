"""`experiments_not_stale`: a warning on ``features/<group>`` for experiments left open too long.

An open experiment keeps its branch's snapshots and files (and main's snapshots back to its
base) from expiring, and the longer it lives the more windows main changes under it, which
promotion then refuses. The limit is the group's ``maintenance.experiment_max_age``. The check
runs with the group's materializations and with the maintenance job's, reading only the table's
properties.
"""

import datetime as dt

import dagster as dg

from feature_platform.experiments.lifecycle import experiment_ages
from feature_platform.orchestration.feature_assets import feature_asset_key
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sources import FeatureGroupDefinition

CHECK_NAME = "experiments_not_stale"


def build_experiment_checks(definition: FeatureGroupDefinition) -> dg.Definitions:
    """The group's experiment-age check."""
    group = definition.group
    key = feature_asset_key(group.name)
    limit = definition.maintenance.experiment_max_age

    @dg.asset_check(
        asset=key,
        name=CHECK_NAME,
        blocking=False,
        description=f"No experiment on this group is older than {limit}.",
    )
    def experiments_not_stale(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        ages = experiment_ages(feature_store.get_store().table(group.name))
        stale = {name: age for name, age in ages.items() if age > limit}
        return dg.AssetCheckResult(
            passed=not stale,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "experiments": dg.MetadataValue.json(sorted(ages)),
                "stale_days": dg.MetadataValue.json(
                    {name: round(age / dt.timedelta(days=1), 2) for name, age in stale.items()}
                ),
                "max_age_days": dg.MetadataValue.float(round(limit / dt.timedelta(days=1), 2)),
            },
        )

    return dg.Definitions(asset_checks=[experiments_not_stale])
