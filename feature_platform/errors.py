"""Domain errors.

Every failure a user can cause has its own class, so callers (and tests) can react to the kind of
problem, and every message says what to change. All derive from `FeaturePlatformError` so a
caller that only wants "our" errors catches one type.
"""

from __future__ import annotations


class FeaturePlatformError(Exception):
    """Base of every error raised on purpose by feature_platform."""


class InvalidIdentifierError(FeaturePlatformError, ValueError):
    """A group, entity, feature or namespace name is not a safe identifier."""


class InvalidSpecError(FeaturePlatformError, ValueError):
    """A feature group, entity or feature definition is inconsistent."""


class UnknownFeatureGroupError(FeaturePlatformError, KeyError):
    """The named feature group has not been applied to this store."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain message.
        return str(self.args[0]) if self.args else ""


class UnknownFeatureError(FeaturePlatformError, KeyError):
    """A feature reference names a feature its group does not have."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class IncompatibleSchemaChangeError(FeaturePlatformError):
    """`apply` was asked to change a table in a way Iceberg cannot evolve safely."""


class InvalidFrameError(FeaturePlatformError, ValueError):
    """A frame handed to a write does not satisfy the feature group's contract."""


class SchemaMismatchError(InvalidFrameError):
    """Columns are missing, unexpected, or of the wrong type."""


class NullKeyError(InvalidFrameError):
    """A join key or timestamp column holds nulls."""


class NaiveTimestampError(InvalidFrameError):
    """A timestamp column has no time zone, so its instant is ambiguous."""


class InvalidValueError(InvalidFrameError):
    """A feature value cannot be stored faithfully (NaN or infinity)."""


class OutOfWindowError(InvalidFrameError):
    """A row's event time lies outside the window being written."""


class InvalidWindowError(FeaturePlatformError, ValueError):
    """A time window is empty, reversed or has naive bounds."""


class ConfigurationError(FeaturePlatformError, ValueError):
    """The store configuration is incomplete or contradictory."""


class ContentChangedError(FeaturePlatformError):
    """A maintenance rewrite would have changed the table's content; it was not committed."""


class StoreClosedError(FeaturePlatformError):
    """The store was closed: it takes no more writes."""


class CommitConflictError(FeaturePlatformError):
    """A commit kept conflicting with concurrent writers after every retry."""


class InvalidFeatureReferenceError(FeaturePlatformError, ValueError):
    """A feature reference is not ``"<group>:<feature>"``, or the list repeats one."""


class FeatureNameClashError(FeaturePlatformError, ValueError):
    """Two requested features, or a feature and an entity column, would share an output name."""


class InvalidRequestError(FeaturePlatformError, ValueError):
    """A read asks for something malformed, such as the same feature twice."""


class ItemTooLargeError(InvalidFrameError):
    """A row would not fit in one online-store item (DynamoDB's 400 KB item or 2 KB key limit).

    Raised before anything is written, naming the entities, so the caller can fix or drop them.
    """


class OnlineStoreError(FeaturePlatformError):
    """The online store could not do what was asked; the message says what to change."""


class OnlineTableMissingError(OnlineStoreError):
    """A feature group's online table does not exist (create it, or run `ensure_table`)."""


class IncompatibleOnlineTableError(OnlineStoreError):
    """An existing online table has a key schema or TTL setting this store cannot use."""


class OnlineStoreThrottledError(OnlineStoreError):
    """The online store kept refusing requests (throttling, unprocessed keys) after every retry."""


class OnlineStoreClosedError(OnlineStoreError):
    """The online store was used after `close()`."""


class FeatureNotOnlineError(FeaturePlatformError, ValueError):
    """Online features were requested, or pushed, for a group that is not online."""


class UnsafeSnowflakeIdentifierError(InvalidIdentifierError):
    """A Snowflake object name (database, schema, volume, integration, role, prefix) is unsafe.

    Raised while the settings are built, before any SQL exists, so a name that could break out
    of its quotes never reaches a statement.
    """


class InvalidSnowflakeSettingError(ConfigurationError):
    """A Snowflake setting (ARN, URL, region, account id, kind) is missing or malformed."""


class MetadataOutsideVolumeError(InvalidSnowflakeSettingError):
    """An Iceberg metadata file lies outside the external volume's STORAGE_BASE_URL.

    Snowflake can only read files below the volume's base URL, so registering such a table
    would fail in Snowflake; the message names both locations.
    """


class UnsafeSnowflakeLiteralError(FeaturePlatformError, ValueError):
    """A text bound for a Snowflake string literal holds a character that cannot be quoted (NUL)."""


class SourceError(FeaturePlatformError):
    """A source could not be read, or gave rows that break its own contract; names the source."""


class IncompleteInputError(FeaturePlatformError):
    """A window's input is not complete yet, so computing it would write wrong features."""


class NameClashError(InvalidSpecError):
    """Two relations would answer to one name: feature groups, their ``<group>_latest`` views
    and training sets share one name space in SQL and in Snowflake.

    Raised before anything is created or written; the message names both and the rule.
    """


class ExpectationFailedError(FeaturePlatformError):
    """A window write failed strict expectations and was refused: nothing was committed.

    The message names each failed expectation with counts and example values; `report` holds
    the whole `ExpectationReport` (passed expectations too), for tools that show it.
    """

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class UnknownExperimentError(FeaturePlatformError, KeyError):
    """No feature group has a branch (or record) of the named experiment."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class EmptyExperimentError(FeaturePlatformError, ValueError):
    """An experiment was asked to publish, but it rewrote no window of any group."""


class PromotionConflictError(FeaturePlatformError):
    """Main changed windows that an experiment also changed since its branch was made, so
    promoting would silently drop main's newer rows; the message names the windows."""


class ExperimentHistoryError(FeaturePlatformError):
    """What an experiment changed can no longer be told from the table's history (its base
    snapshot expired, or main was rolled back past it)."""


class SnowflakeTableStateError(ConfigurationError):
    """A Snowflake table a training set reads is missing, or not refreshed to its snapshot.

    Raised before any statement that writes runs; the message names the table, the snapshot
    Snowflake holds and the one wanted, and the asset or command that refreshes it.
    """
