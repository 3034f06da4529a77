"""Pushing landing files is library code: Dagster only wires it into a job and a sensor."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import feature_platform.streaming.landing_launches
import feature_platform.streaming.landing_push
print(json.dumps([m for m in ("dagster", "feature_platform.orchestration") if m in sys.modules]))
"""


def test_the_landing_push_and_launch_rules_import_no_dagster() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(probe.stdout) == []
