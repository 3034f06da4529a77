"""`feature-platform demo`: materialize the demo, print one line per step, then start the UI.

Dagster logs every event of every run at DEBUG to the console and warns about each beta
parameter it meets: ~160 lines in which the summary got lost. Those go to a log file under the
home instead, named in the output; the terminal shows the summary only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from feature_platform.cli.dagster_log import dagster_output_to
from feature_platform.config import HOME_VARIABLE, resolve_home

DEMO_LOG = Path("logs") / "demo.log"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo_parser = commands.add_parser(
        "demo", help="materialize the demo feature groups and start the Dagster UI"
    )
    demo_parser.add_argument("--days", type=int, default=3, help="complete days to materialize")
    demo_parser.add_argument(
        "--home", default=None, help="state folder (default FEATURE_PLATFORM_HOME)"
    )
    demo_parser.add_argument("--host", default="127.0.0.1")
    demo_parser.add_argument("--port", type=int, default=3000)
    demo_parser.add_argument("--no-ui", action="store_true", help="materialize only")
    demo_parser.set_defaults(handler=demo)


def demo(args: argparse.Namespace) -> int:
    home = resolve_home(args.home)
    log_path = home / DEMO_LOG
    with dagster_output_to(log_path):
        from feature_platform.demo.landing import write_demo_landing_files
        from feature_platform.demo.run import materialize_demo
        from feature_platform.orchestration.instance import prepare_dagster_home
        from feature_platform.store import FeatureStore

        dagster_home = prepare_dagster_home(home)
        print(f"feature_platform home: {home}\nDagster home: {dagster_home}")
        print(f"Dagster's log of these runs: {log_path}", flush=True)
        runs = materialize_demo(home, args.days)
        for run in runs:
            print(f"  {run.summary()}")
        succeeded = all(run.success for run in runs)
        if succeeded:
            store = FeatureStore(home)
            for group in store.list_feature_groups():
                facts = store.describe(group.name)
                print(f"  {group.name}: {facts['rows']} rows in {facts['data_files']} files")
            landed = write_demo_landing_files(store.config)
    if not succeeded:
        print(f"error: a demo run failed; its log is in {log_path}", file=sys.stderr)
        return 1
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
    os.execve(dagster, command, dagster_ui_environment(home, dagster_home))
    return 0  # pragma: no cover - execve does not return


def dagster_ui_environment(home: Path, dagster_home: Path) -> dict[str, str]:
    """This process's environment, with the demo's home and Dagster home set explicitly.

    `dagster dev` loads `feature_platform.definitions` in processes of its own, whose
    `FeatureStoreResource` finds its home through `StoreConfig.from_env`: without
    ``FEATURE_PLATFORM_HOME`` the UI would read another store than the one `--home` named. This
    process does not need it (its runs get the home as a resource field), so its own
    environment is left as it was.
    """
    return {**os.environ, HOME_VARIABLE: str(home), "DAGSTER_HOME": str(dagster_home)}
