"""Materialization metadata from write results: what an operator looks for in the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from feature_platform.offline_store.writes import WriteResult
from feature_platform.specs import FeatureGroup


def write_metadata(results: Sequence[WriteResult]) -> dict[str, dg.MetadataValue]:
    """Totals over the windows a run wrote, plus the table state after the last commit."""
    last = results[-1]
    committed = [r for r in results if r.snapshot_id is not None]
    return {
        "windows_written": dg.MetadataValue.int(len(results)),
        "empty_windows": dg.MetadataValue.int(sum(1 for r in results if r.empty)),
        "rows_written": dg.MetadataValue.int(sum(r.rows_written for r in results)),
        "rows_replaced": dg.MetadataValue.int(sum(r.rows_replaced for r in results)),
        "files_added": dg.MetadataValue.int(sum(r.files_added for r in results)),
        "bytes_added": dg.MetadataValue.int(sum(r.bytes_added for r in results)),
        "snapshot_id": dg.MetadataValue.text(
            str(committed[-1].snapshot_id) if committed else "unchanged"
        ),
        "table": dg.MetadataValue.text(last.table),
        "table_location": dg.MetadataValue.path(last.table_location),
        "metadata_location": dg.MetadataValue.path(last.metadata_location),
    }


def metadata_value(value: object) -> dg.MetadataValue:
    """A plain value (a check's figures) as the metadata type the UI shows best."""
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if isinstance(value, list | dict):
        return dg.MetadataValue.json(value)
    return dg.MetadataValue.text("none" if value is None else str(value))


def column_schema(group: FeatureGroup) -> dg.TableSchema:
    """The offline table's columns, shown on the asset's page."""
    columns = [
        dg.TableColumn(key, group.entity.key_dtype(key), description="join key")
        for key in group.join_keys
    ]
    columns += [
        dg.TableColumn("event_time", "timestamp", description="when the values became true"),
        dg.TableColumn("created_at", "timestamp", description="when the row was produced"),
    ]
    columns += [dg.TableColumn(f.name, f.dtype, description=f.description) for f in group.features]
    return dg.TableSchema(columns=columns)
