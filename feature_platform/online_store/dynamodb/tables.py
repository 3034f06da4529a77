"""One DynamoDB table per feature group: create it, verify it, enable TTL, delete it.

Table operations are asynchronous in DynamoDB (a new table is CREATING for seconds), and several
runs may `apply` the same group at once, so every function here is idempotent and waits for a
usable state: creating an existing table, or deleting a missing one, is not an error.

Tables are on-demand (no capacity to size) with a single string hash key ``pk``; no sort key,
since the online store holds one item per entity.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from feature_platform.errors import (
    IncompatibleOnlineTableError,
    OnlineStoreError,
    OnlineTableMissingError,
)
from feature_platform.online_store.dynamodb.errors import error_code, translate
from feature_platform.online_store.dynamodb.settings import DynamoDBSettings
from feature_platform.online_store.limits import PK_ATTRIBUTE
from feature_platform.specs import FeatureGroup

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TableDescriptionTypeDef

_USABLE: Final = frozenset({"ACTIVE", "UPDATING"})
_TRANSIENT: Final = frozenset({"CREATING", "DELETING"})
_GONE_OR_BUSY: Final = frozenset({"ResourceNotFoundException", "ResourceInUseException"})
_FIRST_POLL_SECONDS: Final = 0.05
_LONGEST_POLL_SECONDS: Final = 1.0


def ensure_table(client: DynamoDBClient, settings: DynamoDBSettings, group: FeatureGroup) -> None:
    """Make sure the group's table exists and is ACTIVE; create it unless in must-exist mode.

    Raises:
        OnlineTableMissingError: In ``must_exist`` mode, the table does not exist.
        IncompatibleOnlineTableError: The table's key schema or TTL attribute differs.
        OnlineStoreError: DynamoDB refused, or the table stayed unusable too long.
    """
    table = settings.table_name(group)
    action = f"creating the online table of feature group {group.name!r}"
    try:
        description = _wait_usable(client, settings, table, group)
        _check_key_schema(description, table)
        if (
            settings.table_mode == "create"
            and group.ttl is not None
            and settings.ttl_attribute is not None
            and settings.manage_ttl
        ):
            _enable_ttl(client, table, settings.ttl_attribute)
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, action, table) from exc


def delete_table(client: DynamoDBClient, settings: DynamoDBSettings, group: FeatureGroup) -> None:
    """Delete the group's table and wait until it is gone; a missing table is fine."""
    table = settings.table_name(group)
    poll = _Poll(settings.table_wait_seconds)
    try:
        while True:
            description = _describe(client, table)
            if description is None:
                return
            if description.get("TableStatus") in _USABLE:
                try:
                    client.delete_table(TableName=table)
                except ClientError as exc:  # deleted or still being created: look again
                    if error_code(exc) not in (
                        "ResourceNotFoundException",
                        "ResourceInUseException",
                    ):
                        raise
            if poll.expired():
                raise OnlineStoreError(
                    f"DynamoDB table {table!r} was still {description['TableStatus']} after "
                    f"{settings.table_wait_seconds:g} s; delete it again later"
                )
            poll.wait()
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, f"deleting the online table of {group.name!r}", table) from exc


def _wait_usable(
    client: DynamoDBClient, settings: DynamoDBSettings, table: str, group: FeatureGroup
) -> TableDescriptionTypeDef:
    """The table's description once it is ACTIVE (or UPDATING), creating it if allowed."""
    poll = _Poll(settings.table_wait_seconds)
    while True:
        description = _describe(client, table)
        if description is None:
            if settings.table_mode == "must_exist":
                raise OnlineTableMissingError(
                    f"DynamoDB table {table!r} for feature group {group.name!r} does not exist "
                    f"and table_mode is 'must_exist'; create it (on-demand, hash key "
                    f"{PK_ATTRIBUTE!r} of type S) or use table_mode='create'"
                )
            _create(client, table)
            continue
        status = description["TableStatus"]
        if status in _USABLE:
            return description
        if status not in _TRANSIENT:
            raise OnlineStoreError(f"DynamoDB table {table!r} is {status}, so it cannot be used")
        if poll.expired():
            raise OnlineStoreError(
                f"DynamoDB table {table!r} was still {status} after "
                f"{settings.table_wait_seconds:g} s; raise table_wait_seconds or retry"
            )
        poll.wait()


class _Poll:
    """Pauses between looks at a table in transition: short at first, since a new table is
    usually ACTIVE within a second, doubling up to a second, until `seconds` have passed."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds
        self._pause = _FIRST_POLL_SECONDS

    def expired(self) -> bool:
        return time.monotonic() > self._deadline

    def wait(self) -> None:
        time.sleep(self._pause)
        self._pause = min(self._pause * 2, _LONGEST_POLL_SECONDS)


def _describe(client: DynamoDBClient, table: str) -> TableDescriptionTypeDef | None:
    try:
        return client.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def _create(client: DynamoDBClient, table: str) -> None:
    try:
        client.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": PK_ATTRIBUTE, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": PK_ATTRIBUTE, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:  # another process created it first, or it is being deleted
        if error_code(exc) != "ResourceInUseException":
            raise


def _check_key_schema(description: TableDescriptionTypeDef, table: str) -> None:
    keys = [(k["AttributeName"], k["KeyType"]) for k in description.get("KeySchema", [])]
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    if keys != [(PK_ATTRIBUTE, "HASH")] or types.get(PK_ATTRIBUTE) != "S":
        raise IncompatibleOnlineTableError(
            f"DynamoDB table {table!r} has key schema {keys} (types {types}); the online store "
            f"needs a single string hash key {PK_ATTRIBUTE!r}: use another table_prefix or "
            "recreate the table"
        )


def _enable_ttl(client: DynamoDBClient, table: str, attribute: str) -> None:
    """Turn on DynamoDB's TTL deletion on `attribute` unless it already is.

    Reads apply the ttl themselves; this only lets DynamoDB delete expired items (for free,
    within days) so that tables do not grow forever.
    """
    current = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
    status = current.get("TimeToLiveStatus", "DISABLED")
    if status in ("ENABLED", "ENABLING"):
        if current.get("AttributeName") == attribute:
            return
        raise IncompatibleOnlineTableError(
            f"DynamoDB table {table!r} expires items by {current.get('AttributeName')!r}, not "
            f"{attribute!r}; set ttl_attribute={current.get('AttributeName')!r}"
        )
    if status == "DISABLING":
        raise IncompatibleOnlineTableError(
            f"TTL of DynamoDB table {table!r} is being disabled; DynamoDB allows re-enabling it "
            "only after that finishes (up to an hour): retry then"
        )
    try:
        client.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )
    except ClientError as exc:
        if error_code(exc) == "ValidationException" and _ttl_attribute(client, table) == attribute:
            return  # another process enabled it between our describe and update
        if error_code(exc) == "UnknownOperationException":
            raise OnlineStoreError(
                f"the DynamoDB endpoint does not support UpdateTimeToLive (dynalite does not), "
                f"so TTL deletion cannot be enabled on {table!r}; open the store with "
                "manage_ttl=False (reads still honour the ttl)"
            ) from exc
        raise


def _ttl_attribute(client: DynamoDBClient, table: str) -> str | None:
    current = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return current.get("AttributeName")
    return None
