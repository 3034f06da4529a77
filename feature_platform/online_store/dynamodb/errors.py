"""botocore's errors, as domain errors that say what to change.

A caller of the online store should not need to know botocore's error codes to tell a missing
table from throttling; both DynamoDB modules translate through here.
"""

from __future__ import annotations

from typing import Final

from botocore.exceptions import BotoCoreError, ClientError

from feature_platform.errors import (
    OnlineStoreError,
    OnlineStoreThrottledError,
    OnlineTableMissingError,
)

THROTTLING_CODES: Final = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


def error_code(exc: ClientError) -> str:
    """The DynamoDB error code of a botocore ClientError ("" when absent)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(
    exc: ClientError | BotoCoreError, action: str, table: str, hint: str = ""
) -> OnlineStoreError:
    """The domain error for a failed DynamoDB request (to be raised ``from exc``).

    Args:
        exc: What botocore raised.
        action: What we were doing, e.g. "reading feature group 'clicks'".
        table: The DynamoDB table involved.
        hint: Extra advice appended to the message.
    """
    suffix = f"; {hint}" if hint else ""
    if isinstance(exc, BotoCoreError):
        return OnlineStoreError(
            f"{action}: could not reach DynamoDB table {table!r}: {exc}{suffix}"
        )
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    if code == "ResourceNotFoundException":
        return OnlineTableMissingError(
            f"{action}: DynamoDB table {table!r} does not exist; run ensure_table (apply) or "
            f"check table_prefix and region{suffix}"
        )
    if code in THROTTLING_CODES:
        return OnlineStoreThrottledError(
            f"{action}: DynamoDB kept throttling table {table!r} ({code}) after every retry; "
            f"raise max_retry_attempts, lower max_workers or add capacity{suffix}"
        )
    return OnlineStoreError(
        f"{action}: DynamoDB refused on table {table!r}: {code}: {message}{suffix}"
    )
