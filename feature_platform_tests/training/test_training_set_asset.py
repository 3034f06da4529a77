"""The `training_sets/<name>` asset and the `training-set` CLI on the demo, end to end."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.cli import main
from feature_platform.definitions import build_definitions
from feature_platform.demo.training_sets import CLICK_THROUGH, click_labels
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.orchestration.training_assets import (
    TrainingSetRunConfig,
    training_set_asset_key,
)
from feature_platform.time_windows import TimeWindow
from feature_platform.training.storage import SOURCES_PROPERTY, training_set_namespace
from feature_platform_tests.helpers import read_independently

RANGE = {"dagster/asset_partition_range_start", "dagster/asset_partition_range_end"}
LABELS = TimeWindow.of("2026-11-04", "2026-11-05")


def _materialize(home: Path, path: list[str], first: str, last: str) -> None:
    definitions = build_definitions()
    result = dg.materialize(
        [definitions.get_assets_def(dg.AssetKey(path))],
        resources={"feature_store": FeatureStoreResource(home=str(home))},
        tags=dict(zip(sorted(RANGE), [last, first], strict=True)),
    )
    assert result.success


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Events of 2026-11-01 ... 11-04 and both demo groups for 11-03 ... 11-04."""
    home = tmp_path_factory.mktemp("training") / "home"
    _materialize(home, ["demo", "click_events"], "2026-11-01", "2026-11-04")
    _materialize(home, ["features", "user_engagement"], "2026-11-03", "2026-11-04")
    _materialize(home, ["features", "article_popularity"], "2026-11-03-00:00", "2026-11-04-23:00")
    return home


def _build(home: Path) -> dg.ExecuteInProcessResult:
    key = training_set_asset_key(CLICK_THROUGH.name)
    return dg.materialize(
        [build_definitions().get_assets_def(key)],
        resources={"feature_store": FeatureStoreResource(home=str(home))},
        run_config=dg.RunConfig(
            ops={
                "training_sets__click_through": TrainingSetRunConfig(
                    labels_start=LABELS.start.isoformat(), labels_end=LABELS.end.isoformat()
                )
            }
        ),
    )


def test_asset_stores_the_training_set_with_its_source_snapshots(demo_home: Path) -> None:
    result = _build(demo_home)
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    store = FeatureStore(demo_home)
    table = store.catalog.load_table((training_set_namespace(store.config), CLICK_THROUGH.name))
    stored = read_independently(table)
    labels = click_labels(store, LABELS)

    assert stored.height == labels.height == metadata["rows"].value > 1_000
    assert stored.columns == [*labels.columns, *[f.split(":")[1] for f in CLICK_THROUGH.features]]
    sources = {
        name: store.table(name).current_snapshot().snapshot_id  # type: ignore[union-attr]
        for name in ("user_engagement", "article_popularity")
    }
    assert metadata["source_snapshots"].value == sources
    summary = table.current_snapshot().summary.additional_properties  # type: ignore[union-attr]
    assert json.loads(summary[SOURCES_PROPERTY]) == sources

    # The stored rows are the library's join of the same labels, row for row.
    expected = store.get_historical_features(labels, list(CLICK_THROUGH.features))
    assert stored.sort("event_id").equals(expected.sort("event_id"))
    # The features are really there: most impressions have both user and article history.
    assert stored["clicks_7d"].null_count() < stored.height / 2
    assert stored["ctr_24h"].null_count() < stored.height / 2
    assert stored["clicked"].sum() > 0

    again = _build(demo_home)  # a rebuild replaces the content instead of appending to it
    assert again.success
    assert read_independently(table.refresh()).height == stored.height


def test_labels_are_clicks_within_a_minute_of_the_impression(demo_home: Path) -> None:
    store = FeatureStore(demo_home)
    labels = click_labels(store, LABELS)
    events = pl.from_arrow(store.catalog.load_table(("raw", "click_events")).scan().to_arrow())
    assert isinstance(events, pl.DataFrame)
    impressions = events.filter(
        (pl.col("event_type") == "impression")
        & pl.col("event_time").is_between(LABELS.start, LABELS.end, "left")
    )
    assert labels.height == impressions.height
    assert labels["event_timestamp"].is_sorted()
    clicked = labels.filter("clicked").row(0, named=True)
    follow_up = events.filter(
        (pl.col("event_type") == "click")
        & (pl.col("user_id") == clicked["user_id"])
        & (pl.col("article_id") == clicked["article_id"])
        & pl.col("event_time").is_between(
            clicked["event_timestamp"],
            clicked["event_timestamp"] + dt.timedelta(minutes=1),
        )
    )
    assert follow_up.height >= 1


def test_cli_builds_from_a_label_file_and_rebuilds_exactly_as_of(
    demo_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(demo_home))
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "user_id,article_id,event_timestamp,label\n"
        "u00018,a00001,2026-11-04T12:00:00Z,1\n"
        "u00018,a00001,2026-11-04T13:00:00+01:00,0\n"
        "nobody,a99999,2026-11-04T00:00:00Z,0\n"
    )
    out = tmp_path / "out" / "training.parquet"
    features = "user_engagement:clicks_7d,article_popularity:ctr_24h"
    args = ["training-set", "--entities", str(labels), "--features", features, "--out", str(out)]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    frame = pl.read_parquet(out)
    assert report["rows"] == frame.height == 3
    assert frame.columns == [
        "user_id",
        "article_id",
        "event_timestamp",
        "label",
        "clicks_7d",
        "ctr_24h",
    ]
    assert frame["clicks_7d"][0] is not None
    assert frame["clicks_7d"][0] == frame["clicks_7d"][1]  # 13:00+01:00 is the same instant
    assert frame.row(2)[-2:] == (None, None)

    replay = tmp_path / "replay.parquet"
    as_of = json.dumps(report["as_of"])
    assert main([*args[:-1], str(replay), "--as-of", as_of]) == 0
    assert pl.read_parquet(replay).equals(frame)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("user_id,event_timestamp\nu1,2026-11-04T12:00:00\n", "has no time zone"),
        ("user_id,event_timestamp\nu1,yesterday\n", "is not ISO 8601 timestamps"),
        ("user_id,when\nu1,2026-11-04T12:00:00Z\n", "no timestamp column 'event_timestamp'"),
    ],
)
def test_cli_rejects_bad_label_files(
    demo_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    message: str,
) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(demo_home))
    labels = tmp_path / "labels.csv"
    labels.write_text(content)
    out = tmp_path / "out.parquet"
    args = ["training-set", "--entities", str(labels), "--features", "user_engagement:clicks_7d"]
    assert main([*args, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_cli_refuses_unknown_file_formats(
    demo_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(demo_home))
    labels = tmp_path / "labels.xlsx"
    labels.write_text("")
    args = ["training-set", "--entities", str(labels), "--features", "user_engagement:clicks_7d"]
    assert main([*args, "--out", str(tmp_path / "o.parquet")]) == 2
    assert "use one of ['.parquet', '.csv', '.json']" in capsys.readouterr().err
