"""The join equals a brute-force reference on generated histories (hypothesis).

The reference is the semantics written out row by row in plain Python; the engine under test
reads Iceberg in time slices (forced small here, so carried state between slices is exercised).
"""

from __future__ import annotations

import datetime as dt
import tempfile

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore

UTC = dt.UTC
ORIGIN = dt.datetime(2026, 11, 3, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)

# Instants on an hourly grid over four days, so exact ties and ttl bounds happen often.
instants = st.integers(min_value=0, max_value=96).map(lambda h: ORIGIN + h * HOUR)
feature_rows = st.lists(
    st.tuples(
        st.integers(0, 3),  # user
        instants,  # event_time
        st.integers(0, 5),  # created_at offset in hours: ties on event_time are common
        st.one_of(st.none(), st.integers(-5, 5)),  # value
    ),
    max_size=40,
)
label_rows = st.lists(st.tuples(st.integers(0, 4), instants), min_size=1, max_size=25)
ttls = st.one_of(st.none(), st.integers(1, 30).map(lambda h: h * HOUR))


def reference(
    history: list[tuple[int, dt.datetime, dt.datetime, int | None]],
    label: tuple[int, dt.datetime],
    ttl: dt.timedelta | None,
) -> int | None:
    user, t = label
    candidates = [
        row
        for row in history
        if row[0] == user and row[1] <= t and (ttl is None or row[1] >= t - ttl)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda row: (row[1], row[2]))[3]


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the suite stays deterministic
    suppress_health_check=[HealthCheck.too_slow],
)
@given(history=feature_rows, label_list=label_rows, ttl=ttls, batches=st.integers(1, 4))
def test_join_matches_brute_force_reference(
    history: list[tuple[int, dt.datetime, int, int | None]],
    label_list: list[tuple[int, dt.datetime]],
    ttl: dt.timedelta | None,
    batches: int,
) -> None:
    # (user, event_time, created_at) is unique, as the offline table's checks require.
    unique: dict[tuple[int, dt.datetime, int], int | None] = {}
    for user, event_time, created, value in history:
        unique[(user, event_time, created)] = value
    rows = [(u, e, e + c * HOUR, v) for (u, e, c), v in unique.items()]

    with tempfile.TemporaryDirectory() as home:
        store = FeatureStore(home)
        group = FeatureGroup(
            "scores",
            Entity("user", ["user_id"], key_dtypes={"user_id": "int64"}),
            [Feature("score", "int64")],
            created_time="computed_at",
            start="2026-11-01",
            ttl=ttl,
        )
        store.apply(group)
        for batch in range(batches):  # several files, so the read can be sliced between them
            part = rows[batch::batches]
            if part:
                store.write(
                    "scores",
                    pl.DataFrame(
                        {
                            "user_id": [r[0] for r in part],
                            "event_time": [r[1] for r in part],
                            "computed_at": [r[2] for r in part],
                            "score": [r[3] for r in part],
                        },
                        schema_overrides={"score": pl.Int64},
                    ),
                )
        entity_df = pl.DataFrame(
            {"user_id": [u for u, _ in label_list], "event_timestamp": [t for _, t in label_list]}
        )
        result = store.build_training_set(entity_df, ["scores:score"], max_rows_per_read=3)
        expected = [reference(rows, label, ttl) for label in label_list]
        assert result.frame["score"].to_list() == expected
        assert result.frame.select("user_id", "event_timestamp").equals(entity_df)
