"""When the assets downstream of feature tables run by themselves, and what evaluates that.

The online sync, Snowflake registration and training sets are unpartitioned assets downstream
of partitioned feature tables. Dagster's `eager()` waits until no upstream partition is missing,
which for a table with history since 2026 and a backfill of last week never happens; these
assets read whatever the table holds, so they run after any upstream update instead, once no
upstream run is in progress and the blocking data checks pass.
"""

import dagster as dg


def after_upstream_updates() -> dg.AutomationCondition[dg.AssetKey]:
    """Eager, except that a partition never materialized upstream does not hold it back."""
    return (
        dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    )


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Evaluates the automation conditions of the deployment, running from the start.

    Dagster's default automation sensor starts stopped, so without this one nothing downstream
    of a backfill would run by itself.
    """
    return dg.AutomationConditionSensorDefinition(
        "feature_platform_automation",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
    )
