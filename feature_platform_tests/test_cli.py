"""The command line: the demo (README command 1), dagster's CLI on our definitions, inspection."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from feature_platform import FeatureStore
from feature_platform.cli import main
from feature_platform.cli.demo import dagster_ui_environment
from feature_platform.orchestration.instance import prepare_dagster_home
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform_tests.helpers import read_independently
from feature_platform_tests.servers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_env(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(home))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return home


def test_demo_materializes_into_the_instance_the_ui_reads(
    demo_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run as a user does, in its own process: a short summary, Dagster's log in a file."""
    demo = subprocess.run(
        [sys.executable, "-m", "feature_platform.cli", "demo", "--days", "1", "--no-ui"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"},
    )
    assert demo.returncode == 0, demo.stderr
    output = demo.stdout + demo.stderr  # everything the terminal shows
    assert "ok     features/user_engagement" in output
    assert "ok     features/article_popularity" in output
    assert "ok     training_sets/click_through" in output
    assert "ok     online/user_engagement" in output
    assert "dropped 3 landing file(s)" in output
    assert len(output.splitlines()) < 30, output
    assert "DEBUG" not in output
    assert "Warning" not in output
    log = demo_env / "logs" / "demo.log"
    assert f"Dagster's log of these runs: {log}" in output
    assert "RUN_SUCCESS" in log.read_text()
    _assert_online_equals_offline_latest_live(FeatureStore(demo_env))

    dagster_home = demo_env / "dagster"
    assert f"Dagster home: {dagster_home}\n" in output  # DAGSTER_HOME defaults into the home
    assert "enabled: false" in (dagster_home / "dagster.yaml").read_text()
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 2
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 4
        users = instance.get_materialized_partitions(dg.AssetKey(["features", "user_engagement"]))
        articles = instance.get_materialized_partitions(
            dg.AssetKey(["features", "article_popularity"])
        )
        events = instance.get_materialized_partitions(dg.AssetKey(["demo", "click_events"]))
    assert len(users) == 1
    assert len(articles) == 24
    assert len(events) == 7  # the feature day and the six days its 7-day aggregates read

    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "article_popularity\tarticle\thourly\tonline" in listing
    assert main(["describe", "user_engagement"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["rows"] > 100
    assert described["owner"] == "team:recsys"


def _assert_online_equals_offline_latest_live(store: FeatureStore) -> None:
    """The differential check: every entity's online values are its offline latest live row.

    The expectation is computed independently: from the table's files (not our reader), the
    latest row per entity by (event_time, created_at), dropping rows older than the ttl.
    """
    now = dt.datetime.now(dt.UTC)
    for group in store.list_feature_groups():
        assert group.ttl is not None
        rows = read_independently(store.table(group.name))
        keys = list(group.join_keys)
        latest = (
            rows.sort([*keys, "event_time", "created_at"])
            .group_by(keys, maintain_order=True)
            .last()
            .filter(pl.col("event_time") >= now - group.ttl)
            .sort(keys)
        )
        everyone = rows.select(keys).unique().sort(keys)
        online = store.get_online_features(
            [f"{group.name}:{f}" for f in group.feature_names], everyone, now=now
        )
        expected = everyone.join(
            latest.select(*keys, *group.feature_names), on=keys, how="left"
        ).sort(keys)
        assert latest.height > 100
        assert online.sort(keys).equals(expected), group.name


def test_describe_unknown_group_is_a_clear_error(
    demo_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["describe", "nope"]) == 2
    assert "unknown feature group 'nope': apply it first" in capsys.readouterr().err


def test_dagster_cli_materializes_a_partition(demo_env: Path) -> None:
    """`dagster asset materialize --partition` (the scaffold's README command) on our definitions;
    ranges go through `feature-platform backfill` (test_cli_backfill.py)."""
    prepare_dagster_home(demo_env)
    events = dg.materialize(
        [_asset("demo/click_events")],
        resources={"feature_store": FeatureStoreResource(home=str(demo_env))},
        tags={
            "dagster/asset_partition_range_start": "2026-11-01",
            "dagster/asset_partition_range_end": "2026-11-03",
        },
    )
    assert events.success
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "asset",
        "materialize",
        "-m",
        "feature_platform.definitions",
        "--select",
        "features/user_engagement",
        "--partition",
        "2026-11-03",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]

    stored = FeatureStore(demo_env).read("user_engagement")
    days = sorted(stored.get_column("event_time").dt.date().unique().to_list())
    assert [d.isoformat() for d in days] == ["2026-11-03"]


def _asset(key: str) -> dg.AssetsDefinition:
    from feature_platform.definitions import build_definitions

    return build_definitions().get_assets_def(dg.AssetKey.from_user_string(key))


def _graphql(port: int, query: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_the_dagster_ui_gets_the_home_given_to_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--home` reaches the UI's processes, and this process's environment is left alone."""
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(tmp_path / "elsewhere"))
    home = tmp_path / "demo"
    env = dagster_ui_environment(home, home / "dagster")
    assert env["FEATURE_PLATFORM_HOME"] == str(home)
    assert env["DAGSTER_HOME"] == str(home / "dagster")
    assert os.environ["FEATURE_PLATFORM_HOME"] == str(tmp_path / "elsewhere")


def test_demo_command_serves_the_dagster_ui_on_loopback(home: Path, tmp_path: Path) -> None:
    """README command 1, minus the install: materialize, then the UI answers on 127.0.0.1."""
    port = free_port()
    env = {**os.environ, "FEATURE_PLATFORM_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "feature-platform"),
            "demo",
            "--days",
            "1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        answer: dict[str, object] | None = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = _graphql(port, "{ assetNodes { assetKey { path } } }")
                break
            except OSError:
                time.sleep(1)
        assert answer is not None, (tmp_path / "demo.log").read_text()[-3000:]
        keys = sorted("/".join(n["assetKey"]["path"]) for n in answer["data"]["assetNodes"])  # type: ignore[index]
        assert keys == [
            "compaction/article_popularity",
            "compaction/user_engagement",
            "demo/click_events",
            "features/article_popularity",
            "features/user_engagement",
            "online/article_popularity",
            "online/user_engagement",
            "snowflake/article_popularity",
            "snowflake/user_engagement",
            "training_sets/click_through",
        ]
        materialized = _graphql(
            port,
            '{ assetNodeOrError(assetKey: {path: ["features", "user_engagement"]}) '
            "{ ... on AssetNode { partitionStats { numMaterialized } } } }",
        )
        stats = materialized["data"]["assetNodeOrError"]["partitionStats"]  # type: ignore[index]
        assert stats["numMaterialized"] == 1
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_registry_module_replaces_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from feature_platform.definitions import build_definitions
    from feature_platform.errors import ConfigurationError
    from feature_platform.registry import load_feature_groups

    (tmp_path / "my_features.py").write_text(
        textwrap.dedent(
            """
            import dataclasses
            import datetime as dt

            from feature_platform.demo import feature_groups as demo
            from feature_platform.sources import FeatureGroupDefinition

            GROUP = dataclasses.replace(demo.USER_ENGAGEMENT, name="readers")
            FEATURE_GROUPS = [
                FeatureGroupDefinition(
                    GROUP, demo.user_engagement, demo.CLICK_EVENTS, dt.timedelta(days=6)
                )
            ]
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FEATURE_PLATFORM_REGISTRY", "my_features")
    keys = sorted(s.key.to_user_string() for s in build_definitions().resolve_all_asset_specs())
    assert keys == [
        "compaction/readers",
        "demo/click_events",
        "features/readers",
        "online/readers",
        "snowflake/readers",
    ]
    sensors = [s.name for s in build_definitions().sensors or []]
    assert sensors == ["readers_landing_files", "feature_platform_automation"]

    monkeypatch.setenv("FEATURE_PLATFORM_REGISTRY", "no_such_module")
    with pytest.raises(ConfigurationError, match="cannot load FEATURE_GROUPS"):
        load_feature_groups()
