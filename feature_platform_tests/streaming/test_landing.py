"""Landing files: pushed once by sensor-launched runs; bad files quarantined with the reason."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore, StoreConfig
from feature_platform.demo.feature_groups import ARTICLE_POPULARITY
from feature_platform.demo.landing import write_demo_landing_files
from feature_platform.orchestration.landing_sensors import evaluate_landing
from feature_platform.streaming.landing import LandingZone, parse_landing_file
from feature_platform_tests.helpers import read_independently
from feature_platform_tests.streaming.push_runs import run_push

NOW = dt.datetime(2026, 11, 10, 15, 20, tzinfo=dt.UTC)
GROUP = ARTICLE_POPULARITY.name


@pytest.fixture
def landing_home(home: Path) -> Path:
    store = FeatureStore(home)
    store.apply(ARTICLE_POPULARITY)
    store.close()
    return home


def _zone(home: Path) -> LandingZone:
    return LandingZone.from_config(StoreConfig.embedded(home))


def test_each_file_is_launched_once_pushed_once_and_filed_away(landing_home: Path) -> None:
    files = write_demo_landing_files(StoreConfig.embedded(landing_home), now=NOW, hours=3)
    assert len(files) == 3
    expected = pl.concat([pl.read_parquet(path) for path in files])
    zone = _zone(landing_home)

    first = evaluate_landing(zone, GROUP, None, now=1000.0)
    assert len(first.run_requests) == 1
    assert json.loads(first.run_requests[0].tags["landing_files"]) == 3
    # A sensor restart (same cursor) or a second tick launches nothing while the run is pending.
    again = evaluate_landing(zone, GROUP, first.cursor, now=1030.0)
    assert again.run_requests == []

    result = run_push(landing_home, first.run_requests[0])
    assert result.success
    store = FeatureStore(landing_home)
    pushed = read_independently(store.table(GROUP))
    assert pushed.height == expected.height > 0
    assert zone.pending(GROUP) == []
    processed = [p.name for p in (landing_home / "landing" / "_processed" / GROUP).iterdir()]
    assert sorted(name.split("-", 1)[1] for name in processed) == sorted(p.name for p in files)

    # Online too (the group is online): the latest hour's values are served.
    article = expected.sort("event_time").row(-1, named=True)
    online = store.get_online_features(
        [f"{GROUP}:clicks_24h"], [{"article_id": article["article_id"]}], now=NOW
    )
    assert online["clicks_24h"].to_list() == [article["clicks_24h"]]

    # Rerunning the same run (a retry after a crash) commits nothing twice.
    snapshots = len(store.table(GROUP).snapshots())
    assert run_push(landing_home, first.run_requests[0]).success
    assert len(store.table(GROUP).snapshots()) == snapshots
    after = evaluate_landing(zone, GROUP, again.cursor, now=1060.0)
    assert after.run_requests == []
    assert json.loads(after.cursor or "{}") == {"in_flight": {}}


def test_an_interrupted_ingest_is_not_committed_twice(landing_home: Path) -> None:
    files = write_demo_landing_files(StoreConfig.embedded(landing_home), now=NOW, hours=1)
    rows = pl.read_parquet(files[0])
    zone = _zone(landing_home)
    [file] = zone.pending(GROUP)
    store = FeatureStore(landing_home)
    # The run claimed the file and pushed it, then died before filing it away:
    claim = zone.claim(file)
    assert claim is not None
    store.write(GROUP, rows, to="both", idempotency_key=claim.write_id)
    snapshots = len(store.table(GROUP).snapshots())
    assert [f.key for f in zone.pending(GROUP)] == [file.key]  # still waiting, same key
    tick = evaluate_landing(zone, GROUP, None, now=0.0)
    relaunch = evaluate_landing(zone, GROUP, tick.cursor, now=4000.0)  # stale: launched again
    assert len(relaunch.run_requests) == 1
    assert relaunch.run_requests[0].run_key.endswith("#relaunch1")
    assert run_push(landing_home, relaunch.run_requests[0]).success
    assert len(store.table(GROUP).snapshots()) == snapshots
    assert read_independently(store.table(GROUP)).height == rows.height
    assert zone.pending(GROUP) == []


def _naive_csv(rows: pl.DataFrame) -> bytes:
    naive = rows.with_columns(pl.col("event_time", "computed_at").dt.replace_time_zone(None))
    return naive.write_csv().encode()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.parquet", lambda rows: b"not parquet at all", "is not a readable parquet file"),
        ("naive.csv", _naive_csv, "holds naive timestamps"),
        ("partial.csv", lambda rows: b"article_id\na1\n", "missing columns"),
    ],
)
def test_bad_files_are_quarantined_with_their_reason(
    landing_home: Path, name: str, content: Callable[[pl.DataFrame], bytes], reason: str
) -> None:
    good = write_demo_landing_files(StoreConfig.embedded(landing_home), now=NOW, hours=1)
    good_rows = pl.read_parquet(good[0])
    bad = landing_home / "landing" / GROUP / name
    bad.write_bytes(content(good_rows))
    zone = _zone(landing_home)
    tick = evaluate_landing(zone, GROUP, None, now=0.0)
    result = run_push(landing_home, tick.run_requests[0])

    assert not result.success  # visible as a failed run in the UI
    quarantine = landing_home / "landing" / "_quarantine" / GROUP
    errors = list(quarantine.glob("*.error.txt"))
    assert len(errors) == 1
    assert reason in errors[0].read_text()
    assert not bad.exists()
    # The good file in the same run still landed, and nothing is relaunched.
    assert read_independently(FeatureStore(landing_home).table(GROUP)).height == good_rows.height
    assert evaluate_landing(zone, GROUP, tick.cursor, now=10.0).run_requests == []


def _as_json_producer_writes_it(rows: pl.DataFrame, shape: str) -> bytes:
    """The rows as a stream producer writes JSON: instants as ISO-8601 text, one with a local
    offset (Berlin: +01:00 in November) and one in UTC with ``Z``."""
    text = rows.with_columns(
        pl.col("event_time")
        .dt.convert_time_zone("Europe/Berlin")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.f%:z"),
        pl.col("computed_at").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"),
    )
    return (text.write_json() if shape == "records" else text.write_ndjson()).encode()


def _push_all(home: Path) -> dg.ExecuteInProcessResult:
    [request] = evaluate_landing(_zone(home), GROUP, None, now=0.0).run_requests
    return run_push(home, request)


@pytest.mark.parametrize("shape", ["records", "ndjson"])
def test_a_json_file_lands_like_the_same_rows_in_parquet(
    landing_home: Path, tmp_path: Path, shape: str
) -> None:
    [parquet] = write_demo_landing_files(StoreConfig.embedded(landing_home), now=NOW, hours=1)
    rows = pl.read_parquet(parquet)
    assert rows.height > 0
    json_home = tmp_path / "json_home"
    with FeatureStore(json_home) as store:
        store.apply(ARTICLE_POPULARITY)
    json_file = json_home / "landing" / GROUP / "article_popularity_20261110T14.json"
    json_file.parent.mkdir(parents=True)
    json_file.write_bytes(_as_json_producer_writes_it(rows, shape))

    # Read back, the JSON file holds the parquet file's rows: instants in UTC, strings intact.
    [file] = _zone(json_home).pending(GROUP)
    parsed = parse_landing_file(ARTICLE_POPULARITY, file.name, json_file.read_bytes())
    assert_frame_equal(parsed, rows)

    # Pushed, both land the same table content.
    assert _push_all(landing_home).success
    assert _push_all(json_home).success
    assert _zone(json_home).pending(GROUP) == []
    assert not (json_home / "landing" / "_quarantine").exists()
    key = ["article_id", "event_time"]
    from_parquet = read_independently(FeatureStore(landing_home).table(GROUP)).sort(key)
    from_json = read_independently(FeatureStore(json_home).table(GROUP)).sort(key)
    assert from_json.height == rows.height
    assert_frame_equal(from_json, from_parquet)
