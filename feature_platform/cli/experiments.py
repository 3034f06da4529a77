"""`feature-platform experiment list|diff|promote|discard`: experiments on Iceberg branches.

Its imports are made inside the handlers, so that building the parser costs nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    experiment = commands.add_parser(
        "experiment", help="list, compare, promote or discard experiments (Iceberg branches)"
    )
    actions = experiment.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="experiments: groups, windows, ages and sizes")
    listing.add_argument(
        "--max-age-days",
        type=float,
        default=None,
        help="also flag experiments older than this many days (exit status 1 if any)",
    )
    listing.set_defaults(handler=list_command)
    diff = actions.add_parser(
        "diff", help="per feature: rows, nulls, mean, quantiles and PSI, main vs experiment"
    )
    diff.add_argument("name")
    diff.add_argument("group", nargs="?", default=None)
    diff.add_argument(
        "--html",
        default=None,
        help="where to write the HTML report (default: experiment_<name>.html here)",
    )
    diff.set_defaults(handler=diff_command)
    promote = actions.add_parser(
        "promote", help="replace on main exactly the windows the experiment rewrote"
    )
    promote.add_argument("name")
    promote.add_argument(
        "--overwrite",
        action="store_true",
        help="also replace windows main changed since the experiment's branch was made",
    )
    promote.set_defaults(handler=promote_command)
    discard = actions.add_parser("discard", help="drop the experiment's branches")
    discard.add_argument("name")
    discard.set_defaults(handler=discard_command)


def list_command(args: argparse.Namespace) -> int:
    from feature_platform.experiments.lifecycle import list_experiments
    from feature_platform.store import FeatureStore

    now = dt.datetime.now(dt.UTC)
    found = list_experiments(FeatureStore.from_env())
    if not found:
        print("no experiments")
    stale = 0
    for experiment in found:
        age = experiment.age(now)
        old = args.max_age_days is not None and age > dt.timedelta(days=args.max_age_days)
        stale += old
        print(
            f"{experiment.name}: {len(experiment.groups)} group(s), age {_days(age)}, "
            f"{experiment.bytes} bytes of its own" + ("  [older than the limit]" if old else "")
        )
        for part in experiment.groups:
            span = f"{part.windows[0].start.date()}..{part.windows[-1].end.date()}"
            added = f", adds {list(part.added_features)}" if part.added_features else ""
            print(
                f"  {part.group} ({part.branch}): {len(part.windows)} window(s)"
                f"{' ' + span if part.windows else ''}, {part.rows} rows in "
                f"{part.data_files} file(s), {part.bytes} bytes{added}"
            )
    return 1 if stale else 0


def _days(age: dt.timedelta) -> str:
    return f"{age.total_seconds() / 86400:.1f}d"


def diff_command(args: argparse.Namespace) -> int:
    from feature_platform.experiments.diff import diff_experiment
    from feature_platform.experiments.report import html_report, text_report
    from feature_platform.store import FeatureStore

    diff = diff_experiment(FeatureStore.from_env(), args.name, args.group)
    print(text_report(diff))
    path = Path(args.html or f"experiment_{args.name}.html")
    path.write_text(html_report(diff))
    print(f"HTML report: {path}")
    return 0


def promote_command(args: argparse.Namespace) -> int:
    from feature_platform.experiments.promotion import promote_experiment
    from feature_platform.store import FeatureStore

    report = promote_experiment(FeatureStore.from_env(), args.name, overwrite=args.overwrite)
    for group, results in report.windows.items():
        rows = sum(r.rows_written for r in results)
        print(f"{group}: {len(results)} window(s) promoted, {rows} rows now on main")
        for window in report.overwritten.get(group, []):
            print(f"  overwrote main's change of {window}")
    for group in report.specs_promoted:
        print(f"{group}: the experiment's spec is now main's")
    print(f"experiment {report.experiment} promoted in {report.seconds}s; its branches are gone")
    return 0


def discard_command(args: argparse.Namespace) -> int:
    from feature_platform.experiments.lifecycle import discard_experiment
    from feature_platform.store import FeatureStore

    groups = discard_experiment(FeatureStore.from_env(), args.name)
    print(
        f"experiment {args.name} discarded from {', '.join(groups)}; its files go at the next "
        "snapshot expiry and orphan removal (feature-platform compact GROUP)"
    )
    return 0
