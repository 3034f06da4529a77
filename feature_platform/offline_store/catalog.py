"""Opening the pyiceberg catalog described by a `StoreConfig`, and locating tables in it."""

from __future__ import annotations

# The default catalog's module (SQLAlchemy) is imported with ours, not on the first query:
# pyiceberg imports it lazily, which put ~0.7 s of imports inside the first read of a process.
import pyiceberg.catalog.sql  # noqa: F401
from pyiceberg.catalog import Catalog, load_catalog

from feature_platform.config import StoreConfig
from feature_platform.errors import ConfigurationError
from feature_platform.identifiers import validate_identifier

CATALOG_NAME = "feature_platform"


def open_catalog(config: StoreConfig) -> Catalog:
    """Load the catalog and make sure the feature namespace exists.

    The embedded SQLite catalog needs its home folder to exist before SQLAlchemy can create the
    database file, so that folder is created here, the first time anything touches the store.
    """
    if config.catalog_type == "sql" and not config.catalog_uri:
        config.home.mkdir(parents=True, exist_ok=True)
    try:
        catalog = load_catalog(CATALOG_NAME, **config.pyiceberg_properties())
    except (ValueError, ImportError) as exc:
        raise ConfigurationError(f"cannot open the {config.catalog_type} catalog: {exc}") from exc
    catalog.create_namespace_if_not_exists(config.namespace)
    return catalog


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
