"""The production online store: one DynamoDB table per feature group.

**Writes** are conditional PutItems, because BatchWriteItem takes no conditions and an
unconditional write lets a late, older row overwrite a newer one (Feast's defect). The condition

    attribute_not_exists(pk) OR event_time < :t OR (event_time = :t AND created_at < :c)

is evaluated by DynamoDB atomically per item, so writers racing on one entity leave the latest
row whatever order they land in. A failed condition means "the stored item is as new or newer"
and counts as skipped; PutItems run concurrently in a bounded thread pool since each is a round
trip. A write over a named version adds ``OR (event_time = :rt AND created_at = :rc)``; a
conditional delete is a DeleteItem under ``event_time = :t AND created_at = :c`` (which also
fails on a missing item). Both run in the same pool; a failed condition counts as skipped or
kept.

**Reads** are BatchGetItems of up to 100 keys (DynamoDB's limit), projected to the requested
features so that unrequested attributes cost neither read capacity nor parsing. Keys DynamoDB
leaves unprocessed (under load it may answer only part of a batch) are retried with bounded
exponential backoff; running out of attempts raises rather than returning silent nulls.
"""

from __future__ import annotations

import decimal
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from feature_platform.errors import OnlineStoreThrottledError
from feature_platform.online_store.base import Fetch, OnlineStore
from feature_platform.online_store.dynamodb.errors import error_code, translate
from feature_platform.online_store.dynamodb.items import (
    Item,
    decode_item,
    decoders,
    encode_items,
)
from feature_platform.online_store.dynamodb.settings import DynamoDBSettings
from feature_platform.online_store.dynamodb.tables import delete_table, ensure_table
from feature_platform.online_store.limits import PK_ATTRIBUTE
from feature_platform.online_store.reads import FoundItems, ReadPlan
from feature_platform.online_store.versions import Version, Versions
from feature_platform.online_store.writes import PreparedWrite
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, KeysAndAttributesTypeDef

logger = logging.getLogger(__name__)

MAX_BATCH_GET_KEYS: Final = 100
LATEST_WINS: Final = "attribute_not_exists(#pk) OR #t < :t OR (#t = :t AND #c < :c)"
LATEST_OR_EQUAL_WINS: Final = "attribute_not_exists(#pk) OR #t < :t OR (#t = :t AND #c <= :c)"
OR_NAMED_VERSION: Final = " OR (#t = :rt AND #c = :rc)"
NAMED_VERSION: Final = "#t = :t AND #c = :c"
_CONDITION_NAMES: Final = {"#pk": PK_ATTRIBUTE, "#t": EVENT_TIME_COLUMN, "#c": CREATED_AT_COLUMN}
# DynamoDB refuses expression attribute names an expression does not use.
_VERSION_NAMES: Final = {"#t": EVENT_TIME_COLUMN, "#c": CREATED_AT_COLUMN}
# PutItems submitted to the pool at a time: bounds memory for large frames.
_WRITE_WINDOW: Final = 1024
# Share of a write's first keys already current above which the rest is checked before putting
# (a check costs ~0.2 write units and ~40 us of client CPU per key, a needless put 1 and ~1 ms).
PRECHECK_WORTH_IT: Final = 0.2
_Argument = TypeVar("_Argument")
_PutRequest = tuple[Item, "Version | None"]


@dataclass(frozen=True)
class _Projection:
    """The attributes a read asks for, built once per (group, features)."""

    expression: str
    names: dict[str, str]
    consistent: bool


# The version attributes only, read strongly consistent: what a conditional put compares.
_VERSION_PROJECTION: Final = _Projection(
    "#pk, #t, #c",
    {"#pk": PK_ATTRIBUTE, "#t": EVENT_TIME_COLUMN, "#c": CREATED_AT_COLUMN},
    consistent=True,
)
# Whole items, read strongly consistent: whether a put of the same version changes anything.
_WHOLE_ITEMS: Final = _Projection("", {}, consistent=True)


def _version_of(item: Mapping[str, Any]) -> Version | None:
    try:
        return int(item[EVENT_TIME_COLUMN]["N"]), int(item[CREATED_AT_COLUMN]["N"])
    except (KeyError, TypeError, ValueError):
        return None


def _same_item(stored: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    """Whether `stored` holds exactly `item`'s attributes and values.

    DynamoDB keeps numbers as decimals and may return another spelling than the one sent
    (``1.50`` as ``1.5``), so numbers are compared as decimals; anything else must be equal.
    """
    if stored.keys() != item.keys():
        return False
    for name, value in item.items():
        held = stored[name]
        if "N" in value and "N" in held:
            if decimal.Decimal(value["N"]) != decimal.Decimal(held["N"]):
                return False
        elif held != value:
            return False
    return True


class DynamoDBOnlineStore(OnlineStore):
    """Latest feature values in DynamoDB, one on-demand table per feature group.

    Args:
        settings: Endpoint, credentials, table naming and retry settings.
        client: A DynamoDB client to use instead of one built from `settings` (shared or
            custom sessions); its owner closes it, the store closes only a client it built.
    """

    def __init__(
        self, settings: DynamoDBSettings | None = None, *, client: DynamoDBClient | None = None
    ) -> None:
        super().__init__()
        self.settings = settings or DynamoDBSettings()
        self.ttl_attribute = self.settings.ttl_attribute
        self._owns_client = client is None
        self.client: DynamoDBClient = client or self.settings.make_client()
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._precheck_refused = False  # the role may not BatchGetItem: put without checking
        self._pool_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DynamoDBOnlineStore({self.settings!r})"

    def location(self, group: FeatureGroup) -> str:
        where = self.settings.endpoint_url or f"aws:{self.settings.region_name or 'default'}"
        return f"dynamodb:{where}#{self.settings.table_name(group)}"

    # -- tables -----------------------------------------------------------------------------

    def _ensure_table(self, group: FeatureGroup) -> None:
        self.settings.check_group(group)
        ensure_table(self.client, self.settings, group)

    def _delete_table(self, group: FeatureGroup) -> None:
        delete_table(self.client, self.settings, group)

    # -- writes -----------------------------------------------------------------------------

    def _write(self, group: FeatureGroup, prepared: PreparedWrite, replace_equal: bool) -> int:
        self.settings.check_group(group)
        table = self.settings.table_name(group)
        items = encode_items(group, prepared, self.ttl_attribute)
        condition = LATEST_OR_EQUAL_WINS if replace_equal else LATEST_WINS
        replacing = prepared.replacing or [None] * len(items)
        action = f"writing feature group {group.name!r}"
        requests = self._not_yet_current(
            table, list(zip(items, replacing, strict=True)), replace_equal
        )

        def put(request: tuple[Item, Version | None]) -> bool:
            return self._put(table, *request, condition)

        return self._each(
            put,
            requests,
            action,
            table,
            "were written; writes are idempotent (latest wins), so rerun the write",
        )

    def _not_yet_current(
        self, table: str, requests: list[_PutRequest], replace_equal: bool
    ) -> list[_PutRequest]:
        """`_skip_current`, or all of `requests` when the check cannot be made.

        The check only saves writes (every put is conditional anyway), so a role without
        ``dynamodb:BatchGetItem``, read throttling or an oversized answer must not fail the
        write: it is put whole, as before the check existed. A refused permission turns the
        check off for this store, so the refusal is paid once.
        """
        if self._precheck_refused or len(requests) < MAX_BATCH_GET_KEYS:
            return requests
        try:
            return self._skip_current(table, requests, replace_equal)
        except (ClientError, BotoCoreError, OnlineStoreThrottledError) as exc:
            if isinstance(exc, ClientError) and error_code(exc) == "AccessDeniedException":
                self._precheck_refused = True
            logger.warning(
                "DynamoDB table %s: could not read the stored versions before writing (%s); "
                "putting all %d items, each still conditional",
                table,
                exc,
                len(requests),
            )
            return requests

    def _skip_current(
        self, table: str, requests: list[_PutRequest], replace_equal: bool
    ) -> list[_PutRequest]:
        """`requests` without the items whose stored version already wins, when that pays.

        A conditional PutItem costs a write unit and ~1 ms of client and server CPU, also when
        its condition fails; a strongly consistent BatchGetItem of the versions costs a fifth
        of the price and a few dozen microseconds per key. Large writes that are mostly current
        already (a full re-sync, a re-push) are checked first, so only what changed is put:
        the first `MAX_BATCH_GET_KEYS` keys are read, and the rest only if at least
        `PRECHECK_WORTH_IT` of those were current. A skipped item is exactly a PutItem whose
        condition failed at the moment of the (strongly consistent) read; every put that is
        sent is still conditional, so racing writers still leave the latest row.
        """
        sample, rest = requests[:MAX_BATCH_GET_KEYS], requests[MAX_BATCH_GET_KEYS:]
        needed = self._needing_put(table, sample, replace_equal)
        if rest and len(sample) - len(needed) >= PRECHECK_WORTH_IT * len(sample):
            chunks = [
                rest[start : start + MAX_BATCH_GET_KEYS]
                for start in range(0, len(rest), MAX_BATCH_GET_KEYS)
            ]
            for part in self._pool("write").map(
                lambda chunk: self._needing_put(table, chunk, replace_equal), chunks
            ):
                needed += part
            return needed
        return needed + rest

    def _needing_put(
        self, table: str, requests: Sequence[_PutRequest], replace_equal: bool
    ) -> list[_PutRequest]:
        """The requests whose conditional put would change the stored item now.

        A put wins over an older stored version, over the version it names (`replaces`) and,
        with `replace_equal`, over the same version; the last of these only changes something
        when the stored item differs, so the whole item is read then (a strongly consistent
        read of an item up to 4 KB costs the same as reading its version alone).
        """
        pks = [item[PK_ATTRIBUTE]["S"] for item, _ in requests]
        projection = _WHOLE_ITEMS if replace_equal else _VERSION_PROJECTION
        stored = {
            found[PK_ATTRIBUTE]["S"]: found for found in self._batch_get(table, projection, pks)
        }
        needed = []
        for (item, replaces), pk in zip(requests, pks, strict=True):
            current = stored.get(pk)
            version = (int(item[EVENT_TIME_COLUMN]["N"]), int(item[CREATED_AT_COLUMN]["N"]))
            current_version = _version_of(current) if current is not None else None
            if (
                current is None
                or current_version is None  # written by another tool: the condition decides
                or current_version < version
                or current_version == replaces
                or (replace_equal and current_version == version and not _same_item(current, item))
            ):
                needed.append((item, replaces))
        return needed

    def _put(self, table: str, item: Item, replaces: Version | None, condition: str) -> bool:
        """PutItem unless the stored item is as new or newer (and not the version `replaces`).

        Returns whether the item was written.
        """
        values: dict[str, AttributeValueTypeDef] = {
            ":t": item[EVENT_TIME_COLUMN],
            ":c": item[CREATED_AT_COLUMN],
        }
        if replaces is not None:
            condition += OR_NAMED_VERSION
            values[":rt"] = {"N": str(replaces[0])}
            values[":rc"] = {"N": str(replaces[1])}
        try:
            self.client.put_item(
                TableName=table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames=_CONDITION_NAMES,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _delete_items(self, group: FeatureGroup, versions: Versions) -> int:
        self.settings.check_group(group)
        table = self.settings.table_name(group)

        def delete(named: tuple[str, Version]) -> bool:
            return self._delete(table, *named)

        return self._each(
            delete,
            list(versions.by_pk.items()),
            f"deleting from feature group {group.name!r}",
            table,
            "were deleted; deletes only remove the named version, so rerun the delete",
        )

    def _delete(self, table: str, pk: str, version: Version) -> bool:
        """DeleteItem if the stored item has exactly `version`; whether it was deleted."""
        try:
            self.client.delete_item(
                TableName=table,
                Key={PK_ATTRIBUTE: {"S": pk}},
                ConditionExpression=NAMED_VERSION,
                ExpressionAttributeNames=_VERSION_NAMES,
                ExpressionAttributeValues={
                    ":t": {"N": str(version[0])},
                    ":c": {"N": str(version[1])},
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _each(
        self,
        request: Callable[[_Argument], bool],
        arguments: list[_Argument],
        action: str,
        table: str,
        hint: str,
    ) -> int:
        """Run one conditional request per argument in the bounded pool; how many succeeded.

        Raises:
            OnlineStoreError: A request failed (translated; `hint` completes "at least n of m
                items ..." and says why rerunning is safe).
        """
        done = 0
        try:
            if len(arguments) == 1:  # a push of one entity: no thread hop
                return int(request(arguments[0]))
            pool = self._pool("write")
            for start in range(0, len(arguments), _WRITE_WINDOW):
                done += sum(pool.map(request, arguments[start : start + _WRITE_WINDOW]))
        except (ClientError, BotoCoreError) as exc:
            raise translate(
                exc, action, table, f"at least {done} of {len(arguments)} items {hint}"
            ) from exc
        return done

    # -- reads ------------------------------------------------------------------------------

    def _compile_read(self, plan: ReadPlan) -> Fetch:
        group = plan.group
        self.settings.check_group(group)
        table = self.settings.table_name(group)
        projected = [PK_ATTRIBUTE, EVENT_TIME_COLUMN, *plan.features]
        names = {f"#a{i}": name for i, name in enumerate(projected)}  # any name may be reserved
        projection = _Projection(", ".join(names), names, self.settings.consistent_reads)
        features = decoders(plan.features, plan.dtypes)
        action = f"reading feature group {group.name!r}"

        def fetch_chunk(pks: Sequence[str]) -> FoundItems:
            try:
                items = self._batch_get(table, projection, pks)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, action, table) from exc
            return {item[PK_ATTRIBUTE]["S"]: decode_item(item, features, table) for item in items}

        def fetch(pks: list[str]) -> FoundItems:
            if len(pks) <= MAX_BATCH_GET_KEYS:
                return fetch_chunk(pks)
            chunks = [
                pks[start : start + MAX_BATCH_GET_KEYS]
                for start in range(0, len(pks), MAX_BATCH_GET_KEYS)
            ]
            found: dict[str, Sequence[Any]] = {}
            for part in self._pool("read").map(fetch_chunk, chunks):
                found.update(part)
            return found

        return fetch

    def _batch_get(
        self, table: str, projection: _Projection, pks: Sequence[str]
    ) -> list[dict[str, AttributeValueTypeDef]]:
        """Every item of `pks` that exists, retrying unprocessed keys with backoff.

        Raises:
            OnlineStoreThrottledError: Keys were still unprocessed after `read_attempts` rounds.
        """
        keys: Sequence[Mapping[str, Any]] = [{PK_ATTRIBUTE: {"S": pk}} for pk in pks]
        found: list[dict[str, AttributeValueTypeDef]] = []
        attempts = self.settings.read_attempts
        for attempt in range(attempts):
            wanted: KeysAndAttributesTypeDef = {
                "Keys": keys,
                "ConsistentRead": projection.consistent,
            }
            if projection.expression:
                wanted["ProjectionExpression"] = projection.expression
                wanted["ExpressionAttributeNames"] = projection.names
            response = self.client.batch_get_item(RequestItems={table: wanted})
            found += response.get("Responses", {}).get(table, [])
            unprocessed = response.get("UnprocessedKeys", {}).get(table)
            if not unprocessed or not unprocessed.get("Keys"):
                return found
            keys = unprocessed["Keys"]
            if attempt + 1 < attempts:
                time.sleep(self._backoff(attempt))
        raise OnlineStoreThrottledError(
            f"DynamoDB left {len(keys)} of {len(pks)} keys of table {table!r} unprocessed after "
            f"{attempts} BatchGetItem attempts; raise read_attempts or add read capacity"
        )

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, capped: spreads retries of concurrent readers."""
        ceiling = min(
            self.settings.backoff_max_seconds, self.settings.backoff_base_seconds * 2.0**attempt
        )
        return ceiling / 2 + random.random() * ceiling / 2

    # -- resources --------------------------------------------------------------------------

    def _pool(self, purpose: str) -> ThreadPoolExecutor:
        """A lazily started pool per purpose, so a large write never queues ahead of reads."""
        pool = self._pools.get(purpose)
        if pool is None:
            with self._pool_lock:
                self._check_open()
                pool = self._pools.get(purpose)
                if pool is None:
                    pool = ThreadPoolExecutor(
                        max_workers=self.settings.max_workers,
                        thread_name_prefix=f"dynamodb-{purpose}",
                    )
                    self._pools[purpose] = pool
        return pool

    def _close(self) -> None:
        with self._pool_lock:
            pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.shutdown(wait=True)
        if self._owns_client:
            self.client.close()
