"""`FeatureStore`: the user-facing entry point to apply, write, read and describe feature groups.

Specs are persisted in each table's properties, so any process that opens the same catalog (a
Dagster run on another machine, a notebook) sees the same groups without a separate registry
service.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401 - its exit hook must be registered first
import datetime as dt
import logging
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, NoSuchNamespaceError, NoSuchTableError
from pyiceberg.expressions import AlwaysFalse, BooleanExpression
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.refs import MAIN_BRANCH

from feature_platform.config import StoreConfig
from feature_platform.errors import (
    CommitConflictError,
    ConfigurationError,
    FeatureNotOnlineError,
    IncompatibleSchemaChangeError,
    InvalidRequestError,
    InvalidSpecError,
    NameClashError,
    StoreClosedError,
    UnknownExperimentError,
    UnknownFeatureGroupError,
)
from feature_platform.identifiers import (
    LATEST_SUFFIX,
    refuse_latest_suffix,
    validate_identifier,
)
from feature_platform.offline_store.audit import audit_before_write
from feature_platform.offline_store.branches import (
    experiment_branch,
    experiment_record,
    experiment_records,
    experiment_view,
    open_experiment,
    record_experiment_spec,
)
from feature_platform.offline_store.catalog import open_catalog, table_location, table_properties
from feature_platform.offline_store.reads import scan_table, utc_or_none
from feature_platform.offline_store.schema import (
    SPEC_PROPERTY,
    SchemaEvolution,
    applied_group,
    iceberg_schema,
    partition_spec,
    plan_evolution,
    sort_order,
    table_columns,
)
from feature_platform.offline_store.validation import prepare_frame
from feature_platform.offline_store.writes import WriteResult, append, replace_window
from feature_platform.specs import EVENT_TIME_COLUMN, FeatureGroup
from feature_platform.streaming.buffer import OfflineBuffer
from feature_platform.time_windows import TimeWindow
from feature_platform.training.entity_frame import DEFAULT_TIMESTAMP_COLUMN
from feature_platform.training.point_in_time import DEFAULT_MAX_ROWS_PER_READ
from feature_platform.training.retrieval import AsOf, TrainingSet, build_training_set
from feature_platform.training.storage import training_set_namespace

if TYPE_CHECKING:
    # The online store's modules import boto3 (DynamoDB) at module level: loaded when a store
    # first touches its online side, so that commands reading only specs start fast.
    from feature_platform.online_store import OnlineStore, OnlineWriteReport
    from feature_platform.online_store.serving import OnlineFeatureReader
    from feature_platform.training.duckdb_join import DuckDBOptions
    from feature_platform.training.sql_retrieval import Engine, SnowflakeTarget

WriteTarget = Literal["offline", "online", "both"]

# Stores with possibly buffered rows; flushed on a clean interpreter exit so no push is lost.
logger = logging.getLogger(__name__)

_OPEN_STORES: weakref.WeakSet[FeatureStore] = weakref.WeakSet()


def _flush_open_stores() -> None:
    for store in list(_OPEN_STORES):
        try:
            store.flush()
        except Exception:  # one store's failure must not keep the others' rows from committing
            logger.exception("could not commit the buffered rows of %r at exit", store)


# Registered as a threading exit hook, not with `atexit`: by the time `atexit` handlers run,
# concurrent.futures has shut its pools (pyiceberg writes files through one). Threading's hooks
# run in reverse order of registration, so this one runs before that shutdown.
threading._register_atexit(_flush_open_stores)  # type: ignore[attr-defined]


def _table_exists(catalog: Catalog, identifier: tuple[str, str]) -> bool:
    """`catalog.table_exists`, also where a missing namespace raises instead of answering."""
    try:
        return catalog.table_exists(identifier)
    except NoSuchNamespaceError:
        return False


@dataclass(frozen=True)
class ApplyResult:
    """What `apply` did to the offline table."""

    group: str
    created: bool
    evolution: SchemaEvolution

    online_table_ready: bool = False
    online_switched_off: bool = False

    @property
    def changed(self) -> bool:
        return self.created or self.evolution.changes_schema


@dataclass(frozen=True)
class PushResult:
    """What one `write` did: the online write at once, and the offline commits it triggered.

    Attributes:
        group: The feature group written.
        rows: Rows in the frame.
        online: The online write's counts (None when the online store was not written).
        offline_commits: Offline commits made by this call (buffered rows of earlier calls
            included); empty while the rows wait in the buffer.
        offline_pending_rows: Rows of this group still waiting for an offline commit.
        offline_error: Why the group's last offline commit failed, while its rows (this
            write's included) stay buffered; they are retried by the buffer's timer, `flush`
            and `close`, so do not write them again. None when nothing failed.
    """

    group: str
    rows: int
    online: OnlineWriteReport | None
    offline_commits: tuple[WriteResult, ...]
    offline_pending_rows: int
    offline_error: str | None = None


class FeatureStore:
    """Feature groups on an Iceberg offline store.

    Args:
        home: Folder for embedded state; defaults to `FEATURE_PLATFORM_HOME` or
            ``./.feature_platform``. Ignored when `config` is given.
        config: A full configuration (see `FeatureStore.from_config`).

    Raises:
        ConfigurationError: The home folder cannot be written, or the catalog cannot be opened
            or reached (checked here, so a misconfigured store fails where it is built).
    """

    def __init__(
        self, home: str | os.PathLike[str] | None = None, *, config: StoreConfig | None = None
    ):
        self.config = config if config is not None else StoreConfig.embedded(home)
        # Opened now, not on first use: a wrong home, catalog URL or unreachable catalog is a
        # `ConfigurationError` from the line that built the store, not from a later write.
        self.catalog: Catalog = open_catalog(self.config)
        self._buffer = OfflineBuffer(
            self._commit_buffered,
            max_rows=self.config.offline_buffer_rows,
            max_seconds=self.config.offline_buffer_seconds,
        )
        self._closed = False
        _OPEN_STORES.add(self)

    @classmethod
    def from_config(cls, **settings: Any) -> FeatureStore:
        """Open a store on configured services, e.g. ``catalog_type="glue", warehouse="s3://b/p"``.

        Unset settings default to the embedded store under `home`.
        """
        home = settings.pop("home", None)
        return cls(config=StoreConfig(home=StoreConfig.embedded(home).home, **settings))

    @classmethod
    def from_env(cls) -> FeatureStore:
        """Open the store described by ``FEATURE_PLATFORM_*`` environment variables.

        Raises:
            ConfigurationError: A variable is malformed or out of range, the home folder
                cannot be written, or the catalog cannot be opened; the message names the
                variable to change.
        """
        return cls(config=StoreConfig.from_env())

    @cached_property
    def online(self) -> OnlineStore:
        """The online store of this configuration (opened on first use)."""
        from feature_platform.online_store import open_online_store

        if self.config.online_store == "embedded":
            settings = {"folder": str(self.config.online_folder), **self.config.online_settings}
            return open_online_store("embedded", **settings)
        return open_online_store("dynamodb", **self.config.online_settings)

    @cached_property
    def _online_reader(self) -> OnlineFeatureReader:
        from feature_platform.online_store.serving import OnlineFeatureReader

        return OnlineFeatureReader(self.online, self.get_feature_group)

    def flush(self, name: str | None = None) -> list[WriteResult]:
        """Commit buffered offline rows now (of group `name`, or of every group)."""
        return self._buffer.flush(name)

    def close(self) -> None:
        """Commit buffered offline rows and release the online store's connections."""
        self._closed = True
        self._buffer.close()
        _OPEN_STORES.discard(self)
        if "online" in self.__dict__:
            self.online.close()

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- definitions -------------------------------------------------------------------------

    def apply(self, group: FeatureGroup, *, experiment: str | None = None) -> ApplyResult:
        """Create the group's offline table, or evolve it to match a changed spec.

        With an `experiment`, the changed spec holds in that experiment only (see
        `_apply_in_experiment`); main's spec, and everything reading main, is unchanged.

        Raises:
            IncompatibleSchemaChangeError: The change cannot be made in place (see
                `plan_evolution`); nothing is modified.
            NameClashError: A new group's name is taken by a training set, or would make its
                ``<name>_latest`` view clash with an existing group; nothing is created.
        """
        if not isinstance(group, FeatureGroup):
            raise InvalidSpecError(
                f"apply takes a FeatureGroup, not {type(group).__name__}; build one with "
                "FeatureGroup(name, entity, features, ...)"
            )
        if experiment is not None:
            return self._apply_in_experiment(group, experiment)
        result = self._apply_offline(group)
        if "_online_reader" in self.__dict__:
            self._online_reader.invalidate()
        if group.online:
            self.online.ensure_table(group)
            return replace(result, online_table_ready=True)
        return result

    def _apply_in_experiment(self, group: FeatureGroup, experiment: str) -> ApplyResult:
        """Apply a changed spec in an experiment only.

        Iceberg schemas are table-wide: a feature added here becomes a column of the table, null
        in every main row, but main's spec (what reads, the online sync and Snowflake's latest
        view select) stays as it is until promotion. Type changes would change main's column
        too, so they are refused.

        Raises:
            UnknownFeatureGroupError: The group is not applied on main yet.
            IncompatibleSchemaChangeError: The spec changes a type, keys or partitioning.
        """
        experiment_branch(experiment)  # a bad name changes nothing
        table = self._table(group.name)
        main = applied_group(table)
        evolution = plan_evolution(table.schema(), main, group)
        if evolution.promoted:
            raise IncompatibleSchemaChangeError(
                f"feature group {group.name!r}: experiment {experiment!r} changes the type of "
                f"{list(evolution.promoted)}, which would change main's table too (Iceberg "
                "schemas are table-wide); add the feature under a new name in the experiment"
            )
        record = open_experiment(lambda: self._table(group.name), experiment)
        if evolution.added:
            schema = iceberg_schema(group)
            with table.refresh().update_schema() as update:
                for name in evolution.added:
                    feature = group.feature(name)
                    update.add_column(
                        name, schema.find_field(name).field_type, doc=feature.description or None
                    )
        spec = None if group == main else group.to_json()
        if spec != record.spec:
            record_experiment_spec(lambda: self._table(group.name), record, spec)
        return ApplyResult(group.name, created=False, evolution=evolution)

    def _apply_offline(self, group: FeatureGroup) -> ApplyResult:
        identifier = self._identifier(group.name)
        schema = iceberg_schema(group)
        if not self.catalog.table_exists(identifier):
            self._refuse_name_clash(group.name)
            properties = {**table_properties(self.config), SPEC_PROPERTY: group.to_json()}
            location = table_location(self.config, self.config.namespace, group.name)
            self.catalog.create_table_if_not_exists(
                identifier,
                schema=schema,
                partition_spec=partition_spec(group, schema),
                sort_order=sort_order(group, schema),
                properties=properties,
                location=location,
            )
            return ApplyResult(group.name, created=True, evolution=SchemaEvolution(added=()))
        for _ in range(self.config.commit_retries + 1):
            try:
                return self._evolve(group, schema)
            except CommitFailedException:
                continue  # another process changed the table meanwhile: plan again on fresh state
        raise CommitConflictError(
            f"could not evolve feature group {group.name!r}: its table kept changing concurrently"
        )

    def _refuse_name_clash(self, name: str) -> None:
        """A new group's name must not answer for another relation in SQL or Snowflake.

        Checked when the table is created, against what the catalog holds: a training set by
        that name, or a group ``<name>_latest`` applied before that suffix was refused (whose
        name the new group's view would take). Existing tables are never refused here, so
        upgrading cannot stop a running pipeline; their clashes are reported where a query
        would resolve them.

        Raises:
            NameClashError: The name clashes; nothing was created.
        """
        refuse_latest_suffix(name, "feature group")
        view = name + LATEST_SUFFIX
        if self.catalog.table_exists((self.config.namespace, view)):
            raise NameClashError(
                f"cannot create feature group {name!r}: its latest-value view would be named "
                f"{view!r}, the name of the existing table {self.config.namespace}.{view} (a "
                f"group created before names ending in {LATEST_SUFFIX!r} were refused); give "
                "the new group another name"
            )
        training_sets = training_set_namespace(self.config)
        if _table_exists(self.catalog, (training_sets, name)):
            raise NameClashError(
                f"cannot create feature group {name!r}: training set {name!r} "
                f"({training_sets}.{name}) has that name, and groups and training sets share "
                "one name space in SQL; give the group another name, or drop the training set"
            )

    def _evolve(self, group: FeatureGroup, schema: Schema) -> ApplyResult:
        table = self.catalog.load_table(self._identifier(group.name))
        stored = applied_group(table)
        evolution = plan_evolution(table.schema(), stored, group)
        # Retry settings follow the store's configuration, also for tables created earlier.
        stale_settings = {
            key: value
            for key, value in table_properties(self.config).items()
            if key.startswith("commit.retry.") and table.properties.get(key) != value
        }
        switched_off = stored.online and not group.online
        if stored == group and not evolution.changes_schema and not stale_settings:
            # Every run applies its group; an unchanged spec must not commit (and contend).
            return ApplyResult(group.name, created=False, evolution=evolution)
        with table.transaction() as transaction:
            if evolution.changes_schema:
                with transaction.update_schema() as update:
                    for name in evolution.added:
                        feature = group.feature(name)
                        update.add_column(
                            name,
                            schema.find_field(name).field_type,
                            doc=feature.description or None,
                        )
                    for name in evolution.promoted:
                        update.update_column(name, field_type=schema.find_field(name).field_type)
            transaction.set_properties({SPEC_PROPERTY: group.to_json(), **stale_settings})
        if switched_off:
            warnings.warn(
                f"feature group {group.name!r} is now offline only: its online table keeps its "
                "data but is no longer synced, and online reads of it are refused",
                stacklevel=3,
            )
        return ApplyResult(
            group.name, created=False, evolution=evolution, online_switched_off=switched_off
        )

    def list_feature_groups(self) -> list[FeatureGroup]:
        """Every group applied to this store's namespace, sorted by name."""
        groups = []
        for identifier in self.catalog.list_tables(self.config.namespace):
            table = self.catalog.load_table(identifier)
            if SPEC_PROPERTY in table.properties:
                groups.append(applied_group(table))
        return sorted(groups, key=lambda g: g.name)

    def get_feature_group(self, name: str) -> FeatureGroup:
        return applied_group(self._table(name))

    def describe(self, name: str) -> dict[str, Any]:
        """The spec plus the table's current state: location, snapshot, rows, files, bytes."""
        self._flush_pending(name)
        table = self._table(name)
        group = applied_group(table)
        snapshot = table.current_snapshot()
        summary = snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
        return {
            **group.to_dict(),
            "table": ".".join(table.name()),
            "location": table.location(),
            "metadata_location": table.metadata_location,
            "snapshot_id": snapshot.snapshot_id if snapshot else None,
            "last_updated": dt.datetime.fromtimestamp(
                table.metadata.last_updated_ms / 1000, dt.UTC
            ).isoformat(),
            "rows": int(summary.get("total-records", 0)),
            "data_files": int(summary.get("total-data-files", 0)),
            "bytes": int(summary.get("total-files-size", 0)),
            "snapshots": len(table.snapshots()),
        }

    # --- writes --------------------------------------------------------------------------------

    def write_window(
        self,
        name: str,
        frame: Any,
        start: dt.datetime | dt.date | str,
        end: dt.datetime | dt.date | str,
        *,
        experiment: str | None = None,
    ) -> WriteResult:
        """Atomically replace the rows of ``[start, end)`` with `frame`: the backfill primitive.

        Rerunning with the same frame gives the same table content. Never touches the online store.
        With an `experiment`, the window of the group's branch ``exp_<experiment>`` is replaced
        (the branch is made from main on first use) and main is untouched.

        Raises:
            InvalidFrameError: (and subclasses) the frame does not fit the group; nothing written.
            InvalidWindowError: The window is reversed or naive.
            ExpectationFailedError: The rows fail a strict expectation of the group; nothing
                was committed. Failed warn expectations are committed and recorded in the
                snapshot summary and in the result's `expectations`. Windows written into an
                experiment are audited when it is promoted, not here.
            InvalidIdentifierError: `experiment` is not an identifier; nothing written.
        """
        window = TimeWindow.of(start, end)
        branch = MAIN_BRANCH if experiment is None else experiment_branch(experiment)
        # Pushed rows still buffered would otherwise land after the replacement, in its window.
        self._flush_pending(name)
        table = self._table(name)
        group = applied_group(table) if experiment is None else self._group_in(table, experiment)
        rows = prepare_frame(group, frame, window=window)
        self._check_storable_online(group, rows)
        # Strict failures raise here; an experiment's windows are judged when it is promoted.
        audit = audit_before_write(table, group, rows, window) if experiment is None else None
        data = self._arrow_for(table, rows)
        recorded = audit.summary_properties() if audit else None
        if experiment is not None:
            open_experiment(lambda: self._table(name), experiment)
            table = self._table(name)
        written = replace_window(
            self._loader(name, table),
            data,
            EVENT_TIME_COLUMN,
            window,
            properties=recorded,
            branch=branch,
        )
        return replace(written, expectations=audit)

    def write(
        self,
        name: str,
        frame: Any,
        to: WriteTarget = "offline",
        *,
        idempotency_key: str | None = None,
    ) -> PushResult:
        """Push rows: the streaming path, validated like a window write.

        `frame` is a polars, pandas or pyarrow frame, or a list of dicts, one per row, as
        streaming producers emit them: typed by the group's spec, timestamps as aware datetimes
        or ISO-8601 text with an offset or ``Z`` (naive ones are refused).

        ``online`` writes apply at once, latest wins (an older event time never replaces a
        newer value). ``offline`` rows are appended to the offline table in micro-batches: they
        are buffered until `offline_buffer_rows` rows or `offline_buffer_seconds` accumulate,
        until `flush` or `close`, or until this store reads the group. ``both`` does both.
        With an `idempotency_key`, offline rows are committed at once under that key, and a
        later write with the same key commits nothing (for reruns of a file's ingest).

        A buffered offline commit that fails does not raise here: the rows stay buffered and are
        retried, and `offline_error` says what failed (writing the rows again would double them).

        Raises:
            InvalidFrameError: (and subclasses) the frame does not fit the group; nothing written.
            FeatureNotOnlineError: `to` includes the online store but the group is not online.
            ConfigurationError: `to` is not one of the three targets.
            StoreClosedError: The store was closed.
        """
        if self._closed:
            raise StoreClosedError(
                f"cannot write to {name!r}: this store was closed; open a new FeatureStore"
            )
        if to not in ("offline", "online", "both"):
            raise ConfigurationError(f"write(to={to!r}): use 'offline', 'online' or 'both'")
        if idempotency_key is not None and (
            not isinstance(idempotency_key, str) or not idempotency_key
        ):
            raise ConfigurationError(
                f"idempotency_key must be a string (and not empty), not {idempotency_key!r}"
            )
        table = self._table(name)
        group = applied_group(table)
        if to != "offline" and not group.online:
            raise FeatureNotOnlineError(
                f"feature group {name!r} is not online, so write(to={to!r}) cannot reach the "
                "online store; write to='offline', or set online=True and apply the group"
            )
        rows = prepare_frame(group, frame)
        self._check_storable_online(group, rows)
        online = self.online.write(group, rows) if to != "offline" else None
        commits: list[WriteResult] = []
        if to != "online" and not rows.is_empty():
            if self.config.offline_buffer_rows == 0 or idempotency_key is not None:
                data = self._arrow_for(table, rows)
                commits = [append(self._loader(name, table), data, write_id=idempotency_key)]
            else:
                commits = self._buffer.add(name, rows)
        return PushResult(
            group=name,
            rows=rows.height,
            online=online,
            offline_commits=tuple(commits),
            offline_pending_rows=self._buffer.pending_rows(name),
            offline_error=str(failure) if (failure := self._buffer.failure(name)) else None,
        )

    def _check_storable_online(self, group: FeatureGroup, rows: pl.DataFrame) -> None:
        """Every offline row of an online group may become an entity's latest value, to be
        synced: refuse here, with the rows in hand, what the online store could never hold."""
        if group.online:
            from feature_platform.online_store.limits import DEFAULT_TTL_ATTRIBUTE, check_storable

            ttl_attribute = self.config.online_settings.get("ttl_attribute", DEFAULT_TTL_ATTRIBUTE)
            check_storable(group, rows, str(ttl_attribute) if ttl_attribute else None)

    def _commit_buffered(self, name: str, rows: pl.DataFrame, write_id: str) -> WriteResult:
        table = self._table(name)
        return append(self._loader(name, table), self._arrow_for(table, rows), write_id=write_id)

    # --- reads ---------------------------------------------------------------------------------

    def read(
        self,
        name: str,
        start: dt.datetime | dt.date | str | None = None,
        end: dt.datetime | dt.date | str | None = None,
        as_of: int | dt.datetime | str | None = None,
        features: list[str] | None = None,
        *,
        experiment: str | None = None,
    ) -> pl.DataFrame:
        """Rows with ``start <= event_time < end`` as of a snapshot id or timestamp (default: now).

        Only the requested features (default: all) and the needed partitions are read. With an
        `experiment`, the group's branch of it is read (main, if the experiment did not write
        this group).

        Raises:
            UnknownExperimentError: No group has the experiment.
        """
        self._flush_pending(name)
        if isinstance(features, str):
            raise InvalidRequestError(
                f"features must be a list of feature names; write features=[{features!r}]"
            )
        table = self._table(name)
        group = applied_group(table)
        row_filter = None
        if experiment is not None:
            group, as_of, row_filter = self._experiment_read(table, experiment, as_of)
        wanted = list(group.feature_names if features is None else features)
        group.check_features(wanted)
        columns = [c for c in table_columns(group) if c not in group.feature_names] + wanted
        return scan_table(
            table,
            columns=columns,
            time_column=EVENT_TIME_COLUMN,
            start=utc_or_none(start, "start"),
            end=utc_or_none(end, "end"),
            as_of=as_of,
            row_filter=row_filter,
        )

    def get_historical_features(
        self,
        entity_df: Any,
        features: Iterable[str],
        *,
        full_feature_names: bool = False,
        timestamp_column: str = DEFAULT_TIMESTAMP_COLUMN,
        as_of: AsOf | Mapping[str, AsOf] | None = None,
        experiment: str | None = None,
        engine: Engine = "polars",
        snowflake: SnowflakeTarget | None = None,
    ) -> pl.DataFrame:
        """A point-in-time correct training frame: `features` as of each entity row's timestamp.

        `entity_df` (polars, pandas or pyarrow) holds the join keys of every requested group and
        a UTC-aware `timestamp_column`. The result has one row per input row, in input order: the
        input's columns unchanged, then each feature (named `<group>__<feature>` with
        `full_feature_names`), null where a group has no row at or before the timestamp (within
        its ttl). `as_of` (a timestamp, or per group a snapshot id or timestamp) reads the tables
        as they were, to rebuild a training set exactly; `build_training_set` also returns the
        snapshot ids used. With an `experiment`, the groups it wrote are read from their branch
        of it, the others from main. `engine` runs the join in polars (default), DuckDB or
        Snowflake with the same result; see `build_training_set`.
        """
        return self.build_training_set(
            entity_df,
            features,
            full_feature_names=full_feature_names,
            timestamp_column=timestamp_column,
            as_of=as_of,
            experiment=experiment,
            engine=engine,
            snowflake=snowflake,
        ).frame

    def build_training_set(
        self,
        entity_df: Any,
        features: Iterable[str],
        *,
        full_feature_names: bool = False,
        timestamp_column: str = DEFAULT_TIMESTAMP_COLUMN,
        as_of: AsOf | Mapping[str, AsOf] | None = None,
        max_rows_per_read: int = DEFAULT_MAX_ROWS_PER_READ,
        experiment: str | None = None,
        engine: Engine = "polars",
        snowflake: SnowflakeTarget | None = None,
        duckdb: DuckDBOptions | None = None,
        name: str = "training_set",
    ) -> TrainingSet:
        """`get_historical_features` plus the snapshot each group was read at and read counts.

        Args:
            entity_df: The label rows (see `get_historical_features`), or with
                ``engine="snowflake"`` a `SnowflakeLabels` table or query.
            features: ``"<group>:<feature>"`` references.
            full_feature_names: Name columns ``<group>__<feature>``.
            timestamp_column: The labels' instant column.
            as_of: Read the tables as of a timestamp, or per group a snapshot id or timestamp.
            max_rows_per_read: The polars join's bound on feature rows held at once.
            experiment: Read the groups the experiment wrote from its branches (polars only).
            engine: ``polars`` (in process, bounded memory), ``duckdb`` (one SQL statement over
                the snapshot's Parquet files, spilling to disk past `duckdb`'s memory limit) or
                ``snowflake`` (one SQL statement over the registered Iceberg tables, which
                must be refreshed to the snapshots read; `entity_df` may then be
                `SnowflakeLabels`, a table or query already in Snowflake). Same result.
            snowflake: Settings and connection for ``engine="snowflake"``.
            duckdb: Memory limit and spill folder for ``engine="duckdb"``.
            name: Names the Snowflake result table (with a digest of the snapshot ids).

        Raises:
            UnknownExperimentError: No group has `experiment`.
            InvalidRequestError: `experiment` with an SQL engine (Snowflake's registered tables
                show main only).
        """
        self._flush_pending()
        if experiment is not None:
            if engine != "polars":
                raise InvalidRequestError(
                    f"experiment={experiment!r} works with engine='polars' only: the SQL "
                    "engines read main (Snowflake's registered tables never show an experiment)"
                )
            self.require_experiment(experiment)
        if engine != "polars":
            return self._build_with_sql(
                entity_df,
                features,
                engine=engine,
                full_feature_names=full_feature_names,
                timestamp_column=timestamp_column,
                as_of=as_of,
                snowflake=snowflake,
                duckdb=duckdb,
                name=name,
            )
        return build_training_set(
            entity_df,
            features,
            load_table=self._table,
            spec_of=applied_group,
            full_feature_names=full_feature_names,
            timestamp_column=timestamp_column,
            as_of=as_of,
            max_rows_per_read=max_rows_per_read,
            experiment=experiment,
        )

    def _build_with_sql(
        self,
        entity_df: Any,
        features: Iterable[str],
        *,
        engine: Engine,
        full_feature_names: bool,
        timestamp_column: str,
        as_of: AsOf | Mapping[str, AsOf] | None,
        snowflake: SnowflakeTarget | None,
        duckdb: DuckDBOptions | None,
        name: str,
    ) -> TrainingSet:
        from feature_platform.training.sql_retrieval import build_training_set_sql, plan_sql

        columns = None
        if snowflake is not None and snowflake.connection is not None:
            columns = snowflake.label_columns(entity_df)
        plan = plan_sql(
            entity_df,
            features,
            load_table=self._table,
            spec_of=applied_group,
            full_feature_names=full_feature_names,
            timestamp_column=timestamp_column,
            as_of=as_of,
            label_columns=columns,
        )
        return build_training_set_sql(plan, engine, name=name, snowflake=snowflake, duckdb=duckdb)

    def table(self, name: str) -> Table:
        """The group's pyiceberg table, for tools that want Iceberg directly (after a flush)."""
        self._flush_pending(name)
        return self._table(name)

    def get_online_features(
        self,
        features: Iterable[str],
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        now: dt.datetime | None = None,
    ) -> pl.DataFrame:
        """Latest values for serving: the entities' join keys, then each feature, in row order.

        `entity_rows` is a list of dicts (or a frame) with the join keys of every requested
        group. Entities without a value, or whose value is older than its group's ttl at `now`
        (default: the clock), get nulls. Groups must be online.
        """
        return self._online_reader.read(
            features, entity_rows, full_feature_names=full_feature_names, now=now
        )

    def get_online_features_dict(
        self,
        features: Iterable[str],
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        now: dt.datetime | None = None,
    ) -> dict[str, list[Any]]:
        """`get_online_features` as ``{column: [values in row order]}``, for serving code."""
        frame = self.get_online_features(
            features, entity_rows, full_feature_names=full_feature_names, now=now
        )
        return frame.to_dict(as_series=False)

    # --- experiments ---------------------------------------------------------------------------

    def experiments(self) -> dict[str, list[str]]:
        """Every experiment of this store's groups, with the groups it wrote, sorted."""
        found: dict[str, list[str]] = {}
        for group in self.list_feature_groups():
            for name in experiment_records(self._table(group.name)):
                found.setdefault(name, []).append(group.name)
        return dict(sorted(found.items()))

    def require_experiment(self, experiment: str) -> list[str]:
        """The groups of `experiment`.

        Raises:
            InvalidIdentifierError: The name is not an identifier.
            UnknownExperimentError: No group has it; the message lists those that exist.
        """
        experiment_branch(experiment)
        known = self.experiments()
        if experiment not in known:
            raise UnknownExperimentError(
                f"unknown experiment {experiment!r}: no feature group has a branch "
                f"{experiment_branch(experiment)!r}; known experiments: {sorted(known)} (an "
                "experiment starts with write_window(..., experiment=name))"
            )
        return known[experiment]

    def _group_in(self, table: Table, experiment: str) -> FeatureGroup:
        """The group's spec in the experiment (main's, unless it was applied changed there)."""
        record = experiment_record(table, experiment)
        if record is not None and record.spec is not None:
            return FeatureGroup.from_json(record.spec)
        return applied_group(table)

    def _experiment_read(
        self, table: Table, experiment: str, as_of: int | dt.datetime | str | None
    ) -> tuple[FeatureGroup, int | None, BooleanExpression | None]:
        """The spec, snapshot and (for a branch with no snapshot yet: nothing) filter of a
        read in an experiment."""
        if as_of is not None:
            raise InvalidRequestError(
                "pass as_of or experiment, not both: an experiment is read at its branch's head"
            )
        view = experiment_view(table, experiment)
        if view.branch == MAIN_BRANCH:
            self.require_experiment(experiment)
        group = FeatureGroup.from_json(view.spec) if view.spec else applied_group(table)
        if view.snapshot is None:
            return group, None, AlwaysFalse()
        return group, view.snapshot.snapshot_id, None

    # --- internals -----------------------------------------------------------------------------

    def _flush_pending(self, name: str | None = None) -> None:
        """Reads through this store see its own pushes (read-your-writes)."""
        if self._buffer.pending_rows(name):
            self._buffer.flush(name)

    def _identifier(self, name: str) -> tuple[str, str]:
        return (self.config.namespace, validate_identifier(name, "feature group"))

    def _table(self, name: str) -> Table:
        identifier = self._identifier(name)  # validated before the catalog is even opened
        try:
            return self.catalog.load_table(identifier)
        except NoSuchTableError as exc:
            raise UnknownFeatureGroupError(
                f"unknown feature group {name!r}: apply it first (store.apply(group)); "
                f"known groups: {[g.name for g in self.list_feature_groups()]}"
            ) from exc

    def _loader(self, name: str, loaded: Table) -> Callable[[], Table]:
        """Hand out the table just loaded once, then fresh loads (for retries and checks).

        A table's metadata grows with its snapshots; with thousands of micro-batch commits,
        parsing it once less per write is a large share of the write's cost.
        """
        pending = [loaded]
        return lambda: pending.pop() if pending else self._table(name)

    @staticmethod
    def _arrow_for(table: Table, rows: pl.DataFrame) -> pa.Table:
        """Match the table schema exactly, filling columns of features dropped from the spec."""
        target = table.schema().as_arrow()
        missing = [f for f in target if f.name not in rows.columns]
        if missing:
            rows = rows.with_columns(pl.lit(None).alias(f.name) for f in missing)
        return rows.select(target.names).to_arrow().cast(target)
