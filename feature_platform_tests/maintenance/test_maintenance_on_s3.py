"""Maintenance on an s3:// warehouse (moto on loopback) and on a warehouse given as a plain path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import boto3
import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore, StoreConfig
from feature_platform.maintenance.files import list_table_files, referenced_files
from feature_platform.maintenance.policy import MaintenancePolicy
from feature_platform.maintenance.runner import maintain_group
from feature_platform_tests.conftest import MOTO_CREDENTIALS
from feature_platform_tests.helpers import (
    DAY_START,
    canonical,
    read_independently,
    user_frame,
    user_group,
)

LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
POLICY = MaintenancePolicy(min_small_files=2, retain_last=1, orphan_min_age=dt.timedelta(0))


def _fragment(store: FeatureStore) -> None:
    store.apply(user_group())
    store.apply(user_group(name="user_stats_v2"))
    for i in range(6):
        store.write("user_stats", user_frame(DAY_START + dt.timedelta(minutes=i), offset=i))
    store.write("user_stats_v2", user_frame())


@pytest.mark.integration
def test_full_maintenance_on_s3(tmp_path: Path, moto_endpoint: str, s3_bucket: str) -> None:
    config = StoreConfig(
        offline_buffer_rows=0,
        home=tmp_path,
        warehouse=f"s3://{s3_bucket}/features",
        catalog_properties={
            "s3.endpoint": moto_endpoint,
            "s3.region": "us-east-1",
            "s3.access-key-id": MOTO_CREDENTIALS["aws_access_key_id"],
            "s3.secret-access-key": MOTO_CREDENTIALS["aws_secret_access_key"],
        },
    )
    store = FeatureStore(config=config)
    _fragment(store)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", **MOTO_CREDENTIALS)
    orphan = "features/feature_platform/user_stats/data/crashed.parquet"
    s3.put_object(Bucket=s3_bucket, Key=orphan, Body=b"PAR1")
    sibling_keys = {
        o["Key"]
        for o in s3.list_objects_v2(
            Bucket=s3_bucket, Prefix="features/feature_platform/user_stats_v2/"
        )["Contents"]
    }
    before = read_independently(store.table("user_stats"))

    report = maintain_group(store, "user_stats", POLICY, now=LATER)

    table = store.table("user_stats")
    assert (report.compaction.files_before, report.compaction.files_after) == (6, 1)
    assert f"s3://{s3_bucket}/{orphan}" in report.orphans.files_deleted
    assert {f.uri for f in list_table_files(table)} == referenced_files(table).all()
    assert_frame_equal(canonical(read_independently(table)), canonical(before))
    after_keys = {
        o["Key"]
        for o in s3.list_objects_v2(
            Bucket=s3_bucket, Prefix="features/feature_platform/user_stats_v2/"
        )["Contents"]
    }
    assert after_keys == sibling_keys  # the sibling table sharing the name prefix is untouched


def test_plain_path_warehouse_is_maintained_like_a_file_uri(tmp_path: Path) -> None:
    config = StoreConfig(
        home=tmp_path / "home", warehouse=str(tmp_path / "wh"), offline_buffer_rows=0
    )
    assert config.warehouse_root == (tmp_path / "wh").as_uri()
    store = FeatureStore(config=config)
    _fragment(store)
    before = read_independently(store.table("user_stats"))

    report = maintain_group(store, "user_stats", POLICY, now=LATER)

    table = store.table("user_stats")
    assert report.compaction.files_after == 1
    assert {f.uri for f in list_table_files(table)} == referenced_files(table).all()
    assert_frame_equal(canonical(read_independently(table)), canonical(before))
