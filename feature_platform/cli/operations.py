"""`compact`, `training-set` and `snowflake`: commands that change or export data.

Their imports are made inside each command, so that loading this module costs nothing and each
command pays only for what it uses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from feature_platform.errors import ConfigurationError


def compact(args: argparse.Namespace) -> int:
    from feature_platform.maintenance.policy import MaintenancePolicy
    from feature_platform.maintenance.runner import maintain_group
    from feature_platform.registry import load_feature_groups
    from feature_platform.store import FeatureStore

    policies = {d.name: d.maintenance for d in load_feature_groups()}
    policy = policies.get(args.group, MaintenancePolicy())
    report = maintain_group(FeatureStore.from_env(), args.group, policy, dry_run=args.dry_run)
    compaction, expiry, orphans = report.compaction, report.expiry, report.orphans
    verb = "would" if args.dry_run else "did"
    print(
        f"compaction ({verb}): {len(compaction.partitions)} partition(s), files "
        f"{compaction.files_before} -> {compaction.files_after}, bytes {compaction.bytes_before} "
        f"-> {compaction.bytes_after}, {compaction.rows_rewritten} rows, {compaction.seconds}s"
    )
    for partition in compaction.partitions:
        print(f"  {partition}")
    for message in compaction.skipped:
        print(f"  skipped: {message}")
    print(
        f"snapshot expiry ({verb}): {len(expiry.snapshots_expired)} of {expiry.snapshots_before} "
        f"snapshot(s), {len(expiry.files_deleted)} file(s), {expiry.bytes_deleted} bytes"
    )
    print(
        f"orphan removal ({verb}): {len(orphans.files_deleted)} file(s), "
        f"{orphans.bytes_deleted} bytes ({orphans.too_young} unreferenced but too young)"
    )
    if args.dry_run:
        for uri in [*expiry.files_deleted, *orphans.files_deleted]:
            print(f"  delete {uri}")
    return 0


def training_set(args: argparse.Namespace) -> int:
    from feature_platform.store import FeatureStore
    from feature_platform.training.io import read_table_file, write_table_file

    store = FeatureStore.from_env()
    features = [f.strip() for f in args.features.split(",") if f.strip()]
    as_of: dict[str, int | str] | str | None = args.as_of
    if args.as_of and args.as_of.lstrip().startswith("{"):
        try:
            as_of = json.loads(args.as_of)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"--as-of {args.as_of!r} is not JSON; give a timestamp or the object printed by "
                "an earlier run, e.g. '{\"user_engagement\": 123}'"
            ) from exc
    built = store.build_training_set(
        read_table_file(args.entities, args.timestamp_column),
        features,
        full_feature_names=args.full_feature_names,
        timestamp_column=args.timestamp_column,
        as_of=as_of,
    )
    write_table_file(built.frame, args.out)
    print(
        json.dumps(
            {
                "rows": built.frame.height,
                "columns": built.frame.columns,
                "out": str(args.out),
                "as_of": built.snapshot_ids,
            },
            indent=2,
        )
    )
    return 0


def snowflake_setup_sql(args: argparse.Namespace) -> int:
    from feature_platform.snowflake.ddl import setup_statements
    from feature_platform.snowflake.registration import dry_run_settings
    from feature_platform.snowflake.settings import SnowflakeSettings
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
    account = os.environ.get("SNOWFLAKE_ACCOUNT")
    dry_run = args.dry_run or settings is None or not account
    for name in names:
        plan = plan_registration(store, name, settings)
        label = "dry run" if dry_run else "running"
        print(f"-- {name} -> {plan.table} ({label})")
        print(";\n".join(plan.statements) + ";\n")
        if not dry_run:
            from dagster_snowflake import SnowflakeResource

            resource = SnowflakeResource(
                account=account,
                user=os.environ["SNOWFLAKE_USER"],
                password=os.environ.get("SNOWFLAKE_PASSWORD"),
                role=os.environ.get("SNOWFLAKE_ROLE"),
                warehouse=os.environ.get("SNOWFLAKE_WAREHOUSE"),
            )
            with resource.get_connection() as connection:
                execute_statements(connection, plan.statements)
    if dry_run and not args.dry_run:
        print(
            "-- nothing was run: set FEATURE_PLATFORM_SNOWFLAKE__* and SNOWFLAKE_ACCOUNT, "
            "SNOWFLAKE_USER, SNOWFLAKE_PASSWORD to register for real",
            file=sys.stderr,
        )
    return 0
