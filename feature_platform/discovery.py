"""Finding features: search over the specs, and a group's facts in one place.

Features that cannot be found are rebuilt by the next team; every fact here comes from the
catalog (spec in the table properties, state from Iceberg metadata), so it is as current as the
table itself and needs no separate registry service.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow.compute as pc

from feature_platform.specs import FeatureGroup
from feature_platform.store import FeatureStore


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
    words = [w for w in text.lower().split() if w]
    hits = []
    for group in store.list_feature_groups():
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
    partitions: list[str] = []
    newest: dt.datetime | None = None
    if table.current_snapshot() is not None:
        stats = table.inspect.partitions()
        partition_column = stats.column("partition").to_pylist()
        values = [next(iter(p.values())) for p in partition_column]
        partitions = [str(v) for v in sorted(values)]
        files = table.inspect.files()
        if files.num_rows:
            upper = files.column("readable_metrics").combine_chunks().field("event_time")
            newest = pc.max(upper.field("upper_bound")).as_py()
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


def _partition_label(group: FeatureGroup, value: str) -> str:
    """Iceberg stores day/hour partition values as ordinals since the epoch."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    if value.lstrip("-").isdigit():
        start = epoch + int(value) * group.partition_width
        return start.strftime("%Y-%m-%d" if group.partitioning == "daily" else "%Y-%m-%d-%H:00")
    return value
