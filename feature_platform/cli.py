"""`feature-platform`: run the demo, and inspect feature groups from the shell."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence

from feature_platform.config import resolve_home
from feature_platform.errors import ConfigurationError, FeaturePlatformError
from feature_platform.store import FeatureStore


def _demo(args: argparse.Namespace) -> int:
    from feature_platform.demo.landing import write_demo_landing_files
    from feature_platform.demo.run import materialize_demo, prepare_dagster_home

    home = resolve_home(args.home)
    os.environ["FEATURE_PLATFORM_HOME"] = str(home)
    dagster_home = prepare_dagster_home(home)
    print(f"feature_platform home: {home}\nDagster home: {dagster_home}")
    runs = materialize_demo(home, args.days)
    for run in runs:
        print(f"  {run.summary()}")
    if not all(run.success for run in runs):
        return 1
    store = FeatureStore(home)
    for group in store.list_feature_groups():
        facts = store.describe(group.name)
        print(f"  {group.name}: {facts['rows']} rows in {facts['data_files']} files")
    landed = write_demo_landing_files(store.config)
    print(
        f"  dropped {len(landed)} landing file(s) in {store.config.landing_uri}; the landing "
        "sensor pushes them once the UI (and its daemon) runs"
    )
    if args.no_ui:
        return 0
    dagster = shutil.which("dagster") or os.path.join(os.path.dirname(sys.executable), "dagster")
    command = [
        dagster,
        "dev",
        "-m",
        "feature_platform.definitions",
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    print(
        f"starting the Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True
    )
    os.execv(dagster, command)
    return 0  # pragma: no cover - execv does not return


def _list(args: argparse.Namespace) -> int:
    store = FeatureStore.from_env()
    for group in store.list_feature_groups():
        online = "online" if group.online else "offline"
        print(
            f"{group.name}\t{group.entity.name}\t{group.partitioning}\t{online}\t{group.description}"
        )
    return 0


def _describe(args: argparse.Namespace) -> int:
    from feature_platform.discovery import describe_group
    from feature_platform.snowflake.ddl import table_fqn
    from feature_platform.snowflake.settings import SnowflakeSettings

    store = FeatureStore.from_env()
    settings = SnowflakeSettings.from_env()
    registered = (
        table_fqn(store.get_feature_group(args.group), settings) if settings is not None else None
    )
    facts = describe_group(store, args.group, snowflake_name=registered)
    print(json.dumps(facts, indent=2, default=str))
    return 0


def _search(args: argparse.Namespace) -> int:
    from feature_platform.discovery import search

    hits = search(FeatureStore.from_env(), " ".join(args.text))
    for hit in hits:
        print(f"{hit.group}\t{', '.join(hit.matches)}\t{hit.description}")
    if not hits:
        print(f"no feature group mentions {' '.join(args.text)!r}", file=sys.stderr)
    return 0 if hits else 1


def _sql(args: argparse.Namespace) -> int:
    import polars as pl

    from feature_platform.sql import SqlError, run_sql
    from feature_platform.training.io import write_table_file

    try:
        result = run_sql(FeatureStore.from_env(), args.query)
    except SqlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        write_table_file(result, args.out)
        print(f"{result.height} rows written to {args.out}")
    elif args.format == "csv":
        sys.stdout.write(result.write_csv())
    else:
        with pl.Config(tbl_rows=args.max_rows, tbl_cols=-1, tbl_width_chars=200):
            print(result)
    return 0


def _compact(args: argparse.Namespace) -> int:
    from feature_platform.maintenance.policy import MaintenancePolicy
    from feature_platform.maintenance.runner import maintain_group
    from feature_platform.registry import load_feature_groups

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


def _training_set(args: argparse.Namespace) -> int:
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


def _snowflake_setup_sql(args: argparse.Namespace) -> int:
    from feature_platform.snowflake.ddl import setup_statements
    from feature_platform.snowflake.registration import dry_run_settings
    from feature_platform.snowflake.settings import SnowflakeSettings

    settings = SnowflakeSettings.from_env()
    if settings is None:
        print(
            "-- Snowflake is not configured (FEATURE_PLATFORM_SNOWFLAKE__* unset): showing the "
            "DDL for stand-in names; set the variables to get yours.",
        )
        settings = dry_run_settings(FeatureStore.from_env().config)
    print(";\n\n".join(setup_statements(settings)) + ";")
    return 0


def _snowflake_register(args: argparse.Namespace) -> int:
    from feature_platform.snowflake.registration import execute_statements, plan_registration
    from feature_platform.snowflake.settings import SnowflakeSettings

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feature-platform", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="materialize the demo feature groups and start the Dagster UI"
    )
    demo.add_argument("--days", type=int, default=3, help="complete days to materialize")
    demo.add_argument("--home", default=None, help="state folder (default FEATURE_PLATFORM_HOME)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=3000)
    demo.add_argument("--no-ui", action="store_true", help="materialize only")
    demo.set_defaults(handler=_demo)

    listing = commands.add_parser("list", help="list feature groups")
    listing.set_defaults(handler=_list)

    describe = commands.add_parser("describe", help="show a feature group's spec and state")
    describe.add_argument("group")
    describe.set_defaults(handler=_describe)

    finder = commands.add_parser(
        "search", help="find feature groups by name, description, tag, owner or feature"
    )
    finder.add_argument("text", nargs="+")
    finder.set_defaults(handler=_search)

    sql = commands.add_parser(
        "sql",
        help="query feature groups, their <group>_latest views and training sets with SQL",
    )
    sql.add_argument("query")
    sql.add_argument("--format", choices=["table", "csv"], default="table")
    sql.add_argument("--out", default=None, help="write .parquet, .csv or .json instead")
    sql.add_argument("--max-rows", type=int, default=50, help="rows shown as a table")
    sql.set_defaults(handler=_sql)

    snowflake = commands.add_parser("snowflake", help="register the offline tables in Snowflake")
    snowflake_commands = snowflake.add_subparsers(dest="snowflake_command", required=True)
    setup = snowflake_commands.add_parser(
        "setup-sql", help="print the one-time admin DDL (volume, integration, reader role)"
    )
    setup.set_defaults(handler=_snowflake_setup_sql)
    register = snowflake_commands.add_parser(
        "register", help="create or refresh the Snowflake Iceberg tables and _LATEST views"
    )
    register.add_argument("group", nargs="?", help="one group (default: all)")
    register.add_argument("--dry-run", action="store_true", help="print, do not run")
    register.set_defaults(handler=_snowflake_register)

    compact = commands.add_parser(
        "compact",
        help="compact small files, expire old snapshots and remove orphan files of a group",
    )
    compact.add_argument("group")
    compact.add_argument("--dry-run", action="store_true", help="list what would change")
    compact.set_defaults(handler=_compact)

    training = commands.add_parser(
        "training-set",
        help="join features point-in-time onto label rows and write the training set",
    )
    training.add_argument(
        "--entities", required=True, help="label rows: a .parquet, .csv or .json file"
    )
    training.add_argument(
        "--features", required=True, help="comma-separated '<group>:<feature>' references"
    )
    training.add_argument(
        "--out", required=True, help="output file: .parquet, .csv or .json (by extension)"
    )
    training.add_argument("--timestamp-column", default="event_timestamp")
    training.add_argument(
        "--full-feature-names", action="store_true", help="name columns '<group>__<feature>'"
    )
    training.add_argument(
        "--as-of",
        default=None,
        help="read the tables as of an ISO timestamp, or a JSON object of snapshot ids per "
        "group (as printed by an earlier run) to rebuild a training set exactly",
    )
    training.set_defaults(handler=_training_set)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except FeaturePlatformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
