"""DuckDB, an Iceberg reader that shares no code with ours, reads every demo table as we do.

The demo's tables (the raw `raw.click_events` log and the `user_engagement` and
`article_popularity` feature groups) are built through `FeatureStore` and taken through window
reruns, appends, schema evolution and compaction. DuckDB then reads each table from its metadata
file alone, in its own process, and must see exactly what `FeatureStore.read` sees: now, and
time-travelling to every timestamp of the snapshot log. That last part is what a window replace
committed as two snapshots (a delete, then an append) failed: at the delete's timestamp DuckDB
read the window empty.

DuckDB is the 1.5.5 command line (`duckdb-cli`) with the iceberg and avro extension files of the
`duckdb-extension-*` packages, loaded by path: no network. (The Python `duckdb` module is 2.0,
which fakesnow needs; no iceberg extension is published for it, and an extension loads only into
the DuckDB version it was built for.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pyiceberg.table import Table

from feature_platform import Feature, FeatureStore, TimeWindow
from feature_platform.demo.event_log import RAW_NAMESPACE
from feature_platform.demo.feature_groups import (
    ARTICLE_POPULARITY,
    CLICK_EVENTS,
    DEMO_START,
    USER_ENGAGEMENT,
    article_popularity,
    user_engagement,
)
from feature_platform.maintenance import MaintenancePolicy, compact_group
from feature_platform.offline_store.reads import scan_table
from feature_platform_tests.helpers import unbuffered_store

pytestmark = pytest.mark.integration

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
DAY_1 = TimeWindow(DEMO_START, DEMO_START + DAY)
DAY_2 = TimeWindow(DEMO_START + DAY, DEMO_START + 2 * DAY)
# Hours of the second day whose article popularity is written (each its own window replace).
HOURS = [TimeWindow(DAY_2.start + i * HOUR, DAY_2.start + (i + 1) * HOUR) for i in range(8)]
COMPACT = MaintenancePolicy(min_small_files=2)
USER_ENGAGEMENT_V2 = dataclasses.replace(
    USER_ENGAGEMENT,
    features=[*USER_ENGAGEMENT.features, Feature("active_1d", "bool", "Clicked in the day.")],
)


def _extension(name: str) -> Path:
    """The extension file a `duckdb-extension-<name>` package installs."""
    package = importlib.import_module(f"duckdb_extension_{name}")
    assert package.__file__ is not None
    found = sorted(Path(package.__file__).parent.glob(f"extensions/v*/{name}.duckdb_extension"))
    assert len(found) == 1, f"expected one {name} extension file, found {found}"
    return found[0]


@dataclass
class DuckDB:
    """The DuckDB command line, run once per batch of queries, with Iceberg loaded offline."""

    workdir: Path

    def query(self, queries: list[str]) -> list[pl.DataFrame]:
        """Run the SELECTs in one DuckDB process; their results, in order."""
        import duckdb_cli

        assert duckdb_cli.__file__ is not None
        binary = Path(duckdb_cli.__file__).parent / "duckdb"
        self.workdir.mkdir(parents=True, exist_ok=True)
        outputs = [self.workdir / f"result_{i}.parquet" for i in range(len(queries))]
        script = [
            # Never fetch anything: the extensions come from the installed packages only.
            "SET autoinstall_known_extensions = false;",
            "SET autoload_known_extensions = false;",
            f"SET extension_directory = '{self.workdir / 'extensions'}';",
            f"LOAD '{_extension('avro')}';",
            f"LOAD '{_extension('iceberg')}';",
            "SET TimeZone = 'UTC';",
            *(
                f"COPY ({sql}) TO '{output}' (FORMAT parquet);"
                for sql, output in zip(queries, outputs, strict=True)
            ),
        ]
        done = subprocess.run(
            [str(binary), "-bail", ":memory:"],
            input="\n".join(script),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"duckdb failed:\n{done.stderr}\n{done.stdout}"
        return [pl.read_parquet(output) for output in outputs]


@dataclass(frozen=True)
class TableUnderTest:
    """One table, and how our own reader reads it (columns in the table's order)."""

    table: Callable[[], Table]
    read: Callable[[int | None], pl.DataFrame]  # as of a snapshot log timestamp (ms), or now
    window: str  # the partition width the table is written in: "1d" or "1h"


def _ingest(store: FeatureStore, window: TimeWindow, arrived_by: dt.datetime) -> None:
    CLICK_EVENTS.ingest(store, window, arrived_by=arrived_by)


def _events(store: FeatureStore) -> pl.DataFrame:
    return CLICK_EVENTS.read(store, TimeWindow(DAY_1.start, DAY_2.end))


def _corrections(rows: pl.DataFrame, n: int, minutes: int) -> pl.DataFrame:
    """`n` rows recomputed later with other values: appended as a stream of corrections."""
    return rows.head(n).with_columns(
        pl.col("computed_at") + dt.timedelta(minutes=minutes),
        pl.col(rows.columns[-1]).shift(1),
    )


def _build(store: FeatureStore) -> None:
    """The demo's two days, then reruns, appends, a new feature, compaction and a last rerun."""
    late = DAY_2.end + DAY
    _ingest(store, DAY_1, arrived_by=DAY_2.end)
    _ingest(store, DAY_2, arrived_by=DAY_2.end)  # some of day 2's events are still to arrive
    store.apply(USER_ENGAGEMENT)
    store.apply(ARTICLE_POPULARITY)
    events = _events(store)
    for day in (DAY_1, DAY_2):
        store.write_window("user_engagement", user_engagement(events, day), day.start, day.end)
    for hour in HOURS:
        popularity = article_popularity(events, hour)
        store.write_window("article_popularity", popularity, hour.start, hour.end)

    # Late events arrive: the raw day is ingested again and the windows that read it rerun.
    _ingest(store, DAY_2, arrived_by=late)
    events = _events(store)
    store.write_window("user_engagement", user_engagement(events, DAY_2), DAY_2.start, DAY_2.end)
    for hour in HOURS[:3]:
        popularity = article_popularity(events, hour)
        store.write_window("article_popularity", popularity, hour.start, hour.end)

    # Streaming appends into windows that already hold rows: small files to compact.
    users = user_engagement(events, DAY_2)
    articles = article_popularity(events, HOURS[0])
    for minutes in (10, 20, 30):
        store.write("user_engagement", _corrections(users, 40, minutes))
        store.write("article_popularity", _corrections(articles, 10, minutes))

    # A new feature: old files lack its column, the rerun day has it.
    store.apply(USER_ENGAGEMENT_V2)
    day_1 = user_engagement(events, DAY_1).with_columns(active_1d=pl.col("clicks_1d") > 0)
    store.write_window("user_engagement", day_1, DAY_1.start, DAY_1.end)

    for name in ("user_engagement", "article_popularity"):
        report = compact_group(store, name, COMPACT)
        assert report.partitions, f"{name}: nothing was compacted"

    # A replace of a compacted window, and a first write into an empty one.
    for hour in (HOURS[0], TimeWindow(HOURS[-1].end, HOURS[-1].end + HOUR)):
        popularity = article_popularity(events, hour)
        store.write_window("article_popularity", popularity, hour.start, hour.end)


def _as_of(timestamp_ms: int | None) -> dt.datetime | None:
    return None if timestamp_ms is None else dt.datetime.fromtimestamp(timestamp_ms / 1000, dt.UTC)


def _tables(store: FeatureStore) -> dict[str, TableUnderTest]:
    def group(name: str, window: str) -> TableUnderTest:
        return TableUnderTest(
            table=lambda: store.table(name),
            read=lambda ms: store.read(name, as_of=_as_of(ms)),
            window=window,
        )

    def raw_table() -> Table:
        return store.catalog.load_table((RAW_NAMESPACE, CLICK_EVENTS.table_name))

    def raw(ms: int | None) -> pl.DataFrame:
        table = raw_table()
        columns = [field.name for field in table.schema().fields]
        return scan_table(table, columns=columns, time_column="event_time", as_of=_as_of(ms))

    return {
        "user_engagement": group("user_engagement", "1d"),
        "article_popularity": group("article_popularity", "1h"),
        "raw.click_events": TableUnderTest(raw_table, raw, "1d"),
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> FeatureStore:
    store = unbuffered_store(tmp_path_factory.mktemp("independent") / "home")
    _build(store)
    return store


@pytest.fixture(scope="module")
def duckdb(tmp_path_factory: pytest.TempPathFactory) -> DuckDB:
    return DuckDB(tmp_path_factory.mktemp("duckdb"))


def _scan(metadata_location: str, timestamp_ms: int | None = None) -> str:
    travel = (
        ""
        if timestamp_ms is None
        else (f", snapshot_from_timestamp = make_timestamp({timestamp_ms * 1000})")
    )
    return f"SELECT * FROM iceberg_scan('{metadata_location}'{travel})"


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def _window_counts(frame: pl.DataFrame, every: str) -> dict[dt.datetime, int]:
    counts = frame.group_by(pl.col("event_time").dt.truncate(every)).len()
    return dict(counts.sort("event_time").iter_rows())


@pytest.mark.parametrize("name", ["user_engagement", "article_popularity", "raw.click_events"])
def test_duckdb_reads_the_current_table_as_we_do(
    demo: FeatureStore, duckdb: DuckDB, name: str
) -> None:
    under_test = _tables(demo)[name]
    table = under_test.table()
    (seen,) = duckdb.query([_scan(table.metadata_location)])

    ours = under_test.read(None)
    assert seen.columns == ours.columns  # the evolved schema, in the table's order
    assert seen.height > 0
    assert_frame_equal(_sorted(seen), _sorted(ours))


def test_the_history_holds_what_the_tables_went_through(demo: FeatureStore) -> None:
    """The reads below cover every kind of commit, a single-snapshot replace of each window."""
    operations = {
        name: [s.summary.operation.value for s in under_test.table().snapshots() if s.summary]
        for name, under_test in _tables(demo).items()
    }
    assert {"append", "overwrite", "replace"} <= set(operations["user_engagement"])
    assert {"append", "overwrite", "replace"} <= set(operations["article_popularity"])
    assert set(operations["raw.click_events"]) == {"append", "overwrite"}
    assert "active_1d" in demo.read("user_engagement").columns


@pytest.mark.parametrize("name", ["user_engagement", "article_popularity", "raw.click_events"])
def test_duckdb_time_travel_never_sees_a_window_empty(
    demo: FeatureStore, duckdb: DuckDB, name: str
) -> None:
    """At every timestamp of the snapshot log, DuckDB reads the state our reader reads: each
    window as it was before a replace or after it, never emptied in between."""
    under_test = _tables(demo)[name]
    table = under_test.table()
    moments = sorted({entry.timestamp_ms for entry in table.metadata.snapshot_log})
    seen = duckdb.query([_scan(table.metadata_location, ms) for ms in moments])

    for moment, duck in zip(moments, seen, strict=True):
        ours = under_test.read(moment)
        when = _as_of(moment)
        assert _window_counts(duck, under_test.window) == _window_counts(ours, under_test.window), (
            f"{name} at {when}: rows per window differ (DuckDB first)"
        )
        # An older snapshot has the schema of its time: DuckDB reads those columns only.
        assert set(duck.columns) <= set(ours.columns)
        assert_frame_equal(_sorted(duck), _sorted(ours.select(duck.columns)))
