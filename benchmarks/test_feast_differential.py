"""Our `get_historical_features` against Feast's on the same generated news data, row by row.

DESIGN.md promises Feast's point-in-time semantics minus two Feast defects. These tests hold us
to it: equality on every row Feast keeps and breaks no tie on, exactly the predicted rows dropped
by Feast (and returned by us), and Feast's tie-break shown to be the accident it is. Two more
tests pin Feast behaviours the comparison relies on: "no ttl" is ``timedelta(0)``, and rows that
share the first view's keys and timestamp collapse into one.

Run:  python3 -m uv run --group bench pytest benchmarks/test_feast_differential.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("feast")

from benchmarks import feast_repo  # imports feast: the bench dependency group
from benchmarks.feast_differential import (
    Differential,
    candidates,
    compare,
    feast_to_polars,
    reference_join,
)
from benchmarks.news_data import (
    FEATURE_REFS,
    GROUPS,
    SIZES,
    TIMESTAMP_COLUMN,
    USER_ENGAGEMENT,
    NewsData,
    generate,
    write_feast,
    write_ours,
)
from feature_platform import FeatureStore


@pytest.fixture(scope="module")
def news() -> NewsData:
    return generate(SIZES["small"])


@pytest.fixture(scope="module")
def stores(news: NewsData, tmp_path_factory: pytest.TempPathFactory) -> tuple[FeatureStore, Path]:
    root = tmp_path_factory.mktemp("pit")
    ours = write_ours(root / "ours", news)
    write_feast(root / "feast", news)
    return ours, root / "feast"


def _ours(store: FeatureStore, labels: pl.DataFrame) -> pl.DataFrame:
    return store.get_historical_features(
        labels, features=FEATURE_REFS, timestamp_column=TIMESTAMP_COLUMN
    )


def _feast(repo: Path, labels: pl.DataFrame) -> pl.DataFrame:
    store = feast_repo.open_store(repo)
    return feast_to_polars(feast_repo.retrieve(store, labels.to_pandas(), FEATURE_REFS))


@pytest.fixture(scope="module")
def differential(news: NewsData, stores: tuple[FeatureStore, Path]) -> Differential:
    ours, repo = stores
    return compare(news, _ours(ours, news.labels), _feast(repo, news.labels))


def test_no_problems(differential: Differential) -> None:
    assert differential.problems() == []


def test_rows_are_compared_and_all_equal(differential: Differential) -> None:
    assert differential.compared > 1_000
    assert differential.mismatches == []
    assert differential.equal == differential.compared


def test_ours_is_one_row_per_label_in_order_and_matches_the_reference(
    differential: Differential,
) -> None:
    assert differential.ours_rows == differential.rows
    assert differential.ours_in_input_order
    assert differential.ours_passthrough_equal
    assert differential.ours_wrong_dtypes == {}  # integer features stay integers
    assert differential.ours_vs_reference == []


def test_feast_drops_exactly_the_rows_without_a_candidate_and_we_return_them(
    differential: Differential,
) -> None:
    # Both causes occur: outside the user ttl window, and article history only in the future.
    assert all(count > 0 for count in differential.dropped_by_group.values())
    assert differential.feast_dropped == differential.expected_dropped
    assert differential.feast_rows == differential.rows - len(differential.feast_dropped)
    # We keep them, null for the group without a candidate (and the reference check above
    # holds them to the right values of the other group, which most of them have).
    assert differential.dropped_not_null_in_ours == []
    assert differential.dropped_with_candidates > 0


def test_only_event_time_ties_are_excluded_and_feast_breaks_them_arbitrarily(
    differential: Differential,
) -> None:
    # The excluded rows are the Feast rows with >= 2 candidates at the winning event_time, in
    # both groups; no winner ties on (event_time, created_at), so ours is always defined.
    assert all(count > 0 for count in differential.ambiguous_by_group.values())
    assert differential.exact_ties == 0
    assert differential.compared + len(differential.ambiguous) == differential.feast_rows
    # Feast keeps one of the tied candidates, but not the latest created one: its second sort
    # (pandas quicksort, unstable) scrambles the created_at order it sorted by first.
    assert differential.ambiguous_unexplained == []
    assert 0 < differential.ambiguous_feast_agrees < len(differential.ambiguous)


def test_feast_no_ttl_is_zero_timedelta(tmp_path: Path) -> None:
    """``ttl=None`` is read back from Feast's registry as ``timedelta(0)``: both mean forever."""
    path = tmp_path / "rows.parquet"
    pl.DataFrame(
        {
            "user_id": [1],
            "event_time": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)],
            "created_at": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)],
            **{name: [None] for name in USER_ENGAGEMENT.features},
        },
        schema_overrides={
            "clicks_7d": pl.Int64,
            "impressions_7d": pl.Int64,
            "ctr_7d": pl.Float64,
            "top_category_7d": pl.String,
        },
    ).write_parquet(path)
    store = feast_repo.open_store(tmp_path)
    view = feast_repo.feature_view(USER_ENGAGEMENT, path, "event_time", "created_at")
    view.ttl = None
    store.apply([feast_repo.entity(USER_ENGAGEMENT), view])
    assert store.get_feature_view(USER_ENGAGEMENT.name).ttl == dt.timedelta(0)


def test_feast_collapses_labels_sharing_user_and_timestamp_where_we_keep_both(
    news: NewsData, stores: tuple[FeatureStore, Path]
) -> None:
    """A slate: one user shown two articles at the same instant. Feast de-duplicates on the
    first view's join keys plus the timestamp (dask.py:1284) and returns one row of the two."""
    ours_store, repo = stores
    base = news.labels.head(400)
    per_group = {g.name: candidates(base, news.rows_of(g), g) for g in GROUPS}
    no_candidate = set()
    for group in GROUPS:
        summary = per_group[group.name].summary
        no_candidate |= set(
            summary.filter((pl.col("history") > 0) & (pl.col("candidates") == 0))
            .get_column("row_id")
            .to_list()
        )
    kept = base.filter(~pl.col("row_id").is_in(sorted(no_candidate))).head(100)
    # Same user and instant, another article that has a candidate (an article of a kept row).
    others = kept.get_column("article_id").shift(1, fill_value=kept.get_column("article_id")[-1])
    twins = kept.with_columns(
        (pl.col("row_id") + 1_000_000).alias("row_id"), others.alias("article_id")
    )
    labels = pl.concat([kept, twins])
    # Both members of each pair have candidates in both groups (a twin's article is another
    # kept row's article at a nearby time, so check it rather than assume it).
    twin_groups = {g.name: candidates(twins, news.rows_of(g), g) for g in GROUPS}
    twin_ok = set(twins.get_column("row_id").to_list())
    for found in twin_groups.values():
        lacking = found.summary.filter((pl.col("history") > 0) & (pl.col("candidates") == 0))
        twin_ok -= set(lacking.get_column("row_id").to_list())
    pairs = [(r - 1_000_000, r) for r in sorted(twin_ok)]
    assert len(pairs) > 50

    ours = _ours(ours_store, labels)
    feast = _feast(repo, labels)
    expected = reference_join(
        labels, {g.name: candidates(labels, news.rows_of(g), g) for g in GROUPS}
    )
    assert ours.get_column("row_id").to_list() == labels.get_column("row_id").to_list()
    assert ours.sort("row_id").equals(expected.select(ours.columns))
    feast_ids = set(feast.get_column("row_id").to_list())
    assert all(len({a, b} & feast_ids) == 1 for a, b in pairs)
