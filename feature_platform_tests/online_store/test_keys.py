"""The hash-key encoding is injective and decodes back, for any strings and integers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feature_platform.online_store.keys import decode_key, encode_key, encode_keys

# Deterministic: the same examples on every run, and no example database left behind.
PROFILE = settings(derandomize=True, database=None, max_examples=300)

# Text biased towards the characters the encoding must escape.
TRICKY = st.text(alphabet=st.sampled_from(["|", "\\", "_", "a", "1", "é", "𝄞"]), max_size=6)
VALUE = st.one_of(TRICKY, st.text(max_size=8), st.integers(min_value=-(2**63), max_value=2**63 - 1))
DTYPES = st.lists(st.sampled_from(["string", "int64"]), min_size=1, max_size=3)


@st.composite
def key_tuples(draw: st.DrawFn) -> tuple[list[str], tuple[str | int, ...], tuple[str | int, ...]]:
    """Two key tuples of one entity's key types (a group's keys never change type)."""
    dtypes = draw(DTYPES)

    def one() -> tuple[str | int, ...]:
        return tuple(
            draw(st.one_of(TRICKY, st.text(max_size=8)))
            if dtype == "string"
            else draw(st.integers(min_value=-(2**63), max_value=2**63 - 1))
            for dtype in dtypes
        )

    return dtypes, one(), one()


@PROFILE
@given(key_tuples())
def test_encoding_is_injective_and_decodes_back(
    case: tuple[list[str], tuple[str | int, ...], tuple[str | int, ...]],
) -> None:
    dtypes, first, second = case
    encoded_first, encoded_second = encode_key(first), encode_key(second)

    assert (encoded_first == encoded_second) == (first == second)
    assert decode_key(encoded_first, dtypes) == first
    assert encoded_first  # DynamoDB refuses an empty key value


@PROFILE
@given(st.lists(st.tuples(TRICKY, VALUE), max_size=5))
def test_column_wise_encoding_matches_row_wise(rows: list[tuple[str, str | int]]) -> None:
    columns: list[list[str | int | None]] = [[row[0] for row in rows], [row[1] for row in rows]]

    assert encode_keys(columns) == [encode_key(row) for row in rows]
    assert encode_keys(columns[:1]) == [encode_key(row[:1]) for row in rows]


@pytest.mark.parametrize(
    ("values", "encoded"),
    [
        (("u1",), "u1"),  # a plain single key is readable as is
        (("1", "23"), "1|23"),
        (("12", "3"), "12|3"),
        (("1|2", "3"), "1\\|2|3"),
        (("",), "\\_"),
        (("a\\b",), "a\\\\b"),
        ((7, "x"), "7|x"),
    ],
)
def test_known_encodings(values: tuple[str | int, ...], encoded: str) -> None:
    assert encode_key(values) == encoded


def test_null_keys_encode_to_none() -> None:
    assert encode_keys([["a", None], ["b", "c"]]) == ["a|b", None]
    assert encode_keys([["a", None]]) == ["a", None]


@pytest.mark.parametrize("bad", ["a\\", "a\\x", "\\_x", "x\\_", "a||b", "|"])
def test_malformed_keys_do_not_decode(bad: str) -> None:
    dtypes = ["string"] * (bad.count("|") - bad.count("\\|") + 1)
    with pytest.raises(ValueError, match="hash key"):
        decode_key(bad, dtypes)
