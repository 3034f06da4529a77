"""The Dagster UI of `feature-platform demo`, in a real (headless) browser.

One demo and one browser for the module: the asset lineage as the UI draws it, an asset's
partitions (materialized and missing), and partition backfills launched as the UI launches them,
run by the daemon of `dagster dev`: one over days whose input has not arrived fails and writes
nothing; once the event log's missing days are backfilled, the same backfill succeeds, shows up
in the Partitions tab, and the automation sensor then runs the online sync, the Snowflake
registration and the training set by itself. Screenshots go to `test-artifacts/ui/` at the
repository root.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from feature_platform_tests.ui.dagster_ui import (
    TERMINAL_BACKFILL_STATUSES,
    VIEWPORT,
    DemoUI,
    chromium_executable,
    chromium_page,
    partition_dot,
    running_demo,
    screenshot_on_failure,
    wait_for_graph_nodes,
    wait_for_partition_counts,
)

pytestmark = [pytest.mark.ui, pytest.mark.integration]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
SCREENSHOTS = {
    "graph": ARTIFACTS / "asset-graph.png",
    "lineage": ARTIFACTS / "lineage-user_engagement.png",
    "before": ARTIFACTS / "partitions-before.png",
    "after": ARTIFACTS / "partitions-after.png",
}
FAILURE_SCREENSHOT = ARTIFACTS / "failure.png"  # what the browser showed when the test failed
FEATURE_GROUPS = ["user_engagement", "article_popularity"]
DEMO_ASSETS = [
    "demo/click_events",
    *(f"{prefix}/{group}" for group in FEATURE_GROUPS for prefix in ("features", "online")),
    *(f"{prefix}/{group}" for group in FEATURE_GROUPS for prefix in ("compaction", "snowflake")),
    "training_sets/click_through",
]
BACKFILLED = "features/user_engagement"
# No run config: the definitions' executor already runs a run's steps in its own process.
BACKFILL_RUN_CONFIG: dict[str, Any] = {}
BACKFILL_TIMEOUT = 240
AUTOMATION_TIMEOUT = 240
EVENTS = "demo/click_events"
LOOKBACK_DAYS = 6  # user_engagement's 7-day aggregates read 6 days before their own
# What the automation sensor runs after a backfill of user_engagement (its checks pass).
AUTOMATED = {"online/user_engagement", "snowflake/user_engagement", "training_sets/click_through"}


@pytest.fixture(scope="module")
def chromium() -> Path:
    return chromium_executable()


@pytest.fixture(scope="module")
def dagster_ui(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoUI]:
    """The demo's UI; depends on `chromium` so a missing browser fails before the slow start."""
    folder = tmp_path_factory.mktemp("ui")
    with running_demo(folder / "home", folder / "demo.log", days=1) as ui:
        yield ui


@pytest.fixture
def browser_page(chromium: Path, tmp_path: Path) -> Iterator[Page]:
    with chromium_page(chromium, tmp_path / "chromium-profile") as page:
        yield page


def test_ui_shows_lineage_and_partitions_and_runs_a_backfill(
    dagster_ui: DemoUI, browser_page: Page
) -> None:
    ui, page = dagster_ui, browser_page
    started = time.monotonic()
    marks: list[tuple[str, float]] = []

    def mark(what: str) -> None:
        marks.append((what, round(time.monotonic() - started, 1)))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path in [*SCREENSHOTS.values(), FAILURE_SCREENSHOT]:
        path.unlink(missing_ok=True)
    groups = _asset_groups(ui)
    assert set(DEMO_ASSETS) <= set(groups), sorted(groups)

    with screenshot_on_failure(page, FAILURE_SCREENSHOT):
        # The Partitions tab before: the demo's one day is materialized, the others missing.
        partitions_url = f"{ui.url}/assets/{BACKFILLED}?view=partitions"
        stats = _partition_stats(ui, BACKFILLED)
        assert stats["numMaterialized"] >= 1
        before = wait_for_partition_counts(page, partitions_url, stats["numMaterialized"])
        assert before["Missing"] == stats["numPartitions"] - stats["numMaterialized"] > 0
        targets = _missing_partitions_with_events(ui)
        assert [partition_dot(page, key) for key in targets] == ["gray", "gray"]
        page.screenshot(path=str(SCREENSHOTS["before"]))
        mark("partitions before")

        # A backfill whose input has not arrived (the 7-day lookback reaches days the event
        # log lacks) fails, naming the missing days, and materializes nothing.
        refused_id = _launch_backfill(ui, BACKFILLED, targets)
        _assert_global_lineage(page, ui, groups)
        mark("global lineage")
        _assert_lineage_tabs(page, ui, groups)
        mark("lineage tabs")
        _assert_catalog(page, ui, groups)
        mark("catalog")
        status, runs = _wait_for_backfill(ui, refused_id)
        mark("incomplete backfill done")
        assert runs, ui.log_tail()
        assert all(run["status"] == "FAILURE" for run in runs), (runs, ui.log_tail())
        missing_days = _missing_input_days(ui, targets)
        failures = [message for run in runs for message in _step_failures(ui, run["runId"])]
        assert failures, runs
        assert all("is incomplete" in message for message in failures), failures
        assert any(missing_days[0] in message for message in failures), (missing_days, failures)
        assert _partition_stats(ui, BACKFILLED)["numMaterialized"] == stats["numMaterialized"]

        # Backfill the event log's missing days, then the same feature backfill succeeds.
        events_status, events_runs = _wait_for_backfill(
            ui, _launch_backfill(ui, EVENTS, missing_days)
        )
        assert events_status in {"COMPLETED", "COMPLETED_SUCCESS"}, (events_runs, ui.log_tail())
        backfill_id = _launch_backfill(ui, BACKFILLED, targets)
        status, runs = _wait_for_backfill(ui, backfill_id)
        backfilled_at = time.time()
        mark("backfill done")
        assert status in {"COMPLETED", "COMPLETED_SUCCESS"}, (status, runs, ui.log_tail())
        assert runs, "the backfill launched no run"
        assert all(run["status"] == "SUCCESS" for run in runs), (runs, ui.log_tail())
        after_stats = _partition_stats(ui, BACKFILLED)
        assert after_stats["numMaterialized"] == stats["numMaterialized"] + len(targets)
        after = wait_for_partition_counts(page, partitions_url, after_stats["numMaterialized"])
        assert after["Missing"] == before["Missing"] - len(targets)
        assert [partition_dot(page, key) for key in targets] == ["green", "green"]
        page.screenshot(path=str(SCREENSHOTS["after"]))
        mark("partitions after")

        # Nobody launches the downstream assets: the automation sensor does.
        automated = _wait_for_automated_runs(ui, AUTOMATED, since=backfilled_at)
        mark("automation ran")
        assert automated == AUTOMATED, (automated, ui.log_tail())
    print("seconds since the UI was up:", marks)

    for path in SCREENSHOTS.values():
        assert path.stat().st_size > 10_000, path  # a real rendering, not a blank page


def _asset_groups(ui: DemoUI) -> dict[str, str]:
    """Every asset key of the definitions ('features/user_engagement') with its group."""
    nodes = ui.graphql("{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    return {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}


def _node(key: str, groups: dict[str, str]) -> tuple[str, str]:
    """How the graph labels an asset: its group box and the last part of its key."""
    return groups[key], key.rsplit("/", 1)[-1]


def _assert_global_lineage(page: Page, ui: DemoUI, groups: dict[str, str]) -> None:
    """The global lineage page, all groups expanded: every asset sits in its group's box."""
    page.goto(f"{ui.url}/asset-groups")
    page.locator('foreignObject [class*="GroupNode"]').first.wait_for()  # collapsed groups
    page.locator('[aria-haspopup] button:has([aria-label="settings"])').click()
    page.get_by_role("menuitem", name="Expand all groups").click()
    page.wait_for_url("**expanded=**")
    expected = [_node(key, groups) for key in groups]
    rendered = wait_for_graph_nodes(page, set(expected), fit=True)
    assert sorted(rendered) == sorted(expected)  # each exactly once, nothing else
    page.screenshot(path=str(SCREENSHOTS["graph"]))
    page.set_viewport_size(VIEWPORT)  # `fit` made the window as tall as the graph


def _assert_lineage_tabs(page: Page, ui: DemoUI, groups: dict[str, str]) -> None:
    """Each feature group's Lineage tab: its events upstream; online, compaction, Snowflake
    registration and the training set downstream."""
    for group in FEATURE_GROUPS:
        keys = [
            "demo/click_events",
            f"features/{group}",
            f"online/{group}",
            f"compaction/{group}",
            f"snowflake/{group}",
            "training_sets/click_through",
        ]
        page.goto(f"{ui.url}/assets/features/{group}?view=lineage")
        rendered = wait_for_graph_nodes(page, {_node(key, groups) for key in keys})
        assert len(rendered) == len(keys), sorted(rendered)  # nearest neighbours only
        if f"features/{group}" == BACKFILLED:
            page.screenshot(path=str(SCREENSHOTS["lineage"]))


def _assert_catalog(page: Page, ui: DemoUI, groups: dict[str, str]) -> None:
    """The catalog lists every asset by its full key ('compaction / user_engagement')."""
    page.goto(f"{ui.url}/assets")
    rows = page.locator('[class*="VirtualizedTable_row"]')
    for key in DEMO_ASSETS:
        row = rows.filter(has=page.locator(f'a[href="/assets/{key}"]'))
        row.wait_for()
        text = row.inner_text()
        assert key.replace("/", " / ") in text, text
        assert groups[key] in text.split("\n"), text


def _partition_stats(ui: DemoUI, key: str) -> dict[str, int]:
    query = """query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) {
        ... on AssetNode { partitionStats { numMaterialized numPartitions numFailed } } } }"""
    answer = ui.graphql(query, {"path": key.split("/")})
    return answer["assetNodeOrError"]["partitionStats"]  # type: ignore[no-any-return]


def _materialized(ui: DemoUI, key: str) -> tuple[list[str], set[str]]:
    """All partition keys of an asset, in order, and the materialized ones."""
    query = """query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) {
        ... on AssetNode { partitionKeys assetPartitionStatuses {
            ... on TimePartitionStatuses { ranges { status startKey endKey } } } } } }"""
    node = ui.graphql(query, {"path": key.split("/")})["assetNodeOrError"]
    keys: list[str] = node["partitionKeys"]
    done = set()
    for span in node["assetPartitionStatuses"]["ranges"]:
        if span["status"] == "MATERIALIZED":
            done.update(keys[keys.index(span["startKey"]) : keys.index(span["endKey"]) + 1])
    return keys, done


def _missing_partitions_with_events(ui: DemoUI) -> list[str]:
    """The two newest missing days of the backfilled group whose click events are there."""
    keys, done = _materialized(ui, BACKFILLED)
    _, events = _materialized(ui, "demo/click_events")
    targets = [key for key in reversed(keys) if key in events and key not in done][:2]
    assert len(targets) == 2, (sorted(done), sorted(events))
    return targets


def _missing_input_days(ui: DemoUI, partitions: list[str]) -> list[str]:
    """The event-log days the partitions' 7-day inputs need that the log does not have."""
    keys, events = _materialized(ui, EVENTS)
    needed = {
        keys[index]
        for partition in partitions
        for index in range(keys.index(partition) - LOOKBACK_DAYS, keys.index(partition) + 1)
    }
    missing = sorted(needed - events)
    assert missing, (partitions, sorted(events))
    return missing


def _step_failures(ui: DemoUI, run_id: str) -> list[str]:
    """The error messages of a run's failed steps."""
    query = """query($id: ID!) { logsForRun(runId: $id) { __typename
        ... on EventConnection { events { __typename
            ... on ExecutionStepFailureEvent { error { message } } } } } }"""
    events = ui.graphql(query, {"id": run_id})["logsForRun"]["events"]
    return [e["error"]["message"] for e in events if e["__typename"] == "ExecutionStepFailureEvent"]


def _wait_for_automated_runs(ui: DemoUI, keys: set[str], since: float) -> set[str]:
    """Assets that runs launched by the automation sensor after `since` materialized."""
    query = """query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}, limit: 50) {
        ... on Runs { results { runId status startTime assetSelection { path } } } } }"""
    tags = [{"key": "dagster/from_automation_condition", "value": "true"}]
    deadline = time.monotonic() + AUTOMATION_TIMEOUT
    while True:
        runs = ui.graphql(query, {"tags": tags})["runsOrError"]["results"]
        done = {
            "/".join(selected["path"])
            for run in runs
            if run["status"] == "SUCCESS" and (run["startTime"] or 0) >= since
            for selected in run["assetSelection"] or []
        }
        if keys <= done or time.monotonic() > deadline:
            return done & keys
        time.sleep(3)


def _launch_backfill(ui: DemoUI, key: str, partitions: list[str]) -> str:
    """The mutation the UI's 'Materialize…' dialog sends for a partition range of an asset."""
    mutation = """mutation($params: LaunchBackfillParams!) {
        launchPartitionBackfill(backfillParams: $params) {
            __typename
            ... on LaunchBackfillSuccess { backfillId }
            ... on PythonError { message }
            ... on InvalidSubsetError { message }
        } }"""
    params = {
        "partitionNames": partitions,
        "assetSelection": [{"path": key.split("/")}],
        "runConfigData": BACKFILL_RUN_CONFIG,
    }
    launched = ui.graphql(mutation, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]  # type: ignore[no-any-return]


def _wait_for_backfill(ui: DemoUI, backfill_id: str) -> tuple[str, list[dict[str, Any]]]:
    query = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
        __typename
        ... on PartitionBackfill { status runs(limit: 20) { runId status } }
        ... on PythonError { message } } }"""
    deadline = time.monotonic() + BACKFILL_TIMEOUT
    while True:
        backfill = ui.graphql(query, {"id": backfill_id})["partitionBackfillOrError"]
        assert backfill["__typename"] == "PartitionBackfill", backfill
        if backfill["status"] in TERMINAL_BACKFILL_STATUSES:
            return backfill["status"], backfill["runs"]
        if time.monotonic() > deadline:
            pytest.fail(
                f"backfill {backfill_id} still {backfill['status']} after {BACKFILL_TIMEOUT}s "
                f"(runs {backfill['runs']}):\n{ui.log_tail()}"
            )
        time.sleep(2)
