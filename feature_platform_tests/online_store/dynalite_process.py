"""How the tests run dynalite: its pinned npm package (installed on first use) and its command.

The session's conformance server and the feature server's stoppable one start it the same way:
127.0.0.1 only, tables CREATING/DELETING for 20 ms so the store's waits are exercised but quick.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

DYNALITE = Path(__file__).resolve().parent / "dynalite"
DYNALITE_CLI = DYNALITE / "node_modules" / "dynalite" / "cli.js"


class DynaliteUnavailableError(RuntimeError):
    """Node.js or npm is missing, so dynalite cannot run."""


def installed_node() -> str:
    """The `node` to run dynalite with, after `npm ci` of the pinned package if needed.

    Raises:
        DynaliteUnavailableError: Node.js or npm is not on PATH.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise DynaliteUnavailableError(
            "the DynamoDB tests need Node.js and npm on PATH to run dynalite"
        )
    if not DYNALITE_CLI.exists():
        subprocess.run(
            [npm, "ci", "--prefix", str(DYNALITE), "--no-audit", "--no-fund"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return node


def dynalite_command(node: str, port: int, folder: Path | None = None) -> list[str]:
    """dynalite on 127.0.0.1:`port`, in memory or keeping its tables in `folder`."""
    command = [node, str(DYNALITE_CLI), "--host", "127.0.0.1", "--port", str(port)]
    if folder is not None:
        command += ["--path", str(folder)]
    return [*command, "--createTableMs", "20", "--deleteTableMs", "20"]
