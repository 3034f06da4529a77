"""Whether a feature window's input is complete, from the source or from Dagster's records.

The source is asked first (partitions that exist, a watermark, an ingest record). A source that
cannot tell by itself but has Dagster partitions (a feature group read by another group, an
asset of another code location) is judged from the materializations of those partitions in the
instance. Completeness is never inferred from row counts: a quiet hour with no events is
complete, and a day whose raw data is gone is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from feature_platform.sources import FeatureGroupDefinition
from feature_platform.sources.base import partition_key, partition_windows
from feature_platform.store import FeatureStore
from feature_platform.time_windows import TimeWindow


@dataclass(frozen=True)
class InputCheck:
    """The verdict over the windows of one run.

    Attributes:
        missing: Per computed window (as its partition key), the parts of its input that have
            not arrived.
        evidence: How completeness was decided, for metadata and messages.
    """

    missing: dict[str, tuple[str, ...]]
    evidence: str

    @property
    def complete(self) -> bool:
        return not self.missing

    def missing_parts(self) -> list[str]:
        """Every missing input part once, in order."""
        return list(dict.fromkeys(part for parts in self.missing.values() for part in parts))

    def message(self, definition: FeatureGroupDefinition) -> str:
        source = "/".join(definition.source.key)
        windows = list(self.missing)
        shown = ", ".join(windows[:5]) + (
            f" and {len(windows) - 5} more" if len(windows) > 5 else ""
        )
        parts = self.missing_parts()
        listed = ", ".join(parts[:10]) + (f" and {len(parts) - 10} more" if len(parts) > 10 else "")
        return (
            f"features/{definition.name}: the input of {shown} is incomplete: source {source} "
            f"is missing {listed} ({self.evidence}). Nothing was written; the table keeps its "
            f"snapshot. Materialize the missing input first, or set allow_incomplete_inputs: "
            f"true in the run config to compute anyway (recorded in the metadata)."
        )


def check_inputs(
    definition: FeatureGroupDefinition,
    store: FeatureStore,
    instance: dg.DagsterInstance,
    windows: Iterable[TimeWindow],
) -> InputCheck:
    """Which input of `windows` (the group's partitions) has not arrived.

    The source is asked once about the input of all the windows together: a range backfill of
    thousands of partitions costs one look at the source when everything has arrived (the
    usual case). Only when something is missing, or the source cannot tell, is each window's
    own input judged, to name what it lacks.
    """
    windows = list(windows)
    source = definition.source
    if windows:
        inputs = [definition.input_window(window) for window in windows]
        union = TimeWindow(min(w.start for w in inputs), max(w.end for w in inputs))
        verdict = source.completeness(store, union)
        if verdict.complete:
            return InputCheck(missing={}, evidence=verdict.evidence)
    missing: dict[str, tuple[str, ...]] = {}
    evidence: list[str] = []
    materialized: set[str] | None = None
    for window in windows:
        input_window = definition.input_window(window)
        verdict = source.completeness(store, input_window)
        how = verdict.evidence
        if verdict.known:
            parts = verdict.missing
        elif source.partitioning is not None:
            if materialized is None:
                materialized = instance.get_materialized_partitions(dg.AssetKey(list(source.key)))
            how = f"Dagster materializations of {'/'.join(source.key)}"
            parts = tuple(
                key
                for key in (
                    partition_key(source.partitioning, part)
                    for part in partition_windows(source.partitioning, source.start, input_window)
                )
                if key not in materialized
            )
        else:
            parts = (f"everything: it cannot tell whether {input_window} has arrived",)
        evidence.append(how)
        if parts:
            missing[partition_key(definition.group.partitioning, window)] = parts
    return InputCheck(missing=missing, evidence="; ".join(dict.fromkeys(e for e in evidence if e)))


def _listing(items: list[str], limit: int) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more
