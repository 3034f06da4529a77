"""DynamoDB's item limits, checked before any write by every online-store backend.

DynamoDB refuses an item over 400 KB, a partition key over 2,048 bytes and a number outside
1E-130..9.99E+125 in magnitude. Finding that out mid-write leaves a half-written frame, so both
backends check the whole frame first and name the offending entities. The embedded store applies
the same limits on purpose: a frame that works on a laptop then also works in production.

Sizes follow DynamoDB's rule (UTF-8 bytes of every attribute name plus its value), with numbers
counted at their largest size (21 bytes) so the check never lets a too-large item through.
Null features are absent attributes and cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from feature_platform.dtypes import FLOAT_TYPES
from feature_platform.errors import InvalidValueError, ItemTooLargeError
from feature_platform.online_store.keys import encode_keys
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup

MAX_ITEM_BYTES = 400 * 1024
MAX_KEY_BYTES = 2048
# The largest DynamoDB number: 38 significant digits at 2 per byte, plus exponent and sign.
NUMBER_BYTES = 21
# DynamoDB's number range; positive magnitudes outside it (but zero) are refused.
MIN_MAGNITUDE = 1e-130
MAX_MAGNITUDE = 1e126
# The item attributes every backend lays out as DynamoDB does.
PK_ATTRIBUTE = "pk"
DEFAULT_TTL_ATTRIBUTE = "expires_at"
_FIXED_VALUE_BYTES = {"bool": 1, "date": 10}  # BOOL; a date is an ISO string
_SHOWN = 5
_SMALL_FRAME = 1024


def check_numbers(group: FeatureGroup, frame: pl.DataFrame) -> None:
    """Refuse floats DynamoDB cannot store: NaN, infinities and magnitudes outside its range.

    Raises:
        InvalidValueError: Naming the feature, the offending value and the allowed range.
    """
    for feature in group.features:
        if feature.dtype not in FLOAT_TYPES:
            continue
        series = frame.get_column(feature.name)
        bad = _unstorable(series)
        if bad.any():
            example = series.to_numpy()[bad][0]
            raise InvalidValueError(
                f"feature {feature.name!r} of group {group.name!r} has "
                f"{int(np.count_nonzero(bad))} value(s) the online store cannot hold, e.g. "
                f"{float(example)!r}: values must be finite and zero or of magnitude between "
                f"{MIN_MAGNITUDE:g} and {MAX_MAGNITUDE:g} (DynamoDB's number range); fix or "
                "null them"
            )


def _unstorable(series: pl.Series) -> npt.NDArray[np.bool_]:
    """Which values cannot be stored; in numpy, as polars' per-call overhead dominates a push.

    Nulls become NaN in numpy, so NaNs at null positions are excused.
    """
    values = series.to_numpy().astype(np.float64, copy=False)
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        bad: npt.NDArray[np.bool_] = np.isinf(values) | (
            (magnitude != 0) & ((magnitude < MIN_MAGNITUDE) | (magnitude >= MAX_MAGNITUDE))
        )
    nan = np.isnan(values)
    nulls = series.null_count()
    if np.count_nonzero(nan) > nulls:  # real NaNs, not only nulls: find them (rare, slower)
        bad |= nan & ~series.is_null().to_numpy() if nulls else nan
    return bad


def item_sizes(
    group: FeatureGroup, frame: pl.DataFrame, pks: Sequence[str], ttl_attribute: str | None
) -> pl.Series:
    """The DynamoDB size in bytes of each row's item (numbers counted at their maximum)."""
    fixed = len(PK_ATTRIBUTE)
    fixed += len(EVENT_TIME_COLUMN) + NUMBER_BYTES + len(CREATED_AT_COLUMN) + NUMBER_BYTES
    if group.ttl is not None and ttl_attribute is not None:
        fixed += len(ttl_attribute.encode()) + NUMBER_BYTES
    parts: list[pl.Expr] = [pl.lit(fixed, dtype=pl.Int64)]
    typed = [(key, group.entity.key_dtype(key)) for key in group.join_keys]
    typed += [(f.name, f.dtype) for f in group.features]
    for name, dtype in typed:
        column = pl.col(name)
        if dtype == "string":
            value = column.str.len_bytes().cast(pl.Int64)
        else:
            value = pl.lit(_FIXED_VALUE_BYTES.get(dtype, NUMBER_BYTES), dtype=pl.Int64)
        parts.append(pl.when(column.is_null()).then(0).otherwise(value + len(name)))
    sizes = frame.select(pl.sum_horizontal(parts).alias("size")).get_column("size")
    return sizes + pl.Series(pks, dtype=pl.String).str.len_bytes().cast(pl.Int64)


def check_item_limits(
    group: FeatureGroup, frame: pl.DataFrame, pks: Sequence[str], ttl_attribute: str | None
) -> None:
    """Refuse the whole frame if any row's item or key exceeds DynamoDB's limits.

    Raises:
        ItemTooLargeError: Naming the first offending entities and their sizes.
    """
    if not pks:
        return
    # A character is at most 4 UTF-8 bytes, so only long keys need encoding to be measured.
    long_keys = [
        row
        for row, pk in enumerate(pks)
        if len(pk) * 4 > MAX_KEY_BYTES and len(pk.encode()) > MAX_KEY_BYTES
    ]
    if long_keys:
        key_bytes = pl.Series([len(pk.encode()) for pk in pks])
        raise ItemTooLargeError(
            f"{_entities(len(long_keys))} of feature group {group.name!r} have join keys "
            f"longer than DynamoDB's {MAX_KEY_BYTES}-byte key limit; nothing was written: "
            + _describe(group, frame, long_keys, key_bytes)
            + "; shorten the key values"
        )
    if _upper_bound(group, frame, ttl_attribute) <= MAX_ITEM_BYTES:
        return  # the common case, decided without sizing each item
    sizes = item_sizes(group, frame, pks, ttl_attribute)
    large = (sizes > MAX_ITEM_BYTES).arg_true().to_list()
    if large:
        raise ItemTooLargeError(
            f"{_entities(len(large))} of feature group {group.name!r} would exceed DynamoDB's "
            f"{MAX_ITEM_BYTES:,}-byte item limit; nothing was written: "
            + _describe(group, frame, large, sizes)
            + "; store shorter values or split the group"
        )


def check_storable(group: FeatureGroup, frame: pl.DataFrame, ttl_attribute: str | None) -> None:
    """Refuse rows of an online group that its online store could never hold.

    Offline writes of an online group run this on every row, because any of them may become an
    entity's latest value: one the online store refuses would then fail every sync of the
    group. Sizes are bounded first, so a frame of ordinary rows is decided without encoding its
    keys.

    Raises:
        InvalidValueError: A float outside DynamoDB's number range.
        ItemTooLargeError: A row's item or key would exceed DynamoDB's limits.
    """
    check_numbers(group, frame)
    if frame.is_empty():
        return
    # An encoded key is at most twice its values' bytes (escaping) plus one separator per key.
    longest_key = sum(
        2 * _longest_bytes(frame.get_column(key)) + 1
        if group.entity.key_dtype(key) == "string"
        else 21
        for key in group.join_keys
    )
    if longest_key <= MAX_KEY_BYTES and _upper_bound(group, frame, ttl_attribute) <= MAX_ITEM_BYTES:
        return
    pks = encode_keys([frame.get_column(key).to_list() for key in group.join_keys])
    check_item_limits(group, frame, [pk for pk in pks if pk is not None], ttl_attribute)


def _upper_bound(group: FeatureGroup, frame: pl.DataFrame, ttl_attribute: str | None) -> int:
    """A bound on every item's size: all attributes present, the longest strings together."""
    bound = len(PK_ATTRIBUTE) + MAX_KEY_BYTES
    bound += len(EVENT_TIME_COLUMN) + len(CREATED_AT_COLUMN) + 2 * NUMBER_BYTES
    if group.ttl is not None and ttl_attribute is not None:
        bound += len(ttl_attribute.encode()) + NUMBER_BYTES
    typed = [(key, group.entity.key_dtype(key)) for key in group.join_keys]
    typed += [(f.name, str(f.dtype)) for f in group.features]
    for name, dtype in typed:
        bound += len(name)
        if dtype == "string":
            bound += _longest_bytes(frame.get_column(name))
        else:
            bound += _FIXED_VALUE_BYTES.get(dtype, NUMBER_BYTES)
    return bound


def _longest_bytes(series: pl.Series) -> int:
    """The longest UTF-8 length in a string column (Python for short columns: less overhead)."""
    if series.len() <= _SMALL_FRAME:
        return max((len(v.encode()) for v in series.to_list() if v), default=0)
    longest = series.str.len_bytes().max()
    return int(longest) if isinstance(longest, int) else 0


def _describe(group: FeatureGroup, frame: pl.DataFrame, rows: list[int], sizes: pl.Series) -> str:
    shown = []
    for row in rows[:_SHOWN]:
        keys = ", ".join(f"{k}={_short(frame.get_column(k)[row])}" for k in group.join_keys)
        shown.append(f"({keys}: {sizes[row]:,} bytes)")
    more = f" and {len(rows) - _SHOWN} more" if len(rows) > _SHOWN else ""
    return " ".join(shown) + more


def _short(value: object) -> str:
    """A key's repr, cut short: a key over the limit is itself too long for a message."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}...({len(text)} chars)"


def _entities(count: int) -> str:
    return f"{count} entity" if count == 1 else f"{count} entities"
