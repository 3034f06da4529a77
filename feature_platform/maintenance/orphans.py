"""Orphan-file removal: files under the table's location that no metadata references.

Failed or killed writes leave data files that no commit references; they cost storage and, on
object stores, listing time. Only files older than a safety age are removed, so a write still
in flight (its files written, its commit not yet made) is never touched.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from pyiceberg.table import Table

from feature_platform.maintenance.files import (
    DeletionReport,
    delete_files,
    list_table_files,
    referenced_files,
    storage_totals,
)
from feature_platform.maintenance.policy import MaintenancePolicy


@dataclass
class OrphanReport(DeletionReport):
    files_listed: int = 0
    too_young: int = 0


def remove_orphan_files(
    load_table: Callable[[], Table],
    policy: MaintenancePolicy,
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> OrphanReport:
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    table = load_table()
    stored = list_table_files(table)  # list first: a file written after this is not considered
    referenced = referenced_files(load_table()).all()
    report = OrphanReport(dry_run=dry_run, files_listed=len(stored))
    report.files_before, report.bytes_before = len(stored), sum(f.size for f in stored)
    for candidate in stored:
        if candidate.uri in referenced:
            continue
        if now - candidate.modified < policy.orphan_min_age:
            report.too_young += 1
            continue
        report.files_deleted.append(candidate.uri)
        report.bytes_deleted += candidate.size
    if not dry_run:
        delete_files(table, report.files_deleted)
    report.files_after, report.bytes_after = storage_totals(table)
    report.seconds = round(time.perf_counter() - started, 3)
    return report
