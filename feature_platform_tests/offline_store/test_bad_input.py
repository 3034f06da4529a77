"""Every bad frame raises a domain error naming the fix, and leaves the table where it was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import polars as pl
import pytest

from feature_platform import Feature, FeatureStore
from feature_platform.errors import (
    InvalidFrameError,
    InvalidValueError,
    NaiveTimestampError,
    NullKeyError,
    OutOfWindowError,
    SchemaMismatchError,
)
from feature_platform_tests.helpers import DAY_START, NEXT_DAY, user_frame, user_group

BAD_FRAMES: list[tuple[str, Callable[[pl.DataFrame], object], type[Exception], str]] = [
    ("missing feature", lambda f: f.drop("ctr"), SchemaMismatchError, r"missing columns \['ctr'\]"),
    (
        "unknown feature",
        lambda f: f.with_columns(extra=pl.lit(1)),
        SchemaMismatchError,
        r"unknown columns \['extra'\].*add them to the spec",
    ),
    (
        "float into int feature",
        lambda f: f.with_columns(pl.col("clicks").cast(pl.Float64)),
        SchemaMismatchError,
        r"'clicks' .* dtype Float64, but the spec says int64; cast it",
    ),
    (
        "string into bool feature",
        lambda f: f.with_columns(pl.col("is_subscriber").cast(pl.String)),
        SchemaMismatchError,
        "is_subscriber",
    ),
    (
        "int key into string key",
        lambda f: f.with_columns(user_id=pl.int_range(pl.len())),
        SchemaMismatchError,
        "'user_id'",
    ),
    (
        "null key",
        lambda f: f.with_columns(
            user_id=pl.when(pl.int_range(pl.len()) == 2).then(None).otherwise(pl.lit("u"))
        ),
        NullKeyError,
        r"'user_id' .* 1 null value",
    ),
    (
        "null event time",
        lambda f: f.with_columns(
            event_time=pl.when(pl.int_range(pl.len()) == 2)
            .then(None)
            .otherwise(pl.col("event_time"))
        ),
        NullKeyError,
        "'event_time'",
    ),
    (
        "naive event time",
        lambda f: f.with_columns(pl.col("event_time").dt.replace_time_zone(None)),
        NaiveTimestampError,
        r"replace_time_zone\('UTC'\)",
    ),
    (
        "naive created time",
        lambda f: f.with_columns(pl.col("computed_at").dt.replace_time_zone(None)),
        NaiveTimestampError,
        "'computed_at'",
    ),
    (
        "event time as string",
        lambda f: f.with_columns(pl.col("event_time").dt.to_string()),
        SchemaMismatchError,
        "time-zone-aware",
    ),
    (
        "row before the window",
        lambda f: f.with_columns(pl.col("event_time") - dt.timedelta(days=1)),
        OutOfWindowError,
        "outside the window",
    ),
    (
        "row at the window end",
        lambda f: f.with_columns(event_time=pl.lit(NEXT_DAY)),
        OutOfWindowError,
        "5 row",
    ),
    (
        "NaN feature",
        lambda f: f.with_columns(ctr=pl.lit(float("nan"))),
        InvalidValueError,
        "write null",
    ),
    (
        "infinite feature",
        lambda f: f.with_columns(ctr=pl.lit(float("inf"))),
        InvalidValueError,
        "NaN or infinite",
    ),
    (
        "not a frame",
        lambda f: f.to_dict(as_series=False),
        InvalidFrameError,
        "polars, pandas or pyarrow",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "error", "message"),
    [pytest.param(m, e, msg, id=name) for name, m, e, msg in BAD_FRAMES],
)
def test_bad_frame_is_rejected_and_nothing_is_written(
    store: FeatureStore,
    mutate: Callable[[pl.DataFrame], object],
    error: type[Exception],
    message: str,
) -> None:
    store.apply(user_group())
    store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    table = store.table("user_stats")
    snapshot, metadata = table.current_snapshot().snapshot_id, table.metadata_location

    with pytest.raises(error, match=message):
        store.write_window("user_stats", mutate(user_frame(offset=9)), DAY_START, NEXT_DAY)
    if error is not OutOfWindowError:  # appends have no window to be outside of
        with pytest.raises(error, match=message):
            store.write("user_stats", mutate(user_frame(offset=9)))

    table = store.table("user_stats")
    assert table.current_snapshot().snapshot_id == snapshot
    assert table.metadata_location == metadata
    assert store.read("user_stats").get_column("clicks").sort().to_list() == [0, 1, 2, 3, 4]


def test_lossless_widening_is_accepted(store: FeatureStore) -> None:
    store.apply(user_group())
    frame = user_frame().with_columns(
        pl.col("clicks").cast(pl.Int16),
        pl.col("ctr").cast(pl.Float32),
        pl.col("segment").cast(pl.Categorical),
        pl.col("event_time").dt.convert_time_zone("Europe/Berlin"),
    )
    store.write_window("user_stats", frame, DAY_START, NEXT_DAY)
    stored = store.read("user_stats")
    assert stored.schema["clicks"] == pl.Int64
    assert stored.schema["event_time"] == pl.Datetime("us", "UTC")
    assert stored.get_column("event_time").min() == DAY_START


def test_pandas_and_arrow_frames_are_accepted(store: FeatureStore) -> None:
    store.apply(user_group())
    frame = user_frame()
    store.write_window("user_stats", frame.to_pandas(), DAY_START, NEXT_DAY)
    assert isinstance(frame.to_pandas(), pd.DataFrame)
    store.write_window("user_stats", frame.to_arrow(), DAY_START, NEXT_DAY)
    assert store.read("user_stats").height == 5


def test_null_feature_values_are_kept(store: FeatureStore) -> None:
    store.apply(user_group())
    store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    assert store.read("user_stats").get_column("ctr").null_count() == 1


@pytest.mark.parametrize("name", ["../x", 'a"b', "User", "x/../../y"])
def test_unsafe_group_names_are_refused_before_any_side_effect(
    store: FeatureStore, name: str
) -> None:
    from feature_platform.errors import InvalidIdentifierError

    # Building the store opens the catalog (a bad setting fails there); the bad name adds nothing.
    before = sorted(path.relative_to(store.config.home) for path in store.config.home.rglob("*"))
    tables = store.catalog.list_tables(store.config.namespace) if before else []
    for call in (
        lambda: store.write_window(name, user_frame(), DAY_START, NEXT_DAY),
        lambda: store.write(name, user_frame()),
        lambda: store.read(name),
        lambda: store.describe(name),
    ):
        with pytest.raises(InvalidIdentifierError, match="invalid feature group name"):
            call()
    assert sorted(p.relative_to(store.config.home) for p in store.config.home.rglob("*")) == before
    assert (store.catalog.list_tables(store.config.namespace) if before else []) == tables


def test_unknown_group_names_the_known_ones(store: FeatureStore) -> None:
    from feature_platform.errors import UnknownFeatureGroupError

    store.apply(user_group())
    with pytest.raises(UnknownFeatureGroupError, match=r"known groups: \['user_stats'\]"):
        store.write("user_stat", user_frame())


def test_features_that_are_null_on_every_row_are_accepted_whatever_their_type(
    store: FeatureStore,
) -> None:
    """A frame of only nulls has polars' Null dtype, which any feature type can hold."""
    group = user_group(features=[*user_group().features, Feature("last_seen", "timestamp")])
    store.apply(group)
    frame = user_frame().with_columns(last_seen=None, clicks=None)
    assert frame.schema["last_seen"] == pl.Null

    store.write_window("user_stats", frame, DAY_START, NEXT_DAY)

    rows = store.read("user_stats")
    assert rows["last_seen"].null_count() == rows["clicks"].null_count() == rows.height
    assert rows.schema["last_seen"] == pl.Datetime("us", "UTC")
    with pytest.raises(NullKeyError, match=r"'user_id' .* null value"):
        store.write_window("user_stats", frame.with_columns(user_id=None), DAY_START, NEXT_DAY)
