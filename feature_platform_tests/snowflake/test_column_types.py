"""Snowflake's view of our column types, and the check for Iceberg types it cannot read."""

from __future__ import annotations

import polars as pl
import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import (
    BinaryType,
    DecimalType,
    FixedType,
    GeographyType,
    GeometryType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestampNanoType,
    TimestamptzNanoType,
    TimestamptzType,
    TimeType,
    UnknownType,
    UUIDType,
)

from feature_platform.errors import InvalidSpecError
from feature_platform.offline_store.schema import iceberg_schema
from feature_platform.snowflake.column_types import (
    MAX_SUB_COLUMNS,
    UnsupportedColumn,
    snowflake_type,
    unsupported_columns,
)
from feature_platform_tests.snowflake.builders import engagement_group, popularity_group


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        ("int32", "NUMBER(10,0)"),
        ("int64", "NUMBER(19,0)"),
        ("float32", "FLOAT"),
        ("float64", "FLOAT"),
        ("bool", "BOOLEAN"),
        ("string", "VARCHAR(134217728)"),
        ("date", "DATE"),
        ("timestamp", "TIMESTAMP_LTZ(6)"),
        ("long", "NUMBER(19,0)"),
        (pl.Int32, "NUMBER(10,0)"),
        (pl.Datetime("us", "UTC"), "TIMESTAMP_LTZ(6)"),
    ],
)
def test_snowflake_type(dtype: object, expected: str) -> None:
    assert snowflake_type(dtype) == expected


def test_snowflake_type_rejects_unknown_dtypes() -> None:
    with pytest.raises(InvalidSpecError):
        snowflake_type("decimal")


def test_our_tables_are_fully_supported() -> None:
    assert unsupported_columns(iceberg_schema(engagement_group())) == []
    assert unsupported_columns(iceberg_schema(popularity_group())) == []


def _schema(*types: object) -> Schema:
    return Schema(
        *[NestedField(i + 1, f"c{i}", t, required=False) for i, t in enumerate(types)]  # type: ignore[arg-type]
    )


def test_supported_types_that_snowflake_maps() -> None:
    schema = _schema(
        UUIDType(), FixedType(16), BinaryType(), DecimalType(38, 9), TimeType(), StringType()
    )
    assert unsupported_columns(schema) == []


def test_v3_types_need_a_v3_table() -> None:
    schema = _schema(TimestampNanoType(), TimestamptzNanoType(), GeometryType(), GeographyType())
    found = unsupported_columns(schema)
    assert [(c.column, c.iceberg_type) for c in found] == [
        ("c0", "timestamp_ns"),
        ("c1", "timestamptz_ns"),
        ("c2", str(GeometryType())),
        ("c3", str(GeographyType())),
    ]
    assert all("format-version 3" in c.reason and "v2" in c.reason for c in found)
    assert unsupported_columns(schema, format_version=3) == []


def test_unknown_is_never_supported() -> None:
    assert unsupported_columns(_schema(UnknownType()), format_version=3) == [
        UnsupportedColumn(
            "c0", "unknown", "has no Snowflake counterpart; give the column a concrete type"
        )
    ]


def test_nested_fields_are_checked_by_path() -> None:
    schema = Schema(
        NestedField(
            1,
            "events",
            ListType(
                2,
                StructType(
                    NestedField(3, "when", TimestamptzNanoType(), required=False),
                    NestedField(4, "ok", TimestamptzType(), required=False),
                ),
                element_required=False,
            ),
            required=False,
        ),
        NestedField(
            5,
            "counts",
            MapType(6, StringType(), 7, TimestampNanoType(), value_required=False),
            required=False,
        ),
        NestedField(8, "plain", LongType(), required=True),
    )
    assert [c.column for c in unsupported_columns(schema)] == [
        "events.element.when",
        "counts.value",
    ]


def test_too_many_sub_columns() -> None:
    wide = StructType(
        *[
            NestedField(10 + i, f"f{i}", IntegerType(), required=False)
            for i in range(MAX_SUB_COLUMNS + 1)
        ]
    )
    found = unsupported_columns(Schema(NestedField(1, "wide", wide, required=False)))
    assert len(found) == 1
    assert found[0].column == "wide"
    assert "1001 sub-columns" in found[0].reason
    narrow = StructType(
        *[NestedField(10 + i, f"f{i}", IntegerType(), required=False) for i in range(1000)]
    )
    assert unsupported_columns(Schema(NestedField(1, "ok", narrow, required=False))) == []
