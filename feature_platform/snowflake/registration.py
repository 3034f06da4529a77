"""What registering one group in Snowflake means: the plan, running it, and proving it readable.

Snowflake's object-store catalog integration reads a table from its metadata file path alone, so
the proof that Snowflake can read what we register is to read that path the same way, with no
catalog: `StaticTable.from_metadata(path)` must give the same rows as the catalog, the table must
be format v2, every column type one Snowflake's Iceberg tables support, and no data file empty.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pyiceberg.table import StaticTable, Table

from feature_platform.config import StoreConfig
from feature_platform.snowflake.column_types import unsupported_columns
from feature_platform.snowflake.group_ddl import (
    grant_statements,
    latest_view_statement,
    register_statements,
)
from feature_platform.snowflake.naming import table_fqn, view_fqn
from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform.store import FeatureStore

# Stand-ins for a dry run, so the statements read as they would in a real account.
DRY_RUN_BASE_URL = "s3://your-bucket/feature-platform/"
DRY_RUN_ROLE_ARN = "arn:aws:iam::123456789012:role/your-snowflake-volume-role"


@dataclass(frozen=True)
class RegistrationPlan:
    """The statements that register one group, and what they point at."""

    group: str
    statements: tuple[str, ...]
    metadata_location: str
    table: str
    view: str
    dry_run: bool


def dry_run_settings(config: StoreConfig) -> SnowflakeSettings:
    """Settings for showing the DDL when Snowflake is not configured (the embedded default)."""
    return SnowflakeSettings(
        database="FEATURES",
        schema="OFFLINE",
        external_volume="FEATURE_PLATFORM_VOLUME",
        catalog_integration="FEATURE_PLATFORM_OBJECT_STORE",
        storage_base_url=DRY_RUN_BASE_URL,
        reader_role="FEATURE_READER",
        catalog_namespace=config.namespace,
        storage_aws_role_arn=DRY_RUN_ROLE_ARN,
    )


def plan_registration(
    store: FeatureStore, name: str, settings: SnowflakeSettings | None
) -> RegistrationPlan:
    """The CREATE/REFRESH, latest-view and grant statements for group `name`'s current state.

    Without `settings` the plan is a dry run: the local warehouse is shown as if it were the
    bucket behind a stand-in external volume.
    """
    table = store.table(name)
    group = store.get_feature_group(name)
    location = table.metadata_location
    dry_run = settings is None
    if settings is None:
        settings = dry_run_settings(store.config)
        location = DRY_RUN_BASE_URL + location.removeprefix(store.config.warehouse_root + "/")
    statements = [
        *register_statements(group, settings, location),
        latest_view_statement(group, settings),
        *grant_statements(group, settings),
    ]
    return RegistrationPlan(
        group=name,
        statements=tuple(statements),
        metadata_location=table.metadata_location,
        table=table_fqn(group, settings),
        view=view_fqn(group, settings),
        dry_run=dry_run,
    )


def execute_statements(connection: Any, statements: Sequence[str]) -> None:
    """Run statements in order on a DB-API connection (a Snowflake connection)."""
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@dataclass(frozen=True)
class Readability:
    """Whether Snowflake can read the registered metadata file, and why not."""

    metadata_location: str
    format_version: int
    rows_from_catalog: int
    rows_from_metadata_file: int
    same_rows: bool
    unsupported_columns: tuple[str, ...]
    empty_data_files: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.problems


def check_snowflake_readable(table: Table) -> Readability:
    """Read the table from its metadata file alone and compare with the catalog's view."""
    static = StaticTable.from_metadata(
        table.metadata_location, properties=dict(table.io.properties)
    )
    from_catalog = _fingerprint(table)
    from_file = _fingerprint(static)
    unsupported = tuple(str(c) for c in unsupported_columns(static.schema()))
    files = static.inspect.files() if static.current_snapshot() is not None else None
    empty: tuple[str, ...] = ()
    if files is not None and files.num_rows:
        listed = files.select(["file_path", "record_count", "file_size_in_bytes"]).to_pylist()
        empty = tuple(
            f["file_path"] for f in listed if f["record_count"] == 0 or f["file_size_in_bytes"] == 0
        )
    version = static.metadata.format_version
    problems = []
    if version != 2:
        problems.append(f"format version {version}, Snowflake reads v2 here")
    if from_catalog != from_file:
        problems.append("the metadata file shows other rows than the catalog")
    if unsupported:
        problems.append(f"column types Snowflake cannot read: {list(unsupported)}")
    if empty:
        problems.append(f"empty data files: {list(empty)}")
    return Readability(
        metadata_location=table.metadata_location,
        format_version=version,
        rows_from_catalog=from_catalog[0],
        rows_from_metadata_file=from_file[0],
        same_rows=from_catalog == from_file,
        unsupported_columns=unsupported,
        empty_data_files=empty,
        problems=tuple(problems),
    )


def _fingerprint(table: Table) -> tuple[int, str]:
    """Row count and an order-independent digest of the rows."""
    if table.current_snapshot() is None:
        return 0, ""
    frame = pl.from_arrow(table.scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    hashes = frame.hash_rows(seed=0).sort()
    return frame.height, hashlib.sha256(hashes.to_numpy().tobytes()).hexdigest()
