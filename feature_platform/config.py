"""Where the store keeps its state: one home folder by default, cloud services by configuration.

The same code runs on a laptop (SQLite catalog, local warehouse) and on AWS (Glue or REST catalog,
S3 warehouse); only a `StoreConfig` differs. Configuration is read in one place, from arguments
or `FEATURE_PLATFORM_*` environment variables, never at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from feature_platform.errors import ConfigurationError
from feature_platform.identifiers import validate_identifier

CatalogType = Literal["sql", "glue", "rest"]
DEFAULT_HOME = ".feature_platform"
DEFAULT_NAMESPACE = "feature_platform"
CATALOG_PROPERTY_PREFIX = "FEATURE_PLATFORM_CATALOG__"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The embedded-state folder: the argument, else `FEATURE_PLATFORM_HOME`, else the default."""
    chosen = home if home is not None else os.environ.get("FEATURE_PLATFORM_HOME", DEFAULT_HOME)
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class StoreConfig:
    """Everything needed to open the offline store.

    Args:
        home: Folder for embedded state (SQLite catalog, local warehouse, Dagster home).
        catalog_type: ``sql`` (SQLite or PostgreSQL via `catalog_uri`), ``glue`` or ``rest``.
        catalog_uri: SQLAlchemy URL for ``sql``, endpoint for ``rest``; unused for ``glue``.
        warehouse: Root of all table locations (``file://...`` or ``s3://bucket/prefix``).
        namespace: Iceberg namespace holding one table per feature group.
        catalog_properties: Extra pyiceberg catalog properties (``s3.endpoint``, credentials...).
        commit_retries: How often a conflicting commit is retried before giving up.
    """

    home: Path
    catalog_type: CatalogType = "sql"
    catalog_uri: str | None = None
    warehouse: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    catalog_properties: Mapping[str, str] = field(default_factory=dict)
    commit_retries: int = 10

    def __post_init__(self) -> None:
        validate_identifier(self.namespace, "namespace")
        if self.catalog_type not in ("sql", "glue", "rest"):
            raise ConfigurationError(
                f"catalog_type must be 'sql', 'glue' or 'rest', not {self.catalog_type!r}"
            )
        if self.catalog_type == "rest" and not self.catalog_uri:
            raise ConfigurationError("a rest catalog needs catalog_uri (the REST endpoint)")
        if self.catalog_type == "glue" and not self.warehouse:
            raise ConfigurationError("a glue catalog needs warehouse, e.g. s3://bucket/prefix")
        if self.commit_retries < 0:
            raise ConfigurationError("commit_retries must be >= 0")

    @classmethod
    def embedded(cls, home: str | os.PathLike[str] | None = None) -> StoreConfig:
        """SQLite catalog and local warehouse under one home folder: the laptop default."""
        return cls(home=resolve_home(home))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StoreConfig:
        """Read ``FEATURE_PLATFORM_*`` variables; unset ones fall back to the embedded default.

        ``FEATURE_PLATFORM_CATALOG__S3__ENDPOINT=http://...`` becomes the catalog property
        ``s3.endpoint`` (double underscores become dots), as pyiceberg's own variables do.
        """
        env = os.environ if environ is None else environ
        properties = {
            key[len(CATALOG_PROPERTY_PREFIX) :].lower().replace("__", "."): value
            for key, value in env.items()
            if key.startswith(CATALOG_PROPERTY_PREFIX)
        }
        retries = env.get("FEATURE_PLATFORM_COMMIT_RETRIES")
        return cls(
            home=resolve_home(env.get("FEATURE_PLATFORM_HOME")),
            catalog_type=env.get("FEATURE_PLATFORM_CATALOG_TYPE", "sql"),  # type: ignore[arg-type]
            catalog_uri=env.get("FEATURE_PLATFORM_CATALOG_URI") or None,
            warehouse=env.get("FEATURE_PLATFORM_WAREHOUSE") or None,
            namespace=env.get("FEATURE_PLATFORM_NAMESPACE", DEFAULT_NAMESPACE),
            catalog_properties=properties,
            commit_retries=int(retries) if retries else 10,
        )

    @property
    def warehouse_root(self) -> str:
        """The warehouse URI without a trailing slash; every table location lies below it."""
        if self.warehouse:
            if "://" not in self.warehouse:  # a plain path: the same folder as a file URI
                return Path(self.warehouse).expanduser().resolve().as_uri()
            return self.warehouse.rstrip("/")
        return (self.home / "warehouse").as_uri()

    @property
    def resolved_catalog_uri(self) -> str | None:
        if self.catalog_uri:
            return self.catalog_uri
        if self.catalog_type == "sql":
            return f"sqlite:///{self.home / 'catalog.db'}"
        return None

    @property
    def manages_locations(self) -> bool:
        """Whether we choose table locations (a REST catalog such as S3 Tables chooses its own)."""
        return self.catalog_type != "rest"

    def pyiceberg_properties(self) -> dict[str, str]:
        """The properties handed to `pyiceberg.catalog.load_catalog`."""
        properties: dict[str, str] = {"type": self.catalog_type}
        uri = self.resolved_catalog_uri
        if uri:
            properties["uri"] = uri
        if self.catalog_type != "rest" or self.warehouse:
            properties["warehouse"] = self.warehouse_root
        properties.update(self.catalog_properties)
        return properties
