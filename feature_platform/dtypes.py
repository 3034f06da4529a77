"""The value types a feature or join key may have, and their polars and Iceberg forms.

Specs store a canonical type name (a plain string) so they serialize to JSON and compare by
value; this module is the single place that maps the name to polars and to Iceberg, and decides
which incoming polars types can be widened without loss.
"""

from __future__ import annotations

from typing import Final

import polars as pl
from pyiceberg.types import (
    BooleanType,
    DateType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    LongType,
    StringType,
    TimestamptzType,
)

from feature_platform.errors import InvalidSpecError

_POLARS: Final[dict[str, pl.DataType]] = {
    "int32": pl.Int32(),
    "int64": pl.Int64(),
    "float32": pl.Float32(),
    "float64": pl.Float64(),
    "bool": pl.Boolean(),
    "string": pl.String(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us", "UTC"),
}

_ICEBERG: Final[dict[str, IcebergType]] = {
    "int32": IntegerType(),
    "int64": LongType(),
    "float32": FloatType(),
    "float64": DoubleType(),
    "bool": BooleanType(),
    "string": StringType(),
    "date": DateType(),
    "timestamp": TimestamptzType(),
}

_ALIASES: Final[dict[str, str]] = {
    "int": "int64",
    "integer": "int64",
    "long": "int64",
    "float": "float64",
    "double": "float64",
    "boolean": "bool",
    "str": "string",
    "utf8": "string",
    "datetime": "timestamp",
}

# Incoming polars types that convert to the canonical type without losing information.
_LOSSLESS_SOURCES: Final[dict[str, tuple[type[pl.DataType], ...]]] = {
    "int32": (pl.Int8, pl.Int16, pl.UInt8, pl.UInt16),
    "int64": (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32),
    "float32": (),
    "float64": (pl.Float32, pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32),
    "bool": (),
    "string": (pl.Categorical, pl.Enum),
    "date": (),
    "timestamp": (),
}

KEY_TYPES: Final = frozenset({"string", "int32", "int64"})
FLOAT_TYPES: Final = frozenset({"float32", "float64"})

# Iceberg allows these in-place promotions; `apply` uses them to evolve a feature's type.
ICEBERG_PROMOTIONS: Final = frozenset({("int32", "int64"), ("float32", "float64")})


def canonical_dtype(dtype: object) -> str:
    """Normalise a user-given type (name, polars class or instance) to its canonical name.

    Raises:
        InvalidSpecError: The type is not one a feature can have.
    """
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype.lower(), dtype.lower())
        if name in _POLARS:
            return name
    else:
        for name, polars_type in _POLARS.items():
            if _same_polars_type(dtype, polars_type):
                return name
    supported = ", ".join(sorted(_POLARS))
    raise InvalidSpecError(f"unsupported dtype {dtype!r}; use one of: {supported}")


def _same_polars_type(candidate: object, polars_type: pl.DataType) -> bool:
    if isinstance(candidate, type) and issubclass(candidate, pl.DataType):
        candidate = candidate()
    if not isinstance(candidate, pl.DataType):
        return False
    if isinstance(polars_type, pl.Datetime):
        return isinstance(candidate, pl.Datetime)
    return candidate == polars_type


def polars_dtype(name: str) -> pl.DataType:
    """The polars type a column of this canonical type has in frames we return."""
    return _POLARS[name]


def iceberg_type(name: str) -> IcebergType:
    """The Iceberg type of a column of this canonical type."""
    return _ICEBERG[name]


def canonical_from_iceberg(iceberg: IcebergType) -> str | None:
    """The canonical name of an Iceberg type, or None for a type we never create."""
    for name, candidate in _ICEBERG.items():
        if candidate == iceberg:
            return name
    return None


def converts_losslessly(source: pl.DataType, target: str) -> bool:
    """Whether a column of polars type `source` may be stored as `target` without loss."""
    if target == "timestamp":
        return isinstance(source, pl.Datetime) and source.time_zone is not None
    if source == _POLARS[target] or isinstance(source, pl.Null):
        return True
    return isinstance(source, _LOSSLESS_SOURCES[target])
