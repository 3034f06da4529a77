"""`list`, `describe`, `search`, `sql`: browsing the catalog, what people do many times a day.

None of them imports Dagster. `list` and `search` read the specs straight from an embedded
catalog (`catalog_peek`); `describe` goes through pyiceberg, with fsspec's file IO for a local
warehouse, because pyiceberg's default pyarrow IO imports `pyarrow.dataset`, whose module
initialisation builds a pyarrow scalar and so imports pandas (about a second). `sql` cannot avoid
that: polars' Iceberg scan imports pyiceberg's pyarrow IO for the table's arrow schema.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import TYPE_CHECKING

from feature_platform.config import StoreConfig

if TYPE_CHECKING:
    from feature_platform.specs import FeatureGroup
    from feature_platform.store import FeatureStore

# pyiceberg's FileIO for local files that does not import pyarrow.dataset (nor pandas).
_LIGHT_FILE_IO = "pyiceberg.io.fsspec.FsspecFileIO"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser("list", help="list feature groups").set_defaults(handler=list_groups)

    describe_parser = commands.add_parser("describe", help="show a feature group's spec and state")
    describe_parser.add_argument("group")
    describe_parser.set_defaults(handler=describe)

    finder = commands.add_parser(
        "search", help="find feature groups by name, description, tag, owner or feature"
    )
    finder.add_argument("text", nargs="+")
    finder.set_defaults(handler=search)

    query = commands.add_parser(
        "sql",
        help="query feature groups, their <group>_latest views and training sets with SQL",
    )
    query.add_argument("query")
    query.add_argument("--format", choices=["table", "csv"], default="table")
    query.add_argument("--out", default=None, help="write .parquet, .csv or .json instead")
    query.add_argument("--max-rows", type=int, default=50, help="rows shown as a table")
    query.set_defaults(handler=sql)


def read_only_store(config: StoreConfig | None = None) -> FeatureStore:
    """The environment's store, for reading specs and metadata.

    On a local warehouse of the embedded catalog, tables are read with fsspec's file IO unless
    the configuration names one (``py-io-impl``); remote warehouses keep pyiceberg's default.
    Writes are not made through this store, so the file IO of writes stays pyarrow's.
    """
    from feature_platform.store import FeatureStore

    config = config or StoreConfig.from_env()
    local = config.catalog_type == "sql" and config.warehouse_root.startswith("file:")
    if local and "py-io-impl" not in config.catalog_properties:
        properties = {**config.catalog_properties, "py-io-impl": _LIGHT_FILE_IO}
        config = dataclasses.replace(config, catalog_properties=properties)
    return FeatureStore(config=config)


def feature_groups(config: StoreConfig | None = None) -> list[FeatureGroup]:
    """Every applied group: from the embedded catalog directly, else through pyiceberg."""
    from feature_platform.cli.catalog_peek import peek_feature_groups

    config = config or StoreConfig.from_env()
    groups = peek_feature_groups(config)
    return groups if groups is not None else read_only_store(config).list_feature_groups()


def list_groups(args: argparse.Namespace) -> int:
    for group in feature_groups():
        online = "online" if group.online else "offline"
        print(
            f"{group.name}\t{group.entity.name}\t{group.partitioning}\t{online}\t{group.description}"
        )
    return 0


def describe(args: argparse.Namespace) -> int:
    from feature_platform.discovery import describe_group
    from feature_platform.snowflake.settings import SnowflakeSettings

    store = read_only_store()
    settings = SnowflakeSettings.from_env()
    registered = None
    if settings is not None:
        from feature_platform.snowflake.naming import table_fqn

        registered = table_fqn(store.get_feature_group(args.group), settings)
    facts = describe_group(store, args.group, snowflake_name=registered)
    print(json.dumps(facts, indent=2, default=str))
    return 0


def search(args: argparse.Namespace) -> int:
    from feature_platform.discovery import search_groups

    text = " ".join(args.text)
    hits = search_groups(feature_groups(), text)
    for hit in hits:
        print(f"{hit.group}\t{', '.join(hit.matches)}\t{hit.description}")
    if not hits:
        print(f"no feature group mentions {text!r}", file=sys.stderr)
    return 0 if hits else 1


def sql(args: argparse.Namespace) -> int:
    import polars as pl

    from feature_platform.sql import SqlError, run_sql
    from feature_platform.store import FeatureStore
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
