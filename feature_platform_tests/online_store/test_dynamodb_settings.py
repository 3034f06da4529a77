"""DynamoDB settings, and a DynamoDB that keeps refusing (botocore's Stubber, no server).

The Stubber answers every request, so these tests need no server; they pin what happens when
retries run out, which a real local server cannot be made to do on demand.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.stub import Stubber

from feature_platform.errors import ConfigurationError, OnlineStoreThrottledError
from feature_platform.online_store import DynamoDBOnlineStore, DynamoDBSettings
from feature_platform_tests.online_store.builders import (
    T0,
    dynamodb_settings,
    keys_frame,
    profile_group,
    write_frame,
)

NO_SERVER = "http://127.0.0.1:9"  # never contacted: the Stubber answers first


def test_unprocessed_keys_exhausting_the_attempts_raise() -> None:
    settings = dynamodb_settings(NO_SERVER, read_attempts=3, consistent_reads=True)
    group = profile_group()
    table = settings.table_name(group)
    with DynamoDBOnlineStore(settings) as store, Stubber(store.client) as stubber:
        keys = [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}]
        expected = {
            "RequestItems": {
                table: {
                    "Keys": keys,
                    "ProjectionExpression": "#a0, #a1, #a2",
                    "ExpressionAttributeNames": {"#a0": "pk", "#a1": "event_time", "#a2": "size"},
                    "ConsistentRead": True,
                }
            }
        }
        for _ in range(3):
            stubber.add_response(
                "batch_get_item",
                {"Responses": {table: []}, "UnprocessedKeys": {table: {"Keys": keys}}},
                expected,
            )
        started = time.monotonic()

        with pytest.raises(OnlineStoreThrottledError, match=r"2 of 2 keys.*after 3 BatchGetItem"):
            store.read(group, keys_frame(group, ("a",), ("b",)), ["size"])

        stubber.assert_no_pending_responses()
        assert time.monotonic() - started < 1  # backoff is bounded by the settings


def test_throttled_writes_raise_an_error_that_says_to_rerun() -> None:
    group = profile_group()
    store = DynamoDBOnlineStore(dynamodb_settings(NO_SERVER))
    with store, Stubber(store.client) as stubber:
        stubber.add_client_error(
            "put_item", "ProvisionedThroughputExceededException", http_status_code=400
        )
        frame = write_frame(group, [{"user_id": "u", "event_time": T0}])

        with pytest.raises(OnlineStoreThrottledError, match=r"throttling.*rerun the write"):
            store.write(group, frame)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"table_prefix": "bad prefix "}, "only letters, digits"),
        ({"table_name_template": "{prefix}"}, "must contain {group}"),
        ({"table_name_template": "{group}{region}"}, "no other fields"),
        ({"table_mode": "maybe"}, "'create' or 'must_exist'"),
        ({"ttl_attribute": "pk"}, "ttl_attribute"),
        ({"max_workers": 0}, "max_workers must be at least 1"),
        ({"backoff_max_seconds": -1.0}, "backoff_max_seconds must be >= 0"),
    ],
)
def test_invalid_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        DynamoDBSettings(**settings)


def test_table_names_follow_dynamodb_rules_and_the_template() -> None:
    settings = DynamoDBSettings(table_prefix="", table_name_template="fp-{group}-{prefix}prod")
    assert settings.table_name(profile_group("clicks")) == "fp-clicks-prod"
    assert DynamoDBSettings().table_name(profile_group("clicks")) == "feature_platform.clicks"
    with pytest.raises(ConfigurationError, match="3-255"):
        DynamoDBSettings(table_prefix="").table_name(profile_group("ab"))
