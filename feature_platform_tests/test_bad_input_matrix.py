"""Bad inputs across the public API, the CLI and asset run config, in one table (issue 7).

Each row is a call, the most specific error class it must raise (checked exactly, not as a
subclass) and a piece of the message that names the fix. Every row runs against a seeded store
(one committed window offline, one value online; shared by the rows and rebuilt after any row
that changed it) and must leave it as it was: no table added or changed (snapshot ids, row
counts, metadata files), nothing buffered for a later offline commit, the online store still
serving the seeded value and nothing for a new entity, no output file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore, StoreConfig
from feature_platform.cli import build_parser, main
from feature_platform.definitions import build_definitions
from feature_platform.errors import (
    ConfigurationError,
    FeatureNotOnlineError,
    IncompatibleSchemaChangeError,
    InvalidFeatureReferenceError,
    InvalidFrameError,
    InvalidIdentifierError,
    InvalidRequestError,
    InvalidSpecError,
    InvalidValueError,
    InvalidWindowError,
    ItemTooLargeError,
    NaiveTimestampError,
    NullKeyError,
    OutOfWindowError,
    SchemaMismatchError,
    UnknownFeatureError,
    UnknownFeatureGroupError,
)
from feature_platform.expectations import (
    AllowedValues,
    MaxNullFraction,
    RowCountVsLastWeek,
    ValueRange,
)
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.sql import SqlError, run_sql

UTC = dt.UTC
DAY = dt.datetime(2026, 11, 10, tzinfo=UTC)
NEXT_DAY = DAY + dt.timedelta(days=1)
SEEDED_AT = DAY + dt.timedelta(hours=1)
LATER = DAY + dt.timedelta(hours=2)  # newer than the seeded value: accepted, it would win online
NOW = DAY + dt.timedelta(hours=12)
YEAR_9999 = dt.datetime(9999, 1, 1, tzinfo=UTC)
IN_TWO_YEARS = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(days=730)

USER = Entity("user", ["user_id"])
USERS = FeatureGroup(
    "users",
    USER,
    [Feature("clicks", "int64"), Feature("ctr", "float64"), Feature("note", "string")],
    start="2026-11-01",
    ttl=dt.timedelta(days=3650),
    online=True,
)
VISITS = FeatureGroup("user_visits", USER, [Feature("visits", "int64")], start="2026-11-01")
ONE_FEATURE = [Feature("clicks", "int64")]

Call = Callable[[FeatureStore, Path], object]


def rows(**overrides: list[Any]) -> pl.DataFrame:
    """Two rows that would change what is stored if accepted: a newer u1 and a new entity u9."""
    columns: dict[str, list[Any]] = {
        "user_id": ["u1", "u9"],
        "event_time": [LATER, LATER],
        "clicks": [999, 999],
        "ctr": [0.9, 0.9],
        "note": ["new", "new"],
    }
    columns.update(overrides)
    return pl.DataFrame(columns)


def pandas_with_duplicate_column() -> pd.DataFrame:
    frame = rows().to_pandas()
    return pd.concat([frame, frame[["clicks"]]], axis=1)  # two columns named "clicks"


def arrow_with_duplicate_column() -> pa.Table:
    table = rows().to_arrow()
    return table.append_column("clicks", table.column("clicks"))


LABELS = pl.DataFrame({"user_id": ["u1"], "event_timestamp": [NOW]})


@dataclasses.dataclass(frozen=True)
class Seeded:
    """A store with `users` (online) and `user_visits` (offline) applied and seeded."""

    store: FeatureStore
    pristine: dict[str, object]  # `_state` right after seeding


def _tables(catalog: Catalog) -> dict[str, tuple[int | None, int, str]]:
    """Every table of the catalog: current snapshot id, row count and metadata file."""
    tables = {}
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            table = catalog.load_table(identifier)
            snapshot = table.current_snapshot()
            tables[".".join(identifier)] = (
                snapshot.snapshot_id if snapshot else None,
                table.scan().to_arrow().num_rows,
                table.metadata_location,  # a commit without a snapshot (schema, properties) too
            )
    return tables


def _state(store: FeatureStore) -> dict[str, object]:
    """What a write could have changed. The buffer first: reads through the store flush it."""
    return {
        "pending_rows": store._buffer.pending_rows(),
        "online": store.get_online_features(
            ["users:clicks", "users:note"], [{"user_id": "u1"}, {"user_id": "u9"}], now=NOW
        ).rows(),
        "tables": _tables(store.catalog),
    }


def _seed(home: Path) -> Seeded:
    config = StoreConfig.embedded(home, offline_buffer_rows=1_000, offline_buffer_seconds=3_600)
    store = FeatureStore(config=config)
    store.apply(USERS)
    store.apply(VISITS)
    seed = rows(user_id=["u1", "u2"], event_time=[SEEDED_AT] * 2, clicks=[1, 2], note=["seed"] * 2)
    store.write_window("users", seed, DAY, NEXT_DAY)
    store.write("users", seed.head(1), to="online")
    pristine = _state(store)
    assert pristine["pending_rows"] == 0
    assert pristine["online"] == [("u1", 1, "seed"), ("u9", None, None)]
    return Seeded(store, pristine)


@pytest.fixture(scope="module")
def shared() -> Iterator[dict[str, Seeded]]:
    holder: dict[str, Seeded] = {}
    yield holder
    if "seeded" in holder:
        holder["seeded"].store.close()


@pytest.fixture
def seeded(
    shared: dict[str, Seeded],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Seeded:
    """The seeded store, rebuilt whenever a row (a gap) left it changed, so rows stay isolated."""
    for name in list(os.environ):
        if name.startswith("FEATURE_PLATFORM_"):
            monkeypatch.delenv(name)
    current = shared.get("seeded")
    if current is None or _state(current.store) != current.pristine:
        if current is not None:
            current.store.close()
        current = shared["seeded"] = _seed(tmp_path_factory.mktemp("seeded") / "home")
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(current.store.config.home))  # for the CLI
    (tmp_path / "naive.csv").write_text("user_id,event_timestamp\nu1,2026-11-10T12:00:00\n")
    (tmp_path / "labels.csv").write_text("user_id,event_timestamp\nu1,2026-11-10T12:00:00Z\n")
    (tmp_path / "labels.txt").write_text("user_id,event_timestamp\nu1,2026-11-10T12:00:00Z\n")
    return current


# --- how rows call the CLI and Dagster ------------------------------------------------------


def cli(*argv: str) -> Call:
    """Run `main(argv)`: it must return 2 and print ``error: <message>`` on stderr.

    The handler is then run directly, so the row can check the exception class too; ``{tmp}``
    in an argument is the test's temp folder.
    """

    def call(store: FeatureStore, tmp: Path) -> object:
        args = [arg.replace("{tmp}", str(tmp)) for arg in argv]
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = main(args)
        raised: Exception | None = None
        try:
            if args[0] == "sql":  # the sql handler turns its SqlError into exit code 2 itself
                run_sql(FeatureStore.from_env(), args[1])
            else:
                parsed = build_parser().parse_args(args)
                parsed.handler(parsed)
        except Exception as exc:
            raised = exc
        if raised is None:
            pytest.fail(f"main({args}) returned {code} and its handler raised nothing")
        assert (code, stderr.getvalue()) == (2, f"error: {raised}\n")
        raise raised

    return call


def training_set(entities: str, features: str, *options: str) -> Call:
    """`feature-platform training-set` on a label file of the temp folder."""
    out = "{tmp}/out/train.parquet"
    return cli(
        "training-set",
        "--entities",
        f"{{tmp}}/{entities}",
        "--features",
        features,
        "--out",
        out,
        *options,
    )


@functools.cache
def _assets_def(path: tuple[str, ...]) -> dg.AssetsDefinition:
    return build_definitions().get_assets_def(dg.AssetKey(list(path)))


def materialize(path: str, run_config: dict[str, Any] | None = None, **kwargs: Any) -> Call:
    """Materialize one asset of the demo definitions on the seeded store's home."""

    def call(store: FeatureStore, tmp: Path) -> object:
        return dg.materialize(
            [_assets_def(tuple(path.split("/")))],
            resources={"feature_store": FeatureStoreResource(home=str(store.config.home))},
            run_config=run_config,
            **kwargs,
        )

    return call


def labels_window(start: str, end: str = "") -> dict[str, Any]:
    config = {"labels_start": start, "labels_end": end}
    return {"ops": {"training_sets__click_through": {"config": config}}}


# --- the matrix -----------------------------------------------------------------------------


def bad(name: str, call: Call, error: type[Exception], fix: str) -> Any:
    return pytest.param(call, error, fix, id=name)


FRAME_ROWS = [
    bad(
        "write both: string into int feature",
        lambda s, t: s.write("users", rows(clicks=["7", "8"]), to="both"),
        SchemaMismatchError,
        "cast it, e.g. pl.col('clicks').cast(Int64)",
    ),
    bad(
        "write both: date as event time",
        lambda s, t: s.write("users", rows(event_time=[DAY.date()] * 2), to="both"),
        SchemaMismatchError,
        "must be a time-zone-aware pl.Datetime",
    ),
    bad(
        "write both: null join key",
        lambda s, t: s.write("users", rows(user_id=["u1", None]), to="both"),
        NullKeyError,
        "drop or fill those rows",
    ),
    bad(
        "write online: null join key",
        lambda s, t: s.write("users", rows(user_id=[None, "u9"]), to="online"),
        NullKeyError,
        "drop or fill those rows",
    ),
    bad(
        "write both: naive event time",
        lambda s, t: s.write("users", rows(event_time=[LATER.replace(tzinfo=None)] * 2), to="both"),
        NaiveTimestampError,
        "replace_time_zone('UTC')",
    ),
    bad(
        "write both: NaN feature",
        lambda s, t: s.write("users", rows(ctr=[0.5, float("nan")]), to="both"),
        InvalidValueError,
        "write null for a missing value instead",
    ),
    bad(
        "write online: infinite feature",
        lambda s, t: s.write("users", rows(ctr=[float("inf"), 0.5]), to="online"),
        InvalidValueError,
        "write null for a missing value instead",
    ),
    bad(
        "write both: float beyond DynamoDB's range",
        lambda s, t: s.write("users", rows(ctr=[1e300, 0.5]), to="both"),
        InvalidValueError,
        "DynamoDB's number range); fix or null them",
    ),
    bad(
        "write both: 500 KB string (item > 400 KB)",
        lambda s, t: s.write("users", rows(note=["x" * 500_000, "ok"]), to="both"),
        ItemTooLargeError,
        "store shorter values or split the group",
    ),
    bad(
        "write both: 3 KB join key",
        lambda s, t: s.write("users", rows(user_id=["k" * 3_000, "u9"]), to="both"),
        ItemTooLargeError,
        "shorten the key values",
    ),
    bad(
        "write both: unknown column",
        lambda s, t: s.write("users", rows().with_columns(extra=pl.lit(1)), to="both"),
        SchemaMismatchError,
        "add them to the spec and apply it, or drop them",
    ),
    bad(
        "write both: missing feature column",
        lambda s, t: s.write("users", rows().drop("note"), to="both"),
        SchemaMismatchError,
        "missing columns ['note']",
    ),
    bad(
        "write both: frame without columns",
        lambda s, t: s.write("users", pl.DataFrame(), to="both"),
        SchemaMismatchError,
        "expected exactly ['user_id', 'event_time', 'clicks', 'ctr', 'note']",
    ),
    bad(
        "write both: dict of columns",
        lambda s, t: s.write("users", rows().to_dict(as_series=False), to="both"),
        InvalidFrameError,
        "expected a polars, pandas or pyarrow frame",
    ),
    bad(
        "write both: pandas frame with a duplicate column",
        lambda s, t: s.write("users", pandas_with_duplicate_column(), to="both"),
        InvalidFrameError,
        "rename or drop the duplicates",
    ),
    bad(
        "write both: arrow table with a duplicate column",
        lambda s, t: s.write("users", arrow_with_duplicate_column(), to="both"),
        InvalidFrameError,
        "rename or drop",
    ),
    bad(
        "write both: event time in year 9999",
        lambda s, t: s.write("users", rows(event_time=[YEAR_9999] * 2), to="both"),
        InvalidValueError,
        "in the future",
    ),
    bad(
        "write offline: event time two years ahead",
        lambda s, t: s.write("users", rows(event_time=[IN_TWO_YEARS] * 2), to="offline"),
        InvalidValueError,
        "in the future",
    ),
    bad(
        "write_window: window and rows in year 9999",
        lambda s, t: s.write_window(
            "users", rows(event_time=[YEAR_9999] * 2), YEAR_9999, YEAR_9999 + dt.timedelta(days=1)
        ),
        InvalidValueError,
        "in the future",
    ),
    bad(
        "write_window: naive bounds",
        lambda s, t: s.write_window("users", rows(), DAY.replace(tzinfo=None), NEXT_DAY),
        InvalidWindowError,
        "pass an aware datetime such as 2026-11-10T00:00:00+00:00",
    ),
    bad(
        "write_window: reversed window",
        lambda s, t: s.write_window("users", rows(), NEXT_DAY, DAY),
        InvalidWindowError,
        "must be after start",
    ),
    bad(
        "write_window: rows outside the window",
        lambda s, t: s.write_window("users", rows(event_time=[NEXT_DAY] * 2), DAY, NEXT_DAY),
        OutOfWindowError,
        "filter the frame to it",
    ),
]


TARGET_ROWS = [
    bad(
        "write to='everywhere'",
        lambda s, t: s.write("users", rows(), to="everywhere"),  # type: ignore[arg-type]
        ConfigurationError,
        "use 'offline', 'online' or 'both'",
    ),
    bad(
        "write to=None",
        lambda s, t: s.write("users", rows(), to=None),  # type: ignore[arg-type]
        ConfigurationError,
        "use 'offline', 'online' or 'both'",
    ),
    bad(
        "write to='ONLINE'",
        lambda s, t: s.write("users", rows(), to="ONLINE"),  # type: ignore[arg-type]
        ConfigurationError,
        "use 'offline', 'online' or 'both'",
    ),
    bad(
        "write to='online' on an offline group",
        lambda s, t: s.write(
            "user_visits",
            pl.DataFrame({"user_id": ["u1"], "event_time": [LATER], "visits": [3]}),
            to="online",
        ),
        FeatureNotOnlineError,
        "write to='offline', or set online=True and apply the group",
    ),
    bad(
        "write idempotency_key=123",
        lambda s, t: s.write("users", rows(), to="offline", idempotency_key=123),  # type: ignore[arg-type]
        ConfigurationError,
        "idempotency_key must be a string",
    ),
]

IDENTIFIER_ROWS = [
    bad(
        "write: path traversal in group",
        lambda s, t: s.write("../../etc/passwd", rows(), to="both"),
        InvalidIdentifierError,
        "e.g. 'etc_passwd'",
    ),
    bad(
        "write: SQL injection in group",
        lambda s, t: s.write('users"; DROP TABLE users; --', rows(), to="both"),
        InvalidIdentifierError,
        "e.g. 'users_drop_table_users'",
    ),
    bad(
        "write_window: quotes in group",
        lambda s, t: s.write_window("users' OR '1'='1", rows(), DAY, NEXT_DAY),
        InvalidIdentifierError,
        "only lowercase letters, digits and underscores",
    ),
    bad(
        "write: unknown group",
        lambda s, t: s.write("nope", rows(), to="both"),
        UnknownFeatureGroupError,
        "apply it first (store.apply(group)); known groups: ['user_visits', 'users']",
    ),
    bad(
        "read: path traversal in group",
        lambda s, t: s.read("users/../../x"),
        InvalidIdentifierError,
        "e.g. 'users_x'",
    ),
]

APPLY_READ_ROWS = [
    bad(
        "apply: a group name instead of a FeatureGroup",
        lambda s, t: s.apply("users"),  # type: ignore[arg-type]
        InvalidSpecError,
        "apply takes a FeatureGroup",
    ),
    bad(
        "apply: feature type change",
        lambda s, t: s.apply(
            dataclasses.replace(USERS, features=[Feature("clicks", "string"), *USERS.features[1:]])
        ),
        IncompatibleSchemaChangeError,
        "add it under a new name (e.g. clicks_v2) instead",
    ),
    bad(
        "apply: join key type change",
        lambda s, t: s.apply(
            dataclasses.replace(USERS, entity=Entity("user", ["user_id"], {"user_id": "int64"}))
        ),
        IncompatibleSchemaChangeError,
        "create a new feature group instead",
    ),
    bad(
        "read: unknown feature",
        lambda s, t: s.read("users", features=["nope"]),
        UnknownFeatureError,
        "it has ['clicks', 'ctr', 'note']",
    ),
    bad(
        "read: features as one string",
        lambda s, t: s.read("users", features="clicks"),  # type: ignore[arg-type]
        InvalidRequestError,
        "features=['clicks']",
    ),
    bad(
        "read: naive start",
        lambda s, t: s.read("users", start=DAY.replace(tzinfo=None)),
        InvalidWindowError,
        "pass an aware datetime such as 2026-11-10T00:00:00+00:00",
    ),
    bad(
        "read: as_of a snapshot that does not exist",
        lambda s, t: s.read("users", as_of=123),
        InvalidWindowError,
        "has no snapshot 123",
    ),
]

HISTORICAL_ROWS = [
    bad(
        "historical: unknown feature",
        lambda s, t: s.get_historical_features(LABELS, ["users:nope"]),
        UnknownFeatureError,
        "it has ['clicks', 'ctr', 'note']",
    ),
    bad(
        "historical: SQL injection in feature",
        lambda s, t: s.get_historical_features(LABELS, ["users:clicks; DROP TABLE users"]),
        InvalidIdentifierError,
        "e.g. 'clicks_drop_table_users'",
    ),
    bad(
        "historical: entity rows as a list of dicts",
        lambda s, t: s.get_historical_features(LABELS.to_dicts(), ["users:clicks"]),
        InvalidFrameError,
        "expected a polars, pandas or pyarrow frame",
    ),
    bad(
        "historical: pandas entity frame with naive timestamps",
        lambda s, t: s.get_historical_features(
            LABELS.with_columns(pl.col("event_timestamp").dt.replace_time_zone(None)).to_pandas(),
            ["users:clicks"],
        ),
        NaiveTimestampError,
        "replace_time_zone('UTC')",
    ),
    bad(
        "historical: pandas entity frame with a duplicate column",
        lambda s, t: s.get_historical_features(
            pd.DataFrame([["u1", NOW, "u2"]], columns=["user_id", "event_timestamp", "user_id"]),
            ["users:clicks"],
        ),
        InvalidFrameError,
        "rename or drop the duplicates",
    ),
]

ONLINE_READ_ROWS = [
    bad(
        "online: unknown group",
        lambda s, t: s.get_online_features(["nope:clicks"], [{"user_id": "u1"}]),
        UnknownFeatureGroupError,
        "apply it first",
    ),
    bad(
        "online: path traversal in group",
        lambda s, t: s.get_online_features(["../../x:clicks"], [{"user_id": "u1"}]),
        InvalidIdentifierError,
        "invalid feature group name '../../x'",
    ),
    bad(
        "online: SQL injection in feature",
        lambda s, t: s.get_online_features(["users:clicks' OR 1=1 --"], [{"user_id": "u1"}]),
        InvalidIdentifierError,
        "e.g. 'clicks_or_1_1'",
    ),
    bad(
        "online: int key for a string join key",
        lambda s, t: s.get_online_features(["users:clicks"], [{"user_id": 1}]),
        SchemaMismatchError,
        "keys it by string",
    ),
    bad(
        "online: naive now",
        lambda s, t: s.get_online_features(
            ["users:clicks"], [{"user_id": "u1"}], now=NOW.replace(tzinfo=None)
        ),
        NaiveTimestampError,
        "timezone-aware",
    ),
    bad(
        "online: group that is not online",
        lambda s, t: s.get_online_features(["user_visits:visits"], [{"user_id": "u1"}]),
        FeatureNotOnlineError,
        "set online=True in their spec and apply it",
    ),
    bad(
        "online: features as one string",
        lambda s, t: s.get_online_features("users:clicks", [{"user_id": "u1"}]),
        InvalidFeatureReferenceError,
        "features=['users:clicks']",
    ),
]

SPEC_ROWS = [
    bad(
        "FeatureGroup: path traversal in name",
        lambda s, t: FeatureGroup("../../etc/passwd", USER, ONE_FEATURE),
        InvalidIdentifierError,
        "e.g. 'etc_passwd'",
    ),
    bad(
        "Feature: SQL injection in name",
        lambda s, t: Feature("x; DROP TABLE users; --", "int64"),
        InvalidIdentifierError,
        "e.g. 'x_drop_table_users'",
    ),
    bad(
        "FeatureGroup: quote in event_time column",
        lambda s, t: FeatureGroup("g", USER, ONE_FEATURE, event_time="ts'--"),
        InvalidIdentifierError,
        "invalid event_time column name",
    ),
    bad(
        "Feature: unsupported dtype",
        lambda s, t: Feature("price", "decimal(10,2)"),
        InvalidSpecError,
        "use one of: bool, date, float32, float64, int32, int64, string, timestamp",
    ),
    bad(
        "Entity: float join key",
        lambda s, t: Entity("user", ["user_id"], key_dtypes={"user_id": "float64"}),
        InvalidSpecError,
        "join keys must be one of ['int32', 'int64', 'string']",
    ),
    bad(
        "FeatureGroup: ttl as seconds",
        lambda s, t: FeatureGroup("g", USER, ONE_FEATURE, ttl=3600),  # type: ignore[arg-type]
        InvalidSpecError,
        "ttl must be a positive timedelta",
    ),
    bad(
        "FeatureGroup: entity as a name",
        lambda s, t: FeatureGroup("g", "user", ONE_FEATURE),  # type: ignore[arg-type]
        InvalidSpecError,
        "entity must be an Entity",
    ),
    bad(
        "FeatureGroup: online='false'",
        lambda s, t: FeatureGroup("g", USER, ONE_FEATURE, online="false"),  # type: ignore[arg-type]
        InvalidSpecError,
        "online must be True or False",
    ),
    bad(
        "FeatureGroup: one Feature instead of a list",
        lambda s, t: FeatureGroup("g", USER, Feature("clicks", "int64")),  # type: ignore[arg-type]
        InvalidSpecError,
        "features must be a list",
    ),
    bad(
        "Entity: join_keys=None",
        lambda s, t: Entity("user", None),  # type: ignore[arg-type]
        InvalidSpecError,
        "needs at least one join key",
    ),
    bad(
        "FeatureGroup: tags as a list",
        lambda s, t: FeatureGroup("g", USER, ONE_FEATURE, tags=["team"]),  # type: ignore[arg-type]
        InvalidSpecError,
        "tags must be a mapping",
    ),
    bad(
        "Feature: a range on a string feature",
        lambda s, t: Feature("segment", "string", expectations=[ValueRange(0, 1)]),
        InvalidSpecError,
        "feature 'segment': expectation in_range does not apply to a string feature",
    ),
    bad(
        "Feature: allowed values of another type",
        lambda s, t: Feature("clicks", "int64", expectations=[AllowedValues(["1", "2"])]),
        InvalidSpecError,
        "feature 'clicks': expectation allowed_values lists ['1', '2'], which are not int64",
    ),
    bad(
        "Feature: a negative null fraction",
        lambda s, t: Feature("clicks", "int64", expectations=[MaxNullFraction(-0.5)]),
        InvalidSpecError,
        "feature 'clicks': expectation max_null_fraction has fraction -0.5",
    ),
    bad(
        "FeatureGroup: a row-count factor of 1",
        lambda s, t: FeatureGroup("g", USER, ONE_FEATURE, expectations=[RowCountVsLastWeek(1)]),
        InvalidSpecError,
        "feature group 'g': expectation row_count_vs_last_week has factor 1",
    ),
]

CLI_ROWS = [
    bad(
        "cli describe: path traversal",
        cli("describe", "../etc"),
        InvalidIdentifierError,
        "e.g. 'etc'",
    ),
    bad(
        "cli describe: SQL injection",
        cli("describe", "users'; DROP TABLE users; --"),
        InvalidIdentifierError,
        "e.g. 'users_drop_table_users'",
    ),
    bad(
        "cli compact: unknown group",
        cli("compact", "nope"),
        UnknownFeatureGroupError,
        "apply it first",
    ),
    bad(
        "cli snowflake register: quote in group",
        cli("snowflake", "register", 'x"y'),
        InvalidIdentifierError,
        "e.g. 'x_y'",
    ),
    bad(
        "cli training-set: naive label timestamps",
        training_set("naive.csv", "users:clicks"),
        NaiveTimestampError,
        "has no time zone, so its instants are ambiguous; attach one",
    ),
    bad(
        "cli training-set: unknown label format",
        training_set("labels.txt", "users:clicks"),
        ConfigurationError,
        "use one of ['.parquet', '.csv', '.json']",
    ),
    bad(
        "cli training-set: unknown feature",
        training_set("labels.csv", "users:nope"),
        UnknownFeatureError,
        "it has ['clicks', 'ctr', 'note']",
    ),
    bad(
        "cli training-set: naive --as-of",
        training_set("labels.csv", "users:clicks", "--as-of", "2026-11-10T00:00:00"),
        InvalidWindowError,
        "pass an aware datetime such as 2026-11-10T00:00:00+00:00",
    ),
    bad(
        "cli training-set: --as-of that is not JSON",
        training_set("labels.csv", "users:clicks", "--as-of", "{users: 1}"),
        ConfigurationError,
        "--as-of",
    ),
    bad(
        "cli sql: a second statement",
        cli("sql", "SELECT * FROM users; DROP TABLE users"),
        SqlError,
        "one (and only one) statement can be parsed at a time",
    ),
    bad(
        "cli sql: DROP TABLE",
        cli("sql", "DROP TABLE users"),
        SqlError,
        "read-only",
    ),
]

ASSET_ROWS = [
    bad(
        "asset training_sets/click_through: labels_start='yesterday'",
        materialize("training_sets/click_through", labels_window("yesterday")),
        InvalidWindowError,
        "'yesterday' is not an ISO-8601 date or timestamp",
    ),
    bad(
        "asset training_sets/click_through: naive labels_start",
        materialize("training_sets/click_through", labels_window("2026-11-04T00:00:00")),
        InvalidWindowError,
        "pass an aware datetime such as 2026-11-04T00:00:00+00:00",
    ),
    bad(
        "asset training_sets/click_through: labels_start after labels_end",
        materialize("training_sets/click_through", labels_window("2026-11-05", "2026-11-04")),
        InvalidWindowError,
        "must be after start",
    ),
    bad(
        "asset online/user_engagement: full_resync='yes'",
        materialize(
            "online/user_engagement",
            {"ops": {"online__user_engagement": {"config": {"full_resync": "yes"}}}},
        ),
        dg.DagsterInvalidConfigError,
        'is not valid for expected type "Bool"',
    ),
    bad(
        "asset features/user_engagement: partition 2026-13-45",
        materialize("features/user_engagement", partition_key="2026-13-45"),
        dg.DagsterUnknownPartitionError,
        "Could not find a partition with key `2026-13-45`",
    ),
    bad(
        "asset features/user_engagement: unknown run config",
        materialize(
            "features/user_engagement",
            {"ops": {"features__user_engagement": {"config": {"full_resync": True}}}},
            partition_key="2026-11-04",
        ),
        dg.DagsterInvalidConfigError,
        'unexpected config entry "full_resync"',
    ),
    bad(
        "asset compaction/user_engagement: unknown run config",
        materialize(
            "compaction/user_engagement",
            {"ops": {"compaction__user_engagement": {"config": {"dry_run": True}}}},
        ),
        dg.DagsterInvalidConfigError,
        'unexpected config entry "dry_run"',
    ),
]

MATRIX = [
    *FRAME_ROWS,
    *TARGET_ROWS,
    *IDENTIFIER_ROWS,
    *APPLY_READ_ROWS,
    *HISTORICAL_ROWS,
    *ONLINE_READ_ROWS,
    *SPEC_ROWS,
    *CLI_ROWS,
    *ASSET_ROWS,
]


@pytest.mark.parametrize(("call", "error", "fix"), MATRIX)
def test_bad_input_is_refused_and_nothing_is_written(
    seeded: Seeded, tmp_path: Path, call: Call, error: type[Exception], fix: str
) -> None:
    with pytest.raises(error) as raised:
        call(seeded.store, tmp_path)

    assert type(raised.value) is error, f"{type(raised.value).__name__}: {raised.value}"
    assert fix in str(raised.value)
    assert _state(seeded.store) == seeded.pristine
    assert not (tmp_path / "out").exists()
