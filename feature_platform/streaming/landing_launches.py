"""Which landing files a push run takes, and when a file whose run vanished is launched again.

The state between two looks at the landing zone is the files in flight (launched, not yet filed
away by their run), so a watcher that restarts launches nothing twice, and each launch has a run
key of its files for the scheduler to deduplicate by. A file keeps its key while a run holds it
(claimed), and a replaced file gets a new one, so it is launched anew. A file whose run died
without filing it away is launched again once it has been in flight for
`relaunch_after_seconds`, under a new run key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from feature_platform.streaming.landing import LandingFile

FILES_PER_RUN = 20
RELAUNCH_AFTER_SECONDS = 1800.0


@dataclass(frozen=True)
class LandingLaunch:
    """One push run to start: its files' keys, and how often the most relaunched was launched."""

    keys: tuple[str, ...]
    relaunch: int = 0

    @property
    def run_key(self) -> str:
        return "|".join(self.keys) + (f"#relaunch{self.relaunch}" if self.relaunch else "")


def plan_launches(
    pending: Sequence[LandingFile],
    cursor: str | None,
    now: float,
    relaunch_after_seconds: float = RELAUNCH_AFTER_SECONDS,
) -> tuple[list[LandingLaunch], str]:
    """The runs to start for the `pending` files, and the new cursor (JSON of those in flight).

    Pure: the caller lists the files and keeps the cursor.
    """
    state = json.loads(cursor) if cursor else {}
    in_flight: dict[str, list[float]] = state.get("in_flight", {})
    waiting = {f.key for f in pending}
    in_flight = {k: v for k, v in in_flight.items() if k in waiting}  # the rest are done
    to_launch: list[tuple[LandingFile, int]] = []
    for file in pending:
        launched = in_flight.get(file.key)
        if launched is None:
            to_launch.append((file, 0))
        elif now - launched[0] >= relaunch_after_seconds:
            to_launch.append((file, int(launched[1]) + 1))
    launches = []
    for start in range(0, len(to_launch), FILES_PER_RUN):
        batch = to_launch[start : start + FILES_PER_RUN]
        launches.append(
            LandingLaunch(tuple(file.key for file, _ in batch), max(n for _, n in batch))
        )
        for file, n in batch:
            in_flight[file.key] = [now, n]
    return launches, json.dumps({"in_flight": in_flight}, sort_keys=True)
