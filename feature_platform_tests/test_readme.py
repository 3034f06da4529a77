"""Every code block of README.md runs as written, so no example can rot.

A newcomer pastes the README's examples into a shell and a Python session in a fresh checkout
after the demo. So does this test: in a temporary folder, after `feature-platform demo --no-ui`,
the Python blocks run in order in one interpreter (a block may use what an earlier one defined),
and each shell block runs in bash with `set -euo pipefail`, where `uv run X` runs X from this
environment (the checkout's environment is the one `uv run` would use). The few lines that
cannot run here (installing, `dagster dev`, the benchmarks and the test suite itself) are named
below; any other line that is not run fails the test, so nothing is skipped silently.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[1] / "README.md"
BIN = Path(sys.executable).parent
# Lines a test cannot run, each for a reason: the install-and-run commands (this environment is
# installed already; the demo runs below, the suite is running), servers that do not return, and
# the benchmarks (minutes each; their figures are measured on purpose, not in tests).
NOT_RUN = (
    re.compile(r"^python3 -m pip install uv && "),
    re.compile(r"^uv run (dagster|feature-platform) dev\b|^uv run feature-platform demo\b"),
    re.compile(r"^uv run dagster dev\b"),
    re.compile(r"^uv run --group bench "),
    re.compile(r"^uv run python -m benchmarks\."),
    re.compile(r"^uv run pytest -m drill\b"),  # the failure drills, part of the suite
)
DEMO_DAYS = 2


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int  # where the block starts in README.md, for failure messages


def readme_blocks() -> list[Block]:
    """The fenced code blocks of the README with their language."""
    blocks, language, lines, start = [], None, [], 0
    for number, text in enumerate(README.read_text().splitlines(), start=1):
        if language is None and text.startswith("```"):
            language, lines, start = text[3:].strip(), [], number
        elif language is not None and text.startswith("```"):
            blocks.append(Block(language, "\n".join(lines) + "\n", start))
            language = None
        elif language is not None:
            lines.append(text)
    assert language is None, "an unclosed code block in README.md"
    return blocks


def shell_commands(code: str) -> list[str]:
    """Commands of a shell block: continuation lines joined, comments and blanks dropped."""
    commands, current = [], ""
    for text in code.splitlines():
        stripped = text.split("  # ")[0].rstrip() if not text.lstrip().startswith("#") else ""
        if not stripped and not current:
            continue
        current += stripped.rstrip("\\").strip() + " " if stripped.endswith("\\") else stripped
        if not stripped.endswith("\\"):
            commands.append(" ".join(current.split()))
            current = ""
    return [c for c in commands if c and not c.startswith("#")]


def runnable(command: str) -> bool:
    return not any(pattern.search(command) for pattern in NOT_RUN)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the demo ran, as after the README's first command."""
    folder = tmp_path_factory.mktemp("readme")
    environment = _environment()
    demo = subprocess.run(
        [str(BIN / "feature-platform"), "demo", "--no-ui", "--days", str(DEMO_DAYS)],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    return folder


def _environment() -> dict[str, str]:
    """This environment first on PATH; nothing of the test process's feature_platform setup."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FEATURE_PLATFORM_", "DAGSTER_", "PYTEST_"))
    }
    environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"
    return environment


# `uv run X` runs X from the checkout's environment, which is what uv does once it is synced.
# In a subshell (`uv run X &`) X replaces it, so `$!` is X's pid, as it is uv's with real uv.
UV_RUN = (
    'uv() { if [ "$1" = run ]; then shift; if [ "$BASHPID" != "$$" ]; then exec "$@"; fi; "$@"; '
    'else command uv "$@"; fi; }\n'
)


def test_the_readme_has_examples_of_both_kinds() -> None:
    languages = [block.language for block in readme_blocks()]
    assert languages.count("python") >= 3
    assert languages.count("bash") >= 6
    assert set(languages) <= {"python", "bash", "text", ""}, set(languages)


def test_every_line_not_run_is_named() -> None:
    skipped = [
        command
        for block in readme_blocks()
        if block.language == "bash"
        for command in shell_commands(block.code)
        if not runnable(command)
    ]
    # The two commands on top, and the commands that serve or measure.
    assert skipped[:2] == [
        "python3 -m pip install uv && python3 -m uv sync --frozen && python3 -m uv run "
        "feature-platform demo",
        "python3 -m pip install uv && python3 -m uv sync --frozen && python3 -m uv run pytest",
    ]
    for command in skipped[2:]:
        assert re.search(r"\b(dev|benchmarks|pytest)\b", command), command


def test_every_readme_example_runs_as_written(workdir: Path) -> None:
    """The blocks in README order: Python in one namespace, shell blocks in bash."""
    environment = _environment()
    namespace: dict[str, object] = {"__name__": "__readme__"}
    previous = Path.cwd()
    saved = dict(os.environ)
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(environment)
    try:
        for block in readme_blocks():
            if block.language == "python":
                _run_python(block, namespace)
            elif block.language == "bash":
                _run_shell(block, workdir, environment)
    finally:
        os.chdir(previous)
        os.environ.clear()
        os.environ.update(saved)


def _run_python(block: Block, namespace: dict[str, object]) -> None:
    try:
        exec(compile(block.code, f"README.md:{block.line}", "exec"), namespace)
    except Exception as exc:
        raise AssertionError(f"the Python block at README.md:{block.line} failed: {exc!r}") from exc


def _run_shell(block: Block, workdir: Path, environment: dict[str, str]) -> None:
    commands = [c for c in shell_commands(block.code) if runnable(c)]
    if not commands:
        return
    script = "set -euo pipefail\n" + UV_RUN + "\n".join(commands) + "\n"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"the shell block at README.md:{block.line} failed ({done.returncode}):\n{script}\n"
        f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
    )
