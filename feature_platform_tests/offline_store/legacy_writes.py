"""Window replaces as releases before single-snapshot replaces committed them.

Those wrote each replace as pyiceberg's two-snapshot overwrite (a DELETE, then an APPEND, both
tagged with the write id). Tables written then keep that history, which time travel and
snapshot expiry still have to handle.
"""

from __future__ import annotations

import polars as pl

from feature_platform import FeatureStore, TimeWindow
from feature_platform.offline_store.validation import prepare_frame
from feature_platform.offline_store.writes import WRITE_ID_PROPERTY, window_filter


def legacy_replace(
    store: FeatureStore, name: str, frame: pl.DataFrame, window: TimeWindow, write_id: str
) -> None:
    """Replace `window` of group `name` with `frame` in two snapshots carrying `write_id`."""
    table = store.table(name)
    rows = prepare_frame(store.get_feature_group(name), frame, window=window)
    table.overwrite(
        rows.to_arrow().cast(table.schema().as_arrow()),
        overwrite_filter=window_filter("event_time", window),
        snapshot_properties={WRITE_ID_PROPERTY: write_id},
    )
