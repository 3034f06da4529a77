"""Feature references: ``group:*`` beside explicit references of the same group (README example)."""

from __future__ import annotations

import pytest

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore
from feature_platform.errors import InvalidFeatureReferenceError, UnknownFeatureError
from feature_platform.references import plan_requests
from feature_platform_tests.training.test_point_in_time import T, clicks_group, labels, rows

ARTICLES = FeatureGroup(
    "articles",
    Entity("article", ["article_id"]),
    [Feature("views", "int64"), Feature("ctr", "float64"), Feature("age_h", "float64")],
    start="2026-11-01",
)


def _plan(references: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    groups = {"articles": ARTICLES, "user_clicks": clicks_group()}
    planned = plan_requests(
        references, groups.__getitem__, full_feature_names=False, entity_columns=[]
    )
    return [(request.group.name, request.features) for request in planned]


@pytest.mark.parametrize(
    ("references", "expected"),
    [
        (["articles:*"], [("articles", ("views", "ctr", "age_h"))]),
        # An explicit reference first keeps its place; `*` adds the rest, each feature once.
        (["articles:ctr", "articles:*"], [("articles", ("ctr", "views", "age_h"))]),
        (["articles:*", "articles:ctr"], [("articles", ("views", "ctr", "age_h"))]),
        (
            ["user_clicks:clicks", "articles:ctr", "articles:*"],
            [("user_clicks", ("clicks",)), ("articles", ("ctr", "views", "age_h"))],
        ),
    ],
)
def test_star_merges_with_explicit_references_of_its_group(
    references: list[str], expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    assert _plan(references) == expected


@pytest.mark.parametrize(
    ("references", "error", "message"),
    [
        (["articles:*", "articles:*"], InvalidFeatureReferenceError, "more than once"),
        (["articles:ctr", "articles:ctr"], InvalidFeatureReferenceError, "more than once"),
        (["articles:*", "articles:nope"], UnknownFeatureError, "has no features ['nope']"),
    ],
)
def test_verbatim_repeats_and_unknown_features_stay_errors(
    references: list[str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]")):
        _plan(references)


def test_readme_request_joins_every_feature_once(store: FeatureStore) -> None:
    store.apply(clicks_group())
    store.write("user_clicks", rows(("a", T, T, 3, 0.25)))
    frame = store.get_historical_features(labels(("a", T)), ["user_clicks:ctr", "user_clicks:*"])
    assert frame.columns == ["user_id", "event_timestamp", "label_id", "ctr", "clicks"]
    assert frame.select("ctr", "clicks").row(0) == (0.25, 3)
