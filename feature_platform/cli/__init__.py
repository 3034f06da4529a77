"""`feature-platform`: run the demo, and inspect feature groups from the shell.

Every call is a fresh process, so start-up is most of what a user waits for. This module and its
parser import nothing heavy; each command's module is imported when the command runs, and the
inspection commands (`list`, `describe`, `search`, `sql`) never import Dagster. Check with
``python -X importtime -m feature_platform.cli list``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from feature_platform.errors import FeaturePlatformError

Handler = Callable[[argparse.Namespace], int]


class _LazyHandler:
    """A command's handler, ``"<module of feature_platform.cli>:<function>"``, imported on call.

    Parsing the arguments thus imports no command's module, and `args.handler(args)` runs the
    command as before.
    """

    def __init__(self, target: str) -> None:
        self.target = target

    def __call__(self, args: argparse.Namespace) -> int:
        module, function = self.target.split(":")
        handler: Handler = getattr(importlib.import_module(f"{__name__}.{module}"), function)
        return handler(args)

    def __repr__(self) -> str:
        return f"_LazyHandler({self.target!r})"


def _command(parser: argparse.ArgumentParser, target: str) -> None:
    parser.set_defaults(handler=_LazyHandler(target))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feature-platform", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser(
        "init", help="create a new feature repository (package, sample data, tests) in DIR"
    )
    init.add_argument("directory", metavar="DIR", help="a new or empty folder")
    init.add_argument(
        "--name", default=None, help="the Python package name (default: from DIR's name)"
    )
    _command(init, "scaffolding:init")

    demo = commands.add_parser(
        "demo", help="materialize the demo feature groups and start the Dagster UI"
    )
    demo.add_argument("--days", type=int, default=3, help="complete days to materialize")
    demo.add_argument("--home", default=None, help="state folder (default FEATURE_PLATFORM_HOME)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=3000)
    demo.add_argument("--no-ui", action="store_true", help="materialize only")
    _command(demo, "demo:demo")

    listing = commands.add_parser("list", help="list feature groups")
    _command(listing, "inspection:list_groups")

    describe = commands.add_parser("describe", help="show a feature group's spec and state")
    describe.add_argument("group")
    _command(describe, "inspection:describe")

    finder = commands.add_parser(
        "search", help="find feature groups by name, description, tag, owner or feature"
    )
    finder.add_argument("text", nargs="+")
    _command(finder, "inspection:search")

    sql = commands.add_parser(
        "sql",
        help="query feature groups, their <group>_latest views and training sets with SQL",
    )
    sql.add_argument("query")
    sql.add_argument("--format", choices=["table", "csv"], default="table")
    sql.add_argument("--out", default=None, help="write .parquet, .csv or .json instead")
    sql.add_argument("--max-rows", type=int, default=50, help="rows shown as a table")
    _command(sql, "inspection:sql")

    snowflake = commands.add_parser("snowflake", help="register the offline tables in Snowflake")
    snowflake_commands = snowflake.add_subparsers(dest="snowflake_command", required=True)
    setup = snowflake_commands.add_parser(
        "setup-sql", help="print the one-time admin DDL (volume, integration, reader role)"
    )
    _command(setup, "operations:snowflake_setup_sql")
    register = snowflake_commands.add_parser(
        "register", help="create or refresh the Snowflake Iceberg tables and _LATEST views"
    )
    register.add_argument("group", nargs="?", help="one group (default: all)")
    register.add_argument("--dry-run", action="store_true", help="print, do not run")
    _command(register, "operations:snowflake_register")

    compact = commands.add_parser(
        "compact",
        help="compact small files, expire old snapshots and remove orphan files of a group",
    )
    compact.add_argument("group")
    compact.add_argument("--dry-run", action="store_true", help="list what would change")
    _command(compact, "operations:compact")

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
    _command(training, "operations:training_set")

    online = commands.add_parser(
        "online", help="read the latest feature values of entities from the online store"
    )
    online.add_argument(
        "--features", required=True, help="comma-separated '<group>:<feature>' references"
    )
    online.add_argument(
        "--entity",
        action="append",
        required=True,
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="one entity's join keys (repeat for more entities), e.g. user_id=u001",
    )
    _command(online, "serving:online_features")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except FeaturePlatformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
