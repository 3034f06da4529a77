"""`feature-platform snowflake setup-sql | register`: the offline tables, readable in Snowflake.

Its imports are made inside each handler, so that building the parser costs nothing and only
these commands pay for the Snowflake code.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from feature_platform.errors import ConfigurationError

if TYPE_CHECKING:
    from dagster_snowflake import SnowflakeResource


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    snowflake = commands.add_parser("snowflake", help="register the offline tables in Snowflake")
    snowflake_commands = snowflake.add_subparsers(dest="snowflake_command", required=True)
    setup = snowflake_commands.add_parser(
        "setup-sql", help="print the one-time admin DDL (volume, integration, reader role)"
    )
    setup.set_defaults(handler=snowflake_setup_sql)
    register_parser = snowflake_commands.add_parser(
        "register", help="create or refresh the Snowflake Iceberg tables and _LATEST views"
    )
    register_parser.add_argument("group", nargs="?", help="one group (default: all)")
    register_parser.add_argument("--dry-run", action="store_true", help="print, do not run")
    register_parser.set_defaults(handler=snowflake_register)


def snowflake_setup_sql(args: argparse.Namespace) -> int:
    from feature_platform.snowflake.registration import dry_run_settings
    from feature_platform.snowflake.settings import SnowflakeSettings
    from feature_platform.snowflake.setup_ddl import setup_statements
    from feature_platform.store import FeatureStore

    settings = SnowflakeSettings.from_env()
    if settings is None:
        print(
            "-- Snowflake is not configured (FEATURE_PLATFORM_SNOWFLAKE__* unset): showing the "
            "DDL for stand-in names; set the variables to get yours.",
        )
        settings = dry_run_settings(FeatureStore.from_env().config)
    print(";\n\n".join(setup_statements(settings)) + ";")
    return 0


def snowflake_register(args: argparse.Namespace) -> int:
    from feature_platform.snowflake.registration import execute_statements, plan_registration
    from feature_platform.snowflake.settings import SnowflakeSettings
    from feature_platform.store import FeatureStore

    store = FeatureStore.from_env()
    settings = SnowflakeSettings.from_env()
    names = [args.group] if args.group else [g.name for g in store.list_feature_groups()]
    resource = None if args.dry_run or settings is None else _configured_resource()
    for name in names:
        plan = plan_registration(store, name, settings)
        label = "dry run" if resource is None else "running"
        print(f"-- {name} -> {plan.table} ({label})")
        print(";\n".join(plan.statements) + ";\n")
        if resource is not None:
            with resource.get_connection() as connection:
                execute_statements(connection, plan.statements)
    if resource is None and not args.dry_run:
        print(
            "-- nothing was run: set FEATURE_PLATFORM_SNOWFLAKE__* and SNOWFLAKE_ACCOUNT, "
            "SNOWFLAKE_USER, SNOWFLAKE_PASSWORD to register for real",
            file=sys.stderr,
        )
    return 0


def _configured_resource() -> SnowflakeResource | None:
    """The connection of the ``SNOWFLAKE_*`` variables; None (a dry run) when they are unset."""
    from feature_platform.snowflake.connection import snowflake_resource_from_env

    try:
        return snowflake_resource_from_env()
    except ConfigurationError:
        return None
