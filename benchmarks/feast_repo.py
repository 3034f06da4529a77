"""Feast's side of the point-in-time benchmarks: a local repo on the file (dask) offline store.

Kept apart from `news_data` so that the process measuring Feast imports Feast and nothing of
ours (no polars, no pyiceberg): its peak memory is Feast's alone.

Verified in Feast 0.67's source (`.venv/lib/python3.11/site-packages/feast/`):

* "No ttl" is ``ttl=timedelta(0)``: `FeatureView.__init__` defaults to it and documents "a ttl
  of 0 indicates that this group of features lives forever" (feature_view.py:118, 172);
  ``ttl=None`` is stored as an unset proto field and read back from the registry as
  ``timedelta(0)`` (feature_view.py:686-690); the file store's `_filter_ttl` treats both alike
  (``if feature_view.ttl and feature_view.ttl.total_seconds() != 0``, dask.py:1194).
* The file store left-merges every entity row with every source row of its key (`_merge`,
  dask.py:1113), keeps rows with a null source timestamp (key never seen) or inside
  ``[t - ttl, t]`` (dask.py:1194-1208; only ``<= t`` without ttl, 1211-1216), so a key with
  history but no candidate loses the entity row; then sorts by `created_timestamp_column` and
  again by the event timestamp (dask.py:1261-1267), each with pandas' default quicksort
  (`DataFrame.sort_values(kind="quicksort")`, not stable; dask's sort calls it per partition),
  and keeps the last row per (join keys of the views so far, entity timestamp)
  (`drop_duplicates(keep="last")`, dask.py:1284-1288).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.repo_config import RegistryConfig, RepoConfig
from feast.types import Float64, Int64, String

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]  # no pandas-stubs in the environment

    from benchmarks.news_data import GroupSpec

PROJECT = "news"
_FEAST_TYPES = {"int64": Int64, "float64": Float64, "string": String}
_KEY_TYPES = {"int64": ValueType.INT64, "string": ValueType.STRING}


def repo_config(repo: Path, project: str = PROJECT) -> RepoConfig:
    """A repo in code: file registry, file (dask) offline store, sqlite online store (unused)."""
    return RepoConfig(
        project=project,
        provider="local",
        registry=RegistryConfig(path=str(repo / "registry.db")),
        offline_store={"type": "file"},
        online_store={"type": "sqlite", "path": str(repo / "online.db")},
        repo_path=repo,
        entity_key_serialization_version=3,
    )


def open_store(repo: Path, project: str = PROJECT) -> FeatureStore:
    return FeatureStore(config=repo_config(repo, project))


def entity(group: GroupSpec) -> Entity:
    return Entity(name=group.entity, join_keys=[group.key], value_type=_KEY_TYPES[group.key_dtype])


def feature_view(group: GroupSpec, path: Path, timestamp_field: str, created: str) -> FeatureView:
    """The Feast twin of one of our groups; no ttl is ``timedelta(0)``, Feast's "forever"."""
    source = FileSource(
        name=f"{group.name}_source",
        path=str(path),
        timestamp_field=timestamp_field,
        created_timestamp_column=created,
    )
    return FeatureView(
        name=group.name,
        entities=[entity(group)],
        schema=[Field(name=name, dtype=_FEAST_TYPES[t]) for name, t in group.features.items()],
        source=source,
        ttl=group.ttl if group.ttl is not None else dt.timedelta(0),
    )


def apply_definitions(
    repo: Path,
    project: str,
    groups: Sequence[GroupSpec],
    paths: Mapping[str, Path],
    timestamp_field: str,
    created: str,
) -> FeatureStore:
    """Register an entity and a feature view per group over its parquet file."""
    store = open_store(repo, project)
    entities = [entity(g) for g in groups]
    views = [feature_view(g, paths[g.name], timestamp_field, created) for g in groups]
    store.apply([*entities, *views])
    return store


def retrieve(store: FeatureStore, entity_df: pd.DataFrame, refs: Sequence[str]) -> pd.DataFrame:
    """Feast's training-set retrieval, run to a pandas frame (the lazy job is evaluated here)."""
    job = store.get_historical_features(entity_df=entity_df, features=list(refs))
    frame: pd.DataFrame = job.to_df()
    return frame
