"""Point-in-time join semantics on hand-built edge cases (DESIGN.md, "Point-in-time join")."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import polars as pl
import pytest

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore

UTC = dt.UTC
T = dt.datetime(2026, 11, 10, 12, tzinfo=UTC)
US = dt.timedelta(microseconds=1)
DAY = dt.timedelta(days=1)


def clicks_group(**overrides: object) -> FeatureGroup:
    settings: dict[str, object] = {
        "name": "user_clicks",
        "entity": Entity("user", ["user_id"]),
        "features": [Feature("clicks", "int64"), Feature("ctr", "float64")],
        "created_time": "computed_at",
        "start": "2026-11-01",
        "ttl": DAY,
    }
    settings.update(overrides)
    return FeatureGroup(**settings)  # type: ignore[arg-type]


COLUMNS = ["user_id", "event_time", "computed_at", "clicks", "ctr"]


def rows(*entries: tuple[str, dt.datetime, dt.datetime, int, float | None]) -> pl.DataFrame:
    """Feature rows (user_id, event_time, computed_at, clicks, ctr)."""
    return pl.DataFrame(
        [dict(zip(COLUMNS, entry, strict=True)) for entry in entries],
        schema={
            "user_id": pl.String,
            "event_time": pl.Datetime("us", "UTC"),
            "computed_at": pl.Datetime("us", "UTC"),
            "clicks": pl.Int64,
            "ctr": pl.Float64,
        },
    )


def labels(*entries: tuple[str, dt.datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [e[0] for e in entries],
            "event_timestamp": [e[1] for e in entries],
            "label_id": list(range(len(entries))),
        },
        schema_overrides={"event_timestamp": pl.Datetime("us", "UTC")},
    )


@pytest.fixture
def clicks_store(store: FeatureStore) -> FeatureStore:
    store.apply(clicks_group())
    return store


def clicks_at(store: FeatureStore, entity_df: pl.DataFrame, **kwargs: object) -> list[object]:
    frame = store.get_historical_features(entity_df, ["user_clicks:clicks"], **kwargs)  # type: ignore[arg-type]
    return frame["clicks"].to_list()


def test_inclusive_at_t_and_exclusive_after(clicks_store: FeatureStore) -> None:
    clicks_store.write(
        "user_clicks",
        rows(("a", T - DAY / 2, T, 1, 0.1), ("a", T, T, 2, 0.2), ("a", T + US, T, 3, 0.3)),
    )
    assert clicks_at(clicks_store, labels(("a", T), ("a", T - US), ("a", T + US))) == [2, 1, 3]


def test_ttl_bound_is_inclusive(clicks_store: FeatureStore) -> None:
    clicks_store.write(
        "user_clicks", rows(("a", T - DAY, T, 1, None), ("b", T - DAY - US, T, 2, None))
    )
    assert clicks_at(clicks_store, labels(("a", T), ("b", T), ("b", T - US))) == [1, None, 2]


def test_group_without_ttl_reaches_all_history(store: FeatureStore) -> None:
    store.apply(clicks_group(ttl=None))
    store.write("user_clicks", rows(("a", T - 300 * DAY, T, 7, None)))
    assert clicks_at(store, labels(("a", T))) == [7]


def test_equal_event_time_later_created_at_wins_in_either_write_order(
    clicks_store: FeatureStore,
) -> None:
    clicks_store.write("user_clicks", rows(("a", T, T + DAY, 2, None)))  # the correction first
    clicks_store.write("user_clicks", rows(("a", T, T, 1, None), ("b", T, T, 1, None)))
    clicks_store.write("user_clicks", rows(("b", T, T + DAY, 2, None)))
    assert clicks_at(clicks_store, labels(("a", T), ("b", T))) == [2, 2]


def test_late_arriving_row_is_used_now_but_not_as_of_before_it_arrived(
    clicks_store: FeatureStore,
) -> None:
    clicks_store.write("user_clicks", rows(("a", T - 10 * US, T, 1, None)))
    before_late_row = clicks_store.table("user_clicks").current_snapshot()
    assert before_late_row is not None
    clicks_store.write("user_clicks", rows(("a", T - US, T + DAY, 2, None)))  # arrives a day late
    entity_df = labels(("a", T))
    assert clicks_at(clicks_store, entity_df) == [2]
    assert clicks_at(clicks_store, entity_df, as_of=before_late_row.snapshot_id) == [1]


def test_only_future_history_unknown_keys_and_duplicates_keep_their_rows(
    clicks_store: FeatureStore,
) -> None:
    clicks_store.write("user_clicks", rows(("a", T + US, T, 1, None), ("b", T, T, 5, None)))
    entity_df = labels(("a", T), ("nobody", T), ("b", T), ("b", T), ("a", T + DAY))
    frame = clicks_store.get_historical_features(entity_df, ["user_clicks:clicks"])
    assert frame["label_id"].to_list() == [0, 1, 2, 3, 4]
    assert frame["clicks"].to_list() == [None, None, 5, 5, 1]


def test_null_feature_value_of_the_winner_is_not_filled_from_older_rows(
    clicks_store: FeatureStore,
) -> None:
    clicks_store.write(
        "user_clicks", rows(("a", T - DAY / 2, T, 1, 0.5), ("a", T - US, T, 2, None))
    )
    frame = clicks_store.get_historical_features(
        labels(("a", T)), ["user_clicks:clicks", "user_clicks:ctr"]
    )
    assert frame.row(0, named=True) | {} == {
        "user_id": "a",
        "event_timestamp": T,
        "label_id": 0,
        "clicks": 2,
        "ctr": None,
    }


def test_input_order_extra_columns_and_dtypes_are_preserved(clicks_store: FeatureStore) -> None:
    clicks_store.write("user_clicks", rows(("a", T - US, T, 1, 0.5), ("b", T - US, T, 2, 0.25)))
    entity_df = pl.DataFrame(
        {
            "score": [0.9, 0.1, 0.5],
            "user_id": ["b", "nobody", "a"],
            "event_timestamp": [T, T, T],
            "tags": [["x"], [], ["y", "z"]],
        }
    )
    frame = clicks_store.get_historical_features(
        entity_df, ["user_clicks:ctr", "user_clicks:clicks"]
    )
    assert frame.columns == ["score", "user_id", "event_timestamp", "tags", "ctr", "clicks"]
    assert frame.select(entity_df.columns).equals(entity_df)
    assert frame.schema["clicks"] == pl.Int64  # integers stay integers, with nulls
    assert frame["clicks"].to_list() == [2, None, 1]
    assert frame["ctr"].to_list() == [0.25, None, 0.5]


def test_multiple_groups_with_different_entities_hourly_and_daily(store: FeatureStore) -> None:
    store.apply(clicks_group())
    store.apply(
        FeatureGroup(
            "article_reads",
            Entity("article", ["article_id"], key_dtypes={"article_id": "int64"}),
            [Feature("reads_1h", "int32"), Feature("clicks", "int64")],
            partitioning="hourly",
            start="2026-11-01",
        )
    )
    store.write("user_clicks", rows(("a", T - DAY / 2, T, 1, None)))
    store.write(
        "article_reads",
        pl.DataFrame(
            {
                "article_id": [7, 7, 8],
                "event_time": [T - 2 * DAY, T - dt.timedelta(hours=1), T + US],
                "reads_1h": [10, 20, 30],
                "clicks": [100, 200, 300],
            },
            schema_overrides={"reads_1h": pl.Int32},
        ),
    )
    entity_df = labels(("a", T), ("a", T)).with_columns(article_id=pl.Series([7, 8]))
    frame = store.get_historical_features(
        entity_df,
        ["article_reads:reads_1h", "user_clicks:clicks", "article_reads:clicks"],
        full_feature_names=True,
    )
    assert frame.columns[-3:] == [
        "article_reads__reads_1h",
        "article_reads__clicks",
        "user_clicks__clicks",
    ]
    assert frame.schema["article_reads__reads_1h"] == pl.Int32
    assert frame["article_reads__reads_1h"].to_list() == [20, None]
    assert frame["article_reads__clicks"].to_list() == [200, None]
    assert frame["user_clicks__clicks"].to_list() == [1, 1]


def test_composite_keys_match_on_every_key(store: FeatureStore) -> None:
    group = FeatureGroup(
        "pair_affinity",
        Entity("pair", ["user_id", "article_id"], key_dtypes={"article_id": "int64"}),
        [Feature("affinity", "float64")],
        start="2026-11-01",
    )
    store.apply(group)
    store.write(
        "pair_affinity",
        pl.DataFrame(
            {
                "user_id": ["1", "12", "1"],
                "article_id": [23, 3, 3],
                "event_time": [T - US] * 3,
                "affinity": [0.123, 0.123 * 2, 0.13],
            }
        ),
    )
    entity_df = pl.DataFrame(
        {"user_id": ["12", "1", "1", "2"], "article_id": [3, 23, 3, 3], "event_timestamp": [T] * 4}
    )
    frame = store.get_historical_features(entity_df, ["pair_affinity:affinity"])
    assert frame["affinity"].to_list() == [0.246, 0.123, 0.13, None]


def test_pandas_and_pyarrow_inputs_and_nanosecond_instants(clicks_store: FeatureStore) -> None:
    clicks_store.write("user_clicks", rows(("a", T, T, 1, None), ("a", T + US, T, 2, None)))
    nanos = pd.DataFrame(
        {
            "user_id": ["a", "a"],
            "event_timestamp": pd.to_datetime(
                ["2026-11-10T12:00:00.000000999Z", "2026-11-10T12:00:00.000001Z"]
            ),
        }
    )
    assert clicks_at(clicks_store, nanos) == [1, 2]  # 999 ns after T is still before T + 1 µs
    assert clicks_at(clicks_store, labels(("a", T)).to_arrow()) == [1]


def test_other_time_zones_name_the_same_instant(clicks_store: FeatureStore) -> None:
    clicks_store.write("user_clicks", rows(("a", T, T, 1, None)))
    entity_df = labels(("a", T)).with_columns(
        pl.col("event_timestamp").dt.convert_time_zone("Asia/Tokyo")
    )
    frame = clicks_store.get_historical_features(entity_df, ["user_clicks:clicks"])
    assert frame["clicks"].to_list() == [1]
    assert frame.schema["event_timestamp"] == pl.Datetime("us", "Asia/Tokyo")  # passed through


def test_integer_entity_keys_convert_to_string_keys(clicks_store: FeatureStore) -> None:
    clicks_store.write("user_clicks", rows(("42", T, T, 1, None)))
    entity_df = pl.DataFrame({"user_id": [42], "event_timestamp": [T]})
    assert clicks_at(clicks_store, entity_df) == [1]


def test_applied_group_without_data_and_empty_entity_frame(clicks_store: FeatureStore) -> None:
    assert clicks_at(clicks_store, labels(("a", T))) == [None]
    empty = clicks_store.get_historical_features(labels().clear(), ["user_clicks:clicks"])
    assert empty.height == 0
    assert empty.schema["clicks"] == pl.Int64


def test_every_feature_of_a_group_with_star(clicks_store: FeatureStore) -> None:
    clicks_store.write("user_clicks", rows(("a", T, T, 1, 0.5)))
    frame = clicks_store.get_historical_features(labels(("a", T)), ["user_clicks:*"])
    assert frame.select("clicks", "ctr").row(0) == (1, 0.5)


def test_slicing_reads_in_bounded_parts_with_the_same_answer(clicks_store: FeatureStore) -> None:
    for day in range(8):  # one file per write: eight slices possible
        start = T - dt.timedelta(days=8 - day)
        clicks_store.write(
            "user_clicks",
            rows(
                *[
                    (f"u{u}", start + dt.timedelta(hours=u), start, day * 10 + u, None)
                    for u in range(5)
                ]
            ),
        )
    entity_df = labels(
        *[(f"u{u}", T - dt.timedelta(days=d, hours=3 * u)) for d in range(6) for u in range(6)]
    )
    whole = clicks_store.build_training_set(entity_df, ["user_clicks:clicks"])
    sliced = clicks_store.build_training_set(entity_df, ["user_clicks:clicks"], max_rows_per_read=5)
    assert whole.frame.equals(sliced.frame)
    assert whole.groups[0].slices == 1
    assert sliced.groups[0].slices > 4
    assert sliced.frame["clicks"].null_count() < sliced.frame.height  # found values
    # Reads cover [min(t) - ttl, max(t)] = [T - 6 d 15 h, T]: the first two days are skipped.
    assert whole.groups[0].rows_read == sliced.groups[0].rows_read == 30


def test_snapshot_ids_rebuild_the_same_training_set_after_the_tables_move_on(
    store: FeatureStore,
) -> None:
    store.apply(clicks_group())
    store.apply(clicks_group(name="other_clicks", ttl=None))
    store.write("user_clicks", rows(("a", T - US, T, 1, 0.5), ("b", T - US, T, 2, 0.25)))
    store.write("other_clicks", rows(("a", T - DAY, T, 3, None)))
    entity_df = labels(("a", T), ("b", T), ("c", T))
    features = ["user_clicks:clicks", "other_clicks:ctr", "user_clicks:ctr"]
    first = store.build_training_set(entity_df, features, full_feature_names=True)

    store.write_window("user_clicks", rows(("a", T - US, T, 9, 0.9)), T - DAY / 2, T + DAY / 2)
    store.write("other_clicks", rows(("c", T - US, T, 4, 0.75)))
    changed = store.get_historical_features(entity_df, features, full_feature_names=True)
    assert not changed.equals(first.frame)

    rebuilt = store.get_historical_features(
        entity_df, features, full_feature_names=True, as_of=first.snapshot_ids
    )
    assert rebuilt.equals(first.frame)
    assert set(first.snapshot_ids) == {"user_clicks", "other_clicks"}
