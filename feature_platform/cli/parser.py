"""The `feature-platform` argument parser, assembled from one module per command group.

Each group's module adds its own subcommands (`register`) next to their handlers, so a command's
flags and the code reading them sit in one file. The order below is the order of `--help`.
"""

from __future__ import annotations

import argparse

from feature_platform.cli import (
    backfill,
    catalog_browsing,
    demo,
    experiments,
    maintenance,
    online,
    scaffolding,
    serve,
    snowflake,
    training_sets,
)

DESCRIPTION = "`feature-platform`: run the demo, and inspect feature groups from the shell."
COMMAND_GROUPS = (
    scaffolding,
    demo,
    backfill,
    catalog_browsing,
    snowflake,
    maintenance,
    training_sets,
    experiments,
    online,
    serve,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feature-platform", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser
