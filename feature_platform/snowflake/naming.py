"""How our Snowflake SQL writes names and values: quoting, object names, statement layout.

Rules applied by every statement the platform generates:

* Snowflake object names are double-quoted and upper-cased (``"FEATURES"."OFFLINE"."CLICKS"``).
  Upper case is how Snowflake stores unquoted names, so people can still write
  ``features.offline.clicks``; the quotes make reserved words (a group named ``order``) legal.
* Iceberg column names keep their case in Snowflake, so the table's lowercase columns are
  referenced quoted as they are (``"user_id"``); the latest-value view re-exposes them under
  upper-case names (``"user_id" AS "USER_ID"``) that BI tools can use unquoted.
* Strings are single-quoted with ``'`` doubled and ``\\`` doubled, because Snowflake treats a
  backslash in a string literal as the start of an escape sequence.
* Names are checked against the identifier rules again here, not only in the settings, so a
  hand-built value can never reach a statement unchecked.
"""

from __future__ import annotations

from typing import Final

from feature_platform.errors import (
    NameClashError,
    UnsafeSnowflakeIdentifierError,
    UnsafeSnowflakeLiteralError,
)
from feature_platform.identifiers import IDENTIFIER_PATTERN
from feature_platform.snowflake.settings import (
    SnowflakeSettings,
    env_name,
    validate_snowflake_identifier,
)
from feature_platform.specs import FeatureGroup

__all__ = [
    "INDENT",
    "object_name",
    "quote_column",
    "quote_identifier",
    "sql_literal",
    "statement",
    "table_fqn",
    "table_name",
    "view_fqn",
    "view_name",
]

INDENT: Final = "  "


def quote_identifier(name: str) -> str:
    """A Snowflake object name, upper-cased and double-quoted: ``features`` -> ``"FEATURES"``.

    Raises:
        UnsafeSnowflakeIdentifierError: `name` breaks ``^[A-Za-z_][A-Za-z0-9_$]{0,254}$``.
    """
    return '"' + validate_snowflake_identifier(name, "object").upper() + '"'


def quote_column(name: str) -> str:
    """An Iceberg column as Snowflake knows it: case kept, double-quoted (``"user_id"``).

    Raises:
        UnsafeSnowflakeIdentifierError: `name` breaks our ``^[a-z][a-z0-9_]{0,62}$`` rule.
    """
    if not isinstance(name, str) or not IDENTIFIER_PATTERN.fullmatch(name):
        raise UnsafeSnowflakeIdentifierError(
            f"unsafe column name {name!r}: columns must match {IDENTIFIER_PATTERN.pattern}"
        )
    return f'"{name}"'


def sql_literal(text: str) -> str:
    """A Snowflake single-quoted string literal holding exactly `text`.

    Backslashes are doubled first (Snowflake reads ``\\`` as an escape), then quotes.

    Raises:
        UnsafeSnowflakeLiteralError: `text` is not a string or contains NUL, which no
            Snowflake literal can hold verbatim.
    """
    if not isinstance(text, str):
        raise UnsafeSnowflakeLiteralError(f"a SQL literal needs a string, not {text!r}")
    if "\x00" in text:
        raise UnsafeSnowflakeLiteralError(f"text {text!r} contains a NUL character")
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _fqn(settings: SnowflakeSettings, name: str) -> str:
    return ".".join(quote_identifier(part) for part in (settings.database, settings.schema, name))


def table_name(group: FeatureGroup, settings: SnowflakeSettings) -> str:
    """The Snowflake table's name (unquoted, upper case): prefix + group name.

    Tables and views share a schema, and names are upper-cased, so a group whose name ends in
    the view suffix (``clicks_latest`` with ``_LATEST``) would take the name of another group's
    view (``CLICKS`` + ``_LATEST``). Such a group is refused whether that other group exists
    or not: the answer must not depend on the order groups are registered in.

    Raises:
        UnsafeSnowflakeIdentifierError: The name breaks Snowflake's identifier rule.
        NameClashError: The name ends in the view suffix.
    """
    name = validate_snowflake_identifier(settings.table_prefix + group.name, "table").upper()
    suffix = settings.view_suffix.upper()
    # prefix + g == prefix + h + suffix exactly when g ends in the suffix after something.
    if group.name.upper().endswith(suffix) and len(group.name) > len(suffix):
        other = group.name[: -len(suffix)]
        raise NameClashError(
            f"feature group {group.name!r} would be the Snowflake table {name}, the name of "
            f"the latest-value view of group {other!r} (table name + view suffix {suffix}); "
            f"rename the group, e.g. {'latest_' + other!r}, or choose another view suffix "
            f"({env_name('view_suffix')})"
        )
    return name


def view_name(group: FeatureGroup, settings: SnowflakeSettings) -> str:
    """The latest-value view's name (unquoted, upper case): table name + suffix."""
    name = table_name(group, settings) + settings.view_suffix
    return validate_snowflake_identifier(name, "view").upper()


def table_fqn(group: FeatureGroup, settings: SnowflakeSettings) -> str:
    """``"DB"."SCHEMA"."TABLE"`` of the group's Iceberg table."""
    return _fqn(settings, table_name(group, settings))


def view_fqn(group: FeatureGroup, settings: SnowflakeSettings) -> str:
    """``"DB"."SCHEMA"."TABLE_LATEST"`` of the group's latest-value view."""
    return _fqn(settings, view_name(group, settings))


def object_name(name: str) -> str:
    """A Snowflake name as a string-literal reference resolves it: upper case, like unquoted.

    CREATE ICEBERG TABLE takes the volume and integration as strings; Snowflake resolves an
    unquoted name inside them case-insensitively, so the upper-case name matches the objects
    the setup SQL creates as ``"NAME"``.
    """
    return validate_snowflake_identifier(name, "object").upper()


def statement(lines: list[str]) -> str:
    """First line flush, the rest indented: one clause per line, as Snowflake's docs write it."""
    return "\n".join([lines[0], *(f"{INDENT}{line}" for line in lines[1:])])
