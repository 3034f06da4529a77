"""The identifier allowlist shared by every name that reaches a catalog, a path or SQL.

Names end up in table locations (pyiceberg joins them into paths unchecked), in DynamoDB table
names and in Snowflake DDL, so one strict rule applied before any side effect is the cheapest
way to rule out path traversal and quoting bugs everywhere downstream.
"""

from __future__ import annotations

import re

from feature_platform.errors import InvalidIdentifierError, NameClashError

IDENTIFIER_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# Columns the offline table owns; a feature or key by these names would shadow them.
RESERVED_COLUMNS = frozenset({"event_time", "created_at"})

# Every feature group `g` is also a relation `g_latest` (its latest live rows: local SQL, and the
# Snowflake view `G_LATEST`), in the one name space groups and training sets share there.
LATEST_SUFFIX = "_latest"


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


def refuse_latest_suffix(name: str, kind: str) -> str:
    """Return `name` unless it ends in ``_latest``, which names the latest-value views.

    Refusing the suffix outright, rather than only ``<existing group>_latest``, makes the rule
    independent of what exists and of the order things are created in: group ``clicks_latest``
    would otherwise be legal until someone applies ``clicks``, and then shadow its view.

    Raises:
        NameClashError: `name` ends in ``_latest``.
    """
    if name.endswith(LATEST_SUFFIX):
        base = name[: -len(LATEST_SUFFIX)]
        raise NameClashError(
            f"{kind} name {name!r} ends in {LATEST_SUFFIX!r}, which is reserved: every feature "
            f"group <g> is also queried as the view <g>{LATEST_SUFFIX} (in Snowflake "
            f"<G>{LATEST_SUFFIX.upper()}), so {name!r} would clash with the view of a group "
            f"named {base!r}; choose another name, e.g. {('latest_' + base)[:63]!r}"
        )
    return name
