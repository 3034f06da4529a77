"""Online stores: the latest feature values per entity, for serving.

`open_online_store("embedded", folder=...)` gives the default SQLite store;
`open_online_store("dynamodb", region_name=..., ...)` the production one. Both implement
`OnlineStore` with the same semantics (latest wins, ttl on read, request order, DynamoDB's item
limits checked before any write).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Literal

from feature_platform.errors import ConfigurationError
from feature_platform.online_store.base import OnlineDeleteReport, OnlineStore, OnlineWriteReport
from feature_platform.online_store.dynamodb.settings import DynamoDBSettings
from feature_platform.online_store.dynamodb.store import DynamoDBOnlineStore
from feature_platform.online_store.embedded import EmbeddedOnlineStore
from feature_platform.online_store.keys import decode_key, encode_key

OnlineStoreKind = Literal["embedded", "dynamodb"]

__all__ = [
    "DynamoDBOnlineStore",
    "DynamoDBSettings",
    "EmbeddedOnlineStore",
    "OnlineDeleteReport",
    "OnlineStore",
    "OnlineStoreKind",
    "OnlineWriteReport",
    "decode_key",
    "encode_key",
    "open_online_store",
]


def open_online_store(kind: OnlineStoreKind, **settings: Any) -> OnlineStore:
    """Open an online store by kind, with that kind's settings as keywords.

    Args:
        kind: ``embedded`` (settings of `EmbeddedOnlineStore`: ``folder``, ``filename``,
            ``busy_timeout_seconds``) or ``dynamodb`` (fields of `DynamoDBSettings`).
        **settings: The chosen kind's settings.

    Raises:
        ConfigurationError: Unknown kind, or a setting the kind does not have.
    """
    if kind == "embedded":
        allowed = {"folder", "filename", "busy_timeout_seconds"}
        _check_settings(kind, settings, allowed)
        if "folder" not in settings:
            raise ConfigurationError("the embedded online store needs folder=<directory>")
        return EmbeddedOnlineStore(**settings)
    if kind == "dynamodb":
        _check_settings(kind, settings, {f.name for f in fields(DynamoDBSettings)})
        return DynamoDBOnlineStore(DynamoDBSettings(**settings))
    raise ConfigurationError(f"online store kind must be 'embedded' or 'dynamodb', not {kind!r}")


def _check_settings(kind: str, settings: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise ConfigurationError(
            f"the {kind} online store has no settings {unknown}; it takes {sorted(allowed)}"
        )
