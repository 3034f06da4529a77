"""The one check that an input has exactly a group's columns, worded per input.

Frames (offline and online writes), records (lists of dicts) and landing files are refused for
the same reasons: a column the group needs is missing, or one the group does not know is there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

UNKNOWN_FEATURES_HINT = (
    " (not features of the group: add them to the spec and apply it, or drop them)"
)


def column_mismatches(
    expected: Sequence[str],
    columns: Iterable[Any],
    unknown_hint: str = "",
    missing_hint: str = "",
) -> list[str]:
    """What differs between a frame's (or a record's) `columns` and the `expected` ones, as parts
    of an error message (empty when nothing does): offline and online writes, records and
    landing files refuse the same mismatches, but each words the rest (and a hint after the
    missing or unknown columns) for what its input is.
    """
    present = list(columns)
    missing = [c for c in expected if c not in present]
    unexpected = [str(c) for c in present if c not in expected]
    parts = []
    if missing:
        parts.append(f"missing columns {missing}{missing_hint}")
    if unexpected:
        parts.append(f"unknown columns {unexpected}{unknown_hint}")
    return parts
