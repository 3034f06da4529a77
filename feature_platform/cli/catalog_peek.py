"""The feature groups of an embedded store, read from its SQLite catalog without pyiceberg.

`feature-platform list` prints a few fields of each group's spec. Through pyiceberg that costs
about two seconds of imports (SQLAlchemy, pyiceberg's catalog, manifests and pydantic models)
for a one-line query and a JSON file per table. The embedded catalog is pyiceberg's `SqlCatalog`
on SQLite, whose `iceberg_tables` layout is the Iceberg JDBC catalog's (shared with Java's), and
each table's spec is a property in its metadata JSON (an Iceberg spec format): both readable with
the standard library.

Anything else (another catalog type, a server database, a table outside the local file system,
a file that does not parse) returns None and the caller goes through pyiceberg, which also
gives the proper error.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

from feature_platform.config import StoreConfig
from feature_platform.specs import FeatureGroup

# The same values as `offline_store.catalog.CATALOG_NAME` and `offline_store.schema.
# SPEC_PROPERTY`; importing those modules would import pyiceberg. A test pins them equal.
CATALOG_NAME = "feature_platform"
SPEC_PROPERTY = "feature_platform.spec"

_SQLITE_PREFIX = "sqlite:///"


def peek_feature_groups(config: StoreConfig) -> list[FeatureGroup] | None:
    """Every group applied to the store's namespace, sorted by name; None if not readable here.

    Read-only: unlike opening the catalog through pyiceberg, this creates no database file and
    no namespace.
    """
    database = _sqlite_file(config)
    if database is None or not database.is_file():
        return None
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? AND "
                "table_namespace = ? AND (iceberg_type IS NULL OR iceberg_type = 'TABLE')",
                (CATALOG_NAME, config.namespace),
            ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error:  # e.g. an older catalog without `iceberg_type`: let pyiceberg read it
        return None
    groups = []
    for (location,) in rows:
        path = _local_path(location)
        if path is None:
            return None
        try:
            opener = gzip.open if path.name.endswith(".gz.metadata.json") else open
            with opener(path, "rt", encoding="utf-8") as metadata:
                properties = json.load(metadata).get("properties", {})
            if SPEC_PROPERTY in properties:
                groups.append(FeatureGroup.from_json(properties[SPEC_PROPERTY]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return sorted(groups, key=lambda group: group.name)


def _sqlite_file(config: StoreConfig) -> Path | None:
    uri = config.resolved_catalog_uri
    if config.catalog_type != "sql" or not uri or not uri.startswith(_SQLITE_PREFIX):
        return None
    path = uri[len(_SQLITE_PREFIX) :]
    if not path or "?" in path or path.startswith(":memory:"):
        return None
    return Path(path).expanduser().resolve()


def _local_path(location: str | None) -> Path | None:
    if not location:
        return None
    if location.startswith("file:"):
        parsed = urlparse(location)
        return Path(unquote(parsed.path)) if parsed.netloc in ("", "localhost") else None
    if "://" in location:  # s3://, gs://, ...: pyiceberg's file IO reads those
        return None
    return Path(location)
