"""`snowflake/<group>`: the offline table registered as a Snowflake Iceberg table, kept current.

It runs after every new snapshot of `features/<group>` (eager automation): CREATE ... IF NOT
EXISTS, then REFRESH to the new metadata file (or catalog state), the `<GROUP>_LATEST` view and
the reader grants, through dagster-snowflake's `SnowflakeResource`. Without Snowflake configured
(the embedded default) it records the statements it would run, labelled as a dry run, and
succeeds: the demo never needs a Snowflake account. The `snowflake_readable` check then reads
the registered metadata file the way Snowflake does.
"""

import dagster as dg

from feature_platform.orchestration.feature_assets import downstream_asset_args
from feature_platform.orchestration.resources import (
    FeatureStoreResource,
    SnowflakeRegistrationResource,
)
from feature_platform.orchestration.run_config import NoOptions
from feature_platform.snowflake.registration import (
    check_snowflake_readable,
    execute_statements,
    plan_registration,
)
from feature_platform.sources import FeatureGroupDefinition

SNOWFLAKE_PREFIX = "snowflake"
READABLE_CHECK = "snowflake_readable"


def snowflake_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([SNOWFLAKE_PREFIX, name])


def build_snowflake_definitions(definition: FeatureGroupDefinition) -> dg.Definitions:
    """The registration asset of one group, with its readability check."""
    group = definition.group
    key = snowflake_asset_key(group.name)

    @dg.asset(
        key=key,
        group_name="snowflake",
        description=(
            f"{group.name} as a Snowflake Iceberg table (and its _LATEST view), refreshed "
            "after every new snapshot; a dry run that records the DDL when Snowflake is not "
            "configured."
        ),
        kinds={"snowflake", "iceberg"},
        check_specs=[
            dg.AssetCheckSpec(
                READABLE_CHECK,
                asset=key,
                description="The registered metadata file alone gives the catalog's rows; "
                "format v2, Snowflake-readable types, no empty data files.",
            )
        ],
        **downstream_asset_args(group),
    )
    def register(
        context: dg.AssetExecutionContext,
        config: NoOptions,
        feature_store: FeatureStoreResource,
        snowflake: SnowflakeRegistrationResource,
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]  # unparametrised: it carries a check
        store = feature_store.get_store()
        settings = snowflake.settings()
        plan = plan_registration(store, group.name, settings)
        if plan.dry_run:
            context.log.info(
                f"Snowflake is not configured: dry run, {len(plan.statements)} statements "
                "recorded, none run"
            )
        else:
            with snowflake.connection().get_connection() as connection:
                execute_statements(connection, plan.statements)
        readable = check_snowflake_readable(store.table(group.name))
        mode = "DRY RUN (Snowflake not configured)" if plan.dry_run else "registered"
        return dg.MaterializeResult(
            metadata={
                "mode": dg.MetadataValue.text(mode),
                "dry_run": dg.MetadataValue.bool(plan.dry_run),
                "snowflake_table": dg.MetadataValue.text(plan.table),
                "snowflake_view": dg.MetadataValue.text(plan.view),
                "metadata_location": dg.MetadataValue.path(plan.metadata_location),
                "statements": dg.MetadataValue.md(
                    "```sql\n" + ";\n\n".join(plan.statements) + ";\n```"
                ),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=READABLE_CHECK,
                    passed=readable.passed,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={
                        "metadata_location": dg.MetadataValue.path(readable.metadata_location),
                        "format_version": dg.MetadataValue.int(readable.format_version),
                        "rows_from_catalog": dg.MetadataValue.int(readable.rows_from_catalog),
                        "rows_from_metadata_file": dg.MetadataValue.int(
                            readable.rows_from_metadata_file
                        ),
                        "problems": dg.MetadataValue.json(list(readable.problems)),
                    },
                )
            ],
        )

    return dg.Definitions(assets=[register])
