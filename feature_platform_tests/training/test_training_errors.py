"""Bad requests for training sets: each a clear error class and a message that names the fix."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.errors import (
    FeatureNameClashError,
    InvalidFeatureReferenceError,
    InvalidIdentifierError,
    InvalidWindowError,
    NaiveTimestampError,
    NullKeyError,
    SchemaMismatchError,
    UnknownFeatureError,
    UnknownFeatureGroupError,
)
from feature_platform_tests.training.test_point_in_time import T, clicks_group, labels, rows

GOOD = labels(("a", T))


@pytest.fixture
def two_groups(store: FeatureStore) -> FeatureStore:
    store.apply(clicks_group())
    store.apply(clicks_group(name="other_clicks"))
    store.write("user_clicks", rows(("a", T, T, 1, None)))
    return store


@pytest.mark.parametrize(
    ("entity_df", "features", "kwargs", "error", "fix"),
    [
        (GOOD, ["nope:clicks"], {}, UnknownFeatureGroupError, "apply it first"),
        (GOOD, ["user_clicks:nope"], {}, UnknownFeatureError, "it has ['clicks', 'ctr']"),
        (GOOD, ["user_clicks.clicks"], {}, InvalidFeatureReferenceError, "'<group>:<feature>'"),
        (GOOD, "user_clicks:clicks", {}, InvalidFeatureReferenceError, "features=["),
        (GOOD, [], {}, InvalidFeatureReferenceError, "at least one"),
        (GOOD, ["user_clicks:clicks"] * 2, {}, InvalidFeatureReferenceError, "more than once"),
        (GOOD, ["user_clicks:*"] * 2, {}, InvalidFeatureReferenceError, "more than once"),
        (GOOD, ["../x:clicks"], {}, InvalidIdentifierError, "feature group"),
        (
            GOOD,
            ["user_clicks:clicks", "other_clicks:clicks"],
            {},
            FeatureNameClashError,
            "full_feature_names=True",
        ),
        (
            GOOD.with_columns(clicks=pl.lit(0)),
            ["user_clicks:clicks"],
            {},
            FeatureNameClashError,
            "rename that column",
        ),
        (GOOD.drop("user_id"), ["user_clicks:clicks"], {}, SchemaMismatchError, "join keys"),
        (GOOD, ["user_clicks:clicks"], {"timestamp_column": "ts"}, SchemaMismatchError, "ts"),
        (
            GOOD.with_columns(pl.col("event_timestamp").dt.replace_time_zone(None)),
            ["user_clicks:clicks"],
            {},
            NaiveTimestampError,
            "replace_time_zone('UTC')",
        ),
        (
            GOOD.with_columns(pl.col("event_timestamp").cast(pl.String)),
            ["user_clicks:clicks"],
            {},
            SchemaMismatchError,
            "str.to_datetime",
        ),
        (
            GOOD.with_columns(pl.col("event_timestamp").cast(pl.Date)),
            ["user_clicks:clicks"],
            {},
            SchemaMismatchError,
            "not a datetime",
        ),
        (
            pl.concat([GOOD, GOOD.with_columns(event_timestamp=None)]),
            ["user_clicks:clicks"],
            {},
            NullKeyError,
            "null in 1 rows",
        ),
        (
            pl.concat([GOOD, GOOD.with_columns(user_id=None)]),
            ["user_clicks:clicks"],
            {},
            NullKeyError,
            "fill the key",
        ),
        (
            GOOD.with_columns(user_id=pl.lit(1.5)),
            ["user_clicks:clicks"],
            {},
            SchemaMismatchError,
            "floats do not name keys exactly",
        ),
        (
            GOOD,
            ["user_clicks:clicks", "other_clicks:ctr"],
            {"as_of": 123},
            InvalidWindowError,
            "as_of={group: snapshot_id",
        ),
        (GOOD, ["user_clicks:clicks"], {"as_of": 123}, InvalidWindowError, "no snapshot 123"),
        (
            GOOD,
            ["user_clicks:clicks"],
            {"as_of": {"typo_group": 1}},
            InvalidWindowError,
            "typo_group",
        ),
        (
            GOOD,
            ["user_clicks:clicks"],
            {"as_of": dt.datetime(2026, 1, 1)},  # naive: the bad input
            InvalidWindowError,
            "time zone",
        ),
    ],
)
def test_bad_requests_raise_a_named_error(
    two_groups: FeatureStore,
    entity_df: pl.DataFrame,
    features: Any,
    kwargs: dict[str, Any],
    error: type[Exception],
    fix: str,
) -> None:
    with pytest.raises(error, match=None) as raised:
        two_groups.get_historical_features(entity_df, features, **kwargs)
    assert fix in str(raised.value)
