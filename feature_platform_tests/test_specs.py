"""Specs validate everything up front and round-trip through JSON unchanged."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from feature_platform import Entity, Feature, FeatureGroup
from feature_platform.errors import InvalidIdentifierError, InvalidSpecError
from feature_platform_tests.helpers import user_group


@pytest.mark.parametrize(
    "name",
    ["../x", 'a"b', "A", "1abc", "", "user-stats", "x" * 64, "a b", "a/b", "é", None, 3],
)
def test_unsafe_group_names_are_rejected(name: object) -> None:
    with pytest.raises(InvalidIdentifierError, match="invalid feature group name"):
        user_group(name=name)


def test_identifier_error_suggests_a_valid_name() -> None:
    with pytest.raises(InvalidIdentifierError, match="'user_stats'"):
        user_group(name="User-Stats")


def test_longest_valid_name_is_accepted() -> None:
    assert user_group(name="a" + "b" * 62).name == "a" + "b" * 62


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Entity("user", []), "at least one join key"),
        (lambda: Entity("user", ["id", "id"]), "join key twice"),
        (lambda: Entity("user", ["event_time"]), "reserved"),
        (lambda: Entity("user", ["id"], key_dtypes={"other": "int64"}), "not join keys"),
        (lambda: Entity("user", ["id"], key_dtypes={"id": "float64"}), "join keys must be"),
        (lambda: Feature("created_at", "int64"), "reserved"),
        (lambda: Feature("x", "decimal"), "unsupported dtype"),
        (lambda: user_group(features=[]), "at least one feature"),
        (lambda: user_group(features=[Feature("a", "int64")] * 2), "repeats features"),
        (lambda: user_group(features=[Feature("user_id", "int64")]), "clash with join keys"),
        (lambda: user_group(partitioning="weekly"), "partitioning must be"),
        (lambda: user_group(ttl=dt.timedelta(0)), "ttl must be a positive"),
        (
            lambda: user_group(ttl=dt.timedelta(days=365 * 3000)),
            r"longer than 36,525 days \(100 years\); use ttl=None",
        ),
        (lambda: user_group(start="2026-11-01T05:00:00+00:00"), "partition boundary"),
        (lambda: user_group(start="yesterday"), "not an ISO date"),
        (lambda: user_group(start=dt.datetime(2026, 11, 1)), "has no time zone"),
        (lambda: user_group(owner="bob"), "email address or 'team:"),
        (lambda: user_group(tags={"k": "has space"}), "tag"),
        (lambda: user_group(created_time="event_time"), "must differ"),
        (lambda: user_group(event_time="clicks"), "also a feature"),
    ],
)
def test_inconsistent_specs_are_rejected(build: object, message: str) -> None:
    with pytest.raises(InvalidSpecError, match=message):
        build()  # type: ignore[operator]


def test_dtypes_are_canonical_whatever_form_they_are_given_in() -> None:
    features = [Feature("a", pl.Int64), Feature("b", pl.Float64()), Feature("c", "double")]
    assert [f.dtype for f in features] == ["int64", "float64", "float64"]
    assert Entity("user", ["id"], key_dtypes={"id": pl.Int64}).key_dtype("id") == "int64"
    assert Entity("user", ["id"]).key_dtype("id") == "string"


def test_spec_round_trips_through_json() -> None:
    group = user_group(
        ttl=dt.timedelta(days=2, hours=3),
        online=True,
        owner="team:recsys",
        description="d",
        tags={"domain": "news"},
        partitioning="hourly",
        start=dt.date(2026, 11, 1),
    )
    assert FeatureGroup.from_json(group.to_json()) == group


def test_start_is_normalised_to_utc() -> None:
    group = user_group(start=dt.datetime(2026, 11, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    assert group.start_time == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
