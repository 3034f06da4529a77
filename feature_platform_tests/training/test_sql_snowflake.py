"""Snowflake training sets: the pinned statement, labels already in Snowflake, and bad input.

Runs against fakesnow (`snowflake_standin`); the statement text itself is pinned in
``golden/snowflake_training_set.sql``, since no real Snowflake can run here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore
from feature_platform.cli import main
from feature_platform.errors import (
    NaiveTimestampError,
    SchemaMismatchError,
    SnowflakeTableStateError,
    UnsafeSnowflakeIdentifierError,
)
from feature_platform.references import GroupRequest
from feature_platform.training.duckdb_join import DuckDBOptions
from feature_platform.training.snowflake_join import SnowflakeLabels, create_statement
from feature_platform.training.sql_checks import label_columns
from feature_platform.training.sql_join import GroupSource, LabelSource, quote_name
from feature_platform_tests.training.snowflake_standin import (
    register,
    snowflake_account,
    target,
)
from feature_platform_tests.training.test_point_in_time import DAY, T, clicks_group, labels, rows

GOLDEN = Path(__file__).parent / "golden" / "snowflake_training_set.sql"
FEATURES = ["user_clicks:clicks", "user_clicks:ctr"]
US_SECOND = dt.timedelta(seconds=1)


def test_the_snowflake_statement_is_pinned() -> None:
    pairs = FeatureGroup(
        "pairs",
        Entity("pair", ["user_id", "item_id"]),
        [Feature("seen", "int64")],
        created_time="computed_at",
        start="2026-11-01",
    )
    source = LabelSource(
        '"FEATURES"."OFFLINE"."LABELS"',
        "EVENT_TIMESTAMP",
        (("USER_ID",), ("USER_ID", "ITEM_ID")),
        None,
        ("USER_ID", "ITEM_ID", "EVENT_TIMESTAMP", "LABEL"),
    )
    groups = [
        GroupSource(
            GroupRequest(clicks_group(), ("clicks", "ctr"), ("user_clicks__clicks", "ctr")),
            '"FEATURES"."OFFLINE"."USER_CLICKS"',
            ("clicks",),  # ctr: added after the snapshot read, so null
        ),
        GroupSource(
            GroupRequest(pairs, ("seen",), ("seen",)), '"FEATURES"."OFFLINE"."PAIRS"', ("seen",)
        ),
    ]
    result = '"FEATURES"."OFFLINE"."TRAINING_SET__0123456789AB"'
    assert create_statement(result, source, groups) + "\n" == GOLDEN.read_text()


@pytest.mark.parametrize("name", ['a"b', "a b", "", "1abc", "x;DROP TABLE y"])
def test_every_name_is_validated_before_it_is_quoted(name: str) -> None:
    with pytest.raises(UnsafeSnowflakeIdentifierError, match="unsafe column name"):
        quote_name(name)


@pytest.fixture
def clicks(store: FeatureStore) -> FeatureStore:
    store.apply(clicks_group())
    store.write("user_clicks", rows(("a", T - DAY / 2, T, 1, 0.5), ("b", T - 2 * DAY, T, 2, None)))
    store.write("user_clicks", rows(("a", T - DAY / 2, T + DAY, 3, 0.7)))  # a correction
    return store


@pytest.fixture
def account(clicks: FeatureStore) -> Iterator[Any]:
    with snowflake_account(clicks) as connection:
        yield connection


def _labels_table(connection: Any, timestamp_type: str = "TIMESTAMP_TZ") -> None:
    connection.cursor().execute(
        f"CREATE TABLE LABELS (USER_ID VARCHAR, EVENT_TIMESTAMP {timestamp_type}, ROW_ID INT, "
        "LABEL INT)"
    )
    connection.cursor().execute(
        "INSERT INTO LABELS VALUES "
        "('b', '2026-11-10 12:00:00+00:00', 0, 1), "
        "('a', '2026-11-10 12:00:00+00:00', 1, 0), "
        "('zz', '2026-11-09 12:00:00+00:00', 2, 1)"
    )


def test_labels_in_a_snowflake_table_join_like_the_polars_path(
    clicks: FeatureStore, account: Any
) -> None:
    register(account, clicks, "user_clicks")
    _labels_table(account)
    built = clicks.build_training_set(
        SnowflakeLabels(table="labels", row_column="row_id"),  # stored upper-case
        FEATURES,
        engine="snowflake",
        snowflake=target(account, clicks),
    )
    expected = clicks.build_training_set(
        labels(("b", T), ("a", T), ("zz", T - DAY)), FEATURES
    ).frame
    assert built.frame.columns == [
        "USER_ID",
        "EVENT_TIMESTAMP",
        "ROW_ID",
        "LABEL",
        *["clicks", "ctr"],
    ]
    assert_frame_equal(built.frame.select("clicks", "ctr"), expected.select("clicks", "ctr"))
    assert built.frame["ROW_ID"].to_list() == [0, 1, 2]
    assert built.table is not None
    assert built.table.startswith('"FEATURES"."OFFLINE"."TRAINING_SET__')
    assert built.statement is not None
    assert built.statement.startswith("CREATE OR REPLACE TABLE")
    stored = account.cursor().execute(f"SELECT COUNT(*) FROM {built.table}").fetchall()
    assert stored == [(3,)]


def test_a_query_without_row_numbers_is_ordered_by_timestamp_then_keys(
    clicks: FeatureStore, account: Any
) -> None:
    register(account, clicks, "user_clicks")
    _labels_table(account)
    built = clicks.build_training_set(
        SnowflakeLabels(query="SELECT USER_ID, EVENT_TIMESTAMP FROM LABELS;"),
        ["user_clicks:clicks"],
        engine="snowflake",
        snowflake=target(account, clicks),
    )
    assert built.frame["USER_ID"].to_list() == ["zz", "a", "b"]
    assert built.frame["clicks"].to_list() == [None, 3, None]  # b's row is older than the ttl


def _no_result_table(connection: Any) -> bool:
    found = connection.cursor().execute(
        "SELECT COUNT(*) FROM FEATURES.INFORMATION_SCHEMA.TABLES "
        "WHERE TABLE_NAME LIKE 'TRAINING_SET%'"
    )
    return bool(found.fetchall() == [(0,)])


def test_a_group_not_registered_is_refused_before_any_statement(
    clicks: FeatureStore, account: Any
) -> None:
    with pytest.raises(SnowflakeTableStateError, match=r"not registered.*snowflake/<group>"):
        clicks.build_training_set(
            labels(("a", T)), FEATURES, engine="snowflake", snowflake=target(account, clicks)
        )
    assert _no_result_table(account)


def test_a_table_not_refreshed_to_the_snapshot_is_refused(
    clicks: FeatureStore, account: Any
) -> None:
    register(account, clicks, "user_clicks")
    clicks.write("user_clicks", rows(("c", T, T, 9, None)))  # Snowflake has not seen this
    with pytest.raises(SnowflakeTableStateError, match="materialize snowflake/user_clicks"):
        clicks.build_training_set(
            labels(("a", T)), FEATURES, engine="snowflake", snowflake=target(account, clicks)
        )
    assert _no_result_table(account)


def test_an_older_snapshot_cannot_be_read_in_snowflake(clicks: FeatureStore, account: Any) -> None:
    register(account, clicks, "user_clicks")
    first = clicks.table("user_clicks").snapshots()[0].snapshot_id
    with pytest.raises(SnowflakeTableStateError, match="engine='polars' or 'duckdb'"):
        clicks.build_training_set(
            labels(("a", T)),
            FEATURES,
            as_of={"user_clicks": first},
            engine="snowflake",
            snowflake=target(account, clicks),
        )
    built = clicks.build_training_set(  # DuckDB reads that snapshot, as polars does
        labels(("a", T)), FEATURES, as_of={"user_clicks": first}, engine="duckdb"
    )
    assert built.frame["clicks"].to_list() == [1]


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        ("SELECT EVENT_TIMESTAMP FROM LABELS", SchemaMismatchError, "join key of feature group"),
        ("SELECT USER_ID FROM LABELS", SchemaMismatchError, "timestamp column"),
        (
            "SELECT USER_ID, EVENT_TIMESTAMP::TIMESTAMP_NTZ AS EVENT_TIMESTAMP FROM LABELS",
            NaiveTimestampError,
            "TIMESTAMP_NTZ, not an instant",
        ),
        (
            'SELECT USER_ID, EVENT_TIMESTAMP, LABEL AS "my label" FROM LABELS',
            UnsafeSnowflakeIdentifierError,
            "my label",
        ),
    ],
)
def test_bad_label_sources_are_refused_before_any_statement(
    clicks: FeatureStore, account: Any, query: str, error: type[Exception], message: str
) -> None:
    register(account, clicks, "user_clicks")
    _labels_table(account)
    with pytest.raises(error, match=message):
        clicks.build_training_set(
            SnowflakeLabels(query=query),
            FEATURES,
            engine="snowflake",
            snowflake=target(account, clicks),
        )
    assert _no_result_table(account)


def test_sub_microsecond_label_instants_are_refused_by_the_sql_engines(
    clicks: FeatureStore,
) -> None:
    entity = labels(("a", T)).with_columns(
        pl.col("event_timestamp").dt.cast_time_unit("ns") + pl.duration(nanoseconds=1)
    )
    with pytest.raises(ValueError, match="finer than a microsecond"):
        clicks.build_training_set(entity, FEATURES, engine="duckdb")
    assert clicks.build_training_set(entity, FEATURES).frame["clicks"].to_list() == [3]


def test_a_feature_added_later_reads_null_at_an_older_snapshot(clicks: FeatureStore) -> None:
    first = clicks.table("user_clicks").current_snapshot()
    assert first is not None
    clicks.apply(clicks_group(features=[*clicks_group().features, Feature("depth", "int64")]))
    entity = labels(("a", T))
    features = [*FEATURES, "user_clicks:depth"]
    expected = clicks.build_training_set(entity, features, as_of={"user_clicks": first.snapshot_id})
    built = clicks.build_training_set(
        entity, features, as_of={"user_clicks": first.snapshot_id}, engine="duckdb"
    )
    assert_frame_equal(built.frame, expected.frame)
    assert built.frame["depth"].dtype == pl.Int64
    assert built.frame["depth"].to_list() == [None]


def test_label_columns_match_case_insensitively_only_when_unambiguous() -> None:
    requests = [GroupRequest(clicks_group(), ("clicks",), ("clicks",))]
    found = label_columns([("USER_ID", 2), ("TS", 7)], "ts", requests)
    assert found == ("TS", (("USER_ID",),))
    with pytest.raises(SchemaMismatchError, match="several columns match it"):
        label_columns([("USER_ID", 2), ("User_Id", 2), ("TS", 6)], "TS", requests)


def test_cli_prints_the_snowflake_sql_without_an_account_and_runs_duckdb(
    clicks: FeatureStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(clicks.config.home))
    entity = tmp_path / "labels.parquet"
    labels(("a", T), ("zz", T)).write_parquet(entity)
    base = ["training-set", "--entities", str(entity), "--features", ",".join(FEATURES)]
    assert main([*base, "--engine", "snowflake", "--print-sql"]) == 0
    printed = capsys.readouterr().out
    snapshot = clicks.table("user_clicks").current_snapshot()
    assert snapshot is not None
    assert f'-- snapshots read: {{"user_clicks": {snapshot.snapshot_id}}}' in printed
    assert 'CREATE OR REPLACE TABLE "FEATURES"."OFFLINE"."TRAINING_SET__' in printed
    assert 'FROM "FEATURES"."OFFLINE"."USER_CLICKS"' in printed

    out = tmp_path / "duck.parquet"
    assert main([*base, "--engine", "duckdb", "--out", str(out)]) == 0
    expected = clicks.build_training_set(labels(("a", T), ("zz", T)), FEATURES).frame
    assert_frame_equal(pl.read_parquet(out), expected)
    capsys.readouterr()
    assert main([*base, "--print-sql"]) == 2
    assert "add --engine snowflake" in capsys.readouterr().err


def test_an_empty_label_frame_gives_an_empty_training_set_in_every_engine(
    clicks: FeatureStore, account: Any
) -> None:
    empty = labels().cast({"user_id": pl.String})
    expected = clicks.build_training_set(empty, FEATURES).frame
    register(account, clicks, "user_clicks")
    for engine in ("duckdb", "snowflake"):
        built = clicks.build_training_set(
            empty, FEATURES, engine=engine, snowflake=target(account, clicks)
        )
        assert_frame_equal(built.frame, expected)


def test_duckdb_under_a_tight_memory_limit_gives_the_exact_result(
    store: FeatureStore, tmp_path: Path
) -> None:
    """64 MB for 200k feature rows and 50k labels: DuckDB must work within it (spilling)."""
    origin = T - 30 * DAY
    store.apply(
        FeatureGroup(
            "wide",
            Entity("user", ["user_id"], key_dtypes={"user_id": "int64"}),
            [Feature("v", "int64"), Feature("s", "string")],
            created_time="computed_at",
            start="2026-10-01",
        )
    )
    n = 200_000
    instants = pl.datetime_range(origin, origin + (n - 1) * US_SECOND, "1s", eager=True)
    store.write(
        "wide",
        pl.DataFrame({"user_id": pl.int_range(n, eager=True) % 5000, "event_time": instants})
        .with_columns(computed_at=pl.col("event_time"), v=pl.int_range(n))
        .with_columns(s=pl.format("value-{}-with-some-padding", pl.col("v"))),
    )
    entity = pl.DataFrame(
        {
            "user_id": pl.int_range(50_000, eager=True) % 6000,
            "event_timestamp": pl.datetime_range(
                origin, origin + 49_999 * 4 * US_SECOND, "4s", eager=True
            ),
        }
    )
    spill = tmp_path / "spill"
    options = DuckDBOptions(memory_limit="64MB", temp_directory=str(spill), threads=1)
    built = store.build_training_set(entity, ["wide:v", "wide:s"], engine="duckdb", duckdb=options)
    assert_frame_equal(built.frame, store.build_training_set(entity, ["wide:v", "wide:s"]).frame)
    assert spill.is_dir()
