"""Specs and settings shared by the Snowflake tests: one representative group of each kind."""

from __future__ import annotations

import datetime as dt

from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform.specs import Entity, Feature, FeatureGroup

ROLE_ARN = "arn:aws:iam::123456789012:role/snowflake-features"
GLUE_ROLE_ARN = "arn:aws:iam::123456789012:role/snowflake-glue"


def engagement_group(**overrides: object) -> FeatureGroup:
    """Composite keys, a 7-day ttl, and a description with a quote and a backslash."""
    settings: dict[str, object] = {
        "name": "user_engagement",
        "entity": Entity(
            "user_article", ["user_id", "article_id"], key_dtypes={"article_id": "int64"}
        ),
        "features": [Feature("clicks_7d", "int64"), Feature("dwell_seconds", "float64")],
        "ttl": dt.timedelta(days=7),
        "description": "Clicks per user & article; it's C:\\feeds\\n, not a newline",
    }
    settings.update(overrides)
    return FeatureGroup(**settings)  # type: ignore[arg-type]


def popularity_group(**overrides: object) -> FeatureGroup:
    """One key, no ttl, no description, and every feature dtype."""
    settings: dict[str, object] = {
        "name": "article_popularity",
        "entity": Entity("article", ["article_id"], key_dtypes={"article_id": "int32"}),
        "features": [
            Feature("views_1h", "int32"),
            Feature("ctr", "float32"),
            Feature("is_trending", "bool"),
            Feature("title", "string"),
            Feature("published", "date"),
            Feature("last_click", "timestamp"),
        ],
    }
    settings.update(overrides)
    return FeatureGroup(**settings)  # type: ignore[arg-type]


def make_settings(**overrides: object) -> SnowflakeSettings:
    values: dict[str, object] = {
        "database": "features",
        "schema": "offline",
        "external_volume": "features_volume",
        "catalog_integration": "features_catalog",
        "storage_base_url": "s3://acme-features/warehouse",
        "reader_role": "feature_reader",
        "storage_aws_role_arn": ROLE_ARN,
    }
    values.update(overrides)
    return SnowflakeSettings(**values)  # type: ignore[arg-type]
