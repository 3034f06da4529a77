"""feature_platform: a feature store on Dagster, Apache Iceberg, polars, DynamoDB and Snowflake."""

from feature_platform.config import StoreConfig
from feature_platform.errors import FeaturePlatformError
from feature_platform.offline_store.writes import WriteResult
from feature_platform.specs import Entity, Feature, FeatureGroup
from feature_platform.store import ApplyResult, FeatureStore
from feature_platform.time_windows import TimeWindow

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
