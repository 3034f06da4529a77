"""What the drills check after a failure: the table is whole, readable, and holds one state."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal
from pyiceberg.table import Table

from feature_platform.maintenance.files import files_of_snapshots, list_table_files, normal_uri
from feature_platform_tests.helpers import canonical, read_independently


def content(table: Table) -> pl.DataFrame:
    """The table's rows read from its metadata file alone, as another engine would, in a
    canonical order; the catalog's own scan must agree."""
    independent = canonical(read_independently(table))
    through_catalog = pl.from_arrow(table.scan().to_arrow())
    assert isinstance(through_catalog, pl.DataFrame)
    assert_frame_equal(canonical(through_catalog), independent)
    return independent


def which_state(table: Table, states: dict[str, pl.DataFrame]) -> str:
    """The name of the one expected state the table holds exactly; fails for any other content
    (a partial window, a doubled window, a mix of two writes)."""
    rows = content(table)
    for name, expected in states.items():
        if rows.equals(canonical(expected)):
            return name
    summary = rows.group_by(pl.col("event_time").dt.date()).agg(pl.len(), pl.col("clicks").min())
    raise AssertionError(
        f"the table holds none of the states {sorted(states)}: {rows.height} rows, per day "
        f"(day, rows, min clicks): {sorted(summary.rows())}"
    )


def stored_files(table: Table) -> set[str]:
    return {f.uri for f in list_table_files(table)}


def assert_every_snapshot_whole(table: Table) -> set[str]:
    """Every snapshot's manifest list, manifests and data files exist; returns the files the
    table references (metadata files included)."""
    stored = stored_files(table)
    lists = {normal_uri(s.manifest_list) for s in table.snapshots()}
    assert lists <= stored, f"snapshots reference missing manifest lists: {sorted(lists - stored)}"
    referenced = files_of_snapshots(table, table.snapshots())  # reads every manifest list
    for kind, paths in (
        ("manifest lists", referenced.manifest_lists),
        ("manifests", referenced.manifests),
        ("data files", referenced.data),
    ):
        missing = sorted(paths - stored)
        assert not missing, f"snapshots reference missing {kind}: {missing[:3]}"
    metadata = {table.metadata_location, *(e.metadata_file for e in table.metadata.metadata_log)}
    return referenced.all() | {normal_uri(p) for p in metadata}


def orphans(table: Table) -> set[str]:
    """Files under the table's folder that no metadata reaches (left by a killed writer)."""
    return stored_files(table) - assert_every_snapshot_whole(table)
