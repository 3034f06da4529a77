"""How to reach DynamoDB and lay out its tables: validated once, before any request.

Settings are plain data (a frozen dataclass) so that `StoreConfig` can carry them and tests can
build them; the client is derived from them in one place. Credentials are optional: without
them boto3's usual chain (environment, profile, instance role) applies, which is what
production should use.
"""

from __future__ import annotations

import importlib.metadata
import re
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import NoRegionError

from feature_platform.errors import ConfigurationError, InvalidSpecError
from feature_platform.online_store.limits import DEFAULT_TTL_ATTRIBUTE, PK_ATTRIBUTE
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TableMode = Literal["create", "must_exist"]
DEFAULT_TABLE_PREFIX: Final = "feature_platform."
DEFAULT_TABLE_TEMPLATE: Final = "{prefix}{group}"
# DynamoDB's rule for table names.
_TABLE_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_TABLE_CHARS: Final = re.compile(r"^[A-Za-z0-9_.-]*$")
_TEMPLATE_FIELDS: Final = frozenset({"prefix", "group"})


@dataclass(frozen=True)
class DynamoDBSettings:
    """Connection, table layout and retry settings of the DynamoDB online store.

    Args:
        region_name: AWS region; boto3's default chain when None.
        endpoint_url: A local DynamoDB (dynalite, moto, DynamoDB Local) instead of AWS.
        aws_access_key_id: Explicit credentials; boto3's default chain when None.
        aws_secret_access_key: Explicit credentials.
        aws_session_token: Explicit credentials.
        table_prefix: Put before each group's name in table names.
        table_name_template: Table name per group; fields ``{prefix}`` and ``{group}``.
        table_mode: ``create`` makes missing tables; ``must_exist`` only verifies them (for
            accounts where tables are provisioned by Terraform/CloudFormation).
        ttl_attribute: Items of groups with a ttl carry this attribute (epoch seconds when the
            value expires) for DynamoDB's TTL deletion; None writes none.
        manage_ttl: Enable DynamoDB TTL on `ttl_attribute` when creating a group's table.
            Some local servers (dynalite) lack UpdateTimeToLive: set False there.
        consistent_reads: Strongly consistent reads (twice the read cost).
        max_workers: Concurrent PutItem requests per write, and BatchGetItem requests per read.
        read_attempts: BatchGetItem rounds for keys DynamoDB left unprocessed before failing.
        backoff_base_seconds: First pause before retrying unprocessed keys; doubles per round.
        backoff_max_seconds: Longest pause between rounds.
        max_retry_attempts: botocore's attempts per request (throttling, 5xx) before failing.
        connect_timeout_seconds: TCP connect timeout.
        read_timeout_seconds: Socket read timeout.
        table_wait_seconds: How long to wait for a table to become ACTIVE or to disappear.
    """

    region_name: str | None = None
    endpoint_url: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    table_prefix: str = DEFAULT_TABLE_PREFIX
    table_name_template: str = DEFAULT_TABLE_TEMPLATE
    table_mode: TableMode = "create"
    ttl_attribute: str | None = DEFAULT_TTL_ATTRIBUTE
    manage_ttl: bool = True
    consistent_reads: bool = False
    max_workers: int = 16
    read_attempts: int = 8
    backoff_base_seconds: float = 0.025
    backoff_max_seconds: float = 1.0
    max_retry_attempts: int = 5
    connect_timeout_seconds: float = 2.0
    read_timeout_seconds: float = 5.0
    table_wait_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.table_mode not in ("create", "must_exist"):
            raise ConfigurationError(
                f"table_mode must be 'create' or 'must_exist', not {self.table_mode!r}"
            )
        self._check_template()
        if self.ttl_attribute is not None and not (
            0 < len(self.ttl_attribute.encode()) <= 255
            and self.ttl_attribute not in (PK_ATTRIBUTE, EVENT_TIME_COLUMN, CREATED_AT_COLUMN)
        ):
            raise ConfigurationError(
                f"ttl_attribute {self.ttl_attribute!r} must be 1-255 bytes and not one of "
                f"{[PK_ATTRIBUTE, EVENT_TIME_COLUMN, CREATED_AT_COLUMN]}"
            )
        for name in ("max_workers", "read_attempts", "max_retry_attempts"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be at least 1")
        for name in (
            "backoff_base_seconds",
            "backoff_max_seconds",
            "connect_timeout_seconds",
            "read_timeout_seconds",
            "table_wait_seconds",
        ):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"{name} must be >= 0")

    def _check_template(self) -> None:
        fields = {
            name for _, name, _, _ in string.Formatter().parse(self.table_name_template) if name
        }
        if "group" not in fields or not fields <= _TEMPLATE_FIELDS:
            raise ConfigurationError(
                f"table_name_template {self.table_name_template!r} must contain {{group}} and "
                "may contain {prefix}; no other fields"
            )
        sample = self.table_name_template.format(prefix=self.table_prefix, group="")
        if not _TABLE_CHARS.fullmatch(sample):
            raise ConfigurationError(
                f"DynamoDB table names allow only letters, digits, '_', '-' and '.'; "
                f"table_prefix {self.table_prefix!r} with template "
                f"{self.table_name_template!r} gives {sample!r}"
            )

    def table_name(self, group: FeatureGroup) -> str:
        """The DynamoDB table of a group.

        Raises:
            ConfigurationError: The name breaks DynamoDB's 3-255 character rule.
        """
        name = self.table_name_template.format(prefix=self.table_prefix, group=group.name)
        if not _TABLE_NAME.fullmatch(name):
            raise ConfigurationError(
                f"DynamoDB table name {name!r} for feature group {group.name!r} must be 3-255 "
                "letters, digits, '_', '-' or '.'; change table_prefix or table_name_template"
            )
        return name

    def check_group(self, group: FeatureGroup) -> None:
        """Refuse a group whose column names collide with the store's own attributes.

        Raises:
            InvalidSpecError: A join key or feature is named ``pk`` or like `ttl_attribute`.
        """
        own = {PK_ATTRIBUTE} | ({self.ttl_attribute} if self.ttl_attribute else set())
        clashes = sorted(own & {*group.join_keys, *group.feature_names})
        if clashes:
            raise InvalidSpecError(
                f"feature group {group.name!r} has columns {clashes}, which the DynamoDB online "
                f"store uses for its own attributes; rename them (or set ttl_attribute)"
            )

    def make_client(self) -> DynamoDBClient:
        """A low-level DynamoDB client (thread-safe) from its own boto3 session.

        A private session keeps explicit credentials away from boto3's shared default session,
        which is not thread-safe.
        """
        session = boto3.session.Session(
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
            region_name=self.region_name,
        )
        config = Config(
            # Requests are built by this package from validated frames, and DynamoDB validates
            # them again; botocore's client-side validation and its per-request rebuild of the
            # User-Agent string cost ~30% of a PutItem's client CPU.
            parameter_validation=False,
            user_agent=f"feature-platform/{_version()} botocore/{botocore.__version__}",
            max_pool_connections=max(10, self.max_workers),
            retries={"mode": "standard", "max_attempts": self.max_retry_attempts},
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
            tcp_keepalive=True,
        )
        try:
            return session.client("dynamodb", endpoint_url=self.endpoint_url, config=config)
        except NoRegionError as exc:
            raise ConfigurationError(
                "the DynamoDB online store needs a region: set region_name (or AWS_REGION)"
            ) from exc


def _version() -> str:
    try:
        return importlib.metadata.version("feature_platform")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "dev"
