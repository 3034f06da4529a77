"""`feature-platform training-set`: a point-in-time training set written to a file.

Its imports are made inside the handler, so that building the parser costs nothing and only the
command itself pays for the store.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from feature_platform.errors import ConfigurationError

if TYPE_CHECKING:
    from feature_platform.snowflake.settings import SnowflakeSettings
    from feature_platform.store import FeatureStore
    from feature_platform.training.retrieval import TrainingSet
    from feature_platform.training.sql_retrieval import SnowflakeTarget


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        "--out", help="output file: .parquet, .csv or .json (by extension); not with --print-sql"
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
    training.add_argument(
        "--engine",
        choices=("polars", "duckdb", "snowflake"),
        default="polars",
        help="where the join runs; all give the same training set (snowflake: the registered "
        "tables, refreshed to the snapshots read, via the SNOWFLAKE_* connection)",
    )
    training.add_argument(
        "--print-sql",
        action="store_true",
        help="with --engine snowflake: print the statements instead of running them (no "
        "account needed)",
    )
    training.set_defaults(handler=training_set)


def training_set(args: argparse.Namespace) -> int:
    from feature_platform.store import FeatureStore
    from feature_platform.training.io import read_table_file, write_table_file

    if args.print_sql and args.engine != "snowflake":
        raise ConfigurationError(
            "--print-sql shows the Snowflake statements: add --engine snowflake"
        )
    if args.out is None and not args.print_sql:
        raise ConfigurationError("--out is required (the file the training set is written to)")
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
    entities = read_table_file(args.entities, args.timestamp_column)
    if args.print_sql:
        return _print_sql(store, entities, features, args, as_of)
    if args.engine == "snowflake":
        from feature_platform.snowflake.connection import snowflake_resource_from_env
        from feature_platform.training.sql_retrieval import SnowflakeTarget

        settings = _snowflake_settings()
        with snowflake_resource_from_env().get_connection() as connection:
            target = SnowflakeTarget(settings, connection)
            built = _build(store, entities, features, args, as_of, target)
    else:
        built = _build(store, entities, features, args, as_of, None)
    write_table_file(built.frame, args.out)
    summary = {
        "rows": built.frame.height,
        "columns": built.frame.columns,
        "out": str(args.out),
        "as_of": built.snapshot_ids,
    }
    if built.table is not None:
        summary["snowflake_table"] = built.table
    print(json.dumps(summary, indent=2))
    return 0


def _print_sql(
    store: FeatureStore, entities: Any, features: list[str], args: argparse.Namespace, as_of: Any
) -> int:
    """The statements a Snowflake build would run, for the snapshots it would read now."""
    from feature_platform.offline_store.schema import applied_group
    from feature_platform.snowflake.registration import dry_run_settings
    from feature_platform.snowflake.settings import SnowflakeSettings
    from feature_platform.training.sql_retrieval import plan_sql, snowflake_statements

    settings = SnowflakeSettings.from_env()
    if settings is None:
        print(
            "-- Snowflake is not configured (FEATURE_PLATFORM_SNOWFLAKE__* unset): stand-in names"
        )
        settings = dry_run_settings(store.config)
    plan = plan_sql(
        entities,
        features,
        load_table=store.table,
        spec_of=applied_group,
        full_feature_names=args.full_feature_names,
        timestamp_column=args.timestamp_column,
        as_of=as_of,
    )
    create, fetch, result, source = snowflake_statements(plan, settings)
    print(f"-- snapshots read: {json.dumps(plan.snapshot_ids, sort_keys=True)}")
    print(f"-- 1. upload the {entities.height} label rows (write_pandas) to {source.relation}")
    print(f"-- 2. build the training set in {result}\n{create};\n")
    print(f"-- 3. fetch it in label order\n{fetch};")
    return 0


def _build(
    store: FeatureStore,
    entities: Any,
    features: list[str],
    args: argparse.Namespace,
    as_of: Any,
    snowflake: SnowflakeTarget | None,
) -> TrainingSet:
    return store.build_training_set(
        entities,
        features,
        full_feature_names=args.full_feature_names,
        timestamp_column=args.timestamp_column,
        as_of=as_of,
        engine=args.engine,
        snowflake=snowflake,
    )


def _snowflake_settings() -> SnowflakeSettings:
    from feature_platform.snowflake.settings import SnowflakeSettings

    settings = SnowflakeSettings.from_env()
    if settings is None:
        raise ConfigurationError(
            "--engine snowflake needs FEATURE_PLATFORM_SNOWFLAKE__* (where the tables are "
            "registered) and SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, ...; or add --print-sql"
        )
    return settings
