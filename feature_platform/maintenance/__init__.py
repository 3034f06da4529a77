"""Iceberg table maintenance that pyiceberg 0.12 lacks: compaction, snapshot expiry with file
deletion, and orphan-file removal. Plain functions over a pyiceberg `Table`; no Dagster here.

The functions are exported here (``from feature_platform.maintenance import maintain_group``),
but loaded on first use: `MaintenancePolicy` is part of every feature group definition, and
importing it must not pull in the compaction code and pyarrow's dataset layer (which imports
pandas), a second or more of start-up for every command line call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from feature_platform.lazy_exports import lazy_exports
from feature_platform.maintenance.policy import MaintenancePolicy

if TYPE_CHECKING:
    from feature_platform.maintenance.compaction import CompactionReport
    from feature_platform.maintenance.expiry import ExpiryReport, expire_snapshots
    from feature_platform.maintenance.orphans import OrphanReport, remove_orphan_files
    from feature_platform.maintenance.runner import (
        MaintenanceReport,
        compact_group,
        maintain_group,
    )

_LAZY_EXPORTS = {
    "CompactionReport": "feature_platform.maintenance.compaction",
    "ExpiryReport": "feature_platform.maintenance.expiry",
    "expire_snapshots": "feature_platform.maintenance.expiry",
    "OrphanReport": "feature_platform.maintenance.orphans",
    "remove_orphan_files": "feature_platform.maintenance.orphans",
    "MaintenanceReport": "feature_platform.maintenance.runner",
    "compact_group": "feature_platform.maintenance.runner",
    "maintain_group": "feature_platform.maintenance.runner",
}

__all__ = [
    "CompactionReport",
    "ExpiryReport",
    "MaintenancePolicy",
    "MaintenanceReport",
    "OrphanReport",
    "compact_group",
    "expire_snapshots",
    "maintain_group",
    "remove_orphan_files",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY_EXPORTS, __all__)
