"""Shared builders and independent readers for the tests."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.table import StaticTable, Table

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore, StoreConfig

UTC = dt.UTC
DAY = dt.date(2026, 11, 10)
DAY_START = dt.datetime(2026, 11, 10, tzinfo=UTC)
NEXT_DAY = dt.datetime(2026, 11, 11, tzinfo=UTC)


def unbuffered_store(home: object) -> FeatureStore:
    """A store whose every `write` is its own offline commit, as tests that count files need."""
    return FeatureStore(config=StoreConfig.embedded(home, offline_buffer_rows=0))  # type: ignore[arg-type]


def user_group(**overrides: object) -> FeatureGroup:
    """A daily group exercising every feature type, with a created-time column."""
    settings: dict[str, object] = {
        "name": "user_stats",
        "entity": Entity("user", ["user_id"]),
        "features": [
            Feature("clicks", "int64"),
            Feature("ctr", "float64"),
            Feature("segment", "string"),
            Feature("is_subscriber", "bool"),
        ],
        "created_time": "computed_at",
        "start": "2026-11-01",
    }
    settings.update(overrides)
    return FeatureGroup(**settings)  # type: ignore[arg-type]


def user_frame(day: dt.datetime = DAY_START, users: int = 5, offset: int = 0) -> pl.DataFrame:
    """`users` rows of `user_group` on `day`, values shifted by `offset` to tell writes apart."""
    return pl.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(users)],
            "event_time": [day + dt.timedelta(hours=i % 24, microseconds=i) for i in range(users)],
            "computed_at": [day + dt.timedelta(days=1)] * users,
            "clicks": [i + offset for i in range(users)],
            "ctr": [None if i == 0 else i / 10 + offset for i in range(users)],
            "segment": [f"s{i % 3}" for i in range(users)],
            "is_subscriber": [i % 2 == 0 for i in range(users)],
        },
        schema_overrides={"ctr": pl.Float64},
    )


def read_independently(table: Table) -> pl.DataFrame:
    """Read the table the way another engine would: from its metadata file alone."""
    static = StaticTable.from_metadata(
        table.metadata_location, properties=dict(table.io.properties)
    )
    frame = pl.from_arrow(static.scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    return frame


def data_files(table: Table) -> list[dict[str, object]]:
    """The live data files of the current snapshot, with their sizes and record counts."""
    files: pa.Table = table.inspect.files()
    return files.select(["file_path", "record_count", "file_size_in_bytes"]).to_pylist()


def assert_no_empty_files(table: Table) -> None:
    """No data file of any snapshot is 0 bytes or 0 rows, checked on the parquet files too."""
    io = PyArrowFileIO(dict(table.io.properties))
    seen = set()
    for snapshot in table.snapshots():
        for task in table.scan(snapshot_id=snapshot.snapshot_id).plan_files():
            path = task.file.file_path
            if path in seen:
                continue
            seen.add(path)
            assert task.file.record_count > 0, path
            assert task.file.file_size_in_bytes > 0, path
            with io.new_input(path).open() as stream:
                assert pq.ParquetFile(stream).metadata.num_rows > 0, path


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Row order is not part of a table's content."""
    return frame.sort(frame.columns)
