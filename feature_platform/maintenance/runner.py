"""Maintenance of one feature group's offline table: compaction, then expiry, then orphans."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from feature_platform.maintenance.compaction import CompactionReport, compact
from feature_platform.maintenance.expiry import ExpiryReport, expire_snapshots
from feature_platform.maintenance.orphans import OrphanReport, remove_orphan_files
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore


@dataclass(frozen=True)
class MaintenanceReport:
    group: str
    compaction: CompactionReport
    expiry: ExpiryReport
    orphans: OrphanReport


def compact_group(
    store: FeatureStore, name: str, policy: MaintenancePolicy, *, dry_run: bool = False
) -> CompactionReport:
    """Compact a group's small files, sorted by its join keys and event time."""
    group = store.get_feature_group(name)
    sort_columns = [*group.join_keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN]
    return compact(lambda: store.table(name), sort_columns, policy, dry_run=dry_run)


def maintain_group(
    store: FeatureStore,
    name: str,
    policy: MaintenancePolicy | None = None,
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> MaintenanceReport:
    """Compaction first (it creates the snapshots expiry then ages out), expiry, then orphans."""
    policy = policy or MaintenancePolicy()
    compaction = compact_group(store, name, policy, dry_run=dry_run)
    expiry = expire_snapshots(lambda: store.table(name), policy, dry_run=dry_run, now=now)
    orphans = remove_orphan_files(lambda: store.table(name), policy, dry_run=dry_run, now=now)
    return MaintenanceReport(name, compaction, expiry, orphans)
