"""Local SQL answers the queries analysts write, and every failure is a `SqlError`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.sql import SqlError, run_sql
from feature_platform_tests.helpers import DAY_START, data_files, user_frame, user_group

UTC = dt.UTC
# `sql_store` holds events at 00:00..04:00 UTC on 2026-11-10 (clicks 0..4) and 2026-11-11
# (clicks 100..104): before 2026-11-11 02:00 UTC are the first day and clicks 100, 101.
BEFORE_2AM = [0, 1, 2, 3, 4, 100, 101]


@pytest.mark.parametrize(
    "instant",
    [
        "TIMESTAMP '2026-11-11 02:00:00+00'",
        "TIMESTAMP '2026-11-11 02:00:00'",  # no offset: UTC, the zone everything is stored in
        "TIMESTAMP '2026-11-11 04:00:00+02'",  # the offset counts: 02:00 UTC
        "TIMESTAMP '2026-11-10 23:00:00-03:00'",
        "TIMESTAMP '2026-11-11T02:00:00Z'",
        "timestamp '2026-11-11 02:00:00.000000+00'",
        "CAST('2026-11-11 04:00:00+02' AS TIMESTAMP)",
        "'2026-11-11 04:00:00+02'::timestamp",
        "TIMESTAMPTZ '2026-11-11 04:00:00+02'",
        "TIMESTAMP WITH TIME ZONE '2026-11-11 02:00:00+00'",
        "'2026-11-11 02:00:00+00'",
    ],
)
def test_timestamp_literals_compare_with_event_time(sql_store: FeatureStore, instant: str) -> None:
    query = f"SELECT clicks FROM user_stats WHERE event_time < {instant} ORDER BY clicks"
    assert run_sql(sql_store, query)["clicks"].to_list() == BEFORE_2AM


def test_timestamp_literals_are_instants_in_utc(sql_store: FeatureStore) -> None:
    row = run_sql(
        sql_store,
        "SELECT TIMESTAMP '2026-12-01 01:00:00+02' AS offset_given, "
        "TIMESTAMP '2026-12-01 01:00:00' AS no_offset, "
        "TIMESTAMP WITHOUT TIME ZONE '2026-12-01 01:00:00' AS asked_naive",
    ).row(0, named=True)
    assert row == {
        "offset_given": dt.datetime(2026, 11, 30, 23, tzinfo=UTC),
        "no_offset": dt.datetime(2026, 12, 1, 1, tzinfo=UTC),
        "asked_naive": dt.datetime(2026, 12, 1, 1),
    }
    between = run_sql(
        sql_store,
        "SELECT clicks FROM user_stats WHERE event_time BETWEEN TIMESTAMP '2026-11-11 01:00:00' "
        "AND TIMESTAMP '2026-11-11 05:00:00+02' ORDER BY clicks",
    )
    assert between["clicks"].to_list() == [101, 102]


def test_timestamp_literals_keep_the_filter_in_the_scan(sql_store: FeatureStore) -> None:
    """Reading the literal in UTC keeps the predicate pushable: same rows with and without."""
    query = "SELECT clicks FROM user_stats WHERE event_time >= TIMESTAMP '2026-11-11' ORDER BY 1"
    pushed = run_sql(sql_store, query)
    assert pushed["clicks"].to_list() == [100, 101, 102, 103, 104]
    assert pushed.equals(run_sql(sql_store, query, pushdown=False))


@pytest.mark.parametrize(
    ("query", "message", "cause"),
    [
        (
            "SELECT CAST(segment AS INT) AS n FROM user_stats",
            r"^the query failed: conversion from `str` to `i32` failed in column 'segment'",
            pl.exceptions.InvalidOperationError,
        ),
        (
            "SELECT clicks FROM user_stats WHERE clicks = 'many'",
            r"^the query failed: cannot compare string with numeric type",
            pl.exceptions.ComputeError,
        ),
        (
            "SELECT * FROM user_stats WHERE event_time < TIMESTAMP 'next tuesday'",
            r"^invalid TIMESTAMP literal 'next tuesday'$",
            pl.exceptions.SQLSyntaxError,
        ),
        (
            "SELECT nope FROM user_stats",
            r'^unable to find column "nope"; valid columns: \["user_id"',
            pl.exceptions.ColumnNotFoundError,
        ),
        (
            "SELECT user_id FROM user_stats GROUP BY",
            r"sql parser error: .*; tables: \['churn', 'user_stats', 'user_stats_latest'\]$",
            pl.exceptions.SQLInterfaceError,
        ),
    ],
)
def test_failures_are_sql_errors_with_one_clear_message(
    sql_store: FeatureStore, query: str, message: str, cause: type[Exception]
) -> None:
    with pytest.raises(SqlError, match=message) as failed:
        run_sql(sql_store, query)
    assert isinstance(failed.value.__cause__, cause)
    assert "Resolved plan" not in str(failed.value)  # polars' plan dump is left out


@pytest.mark.parametrize("pushdown", [True, False])
def test_a_lost_data_file_is_a_sql_error(store: FeatureStore, pushdown: bool) -> None:
    store.apply(user_group())
    store.write_window("user_stats", user_frame(), DAY_START, DAY_START + dt.timedelta(days=1))
    [data_file] = data_files(store.table("user_stats"))
    Path(str(data_file["file_path"]).removeprefix("file://")).unlink()
    with pytest.raises(SqlError, match=r"^the query failed: .*not found") as failed:
        run_sql(store, "SELECT * FROM user_stats", pushdown=pushdown)
    assert isinstance(failed.value.__cause__, OSError)


def test_show_tables_and_explain_still_run(sql_store: FeatureStore) -> None:
    tables = run_sql(sql_store, "SHOW TABLES").to_series().to_list()
    assert sorted(tables) == ["churn", "user_stats", "user_stats_latest"]
    plan = run_sql(sql_store, "EXPLAIN SELECT clicks FROM user_stats WHERE user_id = 'u3'")
    assert plan.height > 0
