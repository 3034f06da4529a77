"""Landing files are pushed exactly as read, identified by their bytes, from the landing root only.

Regressions of the landing zone's hardening, each through the deployment's own sensor and push
job, in a local folder and (where S3 behaves differently) under an ``s3://`` prefix on the moto
server:

- a file replaced while its push runs stays pending and is pushed next, instead of its new
  content being archived unpushed;
- two different files with the same name, size and modification time are both pushed and both
  archived (no "already written", no overwritten archive);
- a symbolic link, to a file or a folder outside the landing root, is never followed;
- CSV and JSON are parsed with the group's schema: numeric-looking string keys stay strings, an
  empty file pushes nothing and is archived, a row with a missing field is refused by line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import polars as pl
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from feature_platform import FeatureStore
from feature_platform.definitions import build_definitions
from feature_platform.demo.feature_groups import ARTICLE_POPULARITY
from feature_platform.errors import ConfigurationError
from feature_platform.orchestration.landing_sensors import evaluate_landing, landing_job_name
from feature_platform.orchestration.resources import FeatureStoreResource
from feature_platform.streaming.landing import LandingZone, parse_landing_file
from feature_platform_tests.conftest import MOTO_CREDENTIALS
from feature_platform_tests.helpers import read_independently

GROUP = ARTICLE_POPULARITY.name
HEADER = (
    "article_id,event_time,computed_at,impressions_24h,clicks_24h,ctr_24h,avg_dwell_24h,category"
)
KEY = ["article_id", "event_time"]


def csv_rows(*rows: tuple[str, int, float]) -> bytes:
    """A CSV of article rows (id, clicks, ctr) as a producer writes it: instants with offsets."""
    lines = [
        f"{article},2026-11-10T14:00:00+00:00,2026-11-10T14:05:00+00:00,10,{clicks},{ctr},30.5,tech"
        for article, clicks, ctr in rows
    ]
    return "\n".join([HEADER, *lines, ""]).encode()


def parquet_rows(*articles: str) -> bytes:
    utc = dt.UTC
    frame = pl.DataFrame(
        {
            "article_id": list(articles),
            "event_time": [dt.datetime(2026, 11, 10, 14, tzinfo=utc)] * len(articles),
            "computed_at": [dt.datetime(2026, 11, 10, 14, 5, tzinfo=utc)] * len(articles),
            "impressions_24h": [10] * len(articles),
            "clicks_24h": [2] * len(articles),
            "ctr_24h": [0.2] * len(articles),
            "avg_dwell_24h": [30.5] * len(articles),
            "category": ["tech"] * len(articles),
        }
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


@dataclass
class Landing:
    """One landing zone under test, seen the way its producer and its operator see it."""

    home: Path
    resource: FeatureStoreResource
    put: Callable[[str, bytes], None]  # drop (or atomically replace) a file
    archived: Callable[[str], dict[str, bytes]]  # name -> bytes in _processed / _quarantine

    @property
    def zone(self) -> LandingZone:
        return LandingZone.from_config(self.resource.store_config())

    def tick(self, cursor: str | None = None) -> dg.SensorResult:
        return evaluate_landing(self.zone, GROUP, cursor, now=0.0)

    def run(self, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        job = build_definitions().get_job_def(landing_job_name(GROUP))
        return job.execute_in_process(
            run_config=request.run_config,
            resources={"feature_store": self.resource},
            raise_on_error=False,
        )

    def push_all(self) -> dg.ExecuteInProcessResult:
        [request] = self.tick().run_requests or []
        return self.run(request)

    def table(self) -> pl.DataFrame:
        return read_independently(FeatureStore(self.home).table(GROUP))


@pytest.fixture(params=["local", "s3"])
def landing(request: pytest.FixtureRequest, home: Path) -> Iterator[Landing]:
    with FeatureStore(home) as store:
        store.apply(ARTICLE_POPULARITY)
    if request.param == "local":
        yield _local(home)
    else:
        # A prefix of its own: parametrized tests share a bucket (named after the test).
        prefix = "landing-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
        endpoint = request.getfixturevalue("moto_endpoint")
        yield _s3(home, endpoint, request.getfixturevalue("s3_bucket"), prefix)


@pytest.fixture
def local(home: Path) -> Landing:
    with FeatureStore(home) as store:
        store.apply(ARTICLE_POPULARITY)
    return _local(home)


def _local(home: Path) -> Landing:
    root = home / "landing"

    def put(name: str, payload: bytes) -> None:
        folder = root / GROUP
        folder.mkdir(parents=True, exist_ok=True)
        hidden = folder / f".{name}.tmp"
        hidden.write_bytes(payload)
        hidden.replace(folder / name)  # atomic, as producers should write

    def archived(area: str) -> dict[str, bytes]:
        folder = root / area / GROUP
        if not folder.exists():
            return {}
        return {p.name: p.read_bytes() for p in folder.iterdir() if not p.is_symlink()}

    return Landing(home, FeatureStoreResource(home=str(home)), put, archived)


def _s3(home: Path, endpoint: str, bucket: str, prefix: str) -> Landing:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **MOTO_CREDENTIALS)
    resource = FeatureStoreResource(
        home=str(home),
        landing=f"s3://{bucket}/{prefix}",
        s3_endpoint=endpoint,
        aws_region="us-east-1",
        **MOTO_CREDENTIALS,
    )

    def put(name: str, payload: bytes) -> None:
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{GROUP}/{name}", Body=payload)

    def archived(area: str) -> dict[str, bytes]:
        folder = f"{prefix}/{area}/{GROUP}/"
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=folder).get("Contents", [])
        return {
            item["Key"][len(folder) :]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            for item in listed
        }

    return Landing(home, resource, put, archived)


def _original_names(archive: dict[str, bytes]) -> list[str]:
    return sorted(name.split("-", 1)[1] for name in archive if not name.endswith(".error.txt"))


# --- 1. a file replaced while its push runs --------------------------------------------------


def test_a_file_replaced_while_its_push_runs_stays_pending_and_is_pushed_next(
    landing: Landing, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = parquet_rows("a00001", "a00002"), parquet_rows("a00003")
    landing.put("latest.parquet", first)
    tick = landing.tick()
    [request] = tick.run_requests or []

    # The producer atomically replaces the file while the run commits what it read.
    commit = SqlCatalog.commit_table
    replaced = []

    def replace_then_commit(self: SqlCatalog, *args: Any, **kwargs: Any) -> Any:
        if not replaced:
            landing.put("latest.parquet", second)
            replaced.append(True)
        return commit(self, *args, **kwargs)

    monkeypatch.setattr(SqlCatalog, "commit_table", replace_then_commit)
    assert landing.run(request).success
    monkeypatch.undo()

    assert replaced
    assert landing.table()["article_id"].sort().to_list() == ["a00001", "a00002"]
    # What was pushed is what was archived; the new content waits under a new key.
    assert list(landing.archived("_processed").values()) == [first]
    [waiting] = landing.zone.pending(GROUP)
    assert waiting.name == "latest.parquet"
    assert waiting.key not in request.run_config["ops"][f"push_{GROUP}_files"]["config"]["files"]

    [again] = landing.tick(tick.cursor).run_requests or []
    assert landing.run(again).success
    assert landing.table()["article_id"].sort().to_list() == ["a00001", "a00002", "a00003"]
    assert sorted(landing.archived("_processed").values()) == sorted([first, second])
    assert landing.zone.pending(GROUP) == []


# --- 2. files told apart by their content ----------------------------------------------------


def test_two_files_with_the_same_name_size_and_mtime_are_both_pushed_and_archived(
    local: Landing,
) -> None:
    """``cp -p``, ``rsync -t`` and tar keep modification times: the second file of a name is
    new content all the same."""
    first, second = csv_rows(("a00001", 2, 0.25)), csv_rows(("a00002", 3, 0.35))
    assert len(first) == len(second)
    path = local.home / "landing" / GROUP / "batch.csv"
    local.put("batch.csv", first)
    stamp = path.stat().st_mtime_ns
    tick = local.tick()
    [request] = tick.run_requests or []
    assert local.run(request).success

    local.put("batch.csv", second)
    os.utime(path, ns=(stamp, stamp))  # as `cp -p` leaves it
    [again] = local.tick(tick.cursor).run_requests or []
    # A new run key: the daemon would skip a request whose run key already had a run.
    assert again.run_key != request.run_key
    assert local.run(again).success

    assert local.table()["article_id"].sort().to_list() == ["a00001", "a00002"]
    archive = local.archived("_processed")
    assert _original_names(archive) == ["batch.csv", "batch.csv"]
    assert sorted(archive.values()) == sorted([first, second])


def test_a_file_dropped_again_with_other_content_is_pushed_again(landing: Landing) -> None:
    """On S3 the second upload of a name within the same second has the same LastModified."""
    first, second = csv_rows(("a00001", 2, 0.25)), csv_rows(("a00002", 3, 0.35))
    landing.put("batch.csv", first)
    assert landing.push_all().success
    landing.put("batch.csv", second)
    assert landing.push_all().success
    landing.put("batch.csv", first)  # the very same bytes again: nothing new to commit
    assert landing.push_all().success

    assert landing.table()["article_id"].sort().to_list() == ["a00001", "a00002"]
    assert len(FeatureStore(landing.home).table(GROUP).snapshots()) == 2
    archive = landing.archived("_processed")
    assert _original_names(archive) == ["batch.csv"] * len(archive)
    assert sorted(set(archive.values())) == sorted([first, second])
    assert landing.zone.pending(GROUP) == []


# --- 4. symbolic links -----------------------------------------------------------------------


def test_a_symlink_to_rows_outside_the_landing_root_is_quarantined_unread(
    local: Landing, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "rows.parquet"
    outside.parent.mkdir()
    outside.write_bytes(parquet_rows("a00009"))
    folder = local.home / "landing" / GROUP
    folder.mkdir(parents=True)
    (folder / "linked.parquet").symlink_to(outside)

    result = local.push_all()

    assert not result.success  # visible: a quarantined file fails the run
    assert local.table().is_empty()
    quarantine = local.home / "landing" / "_quarantine" / GROUP
    [link] = [p for p in quarantine.iterdir() if p.is_symlink()]
    assert link.name.endswith("-linked.parquet")
    assert link.readlink() == outside  # the link itself was moved, its target left alone
    assert outside.read_bytes() == parquet_rows("a00009")
    [error] = quarantine.glob("*.error.txt")
    assert "is a symbolic link" in error.read_text()
    assert local.zone.pending(GROUP) == []


def test_an_error_file_never_quotes_a_file_outside_the_landing_root(
    local: Landing, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2\n")
    folder = local.home / "landing" / GROUP
    folder.mkdir(parents=True)
    (folder / "secret.csv").symlink_to(secret)

    assert not local.push_all().success

    for error in (local.home / "landing" / "_quarantine" / GROUP).glob("*.error.txt"):
        text = error.read_text()
        assert "hunter2" not in text
        assert "password" not in text


def test_a_group_folder_that_is_a_symlink_is_refused(local: Landing, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "rows.parquet").write_bytes(parquet_rows("a00009"))
    (local.home / "landing").mkdir(parents=True)
    (local.home / "landing" / GROUP).symlink_to(outside, target_is_directory=True)

    with pytest.raises(ConfigurationError, match="symbolic link"):
        local.tick()
    assert local.table().is_empty()
    assert (outside / "rows.parquet").exists()


# --- 6. text formats parsed with the group's schema ------------------------------------------


def test_a_csv_with_numeric_looking_string_keys_is_pushed_as_strings(landing: Landing) -> None:
    landing.put("keys.csv", csv_rows(("00123", 2, 0.25), ("00456", 3, 0.5)))

    assert landing.push_all().success

    assert landing.table()["article_id"].sort().to_list() == ["00123", "00456"]
    assert landing.archived("_quarantine") == {}


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("header_only.csv", (HEADER + "\n").encode()),
        ("empty.csv", b""),
        ("empty.json", b"[]"),
        ("empty_lines.json", b"\n\n"),
    ],
)
def test_an_empty_file_pushes_nothing_and_is_archived(
    landing: Landing, name: str, payload: bytes
) -> None:
    landing.put(name, payload)

    assert landing.push_all().success

    assert FeatureStore(landing.home).table(GROUP).snapshots() == []
    assert _original_names(landing.archived("_processed")) == [name]
    assert landing.archived("_quarantine") == {}
    assert landing.zone.pending(GROUP) == []


def test_a_csv_row_with_a_missing_field_is_refused_naming_its_line(landing: Landing) -> None:
    good = csv_rows(("a00001", 2, 0.25), ("a00002", 3, 0.5)).decode().splitlines()
    short = good[2].rsplit(",", 1)[0]  # the last field (category) left out
    landing.put("short.csv", "\n".join([good[0], good[1], short, ""]).encode())

    assert not landing.push_all().success

    assert landing.table().is_empty()
    quarantine = landing.archived("_quarantine")
    [error] = [text.decode() for name, text in quarantine.items() if name.endswith(".error.txt")]
    assert "short.csv line 3: 7 field(s), but the header has 8" in error


def test_json_numbers_fill_float_features_and_strings_stay_strings(landing: Landing) -> None:
    """A JavaScript producer writes 0 for 0.0; a string that looks like a time stays text."""
    record = (
        '{"article_id": "2026-11-10T14:00:00Z", "event_time": "2026-11-10T15:00:00+01:00", '
        '"computed_at": "2026-11-10T14:05:00Z", "impressions_24h": 10, "clicks_24h": 0, '
        '"ctr_24h": 0, "avg_dwell_24h": 12, "category": "00123"}\n'
    )
    landing.put("js.json", record.encode())

    assert landing.push_all().success

    [row] = landing.table().to_dicts()
    assert row["article_id"] == "2026-11-10T14:00:00Z"
    assert row["event_time"] == dt.datetime(2026, 11, 10, 14, tzinfo=dt.UTC)
    assert (row["ctr_24h"], row["avg_dwell_24h"], row["category"]) == (0.0, 12.0, "00123")


def test_a_fifo_or_other_special_file_is_quarantined_without_being_opened(local: Landing) -> None:
    folder = local.home / "landing" / GROUP
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.csv")  # opening it to read would block the run forever

    assert not local.push_all().success

    quarantine = local.home / "landing" / "_quarantine" / GROUP
    [error] = quarantine.glob("*.error.txt")
    assert "pipe.csv is not a regular file" in error.read_text()
    assert local.zone.pending(GROUP) == []


def test_hidden_files_and_sub_folders_are_not_pending(local: Landing) -> None:
    local.put("rows.csv", csv_rows(("a00001", 2, 0.25)))
    folder = local.home / "landing" / GROUP
    (folder / ".partial.csv").write_bytes(b"still being written")
    (folder / "_notes.csv").write_bytes(b"not for us")
    (folder / "staging.csv").mkdir()

    assert [f.name for f in local.zone.pending(GROUP)] == ["rows.csv"]


# --- S3: every step conditional on the object read -------------------------------------------


@pytest.mark.parametrize("landing", ["s3"], indirect=True)
def test_an_object_replaced_after_it_was_listed_is_not_claimed(landing: Landing) -> None:
    landing.put("latest.csv", csv_rows(("a00001", 2, 0.25)))
    [listed] = landing.zone.pending(GROUP)
    landing.put("latest.csv", csv_rows(("a00002", 3, 0.35)))

    assert landing.zone.claim(listed) is None  # its own run (the new key) pushes the new content
    [new] = landing.zone.pending(GROUP)
    assert new.key != listed.key


@pytest.mark.parametrize("landing", ["s3"], indirect=True)
def test_a_rerun_after_archiving_but_before_deleting_archives_once(landing: Landing) -> None:
    payload = csv_rows(("a00001", 2, 0.25))
    landing.put("batch.csv", payload)
    zone = landing.zone
    [file] = zone.pending(GROUP)
    claim = zone.claim(file)
    assert claim is not None
    # A run pushed it and archived it, then died before deleting it: the conditional delete of
    # an ETag that no longer matches leaves exactly that state behind.
    with FeatureStore(landing.home) as store:
        store.write(GROUP, csv_frame(payload), to="both", idempotency_key=claim.write_id)
    zone.archive(dataclasses.replace(claim, etag='"0"'))
    assert [f.key for f in zone.pending(GROUP)] == [file.key]

    assert landing.push_all().success

    assert len(FeatureStore(landing.home).table(GROUP).snapshots()) == 1
    assert list(landing.archived("_processed").values()) == [payload]
    assert zone.pending(GROUP) == []


def csv_frame(payload: bytes) -> pl.DataFrame:
    return parse_landing_file(ARTICLE_POPULARITY, "batch.csv", payload)
