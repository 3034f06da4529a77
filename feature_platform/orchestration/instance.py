"""The local Dagster instance of an embedded deployment: where it lives and its `dagster.yaml`.

Shared by the demo and by the repositories `feature-platform init` creates, so both start with
the same instance settings (no telemetry or first-run prompts, per-table write pools, run
retries). Importing this module costs nothing: it does not import Dagster.
"""

from __future__ import annotations

import os
from pathlib import Path

DAGSTER_YAML = """\
# Written by feature_platform (demo or init): a local instance, no first-run prompts, no telemetry.
telemetry:
  enabled: false
nux:
  enabled: false
# At most 4 runs write one Iceberg table at once (pools `iceberg_<group>`): a 1,000-partition
# backfill queues instead of stampeding the catalog; commit retries (10) exceed the limit.
concurrency:
  pools:
    default_limit: 4
# A run whose process crashed is retried (writes are idempotent window replacements).
run_retries:
  enabled: true
  max_retries: 2
"""


def prepare_dagster_home(home: Path) -> Path:
    """Point DAGSTER_HOME at ``<home>/dagster`` (unless set) and write its dagster.yaml."""
    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(home / "dagster")))
    write_instance_yaml(dagster_home)
    return dagster_home


def write_instance_yaml(dagster_home: Path) -> Path:
    """Create the instance folder with its dagster.yaml, leaving an existing one alone."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return config
