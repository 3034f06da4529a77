"""`feature-platform compact GROUP`: a group's table maintenance, run by hand.

Its imports are made inside the handler, so that building the parser costs nothing and only the
command itself pays for the maintenance code.
"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    compact_parser = commands.add_parser(
        "compact",
        help="compact small files, expire old snapshots and remove orphan files of a group",
    )
    compact_parser.add_argument("group")
    compact_parser.add_argument("--dry-run", action="store_true", help="list what would change")
    compact_parser.set_defaults(handler=compact)


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
