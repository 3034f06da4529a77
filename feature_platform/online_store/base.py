"""The online-store interface: latest value per entity, written conditionally, read by key.

The semantics live here, once, so every backend has the same ones:

- **latest wins**: an older ``event_time`` never overwrites a newer one, whatever order writes
  arrive in; the same ``event_time`` with a later ``created_at`` (a correction) does overwrite;
  an equal ``(event_time, created_at)`` is a no-op;
- **ttl on read**: a value with ``event_time < now - ttl`` reads as missing, whether or not the
  backend has deleted it yet (DynamoDB's TTL deletion lags by up to days);
- **request order**: a read returns one row per requested entity, in order, with nulls for
  missing entities and the group's dtypes (an integer feature stays an integer);
- **refuse before writing**: a frame that breaks a rule or a DynamoDB limit is refused whole;
- **named versions**: the one way past latest wins is to name the stored item's version
  (``event_time``, ``created_at``): `write(..., replacing=...)` replaces it even with an older
  row and `delete_items` deletes it; an item with any other version is left alone. The offline
  sync uses them when a backfill removes an entity's newest row (see `versions`).

A backend only implements storage: create/verify/delete a table, upsert prepared rows under the
latest-wins condition (or over a named version), delete named versions, and look items up by
hash key (`_compile_read`).
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import polars as pl

from feature_platform.errors import InvalidRequestError, OnlineStoreClosedError
from feature_platform.online_store.keys import encode_keys
from feature_platform.online_store.reads import (
    FoundItems,
    ReadPlan,
    assemble,
    cutoff_us,
    key_columns,
    plan_read,
)
from feature_platform.online_store.versions import Versions, prepare_versions
from feature_platform.online_store.writes import PreparedWrite, prepare_write
from feature_platform.specs import FeatureGroup

# Looks up unique hash keys; returns each found item as (event_time_us, *raw feature values).
Fetch = Callable[[list[str]], FoundItems]
_CACHE_LIMIT = 1024


@dataclass(frozen=True)
class OnlineWriteReport:
    """What one online write did; ``rows == written + skipped_stale + superseded``.

    Attributes:
        group: The feature group written to.
        rows: Rows in the frame handed in.
        written: Items created or replaced.
        skipped_stale: Items not written because the stored one was as new or newer.
        superseded: Rows dropped before sending because the same frame held a newer row of
            the same entity.
    """

    group: str
    rows: int
    written: int
    skipped_stale: int
    superseded: int


@dataclass(frozen=True)
class OnlineDeleteReport:
    """What one `delete_items` did; ``rows == deleted + kept``.

    Attributes:
        group: The feature group deleted from.
        rows: Items named (one per entity).
        deleted: Items deleted.
        kept: Items not deleted: missing, or stored with another version (e.g. a newer value
            written since the caller read the version it named).
    """

    group: str
    rows: int
    deleted: int
    kept: int


@dataclass(frozen=True, eq=False)
class _CompiledRead:
    plan: ReadPlan
    fetch: Fetch


class OnlineStore(abc.ABC):
    """Latest feature values per entity, one table per feature group.

    Use as a context manager or call `close()`; the store holds connections and threads.
    """

    #: The expiry attribute items carry when the group has a ttl (counted in item sizes).
    ttl_attribute: str | None = None

    def __init__(self) -> None:
        self._closed = False
        self._reads: dict[tuple[str, tuple[str, ...]], _CompiledRead] = {}

    # -- public API -------------------------------------------------------------------------

    @abc.abstractmethod
    def location(self, group: FeatureGroup) -> str:
        """Where the group's items live, without credentials, e.g. for the sync to notice that
        its cursor was reached in another table (a backend switch, a new table prefix)."""

    def ensure_table(self, group: FeatureGroup) -> None:
        """Create the group's table if it does not exist (idempotent, safe to race).

        Raises:
            OnlineTableMissingError: The backend only verifies tables and this one is missing.
            IncompatibleOnlineTableError: An existing table cannot hold this group.
        """
        self._check_open()
        self._ensure_table(group)

    def write(
        self,
        group: FeatureGroup,
        frame: pl.DataFrame,
        *,
        replace_equal: bool = False,
        replacing: pl.DataFrame | None = None,
    ) -> OnlineWriteReport:
        """Store the latest row per entity of `frame` unless a newer one is already stored.

        Args:
            group: The feature group written to; its table must exist (`ensure_table`).
            frame: Join keys, ``event_time`` and ``created_at`` (UTC-convertible, tz-aware) and
                every feature of the group.
            replace_equal: Also replace a stored item of the same event time and created_at.
                The offline sync uses it: when a recomputed window changes values but not
                times, the offline table is the truth and the online value must follow.
            replacing: Join keys, ``event_time`` and ``created_at`` of stored items to replace
                even though they are newer than the row written, one row per entity (other
                columns are ignored). An entity's row then also replaces a stored item of
                exactly that version, but not one of any other newer version; entities the
                frame does not write are left alone. The offline sync uses it when a backfill
                removed the row it had written online.

        Returns:
            Counts of items written and skipped as stale. A DynamoDB write of 100 items or more
            reads the stored items first and counts one already stored with the same version
            and values as skipped (it changes nothing), where a smaller write or the embedded
            store rewrites it and counts it as written.

        Raises:
            InvalidFrameError: The frame breaks the group's contract or a DynamoDB limit
                (subclasses say which); nothing was written.
            InvalidRequestError: `replacing` names an entity twice.
            OnlineTableMissingError: The table does not exist.
        """
        self._check_open()
        prepared = prepare_write(group, frame, self.ttl_attribute)
        if replacing is not None:
            prepared = _with_replacing(group, prepared, replacing)
        written = self._write(group, prepared, replace_equal) if prepared.pks else 0
        return OnlineWriteReport(
            group=group.name,
            rows=prepared.rows,
            written=written,
            skipped_stale=len(prepared.pks) - written,
            superseded=prepared.superseded,
        )

    def delete_items(self, group: FeatureGroup, versions: pl.DataFrame) -> OnlineDeleteReport:
        """Delete each named entity's item if it is stored with exactly the given version.

        Args:
            group: The feature group deleted from; its table must exist (`ensure_table`).
            versions: Join keys, ``event_time`` and ``created_at`` (tz-aware), one row per
                entity (other columns are ignored, so rows read before may be passed whole).

        Returns:
            Counts of items deleted and kept (missing, or stored with another version).

        Raises:
            InvalidFrameError: A column is missing, null or of the wrong type; nothing deleted.
            InvalidRequestError: An entity is named twice.
            OnlineTableMissingError: The table does not exist.
        """
        self._check_open()
        prepared = prepare_versions(group, versions, "online delete")
        deleted = self._delete_items(group, prepared) if prepared.by_pk else 0
        return OnlineDeleteReport(
            group=group.name, rows=prepared.rows, deleted=deleted, kept=prepared.rows - deleted
        )

    def read(
        self,
        group: FeatureGroup,
        entity_keys: pl.DataFrame,
        features: Sequence[str],
        now: dt.datetime | None = None,
        *,
        keep_expired: bool = False,
    ) -> pl.DataFrame:
        """The latest live values of `features` for each row of `entity_keys`, in order.

        Args:
            group: The feature group read.
            entity_keys: One column per join key (other columns are ignored); rows may repeat.
            features: Feature names of the group, in output order.
            now: The time against which the group's ttl is applied; defaults to the clock.
            keep_expired: Return values older than the ttl too, with their ``event_time``, so
                that a server can tell an expired value from a missing one (Feast's
                ``OUTSIDE_MAX_AGE`` against ``NOT_FOUND``) and null it itself.

        Returns:
            The join keys, ``event_time`` and the features, one row per request row; nulls
            where the entity is missing, a key is null, or the value is older than the ttl.

        Raises:
            UnknownFeatureError: A feature is not in the group.
            SchemaMismatchError: A join key column is missing or of the wrong type.
            OnlineTableMissingError: The table does not exist.
        """
        self._check_open()
        compiled = self._compiled(group, features)
        keys = key_columns(group, entity_keys)
        pks = encode_keys([column.to_list() for column in keys])
        unique = list(dict.fromkeys(pk for pk in pks if pk is not None))
        found = compiled.fetch(unique) if unique else {}
        cutoff = None if keep_expired else cutoff_us(compiled.plan, now)
        return assemble(compiled.plan, keys, pks, found, cutoff)

    def delete_table(self, group: FeatureGroup) -> None:
        """Drop the group's table and every item in it; a missing table is not an error."""
        self._check_open()
        self._delete_table(group)

    def close(self) -> None:
        """Release connections and threads; further use raises `OnlineStoreClosedError`."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- backend hooks ----------------------------------------------------------------------

    @abc.abstractmethod
    def _ensure_table(self, group: FeatureGroup) -> None: ...

    @abc.abstractmethod
    def _write(self, group: FeatureGroup, prepared: PreparedWrite, replace_equal: bool) -> int:
        """Upsert every prepared row under the latest-wins rule; return how many were written.

        With `replace_equal`, a stored item of equal event time and created_at is replaced too;
        where `prepared.replacing` names a version for a row, a stored item of exactly that
        version is replaced too.
        """

    @abc.abstractmethod
    def _delete_items(self, group: FeatureGroup, versions: Versions) -> int:
        """Delete each item stored with exactly its named version; return how many were."""

    @abc.abstractmethod
    def _compile_read(self, plan: ReadPlan) -> Fetch:
        """A function looking up hash keys for this plan (built once, called per read)."""

    @abc.abstractmethod
    def _delete_table(self, group: FeatureGroup) -> None: ...

    @abc.abstractmethod
    def _close(self) -> None: ...

    # -- helpers ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise OnlineStoreClosedError(f"this {type(self).__name__} is closed; open a new one")

    def _compiled(self, group: FeatureGroup, features: Sequence[str]) -> _CompiledRead:
        """The cached plan and lookup for these features, rebuilt if the group changed.

        Serving reads the same features over and over, so validation and SQL or projection
        building happen once; a group redefined under the same name misses the cache.
        """
        if isinstance(features, str):
            raise InvalidRequestError(f"features must be a list of names, not {features!r}")
        cache_key = (group.name, tuple(features))
        compiled = self._reads.get(cache_key)
        if compiled is not None:
            cached = compiled.plan.group
            if cached is group or cached == group:
                return compiled
        plan = plan_read(group, cache_key[1])
        compiled = _CompiledRead(plan=plan, fetch=self._compile_read(plan))
        if len(self._reads) >= _CACHE_LIMIT:
            self._reads.clear()
        self._reads[cache_key] = compiled
        return compiled


def _with_replacing(
    group: FeatureGroup, prepared: PreparedWrite, replacing: pl.DataFrame
) -> PreparedWrite:
    """The prepared write with, per row, the stored version it may replace (or None)."""
    versions = prepare_versions(group, replacing, "online write's replacing")
    return dataclasses.replace(prepared, replacing=[versions.by_pk.get(pk) for pk in prepared.pks])
