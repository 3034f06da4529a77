"""Dagster's console log of runs executed in the CLI's own process, sent to a file.

Dagster logs every event of every run at DEBUG to the console and warns about each beta
parameter it meets: ~160 lines for the demo, in which the summary got lost. Those go to a log
file under the home instead, named in the output; the terminal shows the summary only.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def dagster_output_to(log_path: Path) -> Iterator[TextIO]:
    """Send Dagster's console log and Python's warnings to `log_path`, in this process only.

    Dagster's run logger writes to whatever `sys.stderr` is when a run starts, so redirecting it
    for the duration keeps the full log (tracebacks of a failed step included) in the file.
    Dagster's beta, preview and supersession warnings are about our deliberate use of its
    parameters (backfill policies, pools); they are dropped, every other warning is logged.
    """
    from dagster import BetaWarning, PreviewWarning, SupersessionWarning

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        log_path.open("w", encoding="utf-8") as log,
        contextlib.redirect_stderr(log),
        warnings.catch_warnings(),
    ):
        for category in (BetaWarning, PreviewWarning, SupersessionWarning):
            warnings.filterwarnings("ignore", category=category)
        yield log
