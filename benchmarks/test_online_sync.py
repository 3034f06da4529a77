"""The sync benchmark's workings at a tiny size: what its figures rest on holds.

Every sync of all four systems leaves the generated latest values online (checked inside
`run_round`), the request counter sees what the clients send, and a backfill of windows older
than the ttl makes no online request (checked inside `backfill_requests`). Needs dynalite
(``npm ci --prefix feature_platform_tests/online_store/dynalite``) and the bench group.

Run:  python3 -m uv run --group bench pytest benchmarks/test_online_sync.py
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import online_sync
from benchmarks.online_reads import DYNALITE_CLI, Dynalite, dynalite
from benchmarks.online_sync import (
    CREDENTIALS,
    FEAST_DYNAMODB,
    FEAST_SQLITE,
    OURS_DYNAMODB,
    OURS_EMBEDDED,
    backfill_requests,
    run_round,
    workload,
    write_requests,
)

pytestmark = [
    pytest.mark.integration,  # starts a dynalite server
    pytest.mark.skipif(
        shutil.which("node") is None or not DYNALITE_CLI.exists(),
        reason="no dynalite: npm ci --prefix feature_platform_tests/online_store/dynalite",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dynalite]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, os.environ.get(name, value))
        with dynalite(
            tmp_path_factory.mktemp("dynalite") / "log", online_sync.INSTANT_TABLES
        ) as running:
            yield running


def test_every_system_syncs_the_same_values(server: Dynalite, tmp_path: Path) -> None:
    pytest.importorskip("feast")
    data = workload(entities=120, days=2, changed=0.1, seed=3)

    runs, compared = run_round(data, 1, tmp_path / "round", server, sample_size=40)

    assert compared == 3 * 4 * 5 * (40 + 2)  # three syncs, four systems, five features
    items = {(run.system, run.phase): run.items for run in runs}
    for system in (OURS_EMBEDDED, FEAST_SQLITE, OURS_DYNAMODB, FEAST_DYNAMODB):
        assert items[(system, "bootstrap")] == 120
        assert items[(system, "incremental")] == 12
        assert items[(system, "resync")] == 120
    requests = {(run.system, run.phase): write_requests(run.requests) for run in runs}
    assert requests[(OURS_DYNAMODB, "bootstrap")][1] == 120  # items sent, however batched
    assert requests[(FEAST_DYNAMODB, "bootstrap")] == (5, 120)  # BatchWriteItem, 25 a call
    assert requests[(FEAST_DYNAMODB, "incremental")] == (1, 12)
    # A resync of unchanged rows: ours reads the 120 stored items (100 keys a request) and puts
    # none; Feast's materialize writes them all again.
    assert requests[(OURS_DYNAMODB, "resync")] == (0, 0)
    resync = next(r for r in runs if (r.system, r.phase) == (OURS_DYNAMODB, "resync"))
    assert resync.requests["BatchGetItem"] == (2, 120)
    assert requests[(FEAST_DYNAMODB, "resync")] == (5, 120)
    assert all(run.server_cpu_seconds is not None for run in runs if run.requests)


def test_a_backfill_older_than_the_ttl_makes_no_online_request(
    server: Dynalite, tmp_path: Path
) -> None:
    result = backfill_requests(
        tmp_path, server, days=12, entities=200, per_day=40, with_feast=False
    )

    assert result.old_windows >= 4
    assert result.old_report["online_requests"] == 0
    assert result.old_requests == {}
    assert result.old_report["windows_expired"] == result.old_windows
    recent_items = write_requests(result.recent_requests)[1]
    assert recent_items == result.recent_report["online_requests"] > 0
