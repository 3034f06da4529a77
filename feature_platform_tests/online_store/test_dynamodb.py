"""What only the DynamoDB store has: its item layout, table modes, TTL and retry behaviour.

Everything here runs against a real dynalite, or moto for TTL (dynalite lacks UpdateTimeToLive);
failures are injected through botocore's event hooks, so the retried requests are real ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from feature_platform import Entity, Feature
from feature_platform.errors import (
    IncompatibleOnlineTableError,
    InvalidSpecError,
    ItemTooLargeError,
    OnlineStoreError,
    OnlineTableMissingError,
)
from feature_platform.online_store import DynamoDBOnlineStore, DynamoDBSettings
from feature_platform.online_store.keys import encode_key
from feature_platform.online_store.limits import MAX_ITEM_BYTES, item_sizes
from feature_platform.online_store.writes import prepare_write
from feature_platform_tests.conftest import MOTO_CREDENTIALS
from feature_platform_tests.online_store.builders import (
    T0,
    dynamodb_answer,
    dynamodb_settings,
    keys_frame,
    profile_group,
    write_frame,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration


def test_items_hold_native_types_other_tools_can_read(
    dynamodb_store: DynamoDBOnlineStore, dynalite_client: DynamoDBClient
) -> None:
    group = profile_group(ttl=dt.timedelta(hours=2))
    dynamodb_store.ensure_table(group)
    event_time = T0 + dt.timedelta(microseconds=1)
    row = {
        "user_id": "u|1",
        "event_time": event_time,
        "created_at": T0 + dt.timedelta(minutes=5),
        "count": 3,
        "ratio": 0.1,
        "value": 1234.5678,
        "status": False,
        "name": "ok",
        "date": dt.date(2026, 11, 10),
        "timestamp": T0,
    }
    dynamodb_store.write(group, write_frame(group, [row]))

    table = dynamodb_store.settings.table_name(group)
    item = dynalite_client.get_item(TableName=table, Key={"pk": {"S": "u\\|1"}})["Item"]

    micros = int((event_time - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()) * 10**6 + 1
    assert item == {
        "pk": {"S": encode_key(["u|1"])},
        "user_id": {"S": "u|1"},
        "event_time": {"N": str(micros)},
        "created_at": {"N": str(micros - 1 + 5 * 60 * 10**6)},
        "expires_at": {"N": str(micros // 10**6 + 1 + 2 * 3600)},  # rounded up to a second
        "count": {"N": "3"},
        "ratio": {"N": "0.1"},  # float32's shortest text, not 0.10000000149011612
        "value": {"N": "1234.5678"},
        "status": {"BOOL": False},
        "name": {"S": "ok"},
        "date": {"S": "2026-11-10"},
        "timestamp": {"N": str(micros - 1)},
        # "size" is null: absent, not stored as NULL
    }


def test_items_written_by_other_tools(
    dynamodb_store: DynamoDBOnlineStore, dynalite_client: DynamoDBClient
) -> None:
    """NULL reads as null; an attribute of the wrong type is an error naming it, not garbage."""
    group = profile_group()
    dynamodb_store.ensure_table(group)
    table = dynamodb_store.settings.table_name(group)
    base: dict[str, Any] = {"event_time": {"N": "1"}, "created_at": {"N": "1"}}
    dynalite_client.put_item(
        TableName=table, Item={"pk": {"S": "a"}, **base, "size": {"NULL": True}}
    )
    dynalite_client.put_item(TableName=table, Item={"pk": {"S": "b"}, **base, "size": {"S": "x"}})

    read = dynamodb_store.read(group, keys_frame(group, ("a",)), ["size"])
    assert read.row(0) == ("a", dt.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC), None)
    with pytest.raises(OnlineStoreError, match=r"holds 'size' as \{'S': 'x'\}"):
        dynamodb_store.read(group, keys_frame(group, ("b",)), ["size"])


def test_the_largest_item_we_accept_fits_in_dynamodb(dynamodb_store: DynamoDBOnlineStore) -> None:
    """Our size rule may round up but never down: an item at our limit must be accepted."""
    group = profile_group()
    dynamodb_store.ensure_table(group)
    base = {"user_id": "edge", "event_time": T0, "size": 10**18, "value": 1 / 3, "status": True}
    prepared = prepare_write(group, write_frame(group, [{**base, "name": ""}]), None)
    overhead = int(item_sizes(group, prepared.frame, prepared.pks, None)[0])
    longest = "x" * (MAX_ITEM_BYTES - overhead)

    assert dynamodb_store.write(group, write_frame(group, [{**base, "name": longest}])).written
    with pytest.raises(ItemTooLargeError):
        dynamodb_store.write(group, write_frame(group, [{**base, "name": longest + "x"}]))


def test_must_exist_mode_only_verifies(
    dynalite_endpoint: str, dynalite_client: DynamoDBClient
) -> None:
    group = profile_group()
    settings = dynamodb_settings(dynalite_endpoint, table_mode="must_exist")
    verifying = DynamoDBOnlineStore(settings, client=dynalite_client)
    table = settings.table_name(group)

    with pytest.raises(OnlineTableMissingError, match=f"{table!r}.*'must_exist'"):
        verifying.ensure_table(group)
    with pytest.raises(dynalite_client.exceptions.ResourceNotFoundException):
        dynalite_client.describe_table(TableName=table)  # nothing was created

    creating = DynamoDBOnlineStore(replace(settings, table_mode="create"), client=dynalite_client)
    creating.ensure_table(group)
    verifying.ensure_table(group)
    verifying.write(group, write_frame(group, [{"user_id": "u", "event_time": T0, "size": 4}]))
    assert verifying.read(group, keys_frame(group, ("u",)), ["size"]).row(0)[2] == 4


def test_a_table_with_another_key_schema_is_refused(
    dynamodb_store: DynamoDBOnlineStore, dynalite_client: DynamoDBClient
) -> None:
    group = profile_group()
    table = dynamodb_store.settings.table_name(group)
    dynalite_client.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )

    with pytest.raises(IncompatibleOnlineTableError, match="single string hash key 'pk'"):
        dynamodb_store.ensure_table(group)


def test_unprocessed_keys_are_retried_until_served(
    dynamodb_store: DynamoDBOnlineStore, dynalite_client: DynamoDBClient
) -> None:
    group = profile_group()
    dynamodb_store.ensure_table(group)
    users = [f"u{i}" for i in range(10)]
    rows = [{"user_id": u, "event_time": T0, "size": i} for i, u in enumerate(users)]
    dynamodb_store.write(group, write_frame(group, rows))
    table = dynamodb_store.settings.table_name(group)
    requests: list[Any] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(params["RequestItems"][table])

    def withhold_half_once(parsed: dict[str, Any], **_: Any) -> None:
        """DynamoDB under load answers part of a batch: move half the items to unprocessed."""
        if len(requests) == 1:
            items = parsed["Responses"][table]
            parsed["Responses"][table] = items[:5]
            parsed["UnprocessedKeys"] = {table: {"Keys": [{"pk": i["pk"]} for i in items[5:]]}}

    events = dynalite_client.meta.events
    events.register("provide-client-params.dynamodb.BatchGetItem", record)
    events.register("after-call.dynamodb.BatchGetItem", withhold_half_once)
    try:
        result = dynamodb_store.read(group, keys_frame(group, *((u,) for u in users)), ["size"])
    finally:
        events.unregister("provide-client-params.dynamodb.BatchGetItem", record)
        events.unregister("after-call.dynamodb.BatchGetItem", withhold_half_once)

    assert result.get_column("size").to_list() == list(range(10))
    assert len(requests) == 2
    assert len(requests[1]["Keys"]) == 5  # only the withheld keys are asked for again
    assert requests[1]["ProjectionExpression"] == requests[0]["ProjectionExpression"]
    assert sorted(requests[0]["ExpressionAttributeNames"].values()) == [
        "event_time",
        "pk",
        "size",
    ]  # only the requested feature is projected


def test_transient_server_errors_are_retried(
    dynamodb_store: DynamoDBOnlineStore, dynalite_client: DynamoDBClient
) -> None:
    group = profile_group()
    dynamodb_store.ensure_table(group)
    failures = [2]

    def fail_twice(request: Any, **_: Any) -> Any:
        """Answer in DynamoDB's place with a 500, which botocore retries."""
        if not failures[0]:
            return None
        failures[0] -= 1
        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"}'
        return dynamodb_answer(request.url, 500, body)

    dynalite_client.meta.events.register("before-send.dynamodb.PutItem", fail_twice)
    try:
        report = dynamodb_store.write(
            group, write_frame(group, [{"user_id": "u", "event_time": T0, "size": 1}])
        )
    finally:
        dynalite_client.meta.events.unregister("before-send.dynamodb.PutItem", fail_twice)

    assert failures == [0]
    assert report.written == 1


def test_ttl_deletion_is_enabled_for_groups_with_a_ttl(moto_endpoint: str) -> None:
    """moto, not dynalite: dynalite has no UpdateTimeToLive."""
    settings = DynamoDBSettings(
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        table_prefix="ttl.",
        aws_access_key_id=MOTO_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=MOTO_CREDENTIALS["aws_secret_access_key"],
    )
    with DynamoDBOnlineStore(settings) as store:
        with_ttl = profile_group("expiring", ttl=dt.timedelta(days=1))
        without = profile_group("lasting")
        for group in (with_ttl, without, with_ttl):  # the second ensure is a no-op
            store.ensure_table(group)

        def ttl_of(name: str) -> Any:
            return store.client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]

        assert ttl_of("ttl.expiring") == {
            "TimeToLiveStatus": "ENABLED",
            "AttributeName": "expires_at",
        }
        assert ttl_of("ttl.lasting")["TimeToLiveStatus"] == "DISABLED"

        other = DynamoDBOnlineStore(
            replace(settings, ttl_attribute="valid_until"), client=store.client
        )
        with pytest.raises(IncompatibleOnlineTableError, match="ttl_attribute='expires_at'"):
            other.ensure_table(with_ttl)


def test_a_server_without_update_time_to_live_gets_a_clear_error(
    dynalite_endpoint: str, dynalite_client: DynamoDBClient
) -> None:
    settings = dynamodb_settings(dynalite_endpoint, manage_ttl=True)
    store = DynamoDBOnlineStore(settings, client=dynalite_client)

    with pytest.raises(OnlineStoreError, match="manage_ttl=False"):
        store.ensure_table(profile_group(ttl=dt.timedelta(days=1)))


def test_columns_named_like_the_stores_own_attributes_are_refused(
    dynamodb_store: DynamoDBOnlineStore,
) -> None:
    by_key = profile_group("keyed", entity=Entity("thing", ["pk"]))
    by_feature = profile_group("expiring", features=[Feature("expires_at", "int64")])

    with pytest.raises(InvalidSpecError, match=r"\['pk'\]"):
        dynamodb_store.ensure_table(by_key)
    with pytest.raises(InvalidSpecError, match=r"\['expires_at'\].*ttl_attribute"):
        dynamodb_store.ensure_table(by_feature)
