"""One string per entity: the online store's hash key, built from the entity's join-key values.

DynamoDB and SQLite both want a single primary-key value, but an entity may have several join
keys. Joining them naively collides: ``("1", "23")`` and ``("12", "3")`` both give ``"123"``.
Each value is therefore escaped (``\\`` becomes ``\\\\`` and ``|`` becomes ``\\|``) before the
values are joined by ``|``; an unescaped ``|`` can then only be a separator, so the encoding is
injective and can be decoded. The empty string becomes ``\\_`` (a sequence escaping never
produces) because DynamoDB rejects an empty key value.

A single plain key encodes as itself (``"u1"`` stays ``"u1"``), so items stay readable by hand
and by other tools. Integer keys encode as their decimal text; a group's key types are fixed by
its entity, so an integer and a string never meet in one table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

SEPARATOR = "|"
ESCAPE = "\\"
EMPTY = ESCAPE + "_"

KeyValue = str | int


def _escape(value: KeyValue) -> str:
    text = value if isinstance(value, str) else str(int(value))
    if not text:
        return EMPTY
    if ESCAPE in text or SEPARATOR in text:
        text = text.replace(ESCAPE, ESCAPE + ESCAPE).replace(SEPARATOR, ESCAPE + SEPARATOR)
    return text


def encode_key(values: Sequence[KeyValue]) -> str:
    """The hash key of one entity, from its join-key values in the entity's key order."""
    if len(values) == 1:
        return _escape(values[0])
    return SEPARATOR.join([_escape(v) for v in values])


def encode_keys(columns: Sequence[Sequence[KeyValue | None]]) -> list[str | None]:
    """Hash keys of many entities given column-wise; a row with a null key gets None.

    This is the read path's hot loop, so the one-key case avoids building tuples.
    """
    if len(columns) == 1:
        return [None if v is None else _escape(v) for v in columns[0]]
    return [_encode_row(row) for row in zip(*columns, strict=True)]


def _encode_row(row: Sequence[KeyValue | None]) -> str | None:
    escaped = []
    for value in row:
        if value is None:
            return None
        escaped.append(_escape(value))
    return SEPARATOR.join(escaped)


def decode_key(key: str, dtypes: Sequence[str]) -> tuple[KeyValue, ...]:
    """The join-key values a hash key was built from.

    Args:
        key: A value produced by `encode_key`.
        dtypes: Canonical dtypes of the join keys, in order (``string``, ``int32``, ``int64``).

    Raises:
        ValueError: `key` is not an encoding of ``len(dtypes)`` values.
    """
    parts = _split(key)
    if len(parts) != len(dtypes):
        raise ValueError(f"hash key {key!r} holds {len(parts)} values, expected {len(dtypes)}")
    return tuple(
        part if dtype == "string" else int(part) for part, dtype in zip(parts, dtypes, strict=True)
    )


def _split(key: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    empty_marker = False
    chars: Iterator[str] = iter(key)
    for char in chars:
        if char == SEPARATOR:
            parts.append(_finish(current, empty_marker, key))
            current, empty_marker = [], False
        elif char != ESCAPE:
            current.append(char)
        else:
            following = next(chars, "")
            if following in (ESCAPE, SEPARATOR):
                current.append(following)
            elif following == "_" and not current and not empty_marker:
                empty_marker = True
            else:
                raise ValueError(f"hash key {key!r} has a stray escape character")
    parts.append(_finish(current, empty_marker, key))
    return parts


def _finish(current: list[str], empty_marker: bool, key: str) -> str:
    if empty_marker == bool(current):  # the marker stands alone, and only it may be empty
        raise ValueError(f"hash key {key!r} has an empty value or text after {EMPTY!r}")
    return "".join(current)
