"""The inspection commands start fast: no Dagster, no pandas, and `list` without pyiceberg.

Each command runs in a fresh interpreter (imports are what is measured), which then reports
which heavy modules it loaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from feature_platform import FeatureStore, StoreConfig
from feature_platform.cli import catalog_peek
from feature_platform.cli.catalog_browsing import read_only_store
from feature_platform.offline_store.catalog import CATALOG_NAME
from feature_platform.offline_store.schema import SPEC_PROPERTY
from feature_platform_tests.helpers import DAY_START, user_frame, user_group

pytestmark = pytest.mark.integration

PROBE = r"""
import json, sys
from feature_platform.cli import main
code = main(sys.argv[1:])
heavy = ("dagster", "pandas", "pyiceberg.catalog", "pyiceberg.io.pyarrow")
print("\nPROBE", json.dumps({"exit": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


@pytest.fixture
def stocked_home(store: FeatureStore) -> Path:
    store.apply(user_group(description="Reader activity per day."))
    store.write_window("user_stats", user_frame(), DAY_START, DAY_START + dt.timedelta(days=1))
    store.close()
    return store.config.home


def _run(home: Path, *argv: str) -> tuple[str, set[str]]:
    env = {**os.environ, "FEATURE_PLATFORM_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    output, _, report = result.stdout.rpartition("\nPROBE ")
    probe = json.loads(report)
    assert probe["exit"] == 0, result.stderr
    return output, set(probe["loaded"])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["list"], "user_stats\tuser\tdaily\toffline\tReader activity per day."),
        (["search", "reader"], "user_stats\tdescription"),
        (["describe", "user_stats"], '"partitions_materialized": 1'),
    ],
)
def test_list_search_describe_import_neither_dagster_nor_pandas(
    stocked_home: Path, argv: list[str], expected: str
) -> None:
    output, loaded = _run(stocked_home, *argv)
    assert expected in output
    assert not loaded & {"dagster", "pandas", "pyiceberg.io.pyarrow"}
    if argv[0] in ("list", "search"):  # specs straight from the SQLite catalog
        assert "pyiceberg.catalog" not in loaded


def test_sql_imports_no_dagster(stocked_home: Path) -> None:
    """pandas is loaded here, and cannot be avoided: polars' Iceberg scan imports pyiceberg's
    pyarrow IO for the table's arrow schema, and `pyarrow.dataset` imports pandas."""
    query = "SELECT count(*) AS n FROM user_stats"
    output, loaded = _run(stocked_home, "sql", query, "--format=csv")
    assert output.splitlines() == ["n", "5"]
    assert "dagster" not in loaded


def test_peek_reads_what_pyiceberg_reads(stocked_home: Path, tmp_path: Path) -> None:
    assert (catalog_peek.CATALOG_NAME, catalog_peek.SPEC_PROPERTY) == (CATALOG_NAME, SPEC_PROPERTY)
    config = StoreConfig.embedded(stocked_home)
    peeked = catalog_peek.peek_feature_groups(config)
    assert peeked == FeatureStore(config=config).list_feature_groups()
    assert peeked is not None
    assert [g.name for g in peeked] == ["user_stats"]
    # Read-only: a home without a catalog is left alone, and pyiceberg answers instead.
    assert catalog_peek.peek_feature_groups(StoreConfig.embedded(tmp_path / "none")) is None
    assert not (tmp_path / "none").exists()
    other_namespace = dataclasses.replace(config, namespace="elsewhere")
    assert catalog_peek.peek_feature_groups(other_namespace) == []


def test_peek_leaves_other_catalogs_to_pyiceberg(stocked_home: Path) -> None:
    server = StoreConfig.embedded(stocked_home, catalog_uri="postgresql://h/db")
    assert catalog_peek.peek_feature_groups(server) is None
    s3 = StoreConfig.embedded(stocked_home, warehouse="s3://bucket/prefix")
    assert read_only_store(s3).config.catalog_properties == {}
    local = read_only_store(StoreConfig.embedded(stocked_home)).config
    assert local.catalog_properties == {"py-io-impl": "pyiceberg.io.fsspec.FsspecFileIO"}
