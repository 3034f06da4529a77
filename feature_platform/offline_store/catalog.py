"""Opening the pyiceberg catalog described by a `StoreConfig`, and locating tables in it."""

from __future__ import annotations

import functools
import logging

# The default catalog's module (SQLAlchemy) is imported with ours, not on the first query:
# pyiceberg imports it lazily, which put ~0.7 s of imports inside the first read of a process.
import pyiceberg.catalog.sql  # noqa: F401
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import CommitFailedException, CommitStateUnknownException, RESTError
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.table.update import AddSnapshotUpdate, TableRequirement, TableUpdate
from sqlalchemy.exc import SQLAlchemyError

from feature_platform.config import (
    CATALOG_URI_VARIABLE,
    HOME_VARIABLE,
    StoreConfig,
    ensure_home,
    redact_uri,
)
from feature_platform.errors import ConfigurationError
from feature_platform.identifiers import validate_identifier
from feature_platform.offline_store.iceberg_internals import CommitTable, guard_commits

logger = logging.getLogger(__name__)

CATALOG_NAME = "feature_platform"


def open_catalog(config: StoreConfig) -> Catalog:
    """Load the catalog and make sure the feature namespace exists.

    This is the first contact with the catalog, so a wrong setting surfaces here, when the
    store is built, rather than inside the first write: an unparsable or unopenable SQL URL, a
    missing driver, a REST endpoint nothing answers at, a catalog that refuses us. Each becomes
    a `ConfigurationError` naming the variable to change.

    The embedded SQLite catalog needs its home folder to exist before SQLAlchemy can create the
    database file, so that folder is created here, the first time anything touches the store.

    Raises:
        ConfigurationError: The catalog cannot be opened or reached.
    """
    ensure_home(config)
    try:
        catalog = load_catalog(CATALOG_NAME, **config.pyiceberg_properties())
        catalog.create_namespace_if_not_exists(config.namespace)
    except ConfigurationError:
        raise
    except _opening_errors(config) as exc:
        raise ConfigurationError(_cannot_open(config, exc)) from exc
    guard_lost_commit_responses(catalog)
    return catalog


def _opening_errors(config: StoreConfig) -> tuple[type[BaseException], ...]:
    """What opening this kind of catalog raises when a setting or the service is wrong.

    `requests` errors (a REST endpoint that is down) are `OSError`s. botocore's are imported
    only for Glue, the one catalog that loads it, to keep it out of every other process.
    """
    errors: tuple[type[BaseException], ...] = (
        ValueError,
        ImportError,
        OSError,
        SQLAlchemyError,
        RESTError,
    )
    if config.catalog_type == "glue":
        from botocore.exceptions import BotoCoreError, ClientError

        errors += (BotoCoreError, ClientError)
    return errors


def _cannot_open(config: StoreConfig, exc: BaseException) -> str:
    """The message for a catalog that cannot be opened: where it was looked for, why not (the
    cause's first line, without a password), and which variable to change."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    uri = config.resolved_catalog_uri
    if uri:
        reason = reason.replace(uri, redact_uri(uri))
    if config.catalog_type == "rest":
        where = f"the REST catalog at {redact_uri(uri or '')}"
        fix = (
            f"check that it is running and reachable, or set {CATALOG_URI_VARIABLE} to its "
            "endpoint (and its credentials with FEATURE_PLATFORM_CATALOG__<PROPERTY>)"
        )
    elif config.catalog_type == "glue":
        where = "the Glue catalog"
        fix = (
            "check the AWS region and credentials (AWS_* variables or "
            "FEATURE_PLATFORM_CATALOG__<PROPERTY>, e.g. FEATURE_PLATFORM_CATALOG__GLUE__REGION)"
        )
    elif config.catalog_uri:
        where = f"the SQL catalog at {redact_uri(config.catalog_uri)}"
        fix = (
            f"set {CATALOG_URI_VARIABLE} to a SQLAlchemy URL this process can open, e.g. "
            "sqlite:////absolute/path/catalog.db or postgresql+psycopg2://user:password@host/db "
            f"(or unset it for the SQLite catalog under {HOME_VARIABLE})"
        )
    else:
        where = f"the embedded SQLite catalog at {config.home / 'catalog.db'}"
        fix = f"set {HOME_VARIABLE} to a folder this process can write"
    return f"cannot open {where}: {reason}; {fix}"


def guard_lost_commit_responses(catalog: Catalog) -> None:
    """Report a commit that the catalog applied as committed, even if the answer was lost.

    A lost answer reaches pyiceberg as `CommitFailedException` when a transport retry ran into
    its own first attempt. pyiceberg takes that exception to mean "not applied": it retries, and
    on its last attempt deletes the commit's manifests, which the catalog's current snapshot
    already references, so the table can no longer be read. Before the exception gets there,
    the table is reloaded: if every snapshot the commit adds is in it, the commit landed and its
    metadata is returned as the catalog's answer.
    """
    guard_commits(catalog, functools.partial(_report_landed, catalog))


def _report_landed(
    catalog: Catalog,
    commit_table: CommitTable,
    table: Table,
    requirements: tuple[TableRequirement, ...],
    updates: tuple[TableUpdate, ...],
) -> CommitTableResponse:
    """`commit_table`'s answer, or the table's metadata when a commit reported failed landed."""
    try:
        return _commit_or_conflict(commit_table, table, requirements, updates)
    except (CommitFailedException, CommitStateUnknownException) as exc:
        try:
            landed = _landed(catalog, table, updates)
        except Exception as reload_error:
            # Whether it landed is unknown. pyiceberg deletes the commit's files only on
            # CommitFailedException, so say "unknown": the store's retry checks the write id.
            raise CommitStateUnknownException(
                f"{exc}; and reloading the table to see whether the commit landed failed: "
                f"{reload_error}"
            ) from exc
        if landed is None:
            raise
        logger.warning(
            "commit to %s was reported failed (%s), but its snapshots are in the table: "
            "it was applied",
            ".".join(table.name()),
            exc,
        )
        return landed


# What pyiceberg's metadata builder says when a snapshot's sequence number was taken meanwhile.
_STALE_SEQUENCE_NUMBER = "Cannot add snapshot with sequence number"


def _commit_or_conflict(
    commit_table: CommitTable,
    table: Table,
    requirements: tuple[TableRequirement, ...],
    updates: tuple[TableUpdate, ...],
) -> CommitTableResponse:
    """`commit_table`, with a commit that lost a race to another branch reported as a conflict.

    A snapshot commit only asserts its own branch's head. When another branch (an experiment's,
    or main while an experiment writes) committed since the snapshot was planned, the
    requirements still hold, and applying the snapshot then fails with a `ValueError`: its
    sequence number is taken. Nothing was applied, so this is `CommitFailedException`, on which
    pyiceberg reloads the table and rebuilds the snapshot with a fresh sequence number.
    """
    try:
        return commit_table(table, requirements, updates)
    except ValueError as exc:
        if _STALE_SEQUENCE_NUMBER not in str(exc):
            raise
        raise CommitFailedException(f"a commit to another branch came first: {exc}") from exc


def _landed(
    catalog: Catalog, table: Table, updates: tuple[TableUpdate, ...]
) -> CommitTableResponse | None:
    """The table's metadata if all snapshots `updates` add are in it; None if they are not, or
    if nothing identifies the commit. Raises what reloading the table raises."""
    added = {u.snapshot.snapshot_id for u in updates if isinstance(u, AddSnapshotUpdate)}
    if not added:  # e.g. a schema or property change: nothing identifies it
        return None
    fresh = catalog.load_table(table.name())
    if any(fresh.metadata.snapshot_by_id(snapshot_id) is None for snapshot_id in added):
        return None
    return CommitTableResponse(metadata=fresh.metadata, metadata_location=fresh.metadata_location)


def table_properties(config: StoreConfig) -> dict[str, str]:
    """Properties every table we create gets.

    Commit retries are sized for many concurrent partition writers; the waits are short because
    a window commit is small and a conflicting writer is usually done within milliseconds.
    """
    return {
        "format-version": "2",
        "write.parquet.compression-codec": "zstd",
        "commit.retry.num-retries": str(config.commit_retries),
        "commit.retry.min-wait-ms": "20",
        "commit.retry.max-wait-ms": "2000",
    }


def table_location(config: StoreConfig, namespace: str, name: str) -> str | None:
    """The location a new table gets: always under the warehouse root, never chosen by a name.

    Returns None where the catalog assigns locations itself (REST catalogs such as S3 Tables).

    Raises:
        InvalidIdentifierError: `namespace` or `name` could escape the warehouse.
    """
    validate_identifier(namespace, "namespace")
    validate_identifier(name, "table")
    if not config.manages_locations:
        return None
    return f"{config.warehouse_root}/{namespace}/{name}"
