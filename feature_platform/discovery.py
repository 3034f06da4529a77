"""Finding features: search over the specs, and a group's facts in one place.

Features that cannot be found are rebuilt by the next team; every fact here comes from the
catalog (spec in the table properties, state from Iceberg metadata), so it is as current as the
table itself and needs no separate registry service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from feature_platform.specs import EVENT_TIME_COLUMN, FeatureGroup

if TYPE_CHECKING:  # only `describe_group` needs them, and it gets them with the store
    from pyiceberg.table import Table

    from feature_platform.store import FeatureStore

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SearchHit:
    """A group matching a search, and where the text was found."""

    group: str
    matches: tuple[str, ...]  # e.g. "name", "feature clicks_7d", "tag domain=news"
    description: str


def search(store: FeatureStore, text: str) -> list[SearchHit]:
    """Groups whose name, description, owner, tags, entity or features mention `text`.

    Case-insensitive; every word of `text` must match somewhere in the group.
    """
    return search_groups(store.list_feature_groups(), text)


def search_groups(groups: Iterable[FeatureGroup], text: str) -> list[SearchHit]:
    """`search` over given specs (the command line reads them without opening the catalog)."""
    words = [w for w in text.lower().split() if w]
    hits = []
    for group in groups:
        fields = _searchable(group)
        matches: list[str] = []
        for word in words:
            found = [where for where, value in fields if word in value.lower()]
            if not found:
                break
            matches.extend(w for w in found if w not in matches)
        else:
            if words:
                hits.append(SearchHit(group.name, tuple(matches), group.description))
    return hits


def _searchable(group: FeatureGroup) -> list[tuple[str, str]]:
    fields = [
        ("name", group.name),
        ("description", group.description),
        ("owner", group.owner or ""),
        ("entity", group.entity.name + " " + " ".join(group.join_keys)),
    ]
    fields += [(f"tag {k}={v}", f"{k}={v}") for k, v in group.tags.items()]
    fields += [(f"feature {f.name}", f"{f.name} {f.description}") for f in group.features]
    return fields


def describe_group(
    store: FeatureStore, name: str, snowflake_name: str | None = None
) -> dict[str, Any]:
    """The spec plus state: online, partitions materialized, rows, freshness, latest snapshot."""
    facts = store.describe(name)
    table = store.table(name)
    group = store.get_feature_group(name)
    partitions, newest = _partitions_and_newest(table)
    facts.update(
        {
            "online": group.online,
            "partitions_materialized": len(partitions),
            "first_partition": _partition_label(group, partitions[0]) if partitions else None,
            "last_partition": _partition_label(group, partitions[-1]) if partitions else None,
            "freshness": {
                "newest_event_time": newest.isoformat() if newest else None,
                "last_commit": facts["last_updated"],
            },
            "snowflake_table": snowflake_name,
        }
    )
    return facts


def _partitions_and_newest(table: Table) -> tuple[list[str], dt.datetime | None]:
    """The live files' partition values, sorted, and the newest event time they hold.

    Read from the current snapshot's manifests: `table.inspect` would build pyarrow tables
    through pyiceberg's pyarrow IO, which imports `pyarrow.dataset` and with it pandas, a second
    of start-up for `feature-platform describe`.
    """
    from pyiceberg.conversions import from_bytes
    from pyiceberg.manifest import DataFileContent
    from pyiceberg.types import PrimitiveType

    snapshot = table.current_snapshot()
    if snapshot is None:
        return [], None
    event_time = table.schema().find_field(EVENT_TIME_COLUMN)
    values: set[Any] = set()
    newest: int | None = None
    for manifest in snapshot.manifests(table.io):
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            data_file = entry.data_file
            if len(data_file.partition):
                values.add(data_file.partition[0])
            bound = (data_file.upper_bounds or {}).get(event_time.field_id)
            if data_file.content == DataFileContent.DATA and bound is not None:
                assert isinstance(event_time.field_type, PrimitiveType)
                micros = int(from_bytes(event_time.field_type, bound))
                newest = micros if newest is None else max(newest, micros)
    partitions = [str(v) for v in sorted(values)]
    if newest is None:
        return partitions, None
    return partitions, _EPOCH + dt.timedelta(microseconds=newest)


def _partition_label(group: FeatureGroup, value: str) -> str:
    """Iceberg stores day/hour partition values as ordinals since the epoch."""
    if value.lstrip("-").isdigit():
        start = _EPOCH + int(value) * group.partition_width
        return start.strftime("%Y-%m-%d" if group.partitioning == "daily" else "%Y-%m-%d-%H:00")
    return value
