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
from typing import Any, Literal

from feature_platform.errors import ConfigurationError
from feature_platform.identifiers import validate_identifier

CatalogType = Literal["sql", "glue", "rest"]
OnlineStoreType = Literal["embedded", "dynamodb"]
DEFAULT_HOME = ".feature_platform"
DEFAULT_NAMESPACE = "feature_platform"
CATALOG_PROPERTY_PREFIX = "FEATURE_PLATFORM_CATALOG__"
ONLINE_SETTING_PREFIX = "FEATURE_PLATFORM_ONLINE__"
DEFAULT_OFFLINE_BUFFER_ROWS = 50_000
DEFAULT_OFFLINE_BUFFER_SECONDS = 30.0


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
        online_store: ``embedded`` (SQLite under `home`) or ``dynamodb``.
        online_settings: Settings of the online store, e.g. ``endpoint_url``, ``region_name``,
            ``table_prefix``, ``table_mode`` for DynamoDB (see `DynamoDBSettings`).
        offline_buffer_rows: Pushed rows (`write`) a group buffers before committing them to
            the offline table; 0 commits every write at once.
        offline_buffer_seconds: Longest time a pushed row waits in the buffer.
        landing: Where producers drop files to push (``<landing>/<group>/*.parquet``): a
            folder or ``s3://`` prefix; default ``<home>/landing``.
    """

    home: Path
    catalog_type: CatalogType = "sql"
    catalog_uri: str | None = None
    warehouse: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    catalog_properties: Mapping[str, str] = field(default_factory=dict)
    commit_retries: int = 10
    online_store: OnlineStoreType = "embedded"
    online_settings: Mapping[str, Any] = field(default_factory=dict)
    offline_buffer_rows: int = DEFAULT_OFFLINE_BUFFER_ROWS
    offline_buffer_seconds: float = DEFAULT_OFFLINE_BUFFER_SECONDS
    landing: str | None = None

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
        if self.online_store not in ("embedded", "dynamodb"):
            raise ConfigurationError(
                f"online_store must be 'embedded' or 'dynamodb', not {self.online_store!r}"
            )
        if self.offline_buffer_rows < 0 or self.offline_buffer_seconds < 0:
            raise ConfigurationError("offline_buffer_rows and offline_buffer_seconds must be >= 0")

    @classmethod
    def embedded(cls, home: str | os.PathLike[str] | None = None, **settings: Any) -> StoreConfig:
        """SQLite catalog and local warehouse under one home folder: the laptop default."""
        return cls(home=resolve_home(home), **settings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StoreConfig:
        """Read ``FEATURE_PLATFORM_*`` variables; unset ones fall back to the embedded default.

        ``FEATURE_PLATFORM_CATALOG__S3__ENDPOINT=http://...`` becomes the catalog property
        ``s3.endpoint`` (double underscores become dots), as pyiceberg's own variables do.
        ``FEATURE_PLATFORM_ONLINE__ENDPOINT_URL=http://...`` becomes the online setting
        ``endpoint_url``; numbers and true/false are converted.
        """
        env = os.environ if environ is None else environ
        properties = {
            key[len(CATALOG_PROPERTY_PREFIX) :].lower().replace("__", "."): value
            for key, value in env.items()
            if key.startswith(CATALOG_PROPERTY_PREFIX)
        }
        retries = env.get("FEATURE_PLATFORM_COMMIT_RETRIES")
        online_settings = {
            key[len(ONLINE_SETTING_PREFIX) :].lower(): _typed(
                key[len(ONLINE_SETTING_PREFIX) :].lower(), value
            )
            for key, value in env.items()
            if key.startswith(ONLINE_SETTING_PREFIX)
        }
        buffer_rows = env.get("FEATURE_PLATFORM_OFFLINE_BUFFER_ROWS")
        buffer_seconds = env.get("FEATURE_PLATFORM_OFFLINE_BUFFER_SECONDS")
        return cls(
            home=resolve_home(env.get("FEATURE_PLATFORM_HOME")),
            catalog_type=env.get("FEATURE_PLATFORM_CATALOG_TYPE", "sql"),  # type: ignore[arg-type]
            catalog_uri=env.get("FEATURE_PLATFORM_CATALOG_URI") or None,
            warehouse=env.get("FEATURE_PLATFORM_WAREHOUSE") or None,
            namespace=env.get("FEATURE_PLATFORM_NAMESPACE", DEFAULT_NAMESPACE),
            catalog_properties=properties,
            commit_retries=int(retries) if retries else 10,
            landing=env.get("FEATURE_PLATFORM_LANDING") or None,
            online_store=env.get("FEATURE_PLATFORM_ONLINE_STORE", "embedded"),  # type: ignore[arg-type]
            online_settings=online_settings,
            offline_buffer_rows=int(buffer_rows) if buffer_rows else DEFAULT_OFFLINE_BUFFER_ROWS,
            offline_buffer_seconds=float(buffer_seconds)
            if buffer_seconds
            else DEFAULT_OFFLINE_BUFFER_SECONDS,
        )

    @property
    def landing_uri(self) -> str:
        """Where landing files arrive: `landing`, else ``<home>/landing``."""
        return self.landing or str(self.home / "landing")

    @property
    def online_folder(self) -> Path:
        """Where the embedded online store keeps its SQLite file."""
        return self.home / "online"

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


_INTEGER_SETTINGS = frozenset({"max_workers", "read_attempts", "max_retry_attempts"})
_SWITCH_SETTINGS = frozenset({"consistent_reads", "manage_ttl"})


def _typed(name: str, value: str) -> Any:
    """Environment values are text; the online store's counts, durations and switches are not.

    Only those are converted, by name, so a table prefix such as ``1.`` stays text.
    """
    if name in _SWITCH_SETTINGS:
        if value.strip().lower() not in ("true", "false"):
            raise ConfigurationError(f"online setting {name} must be true or false, not {value!r}")
        return value.strip().lower() == "true"
    try:
        if name in _INTEGER_SETTINGS:
            return int(value)
        if name.endswith("_seconds"):
            return float(value)
    except ValueError as exc:
        raise ConfigurationError(f"online setting {name} must be a number, not {value!r}") from exc
    return value
