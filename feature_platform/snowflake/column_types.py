"""How our columns look in Snowflake, and which Iceberg columns Snowflake cannot read.

Snowflake maps each Iceberg type to one of its own when it reads an externally managed table
("Data types for Apache Iceberg tables" in Snowflake's documentation). Knowing the mapping lets
a reader of the Snowflake table know what to expect (a ``long`` shows as NUMBER(19,0), not
BIGINT's alias), and knowing the gaps lets an asset check fail *before* a registration that
Snowflake would reject or read wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pyiceberg.schema import Schema
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    GeographyType,
    GeometryType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    StringType,
    StructType,
    TimestampNanoType,
    TimestampType,
    TimestamptzNanoType,
    TimestamptzType,
    TimeType,
    UnknownType,
    UUIDType,
)

from feature_platform.dtypes import canonical_dtype

# Our canonical dtypes as Snowflake shows them for an externally managed Iceberg table.
_SNOWFLAKE_TYPES: Final[dict[str, str]] = {
    "int32": "NUMBER(10,0)",  # Iceberg int
    "int64": "NUMBER(19,0)",  # Iceberg long
    "float32": "FLOAT",  # Iceberg float; Snowflake computes in double precision
    "float64": "FLOAT",  # Iceberg double
    "bool": "BOOLEAN",
    "string": "VARCHAR(134217728)",  # Iceberg string: 128 MB, the only size Snowflake allows
    "date": "DATE",
    "timestamp": "TIMESTAMP_LTZ(6)",  # Iceberg timestamptz, microseconds
}

# Iceberg primitives Snowflake reads from any format version.
_SUPPORTED: Final[tuple[type[IcebergType], ...]] = (
    BooleanType,
    IntegerType,
    LongType,
    FloatType,
    DoubleType,
    DecimalType,
    DateType,
    TimeType,
    TimestampType,
    TimestamptzType,
    StringType,
    UUIDType,
    FixedType,
    BinaryType,
)
# Iceberg v3 types Snowflake reads only from tables whose format version is 3.
_V3_ONLY: Final[tuple[type[IcebergType], ...]] = (
    TimestampNanoType,
    TimestamptzNanoType,
    GeometryType,
    GeographyType,
)
# Snowflake's limit on the sub-columns of one structured (struct/list/map) column.
MAX_SUB_COLUMNS: Final = 1000


@dataclass(frozen=True)
class UnsupportedColumn:
    """A column (or nested field) Snowflake cannot read as an Iceberg table column.

    Attributes:
        column: Dotted path of the field, e.g. ``payload.element.when``.
        iceberg_type: The Iceberg type as Iceberg spells it.
        reason: What Snowflake does not support, and what to change.
    """

    column: str
    iceberg_type: str
    reason: str


def snowflake_type(dtype: object) -> str:
    """The Snowflake type a column of this dtype has in the registered Iceberg table.

    Args:
        dtype: A canonical dtype name (``int64``), an alias or a polars type.

    Raises:
        InvalidSpecError: The dtype is not one a feature can have.
    """
    return _SNOWFLAKE_TYPES[canonical_dtype(dtype)]


def unsupported_columns(schema: Schema, *, format_version: int = 2) -> list[UnsupportedColumn]:
    """Every field of `schema` that Snowflake's Iceberg tables cannot read, in schema order.

    Nested types (struct, list, map) are supported by Snowflake as structured types, so their
    fields are checked one by one, and the column is reported when it has more sub-columns
    than Snowflake allows.

    Args:
        schema: The Iceberg schema of the table to register.
        format_version: The table's Iceberg format version; v3-only types (nanosecond
            timestamps, geometry, geography) are readable by Snowflake only in v3 tables.

    Returns:
        The unsupported fields; empty when Snowflake can read every column.
    """
    found: list[UnsupportedColumn] = []
    for field in schema.fields:
        _check_type(field.name, field.field_type, format_version, found)
        if not isinstance(field.field_type, StructType | ListType | MapType):
            continue
        count = _sub_column_count(field.field_type)
        if count > MAX_SUB_COLUMNS:
            found.append(
                UnsupportedColumn(
                    field.name,
                    str(field.field_type),
                    f"has {count} sub-columns; Snowflake allows at most {MAX_SUB_COLUMNS} in "
                    "one structured column",
                )
            )
    return found


def _check_type(
    path: str, iceberg: IcebergType, format_version: int, found: list[UnsupportedColumn]
) -> None:
    if isinstance(iceberg, StructType):
        for child in iceberg.fields:
            _check_type(f"{path}.{child.name}", child.field_type, format_version, found)
    elif isinstance(iceberg, ListType):
        _check_type(f"{path}.element", iceberg.element_type, format_version, found)
    elif isinstance(iceberg, MapType):
        _check_type(f"{path}.key", iceberg.key_type, format_version, found)
        _check_type(f"{path}.value", iceberg.value_type, format_version, found)
    elif isinstance(iceberg, _SUPPORTED):
        return
    elif isinstance(iceberg, _V3_ONLY):
        if format_version < 3:
            found.append(
                UnsupportedColumn(
                    path,
                    str(iceberg),
                    f"is an Iceberg v3 type; Snowflake reads it only from format-version 3 "
                    f"tables and this table is v{format_version}: use a v1 type (e.g. "
                    "timestamptz, microseconds) or upgrade the table",
                )
            )
    elif isinstance(iceberg, UnknownType):
        found.append(
            UnsupportedColumn(
                path,
                str(iceberg),
                "has no Snowflake counterpart; give the column a concrete type",
            )
        )
    else:
        found.append(
            UnsupportedColumn(
                path,
                str(iceberg),
                "is not in Snowflake's list of supported Iceberg types",
            )
        )


def _sub_column_count(iceberg: IcebergType) -> int:
    """Leaf fields below a structured type, which is what Snowflake's 1000 limit counts."""
    children: list[IcebergType]
    if isinstance(iceberg, StructType):
        children = [child.field_type for child in iceberg.fields]
    elif isinstance(iceberg, ListType):
        children = [iceberg.element_type]
    elif isinstance(iceberg, MapType):
        children = [iceberg.key_type, iceberg.value_type]
    else:
        return 1
    return sum(_sub_column_count(child) for child in children)
