"""The identifier allowlist shared by every name that reaches a catalog, a path or SQL.

Names end up in table locations (pyiceberg joins them into paths unchecked), in DynamoDB table
names and in Snowflake DDL, so one strict rule applied before any side effect is the cheapest
way to rule out path traversal and quoting bugs everywhere downstream.
"""

from __future__ import annotations

import re

from feature_platform.errors import InvalidIdentifierError

IDENTIFIER_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# Columns the offline table owns; a feature or key by these names would shadow them.
RESERVED_COLUMNS = frozenset({"event_time", "created_at"})


def validate_identifier(name: object, kind: str) -> str:
    """Return `name` unchanged if it is a safe identifier, else raise.

    Args:
        name: The candidate name.
        kind: What the name is for ("feature group", "feature", ...), used in the message.

    Raises:
        InvalidIdentifierError: The name does not match ``^[a-z][a-z0-9_]{0,62}$``.
    """
    if not isinstance(name, str) or not IDENTIFIER_PATTERN.fullmatch(name):
        raise InvalidIdentifierError(
            f"invalid {kind} name {name!r}: names must start with a lowercase letter and contain "
            "only lowercase letters, digits and underscores (at most 63 characters), "
            f"e.g. {_suggest(name)!r}"
        )
    return name


def _suggest(name: object) -> str:
    """A nearby valid name, so the message shows the fix rather than only the rule."""
    text = re.sub(r"[^a-z0-9_]+", "_", str(name).lower()).strip("_")
    if not text or not text[0].isalpha():
        text = "f_" + text
    return text[:63]
