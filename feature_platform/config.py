"""Where the store keeps its state: one home folder by default, cloud services by configuration.

The same code runs on a laptop (SQLite catalog, local warehouse) and on AWS (Glue or REST catalog,
S3 warehouse); only a `StoreConfig` differs. Configuration is read in one place, from arguments
or `FEATURE_PLATFORM_*` environment variables, never at import time.
"""

from __future__ import annotations

import math
import os
import re
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
DEFAULT_COMMIT_RETRIES = 10
# Rows older than a day in one process's memory are a misconfiguration, not a batching choice;
# the bound also keeps every timer and join timeout derived from it a finite, valid number.
MAX_OFFLINE_BUFFER_SECONDS = 86_400.0

# Where each setting comes from, so an error names both the argument and the variable.
HOME_VARIABLE = "FEATURE_PLATFORM_HOME"
CATALOG_TYPE_VARIABLE = "FEATURE_PLATFORM_CATALOG_TYPE"
CATALOG_URI_VARIABLE = "FEATURE_PLATFORM_CATALOG_URI"
WAREHOUSE_VARIABLE = "FEATURE_PLATFORM_WAREHOUSE"
COMMIT_RETRIES_VARIABLE = "FEATURE_PLATFORM_COMMIT_RETRIES"
ONLINE_STORE_VARIABLE = "FEATURE_PLATFORM_ONLINE_STORE"
BUFFER_ROWS_VARIABLE = "FEATURE_PLATFORM_OFFLINE_BUFFER_ROWS"
BUFFER_SECONDS_VARIABLE = "FEATURE_PLATFORM_OFFLINE_BUFFER_SECONDS"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The embedded-state folder: the argument, else `FEATURE_PLATFORM_HOME`, else the default."""
    chosen = home if home is not None else os.environ.get(HOME_VARIABLE, DEFAULT_HOME)
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
        commit_retries: How often a conflicting commit is retried before giving up (>= 0).
        online_store: ``embedded`` (SQLite under `home`) or ``dynamodb``.
        online_settings: Settings of the online store, e.g. ``endpoint_url``, ``region_name``,
            ``table_prefix``, ``table_mode`` for DynamoDB (see `DynamoDBSettings`).
        offline_buffer_rows: Pushed rows (`write`) a group buffers before committing them to
            the offline table; 0 commits every write at once.
        offline_buffer_seconds: Longest time a pushed row waits in the buffer, from 0 (commit
            every write) to one day.
        landing: Where producers drop files to push (``<landing>/<group>/*.parquet``): a
            folder or ``s3://`` prefix; default ``<home>/landing``.
    """

    home: Path
    catalog_type: CatalogType = "sql"
    catalog_uri: str | None = None
    warehouse: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    catalog_properties: Mapping[str, str] = field(default_factory=dict)
    commit_retries: int = DEFAULT_COMMIT_RETRIES
    online_store: OnlineStoreType = "embedded"
    online_settings: Mapping[str, Any] = field(default_factory=dict)
    offline_buffer_rows: int = DEFAULT_OFFLINE_BUFFER_ROWS
    offline_buffer_seconds: float = DEFAULT_OFFLINE_BUFFER_SECONDS
    landing: str | None = None

    def __post_init__(self) -> None:
        validate_identifier(self.namespace, "namespace")
        if self.catalog_type not in ("sql", "glue", "rest"):
            raise ConfigurationError(
                f"catalog_type must be 'sql', 'glue' or 'rest', not {self.catalog_type!r}: "
                f"set {CATALOG_TYPE_VARIABLE} (or catalog_type) to one of them"
            )
        if self.catalog_type == "rest" and not self.catalog_uri:
            raise ConfigurationError(
                f"a rest catalog needs catalog_uri (the REST endpoint): set {CATALOG_URI_VARIABLE}"
            )
        if self.catalog_type == "glue" and not self.warehouse:
            raise ConfigurationError(
                f"a glue catalog needs warehouse, e.g. s3://bucket/prefix: set {WAREHOUSE_VARIABLE}"
            )
        if self.online_store not in ("embedded", "dynamodb"):
            raise ConfigurationError(
                f"online_store must be 'embedded' or 'dynamodb', not {self.online_store!r}: "
                f"set {ONLINE_STORE_VARIABLE} (or online_store) to one of them"
            )
        _check_count(self.commit_retries, "commit_retries", COMMIT_RETRIES_VARIABLE, "10")
        _check_count(self.offline_buffer_rows, "offline_buffer_rows", BUFFER_ROWS_VARIABLE, "50000")
        seconds = self.offline_buffer_seconds
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds <= MAX_OFFLINE_BUFFER_SECONDS  # also false for nan
        ):
            raise ConfigurationError(
                f"offline_buffer_seconds ({BUFFER_SECONDS_VARIABLE}) must be a number of seconds "
                f"from 0 to {MAX_OFFLINE_BUFFER_SECONDS:.0f} (one day), not {seconds!r}: it is "
                "how long a pushed row may wait before its offline commit, e.g. 30"
            )

    @property
    def uses_home(self) -> bool:
        """Whether state lives in `home`: the embedded catalog, warehouse or online store."""
        embedded_catalog = self.catalog_type == "sql" and not self.catalog_uri
        local_warehouse = not self.warehouse and self.manages_locations
        return embedded_catalog or local_warehouse or self.online_store == "embedded"

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
        online_settings = {
            key[len(ONLINE_SETTING_PREFIX) :].lower(): _typed(
                key[len(ONLINE_SETTING_PREFIX) :].lower(), value
            )
            for key, value in env.items()
            if key.startswith(ONLINE_SETTING_PREFIX)
        }
        return cls(
            home=resolve_home(env.get(HOME_VARIABLE)),
            catalog_type=env.get(CATALOG_TYPE_VARIABLE, "sql"),  # type: ignore[arg-type]
            catalog_uri=env.get(CATALOG_URI_VARIABLE) or None,
            warehouse=env.get(WAREHOUSE_VARIABLE) or None,
            namespace=env.get("FEATURE_PLATFORM_NAMESPACE", DEFAULT_NAMESPACE),
            catalog_properties=properties,
            commit_retries=_env_integer(env, COMMIT_RETRIES_VARIABLE, DEFAULT_COMMIT_RETRIES),
            landing=env.get("FEATURE_PLATFORM_LANDING") or None,
            online_store=env.get(ONLINE_STORE_VARIABLE, "embedded"),  # type: ignore[arg-type]
            online_settings=online_settings,
            offline_buffer_rows=_env_integer(
                env, BUFFER_ROWS_VARIABLE, DEFAULT_OFFLINE_BUFFER_ROWS
            ),
            offline_buffer_seconds=_env_seconds(
                env, BUFFER_SECONDS_VARIABLE, DEFAULT_OFFLINE_BUFFER_SECONDS
            ),
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


def ensure_home(config: StoreConfig) -> None:
    """Create the home folder now, if the configuration keeps state there, and check it is
    writable: otherwise SQLite, the warehouse or the online store would fail on first use, with
    an error that names a file deep inside rather than the setting to change.

    Raises:
        ConfigurationError: The folder cannot be created (a parent is a file, no permission,
            a read-only file system) or is not writable; names `FEATURE_PLATFORM_HOME`.
    """
    if not config.uses_home:
        return
    home = config.home
    fix = f"set {HOME_VARIABLE} (or home) to a folder this process can create and write"
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigurationError(f"cannot create the home folder {home} ({reason}): {fix}") from exc
    if not os.access(home, os.W_OK | os.X_OK):
        raise ConfigurationError(f"the home folder {home} is not writable: {fix}")


def redact_uri(uri: str) -> str:
    """`uri` with any password replaced, so that error messages and logs can show it."""
    return re.sub(r"(//[^/:@]*):[^/]*@", r"\1:***@", uri)


def _check_count(value: object, name: str, variable: str, example: str) -> None:
    """A count must be a whole number >= 0 (``True`` is not a count, though Python says int)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            f"{name} ({variable}) must be a whole number >= 0, not {value!r}, e.g. {example}"
        )


def _env_integer(env: Mapping[str, str], variable: str, default: int) -> int:
    """An integer variable; text that is not one names the variable instead of int()'s error.

    ``1e3`` is refused rather than read as 1000: a count written as a float is more likely a
    mistake than a wish, and int() of a float would silently truncate ``1.5``.
    """
    text = env.get(variable, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(
            f"{variable}={text!r} is not a whole number: set it to digits only, e.g. "
            f"{variable}={default}, or unset it for the default {default}"
        ) from None


def _env_seconds(env: Mapping[str, str], variable: str, default: float) -> float:
    """A duration variable in seconds; its range is checked with the other settings."""
    text = env.get(variable, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan  # refused by the range check, with the variable named
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_OFFLINE_BUFFER_SECONDS:
        raise ConfigurationError(
            f"{variable}={text!r} is not a number of seconds from 0 to "
            f"{MAX_OFFLINE_BUFFER_SECONDS:.0f} (one day): set it to e.g. {variable}={default:g}, "
            "or unset it for that default"
        )
    return seconds


_INTEGER_SETTINGS = frozenset({"max_workers", "read_attempts", "max_retry_attempts"})
_SWITCH_SETTINGS = frozenset({"consistent_reads", "manage_ttl"})


def _typed(name: str, value: str) -> Any:
    """Environment values are text; the online store's counts, durations and switches are not.

    Only those are converted, by name, so a table prefix such as ``1.`` stays text.
    """
    variable = ONLINE_SETTING_PREFIX + name.upper()
    if name in _SWITCH_SETTINGS:
        if value.strip().lower() not in ("true", "false"):
            raise ConfigurationError(
                f"online setting {name} must be true or false, not {value!r}: set {variable}"
            )
        return value.strip().lower() == "true"
    try:
        if name in _INTEGER_SETTINGS:
            return int(value)
        if name.endswith("_seconds"):
            return float(value)
    except ValueError as exc:
        raise ConfigurationError(
            f"online setting {name} must be a number, not {value!r}: set {variable}"
        ) from exc
    return value
