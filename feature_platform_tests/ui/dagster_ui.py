"""What the browser test drives: the demo's `dagster dev`, its GraphQL API and headless Chromium.

Everything listens on, and talks to, 127.0.0.1 only. The browser is Debian's `chromium` (no
Playwright browser download): Playwright's Python package only drives it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, ViewportSize, sync_playwright

from feature_platform_tests.servers import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # No name but 127.0.0.1 resolves: the UI cannot reach anything off the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
VIEWPORT: ViewportSize = {"width": 1920, "height": 1200}
PAGE_TIMEOUT_MS = 60_000  # the machine is small and busy: a page's GraphQL can take a while

# Asset nodes of the rendered lineage graph with the group box each one sits in, read from the
# SVG: each group box and each asset node is a <foreignObject> whose x/y/width/height are graph
# coordinates (independent of zoom). The graph renders only nodes near the visible viewport;
# the third value says whether the node's name and its group's name are in it and not covered
# (by the toolbar, say).
_GRAPH_NODES_JS = """() => {
  const box = (fo) => ({
    x: +fo.getAttribute('x'), y: +fo.getAttribute('y'),
    w: +fo.getAttribute('width'), h: +fo.getAttribute('height'),
  });
  const view = document.querySelector('[data-svg-viewport]')?.getBoundingClientRect();
  const inView = (element) => {
    const r = element.getBoundingClientRect();
    const onTop = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    return !!view && r.left >= view.left && r.right <= view.right &&
      r.top >= view.top && r.bottom <= view.bottom && element.contains(onTop);
  };
  const groups = [...document.querySelectorAll('foreignObject')].flatMap((fo) => {
    const header = fo.querySelector('[class*="groupNodeHeaderBox"] [data-tooltip]');
    return header ? [{...box(fo), name: header.textContent.trim(), header}] : [];
  });
  return [...document.querySelectorAll('foreignObject')].flatMap((fo) => {
    const label = fo.querySelector('[class*="AssetNode_assetName"]');
    if (!label) return [];
    const n = box(fo);
    const group = groups.find((g) =>
      n.x >= g.x && n.y >= g.y && n.x + n.w <= g.x + g.w && n.y + n.h <= g.y + g.h);
    const shown = inView(label) && (!group || inView(group.header));
    return [[group ? group.name : '', label.textContent.trim(), shown]];
  });
}"""

TERMINAL_BACKFILL_STATUSES = {
    "COMPLETED",
    "COMPLETED_SUCCESS",
    "COMPLETED_FAILED",
    "FAILED",
    "CANCELED",
}


@dataclass(frozen=True)
class DemoUI:
    """A running `feature-platform demo`: its UI's port and the log of the whole process group."""

    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a GraphQL answer; any GraphQL error fails the test with its message."""
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]  # type: ignore[no-any-return]


@contextmanager
def running_demo(home: Path, log: Path, *, days: int = 1, timeout: float = 360) -> Iterator[DemoUI]:
    """`feature-platform demo --days N --port P` in its own session, until its UI answers.

    The demo materializes first, then execs `dagster dev` (webserver, daemon, code server and
    the runs it launches all stay in the session's process group); leaving the block stops the
    whole group: SIGTERM, and SIGKILL for whatever is left after 30 s.
    """
    port = free_port()
    env = {**os.environ, "FEATURE_PLATFORM_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)  # the demo puts the instance under the home
    command = [
        str(Path(sys.executable).parent / "feature-platform"),
        "demo",
        "--days",
        str(days),
        "--port",
        str(port),
    ]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        ui = DemoUI(port, log)
        _wait_until_loaded(ui, process, timeout)
        yield ui
    finally:
        stop_process_group(process)


def _wait_until_loaded(ui: DemoUI, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Until the webserver answers GraphQL with the code location's asset nodes."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"the demo exited with {process.returncode}:\n{ui.log_tail()}")
        try:
            if ui.graphql("{ assetNodes { id } }")["assetNodes"]:
                return
        except (OSError, AssertionError, ValueError):  # not up yet, or still loading code
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the Dagster UI did not answer within {timeout:.0f}s:\n{ui.log_tail()}")
        time.sleep(1)


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 30) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break  # the whole group is gone
        if sig == signal.SIGTERM:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace)
    process.wait()


def chromium_executable() -> Path:
    """Debian's Chromium; installed with apt when missing and we are root, else a clear failure."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(
            f"the UI test needs Debian's Chromium at {CHROMIUM}: install it with "
            "`sudo apt-get install -y chromium` (or skip the test with `-m 'not ui'`)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "chromium"]
    completed = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(
            ["apt-get", "-o", "DPkg::Lock::Timeout=300", "update"],
            env=env,
            capture_output=True,
            check=False,
        )
        completed = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0 or not CHROMIUM.exists():
        pytest.fail(f"`apt-get install -y chromium` failed:\n{completed.stderr[-3000:]}")
    return CHROMIUM


@contextmanager
def chromium_page(executable: Path, profile: Path) -> Iterator[Page]:
    """A page of headless Chromium on a fresh profile; the browser is closed on the way out."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(executable),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            yield page
        finally:
            context.close()


@contextmanager
def screenshot_on_failure(page: Page, path: Path) -> Iterator[None]:
    """Keep what the browser showed when the test failed."""
    try:
        yield
    except BaseException:
        with suppress(PlaywrightError):
            page.screenshot(path=str(path))
        raise


def graph_nodes(page: Page, *, in_view: bool = False) -> list[tuple[str, str]]:
    """(group, asset name) of every asset node the lineage graph renders (or shows) right now."""
    nodes = page.evaluate(_GRAPH_NODES_JS)
    return [(group, name) for group, name, visible in nodes if visible or not in_view]


# What "zoom to fit" needs to know: the graph pane and the laid-out graph's size, and a point
# of the pane's background (no node, group or button there) to double-click.
_GRAPH_GEOMETRY_JS = """() => {
  const view = document.querySelector('[data-svg-viewport]').getBoundingClientRect();
  const svg = document.querySelector('[data-svg-viewport] svg');
  let background = null;
  for (const [fx, fy] of [[0.02, 0.98], [0.02, 0.5], [0.5, 0.98], [0.98, 0.98], [0.02, 0.15]]) {
    const x = view.left + fx * view.width, y = view.top + fy * view.height;
    const hit = document.elementFromPoint(x, y);
    if (hit && hit.closest('[data-svg-viewport]') && !hit.closest('foreignObject, button')) {
      background = {x, y};
      break;
    }
  }
  return {
    top: view.top, width: view.width, height: view.height, background,
    graphWidth: +svg.getAttribute('width'), graphHeight: +svg.getAttribute('height'),
  };
}"""
_TOOLBAR_ALLOWANCE = 160  # the graph's toolbar overlaps the pane's top; some margin below


def fit_graph(page: Page) -> None:
    """Show the whole lineage graph: a double click on its background is Dagster's "zoom to fit".

    The global graph fits its *width* only, so a graph taller than the window stays cut off:
    the window is made tall enough first (screenshots come out taller, and complete).
    """
    geometry = page.evaluate(_GRAPH_GEOMETRY_JS)
    scale = min(geometry["width"] / geometry["graphWidth"], 1.0)
    needed = geometry["top"] + geometry["graphHeight"] * scale + _TOOLBAR_ALLOWANCE
    size = page.viewport_size or VIEWPORT
    if needed > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": int(needed)})
        geometry = page.evaluate(_GRAPH_GEOMETRY_JS)
    assert geometry["background"], "no empty spot of the graph to double-click"
    page.mouse.dblclick(geometry["background"]["x"], geometry["background"]["y"])


def wait_for_graph_nodes(
    page: Page, expected: set[tuple[str, str]], *, fit: bool = False, timeout: float = 60
) -> list[tuple[str, str]]:
    """Wait until every expected (group, asset) node is rendered.

    With `fit`, also zoom to fit and wait until the expected nodes and their groups' names are
    all in view: the graph only renders nodes near the viewport, and a screenshot should show
    them all.
    """
    deadline = time.monotonic() + timeout
    fitted_at = 0.0
    while True:
        rendered = graph_nodes(page, in_view=fit)
        if expected <= set(rendered):
            return graph_nodes(page)
        if time.monotonic() > deadline:
            raise AssertionError(f"the graph shows {sorted(rendered)}, expected {sorted(expected)}")
        # Once the layout is drawn (it is computed in the background), and again every few
        # seconds in case a new layout replaced the one that was fitted.
        if fit and graph_nodes(page) and time.monotonic() - fitted_at > 3:
            fit_graph(page)
            fitted_at = time.monotonic()
        page.wait_for_timeout(250)


_COUNT = re.compile(r"^(Failed|Materialized|Materializing|Missing) \((\d+)\)$")


def partition_counts(page: Page) -> dict[str, int]:
    """The status filters of an asset's Partitions tab: 'Materialized (3)', 'Missing (19)'..."""
    page.get_by_text(re.compile(r"^\d+ Partitions Selected$")).wait_for()
    counts = {}
    for text in page.get_by_text(_COUNT).all_text_contents():
        match = _COUNT.match(text.strip())
        assert match, text
        counts[match.group(1)] = int(match.group(2))
    return counts


def wait_for_partition_counts(
    page: Page, url: str, materialized: int, *, timeout: float = 90
) -> dict[str, int]:
    """Open (and reload) an asset's Partitions tab until it counts `materialized` partitions."""
    deadline = time.monotonic() + timeout
    page.goto(url)
    while True:
        counts = partition_counts(page)
        if counts.get("Materialized") == materialized:
            return counts
        if time.monotonic() > deadline:
            raise AssertionError(f"the Partitions tab counts {counts}, not {materialized} done")
        page.wait_for_timeout(2000)
        page.reload()


def partition_dot(page: Page, key: str) -> str:
    """The colour of a partition's status dot in the Partitions tab's list ('green', 'gray'...)."""
    row = page.locator('[class*="VirtualizedTable_row"]').filter(
        has=page.locator(f'[title="{key}"]')
    )
    style = row.locator('div[style*="border-radius: 100%"]').get_attribute("style") or ""
    match = re.search(r"--color-accent-(\w+)", style)
    return match.group(1) if match else style
