"""The SQL training sets equal the polars join cell for cell, in row order (hypothesis).

Three groups with different ttls, key types (int64, string) and a composite key; histories with
corrections (same event time, later ``created_at``), late rows (written in a later commit),
equal timestamps on both sides of the join and unknown keys. The same training set is built by
the polars join, by the SQL in DuckDB, and by the Snowflake SQL run in fakesnow (a label frame
uploaded), and the three frames must be equal, dtypes included.
"""

from __future__ import annotations

import datetime as dt
import tempfile

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore
from feature_platform_tests.training.snowflake_standin import register, snowflake_account, target

UTC = dt.UTC
ORIGIN = dt.datetime(2026, 11, 3, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)
USERS = st.integers(0, 3)
ITEMS = st.sampled_from(["a", "b", "c"])
instants = st.integers(min_value=0, max_value=72).map(lambda h: ORIGIN + h * HOUR)
ttls = st.one_of(st.none(), st.integers(1, 30).map(lambda h: h * HOUR))
values = st.one_of(st.none(), st.integers(-(2**40), 2**40))
# (keys, event_time, created_at offset in hours, value); duplicates of (keys, event_time,
# created_at) are dropped, as the offline table's checks require.
score_rows = st.lists(st.tuples(USERS, instants, st.integers(0, 3), values), max_size=25)
tag_rows = st.lists(st.tuples(ITEMS, instants, st.integers(0, 3), values), max_size=25)
pair_rows = st.lists(
    st.tuples(st.tuples(USERS, ITEMS), instants, st.integers(0, 3), values), max_size=25
)
label_rows = st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from(["a", "b", "c", "zz"]), instants),
    min_size=1,
    max_size=20,
)
FEATURES = ["scores:score", "tags:tag", "tags:weight", "pairs:seen"]


def groups(score_ttl: dt.timedelta | None, tag_ttl: dt.timedelta | None) -> list[FeatureGroup]:
    user = Entity("user", ["user_id"], key_dtypes={"user_id": "int64"})
    return [
        FeatureGroup(
            "scores", user, [Feature("score", "int64")], created_time="computed_at",
            start="2026-11-01", ttl=score_ttl,
        ),
        FeatureGroup(
            "tags", Entity("item", ["item_id"]),
            [Feature("tag", "string"), Feature("weight", "float64")],
            created_time="computed_at", start="2026-11-01", ttl=tag_ttl,
        ),
        FeatureGroup(
            "pairs", Entity("pair", ["user_id", "item_id"], key_dtypes={"user_id": "int64"}),
            [Feature("seen", "int64")], created_time="computed_at", start="2026-11-01",
            ttl=dt.timedelta(hours=12),
        ),
    ]  # fmt: skip


def _frame(rows: list[tuple[object, ...]], keys: list[str], group: str) -> pl.DataFrame:
    unique: dict[tuple[object, ...], object] = {}
    for key, event_time, created, value in rows:
        unique[(key, event_time, created)] = value
    records = []
    for (key, event_time, created), value in unique.items():
        key_values = key if isinstance(key, tuple) else (key,)
        assert isinstance(event_time, dt.datetime)
        assert isinstance(created, int)
        record = dict(zip(keys, key_values, strict=True))
        record |= {"event_time": event_time, "computed_at": event_time + created * HOUR}
        if group == "tags":
            record |= {"tag": None if value is None else f"t{value}", "weight": value}
        else:
            record[{"scores": "score", "pairs": "seen"}[group]] = value
        records.append(record)
    schema = {k: (pl.Int64 if k == "user_id" else pl.String) for k in keys}
    schema |= {"event_time": pl.Datetime("us", UTC), "computed_at": pl.Datetime("us", UTC)}
    schema |= {
        "scores": {"score": pl.Int64},
        "tags": {"tag": pl.String, "weight": pl.Float64},
        "pairs": {"seen": pl.Int64},
    }[group]
    return pl.DataFrame(records, schema=schema)


def _write(store: FeatureStore, name: str, frame: pl.DataFrame) -> None:
    """Two commits: the second holds the late rows (and corrections) of the first's keys."""
    if frame.is_empty():
        return
    half = frame.height // 2
    for part in (frame.head(half), frame.tail(frame.height - half)):
        if not part.is_empty():
            store.write(name, part)
    store.flush()


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    scores=score_rows,
    tags=tag_rows,
    pairs=pair_rows,
    labels=label_rows,
    score_ttl=ttls,
    tag_ttl=ttls,
)
def test_sql_engines_equal_the_polars_join(
    scores: list[tuple[object, ...]],
    tags: list[tuple[object, ...]],
    pairs: list[tuple[object, ...]],
    labels: list[tuple[int, str, dt.datetime]],
    score_ttl: dt.timedelta | None,
    tag_ttl: dt.timedelta | None,
) -> None:
    with tempfile.TemporaryDirectory() as home:
        store = FeatureStore(home)
        for group in groups(score_ttl, tag_ttl):
            store.apply(group)
        _write(store, "scores", _frame(scores, ["user_id"], "scores"))
        _write(store, "tags", _frame(tags, ["item_id"], "tags"))
        _write(store, "pairs", _frame(pairs, ["user_id", "item_id"], "pairs"))
        entity_df = pl.DataFrame(
            {
                "user_id": [u for u, _, _ in labels],
                "item_id": [i for _, i, _ in labels],
                "event_timestamp": [t for _, _, t in labels],
                "label": list(range(len(labels))),
            }
        )
        expected = store.build_training_set(entity_df, FEATURES).frame
        in_duckdb = store.build_training_set(entity_df, FEATURES, engine="duckdb")
        assert_frame_equal(in_duckdb.frame, expected)
        with snowflake_account(store) as connection:
            for name in ("scores", "tags", "pairs"):
                register(connection, store, name)
            in_snowflake = store.build_training_set(
                entity_df, FEATURES, engine="snowflake", snowflake=target(connection, store)
            )
        assert_frame_equal(in_snowflake.frame, expected)
        assert in_snowflake.snapshot_ids == in_duckdb.snapshot_ids
