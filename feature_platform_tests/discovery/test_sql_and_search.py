"""Local SQL over the offline tables, and finding groups by what they describe."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.cli import main
from feature_platform.discovery import describe_group, search
from feature_platform.sql import SqlError, run_sql, sql_context
from feature_platform.training import TrainingSet
from feature_platform.training.storage import write_training_set
from feature_platform_tests.helpers import DAY_START, NEXT_DAY, user_frame, user_group


@pytest.fixture
def stocked(store: FeatureStore) -> FeatureStore:
    store.apply(user_group(ttl=dt.timedelta(days=3650), description="Reader activity per day."))
    for day, offset in ((DAY_START, 0), (NEXT_DAY, 100)):
        store.write_window(
            "user_stats", user_frame(day, offset=offset), day, day + dt.timedelta(days=1)
        )
    frame = pl.DataFrame({"user_id": ["u1"], "label": [True]})
    write_training_set(store.catalog, store.config, "churn", TrainingSet(frame, ()))
    return store


def test_groups_latest_views_and_training_sets_are_tables(stocked: FeatureStore) -> None:
    rows = run_sql(
        stocked, "SELECT user_id, clicks FROM user_stats WHERE user_id = 'u3' ORDER BY clicks"
    )
    assert rows.rows() == [("u3", 3), ("u3", 103)]
    latest = run_sql(stocked, "SELECT user_id, clicks FROM user_stats_latest ORDER BY user_id")
    assert latest["clicks"].to_list() == [100, 101, 102, 103, 104]
    daily = run_sql(
        stocked,
        "SELECT date_trunc('day', event_time) AS day, sum(clicks) AS clicks "
        "FROM user_stats GROUP BY 1 ORDER BY 1",
    )
    assert daily["clicks"].to_list() == [10, 510]
    assert run_sql(stocked, "SELECT count(*) AS n FROM churn").item() == 1
    assert set(sql_context(stocked).tables()) == {"user_stats", "user_stats_latest", "churn"}


def test_filters_reach_the_iceberg_scan(stocked: FeatureStore) -> None:
    plan = sql_context(stocked).execute("SELECT clicks FROM user_stats WHERE user_id = 'u3'")
    explained = plan.explain()
    assert "SELECTION" in explained  # the predicate sits in the parquet scan, not after it
    assert 'col("user_id")' in explained.split("SELECTION")[1]
    unpushed = sql_context(stocked, pushdown=False).execute(
        "SELECT clicks FROM user_stats WHERE user_id = 'u3'"
    )
    assert unpushed.collect().equals(plan.collect())


def test_bad_queries_name_the_tables(stocked: FeatureStore) -> None:
    with pytest.raises(SqlError, match=r"tables: .*user_stats_latest"):
        run_sql(stocked, "SELECT * FROM nope")
    with pytest.raises(SqlError):
        run_sql(stocked, "SELECT nope FROM user_stats")


def test_search_matches_every_word_anywhere_in_the_spec(stocked: FeatureStore) -> None:
    [hit] = search(stocked, "READER segment")
    assert hit.group == "user_stats"
    assert hit.matches == ("description", "feature segment")
    assert search(stocked, "clicks nothing-like-this") == []


def test_describe_reports_state_for_discovery(stocked: FeatureStore) -> None:
    facts = describe_group(stocked, "user_stats")
    assert facts["partitions_materialized"] == 2
    assert (facts["first_partition"], facts["last_partition"]) == ("2026-11-10", "2026-11-11")
    assert facts["rows"] == 10
    assert facts["online"] is False
    assert facts["freshness"]["newest_event_time"].startswith("2026-11-11T04:00:00")
    assert facts["snapshot_id"] == stocked.table("user_stats").current_snapshot().snapshot_id  # type: ignore[union-attr]


def test_cli_sql_search_and_describe(
    stocked: FeatureStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(stocked.config.home))
    assert (
        main(
            [
                "sql",
                "SELECT user_id, clicks FROM user_stats_latest ORDER BY user_id",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines()[:2] == ["user_id,clicks", "u0,100"]
    out = tmp_path / "latest.parquet"
    assert main(["sql", "SELECT * FROM user_stats_latest", "--out", str(out)]) == 0
    assert pl.read_parquet(out).height == 5
    capsys.readouterr()
    assert main(["search", "segment"]) == 0
    assert capsys.readouterr().out.startswith("user_stats\tfeature segment\t")
    assert main(["search", "zzz"]) == 1
    assert main(["describe", "user_stats"]) == 0
    assert json.loads(capsys.readouterr().out)["partitions_materialized"] == 2
    assert main(["sql", "SELEC broken"]) == 2
