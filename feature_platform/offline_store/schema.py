"""Pure mapping from a feature group spec to its Iceberg schema, partitioning and sort order,
and the plan for evolving an existing table to a changed spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.sorting import SortField, SortOrder
from pyiceberg.transforms import DayTransform, HourTransform, IdentityTransform, Transform
from pyiceberg.types import NestedField, TimestamptzType

from feature_platform.dtypes import ICEBERG_PROMOTIONS, canonical_from_iceberg, iceberg_type
from feature_platform.errors import IncompatibleSchemaChangeError
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup

SPEC_PROPERTY = "feature_platform.spec"


def applied_group(table: Table) -> FeatureGroup:
    """The feature group spec a group's offline table was last applied with.

    The table carries its own spec, so a reader (the sync, the store) follows the schema the
    data was written under rather than whatever spec the caller holds now.
    """
    return FeatureGroup.from_json(table.properties[SPEC_PROPERTY])


PARTITION_FIELD_ID = 1000


def table_columns(group: FeatureGroup) -> list[str]:
    """Offline-table column order: keys, the two timestamps, then features."""
    return [*group.join_keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN, *group.feature_names]


def iceberg_schema(group: FeatureGroup) -> Schema:
    """Keys and timestamps are required (Iceberg enforces non-null); features are optional."""
    fields: list[NestedField] = []
    for key in group.join_keys:
        fields.append(
            NestedField(len(fields) + 1, key, iceberg_type(group.entity.key_dtype(key)), True)
        )
    for column, doc in (
        (EVENT_TIME_COLUMN, "when the feature values became true"),
        (CREATED_AT_COLUMN, "when the row was produced; breaks event-time ties"),
    ):
        fields.append(NestedField(len(fields) + 1, column, TimestamptzType(), True, doc=doc))
    for feature in group.features:
        fields.append(
            NestedField(
                len(fields) + 1,
                feature.name,
                iceberg_type(feature.dtype),
                False,
                doc=feature.description or None,
            )
        )
    return Schema(*fields)


def partition_spec(group: FeatureGroup, schema: Schema) -> PartitionSpec:
    """Partition by day or hour of event time, so a window write drops whole files."""
    transform: Transform[Any, Any] = (
        DayTransform() if group.partitioning == "daily" else HourTransform()
    )
    suffix = "day" if group.partitioning == "daily" else "hour"
    return PartitionSpec(
        PartitionField(
            source_id=schema.find_field(EVENT_TIME_COLUMN).field_id,
            field_id=PARTITION_FIELD_ID,
            transform=transform,
            name=f"{EVENT_TIME_COLUMN}_{suffix}",
        )
    )


def sort_order(group: FeatureGroup, schema: Schema) -> SortOrder:
    """Rows are written sorted by keys then event time, and the table says so for other engines."""
    columns = [*group.join_keys, EVENT_TIME_COLUMN]
    return SortOrder(
        *[
            SortField(source_id=schema.find_field(c).field_id, transform=IdentityTransform())
            for c in columns
        ]
    )


@dataclass(frozen=True)
class SchemaEvolution:
    """What `apply` must change in an existing table to match a spec."""

    added: tuple[str, ...] = ()
    promoted: tuple[str, ...] = ()
    retained: tuple[str, ...] = ()

    @property
    def changes_schema(self) -> bool:
        return bool(self.added or self.promoted)


def plan_evolution(current: Schema, stored: FeatureGroup, wanted: FeatureGroup) -> SchemaEvolution:
    """Compare a table's schema and spec with a new spec.

    Adding features and Iceberg's safe promotions (int32→int64, float32→float64) evolve the table;
    a feature dropped from the spec keeps its column and data (reads stop returning it).

    Raises:
        IncompatibleSchemaChangeError: Keys, key types or partitioning changed, or a feature
            changed type in a way Iceberg cannot promote.
    """
    name = wanted.name
    if stored.join_keys != wanted.join_keys or dict(stored.entity.key_dtypes or {}) != dict(
        wanted.entity.key_dtypes or {}
    ):
        raise IncompatibleSchemaChangeError(
            f"feature group {name!r}: join keys changed from {dict(stored.entity.key_dtypes or {})}"
            f" to {dict(wanted.entity.key_dtypes or {})}; create a new feature group instead"
        )
    if stored.partitioning != wanted.partitioning:
        raise IncompatibleSchemaChangeError(
            f"feature group {name!r}: partitioning changed from {stored.partitioning!r} to "
            f"{wanted.partitioning!r}; create a new feature group and backfill it"
        )
    existing = {f.name: f for f in current.fields}
    added: list[str] = []
    promoted: list[str] = []
    for feature in wanted.features:
        field = existing.get(feature.name)
        if field is None:
            added.append(feature.name)
            continue
        have = canonical_from_iceberg(field.field_type)
        if have == feature.dtype:
            continue
        if (have, feature.dtype) in ICEBERG_PROMOTIONS:
            promoted.append(feature.name)
            continue
        raise IncompatibleSchemaChangeError(
            f"feature group {name!r}: feature {feature.name!r} cannot change type from {have} to "
            f"{feature.dtype}; add it under a new name (e.g. {feature.name}_v2) instead"
        )
    retained = tuple(
        f for f in existing if f not in wanted.feature_names and f not in table_columns(wanted)
    )
    return SchemaEvolution(tuple(added), tuple(promoted), retained)
