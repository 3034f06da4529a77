"""Training-set definitions refuse bad specs; stored training sets never hold empty files."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.errors import (
    InvalidFeatureReferenceError,
    InvalidIdentifierError,
    InvalidSpecError,
)
from feature_platform.training import TrainingSet
from feature_platform.training.definition import TrainingSetDefinition
from feature_platform.training.storage import write_training_set
from feature_platform_tests.helpers import assert_no_empty_files, read_independently


def _no_labels(store: FeatureStore, window: object) -> pl.DataFrame:
    raise AssertionError("not called")


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"name": "Bad Name"}, InvalidIdentifierError),
        ({"name": "x; drop table y"}, InvalidIdentifierError),
        ({"features": ["no_colon"]}, InvalidFeatureReferenceError),
        ({"features": ["g:f", "g:f"]}, InvalidFeatureReferenceError),
        ({"label_window": dt.timedelta(0)}, InvalidSpecError),
    ],
)
def test_definition_refuses_bad_specs(settings: dict[str, object], error: type[Exception]) -> None:
    arguments: dict[str, object] = {"name": "ok", "features": ["g:f"], "labels": _no_labels}
    with pytest.raises(error):
        TrainingSetDefinition(**{**arguments, **settings})  # type: ignore[arg-type]


def test_group_names_in_first_use_order() -> None:
    definition = TrainingSetDefinition("ok", ["b:x", "a:y", "b:z"], _no_labels)
    assert definition.group_names == ("b", "a")


def test_rewrites_replace_content_evolve_columns_and_never_write_empty_files(
    store: FeatureStore,
) -> None:
    moment = dt.datetime(2026, 11, 10, tzinfo=dt.UTC)
    first = pl.DataFrame(
        {"id": pl.Series([1, 2], dtype=pl.UInt32), "t": [moment, moment], "f": [0.5, None]}
    )
    written = write_training_set(store.catalog, store.config, "ts", TrainingSet(first, ()))
    table = store.catalog.load_table(tuple(written.table.split(".")))  # type: ignore[arg-type]
    assert read_independently(table).to_dicts() == [
        {"id": 1, "t": moment, "f": 0.5},
        {"id": 2, "t": moment, "f": None},
    ]

    wider = first.with_columns(extra=pl.lit("x")).head(1)
    write_training_set(store.catalog, store.config, "ts", TrainingSet(wider, ()))
    assert read_independently(table.refresh()).height == 1
    assert table.schema().column_names == ["id", "t", "f", "extra"]

    empty = write_training_set(store.catalog, store.config, "ts", TrainingSet(wider.clear(), ()))
    assert empty.rows == 0
    assert read_independently(table.refresh()).height == 0
    assert_no_empty_files(table)
