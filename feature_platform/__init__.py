"""feature_platform: a feature store on Dagster, Apache Iceberg, polars, DynamoDB and Snowflake.

The package in tiers, each importing only from the ones before it (the README's package map
names every module): base types (`specs`, `dtypes`, `errors`, `config`, ...), the two stores
(`offline_store`, `online_store`), the facade (`store.FeatureStore`), the features built on it
(`training`, `sync`, `streaming`, `sources`, `maintenance`, `snowflake`, `sql`, `discovery`),
the Dagster layer (`orchestration`, `registry`, `definitions`) and the command line (`cli`).

The public names are loaded on first use (PEP 562): importing any submodule imports this package
first, and eager imports here made every `feature-platform` call pay for the whole store
(pyiceberg's pyarrow IO, boto3, ...) before parsing its arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from feature_platform.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from feature_platform.config import StoreConfig
    from feature_platform.errors import FeaturePlatformError
    from feature_platform.offline_store.writes import WriteResult
    from feature_platform.specs import Entity, Feature, FeatureGroup
    from feature_platform.store import ApplyResult, FeatureStore
    from feature_platform.time_windows import TimeWindow

_LAZY_EXPORTS = {
    "ApplyResult": "feature_platform.store",
    "Entity": "feature_platform.specs",
    "Feature": "feature_platform.specs",
    "FeatureGroup": "feature_platform.specs",
    "FeaturePlatformError": "feature_platform.errors",
    "FeatureStore": "feature_platform.store",
    "StoreConfig": "feature_platform.config",
    "TimeWindow": "feature_platform.time_windows",
    "WriteResult": "feature_platform.offline_store.writes",
}

__all__ = [
    "ApplyResult",
    "Entity",
    "Feature",
    "FeatureGroup",
    "FeaturePlatformError",
    "FeatureStore",
    "StoreConfig",
    "TimeWindow",
    "WriteResult",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY_EXPORTS, __all__)
