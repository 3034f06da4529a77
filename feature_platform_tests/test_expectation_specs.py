"""Expectations declared in specs: what is refused (naming the feature and the expectation),
what round-trips through the table's spec property, and that a refused spec changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore
from feature_platform.errors import InvalidSpecError
from feature_platform.expectations import (
    AllowedValues,
    MaxNullFraction,
    RowCountVsLastWeek,
    ValueRange,
)
from feature_platform_tests.helpers import user_group

UTC = dt.UTC


def _feature(dtype: str, *expectations: object) -> Feature:
    return Feature("value", dtype, expectations=list(expectations))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("dtype", "expectation", "says"),
    [
        ("string", ValueRange(0, 1), "in_range does not apply to a string feature"),
        ("bool", ValueRange(0, 1), "in_range does not apply to a bool feature"),
        ("int64", ValueRange("0", "9"), "has bound '0', which is not a finite number"),
        ("int64", ValueRange(True, 9), "has bound True, which is not a finite number"),
        ("float64", ValueRange(0.0, float("nan")), "has bound nan"),
        ("float64", ValueRange(2, 1), "has min 2 above max 1"),
        ("float64", ValueRange(), "needs a min, a max or both"),
        ("date", ValueRange(dt.datetime(2026, 1, 1, tzinfo=UTC)), "which is not a date"),
        ("timestamp", ValueRange(dt.datetime(2026, 1, 1)), "which is not an aware datetime"),
        ("string", AllowedValues([1, 2]), "allowed_values lists [1, 2], which are not string"),
        ("int64", AllowedValues(["1"]), "lists ['1'], which are not int64 values"),
        ("int32", AllowedValues([True]), "lists [True], which are not int32 values"),
        ("bool", AllowedValues([0]), "lists [0], which are not bool values"),
        ("float64", AllowedValues([0.5]), "does not apply to a float64 feature"),
        ("string", AllowedValues([]), "needs a non-empty list of values"),
        ("string", AllowedValues("abc"), "needs a non-empty list of values"),
        ("string", MaxNullFraction(-0.1), "max_null_fraction has fraction -0.1"),
        ("string", MaxNullFraction(1.5), "give a number from 0 to 1"),
        ("string", MaxNullFraction("0.1"), "has fraction '0.1'"),  # type: ignore[arg-type]
        ("string", MaxNullFraction(0.1, mode="loud"), "has mode 'loud'"),  # type: ignore[arg-type]
    ],
)
def test_an_expectation_that_does_not_fit_its_feature_is_refused(
    dtype: str, expectation: object, says: str
) -> None:
    with pytest.raises(InvalidSpecError, match=re.escape(says)) as raised:
        _feature(dtype, expectation)
    assert str(raised.value).startswith("feature 'value': ")


@pytest.mark.parametrize(
    ("factor", "says"),
    [(1, "has factor 1"), (0.5, "has factor 0.5"), (-2, "has factor -2"), ("2", "factor '2'")],
)
def test_a_row_count_factor_must_be_above_one(factor: object, says: str) -> None:
    with pytest.raises(InvalidSpecError, match=re.escape(says)) as raised:
        user_group(expectations=[RowCountVsLastWeek(factor)])  # type: ignore[arg-type]
    assert "feature group 'user_stats': expectation row_count_vs_last_week" in str(raised.value)
    assert "give a number above 1" in str(raised.value)


def test_expectations_go_where_they_judge() -> None:
    with pytest.raises(InvalidSpecError, match="RowCountVsLastWeek goes on the FeatureGroup"):
        _feature("int64", RowCountVsLastWeek(2))
    with pytest.raises(InvalidSpecError, match="MaxNullFraction goes on a Feature"):
        user_group(expectations=[MaxNullFraction(0.1)])
    with pytest.raises(InvalidSpecError, match="declares expectation in_range twice"):
        _feature("int64", ValueRange(0), ValueRange(max=9))
    with pytest.raises(InvalidSpecError, match="expectations must be a list"):
        Feature("value", "int64", expectations=ValueRange(0))  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecError, match="expectation_mode must be 'strict' or 'warn'"):
        user_group(expectation_mode="fail")


def test_fitting_expectations_construct_and_round_trip_through_json() -> None:
    group = FeatureGroup(
        name="readings",
        entity=Entity("sensor", ["sensor_id"], key_dtypes={"sensor_id": "int64"}),
        features=[
            Feature("level", "float32", expectations=[ValueRange(-1.5, 99), MaxNullFraction(0)]),
            Feature("count", "int64", expectations=[ValueRange(min=0), AllowedValues(range(5))]),
            Feature("state", "string", expectations=[AllowedValues(["on", "off"], mode="warn")]),
            Feature("ok", "bool", expectations=[AllowedValues([True])]),
            Feature("day", "date", expectations=[ValueRange(dt.date(2026, 1, 1))]),
            Feature(
                "seen",
                "timestamp",
                expectations=[ValueRange(max=dt.datetime(2030, 1, 1, tzinfo=UTC))],
            ),
        ],
        expectations=[RowCountVsLastWeek(1.5)],
        expectation_mode="warn",
    )
    assert group.feature("count").expectations[1] == AllowedValues((0, 1, 2, 3, 4))
    assert FeatureGroup.from_json(group.to_json()) == group
    # Specs without expectations serialise as before, so stored specs still compare equal.
    plain = user_group()
    assert "expectations" not in plain.to_json()
    assert "expectation_mode" not in plain.to_json()


def test_a_refused_expectation_changes_nothing_applied(store: FeatureStore) -> None:
    group = user_group(features=[Feature("clicks", "int64", expectations=[ValueRange(0, 9)])])
    store.apply(group)
    before = store.table("user_stats").metadata_location
    with pytest.raises(InvalidSpecError, match="feature 'clicks': expectation in_range"):
        store.apply(
            dataclasses.replace(
                group, features=[Feature("clicks", "int64", expectations=[ValueRange("a")])]
            )
        )
    assert store.table("user_stats").metadata_location == before
    assert store.get_feature_group("user_stats") == group


def test_changed_expectations_are_applied_to_the_stored_spec(store: FeatureStore) -> None:
    group = user_group()
    store.apply(group)
    stricter = dataclasses.replace(
        group,
        features=[Feature("clicks", "int64", expectations=[ValueRange(0, 9)])],
        expectations=[RowCountVsLastWeek(3)],
        expectation_mode="warn",
    )
    store.apply(stricter)
    assert store.get_feature_group("user_stats") == stricter
