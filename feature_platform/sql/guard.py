"""What a local SQL query may do: read the store's tables, and nothing else.

polars' SQL engine resolves table functions on its own: `read_csv('<home>/.aws/credentials')`
reads any file the process can, `read_parquet('http://...')` sends requests, and both happen while
the plan is built, before any row of ours is touched. polars has no switch to turn them off and
does not expose its parse tree (and sqlglot comes only with the dev tools), so this module
tokenizes the query the way polars' tokenizer (sqlparser-rs, generic dialect) does and checks it
against an allowlist:

* one statement: a query (``SELECT``, ``WITH``, or ``FROM``-first), ``EXPLAIN <query>`` or
  ``SHOW TABLES``;
* whatever stands where a table belongs (after ``FROM``, ``JOIN``, ``APPLY`` or a comma of a
  ``FROM`` list) is a plain name, never a call, a string, a qualified name or a path; the names
  are returned so the caller can check them against the store's tables;
* no ``read_*``/``scan_*`` call anywhere, a second net under the first.

polars then runs the text rebuilt from the checked tokens, not the original: comments are
dropped, so if the two tokenizers ever disagreed about where a comment ends, polars still sees
exactly the code that was checked. Every lexical construct on which dialects disagree about
where a string ends (``E'...'``, ``$$...$$``, a backslash before a quote) is refused rather than
guessed. The rebuild also reads timestamp literals as UTC instants (`_timestamps_in_utc`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from enum import Enum

from feature_platform.errors import FeaturePlatformError

_READS_ONLY = (
    "sql reads only this store's tables (feature groups, <group>_latest views, training sets), "
    "never files or URLs"
)


class SqlError(FeaturePlatformError, ValueError):
    """A query that is refused, does not parse, names unknown tables or columns, or fails."""


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed the checks.

    Attributes:
        text: What polars is to run: the query without comments, timestamp literals in UTC.
        relations: The lower-cased names read where a table belongs, CTE names left out; the
            caller checks them against the store's tables.
    """

    text: str
    relations: frozenset[str]


def check_query(query: str) -> CheckedQuery:
    """The query, checked to read only named tables, and rebuilt for polars.

    Raises:
        SqlError: The query is not a single read-only query, calls a table function, reads a
            string or a path as a table, or uses a construct whose tokens are ambiguous.
    """
    tokens, pieces = _tokenize(query)
    while tokens and tokens[-1].is_punct(";"):
        pieces[tokens.pop().piece] = ""  # trailing semicolons: polars accepts them, and so do we
    _check_statement(tokens)
    _refuse_reader_calls(tokens)
    relations = _relations(tokens)
    _timestamps_in_utc(tokens, pieces)
    return CheckedQuery("".join(pieces).strip(), frozenset(relations))


# --- tokens ------------------------------------------------------------------------------------


class _Kind(Enum):
    WORD = "word"  # a keyword or an unquoted identifier
    QUOTED = "quoted"  # "identifier" or `identifier`
    STRING = "string"  # 'text', X'hex' or B'bits'
    NUMBER = "number"
    PUNCT = "punct"


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str  # as written
    value: str  # WORD: upper-cased; QUOTED, STRING: the unquoted content; else the text
    piece: int  # its index in the pieces the rebuilt text is joined from

    def is_word(self, *words: str) -> bool:
        return self.kind is _Kind.WORD and self.value in words

    def is_punct(self, text: str) -> bool:
        return self.kind is _Kind.PUNCT and self.text == text


_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_HEX = re.compile(r"[0-9a-fA-F]*")
_BITS = re.compile(r"[01]*")


def _tokenize(query: str) -> tuple[list[_Token], list[str]]:
    """The query's tokens, and the pieces (tokens, whitespace, comments as a space) of its text.

    Mirrors sqlparser's generic dialect where it matters for the checks: nested block comments,
    ``''`` as the only escape in strings and quoted identifiers, words that start with a letter,
    ``_``, ``#`` or ``@``, and numbers (``1FROM`` is ``1`` then ``FROM``).
    """
    tokens: list[_Token] = []
    pieces: list[str] = []

    def add(kind: _Kind, text: str, value: str) -> None:
        tokens.append(_Token(kind, text, value, len(pieces)))
        pieces.append(text)

    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            end = i
            while end < n and query[end].isspace():
                end += 1
            pieces.append(query[i:end])
        elif query.startswith("--", i):
            end = query.find("\n", i)
            end = n if end < 0 else end
            pieces.append(" ")
        elif query.startswith("/*", i):
            end = _block_comment_end(query, i)
            pieces.append(" ")
        elif char == "$":
            raise SqlError(
                "'$' is refused: dollar-quoted strings, $ parameters and $ in names are not "
                "supported"
            )
        elif char in "'\"`":
            end, value = _quoted_end(query, i)
            if pieces and (pieces[-1][-1].isalnum() or pieces[-1][-1] in "_#@"):
                pieces.append(" ")  # `E'..'` and `E '..'` differ; `x'..'` and `x '..'` do not
            add(_Kind.STRING if char == "'" else _Kind.QUOTED, query[i:end], value)
        elif char in "eEnNrRuU" and (
            query.startswith("'", i + 1) or (char in "uU" and query.startswith("&'", i + 1))
        ):
            raise SqlError(
                f"{query[i : i + 2]}...' string literals are refused (their escapes differ "
                "between SQL dialects): write a plain '...' string"
            )
        elif char in "xXbB" and query.startswith("'", i + 1):
            close = query.find("'", i + 2)
            digits = query[i + 2 : close] if close > 0 else None
            pattern = _HEX if char in "xX" else _BITS
            if digits is None or not pattern.fullmatch(digits):
                raise SqlError(f"{char}'...' literal at character {i + 1} is not valid")
            end = close + 1
            add(_Kind.STRING, query[i:end], digits)
        elif char.isalpha() or char in "_#@":
            end = i + 1
            while end < n and (query[end].isalnum() or query[end] in "_#@"):
                end += 1
            add(_Kind.WORD, query[i:end], query[i:end].upper())
        elif number := _NUMBER.match(query, i):
            end = number.end()
            add(_Kind.NUMBER, number.group(), number.group())
        elif query.startswith("::", i):
            end = i + 2
            add(_Kind.PUNCT, "::", "::")
        else:
            end = i + 1
            add(_Kind.PUNCT, char, char)
        i = end
    return tokens, pieces


def _block_comment_end(query: str, start: int) -> int:
    depth, i = 0, start
    while i < len(query):
        if query.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif query.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    raise SqlError(f"the /* comment at character {start + 1} is not closed")


def _quoted_end(query: str, start: int) -> tuple[int, str]:
    """The end of the string or quoted identifier at `start`, and its content."""
    quote = query[start]
    what = "string" if quote == "'" else "quoted name"
    parts, i = [], start + 1
    while True:
        close = query.find(quote, i)
        if close < 0:
            raise SqlError(f"the {what} at character {start + 1} is not closed")
        backslashes = len(query[i:close]) - len(query[i:close].rstrip("\\"))
        if backslashes % 2:
            raise SqlError(
                f"a backslash before a quote in the {what} at character {start + 1} is refused: "
                f"dialects disagree on where it ends; write {quote * 2} for a {quote}"
            )
        parts.append(query[i:close])
        if query.startswith(quote, close + 1):
            parts.append(quote)
            i = close + 2
        else:
            return close + 1, "".join(parts)


# --- checks ------------------------------------------------------------------------------------

_QUERY_STARTS = ("SELECT", "WITH", "FROM")
# Keywords that end a FROM list: after them a comma separates something else.
_AFTER_FROM = {
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "FETCH",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "WINDOW",
    "QUALIFY",
    "SELECT",
    "VALUES",
}
# Functions whose parentheses hold a FROM that is an argument: EXTRACT(YEAR FROM event_time).
_FROM_FUNCTIONS = {"EXTRACT", "SUBSTRING", "TRIM", "OVERLAY"}


def _check_statement(tokens: list[_Token]) -> None:
    """One statement, and one that reads: polars' CREATE, DROP, DELETE and TRUNCATE only touch
    the in-memory context, but a read-only command has no use for them, and refusing every
    other kind up front leaves nothing for a future polars to start writing."""
    if not tokens:
        raise SqlError("the query is empty: write a SELECT (or WITH) query")
    if any(token.is_punct(";") for token in tokens):
        raise SqlError(
            "one (and only one) statement can be parsed at a time: the text after ';' is refused"
        )
    first = next((token for token in tokens if not token.is_punct("(")), tokens[0])
    if first.is_word(*_QUERY_STARTS):
        return
    if first.is_word("EXPLAIN") and len(tokens) > 1:
        explained = next((token for token in tokens[1:] if not token.is_punct("(")), tokens[1])
        if explained.is_word(*_QUERY_STARTS):
            return
        raise SqlError(f"EXPLAIN runs on a SELECT (or WITH) query, not {explained.text!r}")
    if first.is_word("SHOW") and [token.value for token in tokens] == ["SHOW", "TABLES"]:
        return
    raise SqlError(
        f"the sql command is read-only: it runs SELECT (or WITH) queries, not {first.text!r}"
    )


def _refuse_reader_calls(tokens: list[_Token]) -> None:
    """A call named read_* or scan_* anywhere, even where no table belongs, is refused."""
    for token, after in itertools.pairwise(tokens):
        name = token.text if token.kind is _Kind.WORD else token.value
        if (
            token.kind in (_Kind.WORD, _Kind.QUOTED)
            and after.is_punct("(")
            and name.lower().startswith(("read_", "scan_"))
        ):
            raise SqlError(f"table function {name}(...) is refused: {_READS_ONLY}")


@dataclass
class _Parens:
    """One level of parentheses, as the walk in `_relations` sees it."""

    opened_by: str | None  # the word just before "(", e.g. EXTRACT
    in_from: bool = False  # inside a FROM list: a comma introduces another table
    saw_select: bool = False


def _relations(tokens: list[_Token]) -> set[str]:
    """The names read where a table belongs, refusing anything there that is not a name."""
    relations: set[str] = set()
    ctes: set[str] = set()
    stack = [_Parens(None)]
    table_next = False
    for index, token in enumerate(tokens):
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        level = stack[-1]
        if table_next:
            table_next = False
            if token.is_punct("("):  # a subquery, or a parenthesized table or join
                subquery = after is not None and after.is_word(*_QUERY_STARTS, "VALUES")
                stack.append(_Parens(None, in_from=not subquery))
                table_next = not subquery
            else:
                relations.add(_table_name(token, after))
            continue
        if token.is_punct("("):
            before = tokens[index - 1] if index else None
            stack.append(_Parens(before.value if before and before.kind is _Kind.WORD else None))
        elif token.is_punct(")"):
            if len(stack) > 1:
                stack.pop()  # (unbalanced parentheses are polars' syntax error to report)
        elif token.is_punct(","):
            table_next = level.in_from
        elif token.is_word("FROM"):
            argument = level.opened_by in _FROM_FUNCTIONS and not level.saw_select
            if not (argument or _is_distinct_from(tokens, index)):
                level.in_from = table_next = True
        elif token.is_word("JOIN", "STRAIGHT_JOIN") or (
            token.is_word("APPLY") and index and tokens[index - 1].is_word("CROSS", "OUTER")
        ):
            level.in_from = table_next = True
        elif token.is_word(*_AFTER_FROM):
            level.in_from = False
            level.saw_select = level.saw_select or token.value == "SELECT"
        elif token.is_word("WITH"):
            ctes |= _cte_names(tokens, index)
    if table_next:
        raise SqlError("a table name is missing at the end of the query")
    return relations - ctes


def _table_name(token: _Token, after: _Token | None) -> str:
    """The name `token` reads where a table belongs, or the reason it is refused."""
    if token.kind is _Kind.STRING:
        raise SqlError(f"{token.text} is refused where a table belongs: {_READS_ONLY}")
    if token.kind not in (_Kind.WORD, _Kind.QUOTED) or token.is_word("LATERAL"):
        raise SqlError(f"expected a table name after FROM or JOIN, found {token.text!r}")
    if after is not None and after.is_punct("("):
        raise SqlError(f"table function {token.text}(...) is refused: {_READS_ONLY}")
    if after is not None and after.is_punct("."):
        raise SqlError(f"{token.text}.<name> is refused: name tables without a schema")
    name = token.text if token.kind is _Kind.WORD else token.value
    if any(char in name for char in "/\\:.~") or not name.strip():
        raise SqlError(f"{token.text} is refused: it looks like a path or URL; {_READS_ONLY}")
    return name.lower()


def _is_distinct_from(tokens: list[_Token], index: int) -> bool:
    """`a IS [NOT] DISTINCT FROM b`: a comparison, not a FROM list."""
    words = [token.value for token in tokens[max(0, index - 3) : index]]
    return words[-2:] == ["IS", "DISTINCT"] or words[-3:] == ["IS", "NOT", "DISTINCT"]


def _cte_names(tokens: list[_Token], index: int) -> set[str]:
    """The names a ``WITH`` list at `index` defines; empty if it is not one (``WITH TIME ZONE``).

    The statement the list introduces must be a query: ``WITH x AS (...) DELETE ...`` is refused.
    """
    names: set[str] = set()
    at = index + 1
    if at < len(tokens) and tokens[at].is_word("RECURSIVE"):
        at += 1
    while at + 1 < len(tokens) and tokens[at].kind in (_Kind.WORD, _Kind.QUOTED):
        name = tokens[at]
        at += 1
        if tokens[at].is_punct("("):  # x(a, b) AS (...)
            at = _closing(tokens, at) + 1
        if at >= len(tokens) or not tokens[at].is_word("AS"):
            return names
        at += 1
        while at < len(tokens) and tokens[at].is_word("NOT", "MATERIALIZED"):
            at += 1
        if at >= len(tokens) or not tokens[at].is_punct("("):
            return names
        names.add((name.text if name.kind is _Kind.WORD else name.value).lower())
        at = _closing(tokens, at) + 1
        if at < len(tokens) and tokens[at].is_punct(","):
            at += 1
            continue
        body = next((token for token in tokens[at:] if not token.is_punct("(")), None)
        if body is not None and not body.is_word(*_QUERY_STARTS, "VALUES"):
            raise SqlError(
                f"the sql command is read-only: it runs SELECT (or WITH) queries, not {body.text!r}"
            )
        break
    return names


def _closing(tokens: list[_Token], opening: int) -> int:
    """The index of the ")" that closes the "(" at `opening` (the last token if none does)."""
    depth = 0
    for index in range(opening, len(tokens)):
        if tokens[index].is_punct("("):
            depth += 1
        elif tokens[index].is_punct(")"):
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1


# --- rewrites ----------------------------------------------------------------------------------


def _timestamps_in_utc(tokens: list[_Token], pieces: list[str]) -> None:
    """Read ``TIMESTAMP '...'`` (and a string cast to TIMESTAMP) as an instant in UTC.

    Every timestamp in the store is an instant (``Datetime("us", "UTC")``), but polars reads
    ``TIMESTAMP '2026-12-01 00:00:00+00'`` as a time-zone-less datetime, drops the offset if there
    is one, and then refuses to compare it with `event_time` (a ``SchemaError``). As
    ``TIMESTAMPTZ`` polars honours the offset and reads a text without one as UTC, the time zone
    everything here is stored in. ``TIMESTAMP WITHOUT TIME ZONE`` is left as written.
    """
    for index, token in enumerate(tokens):
        if not token.is_word("TIMESTAMP"):
            continue
        before = tokens[max(0, index - 4) : index]
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        literal = after is not None and after.kind is _Kind.STRING and after.text[0] == "'"
        cast = (
            len(before) == 4
            and before[0].is_word("CAST", "TRY_CAST", "SAFE_CAST")
            and before[1].is_punct("(")
            and before[2].kind is _Kind.STRING
            and before[3].is_word("AS")
            and after is not None
            and after.is_punct(")")
        )
        qualified = after is not None and (after.is_word("WITH", "WITHOUT") or after.is_punct("("))
        double_colon = (
            len(before) >= 2
            and before[-2].kind is _Kind.STRING
            and before[-1].is_punct("::")
            and not qualified
        )
        if literal or cast or double_colon:
            pieces[token.piece] = "TIMESTAMPTZ"
