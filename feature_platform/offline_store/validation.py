"""Turning a user's frame into exactly the rows the offline table will hold, or refusing it.

All checks run before anything is written, so a rejected frame leaves the table untouched. Each
error names the column and the fix, because the person reading it is usually mid-backfill.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from feature_platform.dtypes import FLOAT_TYPES, converts_losslessly, polars_dtype
from feature_platform.errors import (
    InvalidFrameError,
    InvalidValueError,
    NaiveTimestampError,
    NullKeyError,
    OutOfWindowError,
    SchemaMismatchError,
)
from feature_platform.offline_store.column_checks import UNKNOWN_FEATURES_HINT, column_mismatches
from feature_platform.offline_store.records import is_records, records_frame
from feature_platform.offline_store.schema import table_columns
from feature_platform.specs import CREATED_AT_COLUMN, EVENT_TIME_COLUMN, FeatureGroup
from feature_platform.time_windows import TimeWindow


def as_polars(frame: Any) -> pl.DataFrame:
    """Accept polars, pandas or pyarrow frames, as users hold all three."""
    if isinstance(frame, pl.DataFrame):
        return frame
    names = getattr(frame, "column_names", None)  # pyarrow
    if names is None:
        names = getattr(frame, "columns", [])  # pandas, polars LazyFrame
    names = [str(name) for name in names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidFrameError(
            f"columns {repeated} appear more than once in the frame; rename or drop the duplicates"
        )
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    module = type(frame).__module__
    try:
        if module.startswith("pandas"):
            return pl.from_pandas(frame)
        if module.startswith("pyarrow"):
            converted = pl.from_arrow(frame)
            if isinstance(converted, pl.DataFrame):
                return converted
    except (TypeError, ValueError) as exc:
        raise InvalidFrameError(f"cannot convert the {type(frame).__name__} frame: {exc}") from exc
    raise InvalidFrameError(
        f"expected a polars, pandas or pyarrow frame, got {type(frame).__name__}"
    )


def prepare_frame(
    group: FeatureGroup,
    frame: Any,
    *,
    window: TimeWindow | None = None,
    written_at: dt.datetime | None = None,
) -> pl.DataFrame:
    """Validate `frame` against `group` and return it in offline-table form.

    `frame` is a polars, pandas or pyarrow frame, or a list of records (dicts) as streaming
    producers emit them, built with the spec's types (see `records_frame`). The result has the
    table's columns in order, canonical dtypes, UTC microsecond timestamps, `created_at` filled
    (from the group's created_time column, else `written_at`), sorted by join keys and event
    time.

    Raises:
        SchemaMismatchError: A column is missing, unexpected or has a type that would lose data.
        NaiveTimestampError: A timestamp column has no time zone.
        NullKeyError: A join key, event time or created time is null.
        InvalidValueError: A float feature holds NaN or infinity.
        OutOfWindowError: `window` is given and a row's event time lies outside it.
    """
    if is_records(frame):
        df = records_frame(group.name, group.input_dtypes(), frame)
    else:
        df = as_polars(frame)
    _check_columns(group, df)
    _check_types(group, df)
    _check_nulls(group, df)
    _check_finite(group, df)
    df = _normalise(group, df, written_at)
    _check_not_future(group, df)
    if window is not None:
        _check_window(group, df, window)
    return df.sort([*group.join_keys, EVENT_TIME_COLUMN, CREATED_AT_COLUMN])


def source_columns(group: FeatureGroup) -> list[str]:
    """The columns a frame handed to a write must have, by their source names."""
    columns = [*group.join_keys, group.event_time]
    if group.created_time:
        columns.append(group.created_time)
    return [*columns, *group.feature_names]


def _check_columns(group: FeatureGroup, df: pl.DataFrame) -> None:
    expected = source_columns(group)
    parts = column_mismatches(expected, df.columns, UNKNOWN_FEATURES_HINT)
    if parts:
        raise SchemaMismatchError(
            f"frame for feature group {group.name!r} has "
            + "; ".join(parts)
            + f"; expected exactly {expected}"
        )


def _check_types(group: FeatureGroup, df: pl.DataFrame) -> None:
    for column, target in group.input_dtypes().items():
        actual = df.schema[column]
        if actual == pl.Null:  # all null: any type holds that (keys and times: `_check_nulls`)
            continue
        if target == "timestamp" and isinstance(actual, pl.Datetime) and actual.time_zone is None:
            raise NaiveTimestampError(
                f"column {column!r} of feature group {group.name!r} holds naive timestamps; "
                f"make them aware, e.g. pl.col({column!r}).dt.replace_time_zone('UTC')"
            )
        if not converts_losslessly(actual, target):
            raise SchemaMismatchError(
                f"column {column!r} of feature group {group.name!r} has dtype {actual}, but the "
                f"spec says {target}; cast it, e.g. "
                f"pl.col({column!r}).cast({polars_dtype(target)!r})"
                if target != "timestamp"
                else f"column {column!r} of feature group {group.name!r} has dtype {actual}; it "
                "must be a time-zone-aware pl.Datetime"
            )


def _check_nulls(group: FeatureGroup, df: pl.DataFrame) -> None:
    required = [*group.join_keys, group.event_time]
    if group.created_time:
        required.append(group.created_time)
    counts = df.select(pl.col(required).null_count()).row(0)
    for column, count in zip(required, counts, strict=True):
        if count:
            raise NullKeyError(
                f"column {column!r} of feature group {group.name!r} has {count} null value(s); "
                "join keys and timestamps must be set on every row (drop or fill those rows)"
            )


def _check_finite(group: FeatureGroup, df: pl.DataFrame) -> None:
    floats = [f.name for f in group.features if f.dtype in FLOAT_TYPES]
    if not floats or df.is_empty():
        return
    bad = df.select(
        [
            (pl.col(c).is_nan() | pl.col(c).is_infinite()).fill_null(False).sum().alias(c)
            for c in floats
        ]
    ).row(0, named=True)
    for column, count in bad.items():
        if count:
            raise InvalidValueError(
                f"feature {column!r} of feature group {group.name!r} has {count} NaN or infinite "
                "value(s); write null for a missing value instead "
                f"(pl.when(pl.col({column!r}).is_finite()).then(pl.col({column!r})))"
            )


def _normalise(
    group: FeatureGroup, df: pl.DataFrame, written_at: dt.datetime | None
) -> pl.DataFrame:
    utc = polars_dtype("timestamp")
    exprs: list[pl.Expr] = [
        pl.col(key).cast(polars_dtype(group.entity.key_dtype(key))) for key in group.join_keys
    ]
    exprs.append(
        pl.col(group.event_time).dt.convert_time_zone("UTC").cast(utc).alias(EVENT_TIME_COLUMN)
    )
    if group.created_time:
        created = pl.col(group.created_time).dt.convert_time_zone("UTC").cast(utc)
    else:
        stamp = written_at or dt.datetime.now(dt.UTC)
        created = pl.lit(stamp, dtype=utc)
    exprs.append(created.alias(CREATED_AT_COLUMN))
    for feature in group.features:
        column = pl.col(feature.name)
        if feature.dtype == "timestamp" and df.schema[feature.name] != pl.Null:
            column = column.dt.convert_time_zone("UTC")
        exprs.append(column.cast(polars_dtype(feature.dtype)))
    normalised = df.select(exprs)
    assert normalised.columns == table_columns(group)
    return normalised


# Producers' clocks drift; a value "from the future" beyond this is a bug, not a skew.
MAX_CLOCK_SKEW = dt.timedelta(days=1)


def _check_not_future(group: FeatureGroup, df: pl.DataFrame) -> None:
    """Refuse rows timed in the future: online, one would hide every real value behind it."""
    limit = dt.datetime.now(dt.UTC) + MAX_CLOCK_SKEW
    for column, source in (
        (EVENT_TIME_COLUMN, group.event_time),
        (CREATED_AT_COLUMN, group.created_time),
    ):
        if source is None:
            continue
        found = _rows_where(df, pl.col(column) > limit, column)
        if found is not None:
            count, example = found
            raise InvalidValueError(
                f"{count} row(s) of feature group {group.name!r} have {source!r} in the "
                f"future (e.g. {example}, more than {MAX_CLOCK_SKEW} after now); fix "
                "the producer's clock or the column, or drop those rows"
            )


def _check_window(group: FeatureGroup, df: pl.DataFrame, window: TimeWindow) -> None:
    event_time = pl.col(EVENT_TIME_COLUMN)
    outside = (event_time < window.start) | (event_time >= window.end)
    found = _rows_where(df, outside, EVENT_TIME_COLUMN)
    if found is not None:
        count, example = found
        raise OutOfWindowError(
            f"{count} row(s) of feature group {group.name!r} have event times outside "
            f"the window {window} being written (e.g. {example}); a window write may "
            "only hold rows of that window: filter the frame to it"
        )


def _rows_where(df: pl.DataFrame, condition: pl.Expr, column: str) -> tuple[int, str] | None:
    """How many rows meet `condition`, and the first one's `column` in ISO form: an error names
    an example so the user can find the rows. None when no row does."""
    found = df.filter(condition)
    if not found.height:
        return None
    return found.height, found.get_column(column).item(0).isoformat()
