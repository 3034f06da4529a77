"""`feature-platform`: run the demo, and inspect feature groups from the shell.

Every call is a fresh process, so start-up is most of what a user waits for. Building the parser
(`parser`) imports each command group's module, and those import nothing heavy at module level:
a handler imports what its command needs when it runs, and the catalog-browsing commands
(`list`, `describe`, `search`, `sql`) never import Dagster. Check with
``python -X importtime -m feature_platform.cli list``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from feature_platform.cli.parser import build_parser
from feature_platform.errors import FeaturePlatformError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except FeaturePlatformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
