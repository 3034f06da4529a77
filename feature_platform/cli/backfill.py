"""`feature-platform backfill GROUP FIRST...LAST`: compute a range of a group's partitions here.

Dagster's own `dagster asset materialize --partition-range` runs only assets whose backfill is
one run, and the feature groups split long backfills into runs of `partitions_per_run`
partitions (so the UI's backfills run side by side). This command is the shell's way to the same
result without a daemon: the range's runs are executed one after another in this process,
through the real asset definitions and the instance under ``DAGSTER_HOME`` (default
``<home>/dagster``), so the UI shows them as materialized partitions. Its imports are made
inside the handler, so building the parser costs nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from feature_platform.cli.dagster_log import dagster_output_to

if TYPE_CHECKING:
    from feature_platform.orchestration.backfill_runs import BackfillRun

BACKFILL_LOG = Path("logs") / "backfill.log"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backfill_parser = commands.add_parser(
        "backfill",
        help="compute a feature group's partitions FIRST...LAST in this process, in runs of "
        "the group's partitions_per_run, recorded in the Dagster instance",
    )
    backfill_parser.add_argument("group")
    backfill_parser.add_argument(
        "partitions",
        metavar="FIRST...LAST",
        help="partition keys, both included: 2026-11-02...2026-11-08 (hourly groups: "
        "2026-11-02-00:00...2026-11-02-23:00)",
    )
    backfill_parser.add_argument(
        "--allow-incomplete-inputs",
        action="store_true",
        help="compute windows whose input has not fully arrived (recorded in the metadata)",
    )
    backfill_parser.add_argument(
        "--home", default=None, help="state folder (default FEATURE_PLATFORM_HOME)"
    )
    backfill_parser.add_argument(
        "--registry",
        default=None,
        metavar="MODULE",
        help="module exposing FEATURE_GROUPS, importable from the current directory (default "
        "FEATURE_PLATFORM_REGISTRY, else the demo)",
    )
    backfill_parser.set_defaults(handler=backfill)


def backfill(args: argparse.Namespace) -> int:
    from feature_platform.config import resolve_home

    home = resolve_home(args.home)
    log_path = home / BACKFILL_LOG
    with dagster_output_to(log_path):
        from feature_platform.definitions import build_definitions
        from feature_platform.orchestration.backfill_runs import run_backfill
        from feature_platform.orchestration.instance import prepare_dagster_home
        from feature_platform.registry import load_feature_groups

        prepare_dagster_home(home)
        # Like `dagster ... -m`, a registry module is found from the current directory too (a
        # repository made by `feature-platform init`, installed or not).
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        feature_groups = load_feature_groups(args.registry)
        print(f"Dagster's log of these runs: {log_path}", flush=True)
        runs = run_backfill(
            build_definitions(feature_groups=feature_groups),
            feature_groups,
            args.group,
            args.partitions,
            # Only an explicit --home replaces the deployment's store resource (its region and
            # online store settings stay as the environment chose them).
            home=home if args.home else None,
            allow_incomplete_inputs=args.allow_incomplete_inputs,
            on_run=lambda run: print(_summary(args.group, run), flush=True),
        )
    failed = [run for run in runs if not run.success]
    if failed:
        print(f"error: {failed[0].failure}", file=sys.stderr)
        if "allow_incomplete_inputs" in failed[0].failure:
            print("(from the shell: --allow-incomplete-inputs)", file=sys.stderr)
        return 1
    return 0


def _summary(group: str, run: BackfillRun) -> str:
    status = "ok" if run.success else "FAILED"
    return f"{status:6} features/{group}: {run.first} ... {run.last} (run {run.run_id})"
