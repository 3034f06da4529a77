"""Sources: the upstream data feature groups are computed from.

`IcebergSource`, `ParquetSource`, `SnowflakeSource` and `FeatureGroupSource` cover the usual
homes of raw data; anything else implements the `Source` protocol. Concrete sources load on
first use, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from feature_platform.lazy_exports import lazy_exports
from feature_platform.sources.base import (
    Completeness,
    ProducedSource,
    Source,
    SourceObservation,
)
from feature_platform.sources.definition import FeatureGroupDefinition, Transformation

if TYPE_CHECKING:
    from feature_platform.sources.feature_group import FeatureGroupSource
    from feature_platform.sources.iceberg import IcebergSource
    from feature_platform.sources.parquet import ParquetSource
    from feature_platform.sources.snowflake import SnowflakeSource

_LAZY_EXPORTS = {
    "FeatureGroupSource": "feature_platform.sources.feature_group",
    "IcebergSource": "feature_platform.sources.iceberg",
    "ParquetSource": "feature_platform.sources.parquet",
    "SnowflakeSource": "feature_platform.sources.snowflake",
}


__all__ = [
    "Completeness",
    "FeatureGroupDefinition",
    "FeatureGroupSource",
    "IcebergSource",
    "ParquetSource",
    "ProducedSource",
    "SnowflakeSource",
    "Source",
    "SourceObservation",
    "Transformation",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY_EXPORTS, __all__)
