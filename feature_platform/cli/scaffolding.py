"""`feature-platform init DIR`: create a new feature repository (`cli.scaffold`)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init_parser = commands.add_parser(
        "init", help="create a new feature repository (package, sample data, tests) in DIR"
    )
    init_parser.add_argument("directory", metavar="DIR", help="a new or empty folder")
    init_parser.add_argument(
        "--name", default=None, help="the Python package name (default: from DIR's name)"
    )
    init_parser.set_defaults(handler=init)


def init(args: argparse.Namespace) -> int:
    from feature_platform.cli.scaffold import create_repository

    scaffold = create_repository(args.directory, args.name)
    print(f"created the feature repository {scaffold.root} (package {scaffold.package}):")
    for path in scaffold.files:
        print(f"  {path.relative_to(scaffold.root)}")
    print(
        "next, in that folder:\n"
        "  uv sync\n"
        "  uv run pytest\n"
        f"  uv run dagster asset materialize -m {scaffold.package}.definitions "
        f"--select features/{scaffold.group} --partition {scaffold.partition}\n"
        "  uv run dagster dev\n"
        "(README.md explains each step)"
    )
    return 0
