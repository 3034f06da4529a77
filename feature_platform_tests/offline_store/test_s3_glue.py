"""The same store code on an s3:// warehouse with a Glue catalog, served by moto on loopback."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore, StoreConfig
from feature_platform_tests.conftest import MOTO_CREDENTIALS
from feature_platform_tests.helpers import (
    DAY_START,
    NEXT_DAY,
    assert_no_empty_files,
    canonical,
    read_independently,
    user_frame,
    user_group,
)

pytestmark = pytest.mark.integration


def _aws_properties(endpoint: str) -> dict[str, str]:
    return {
        "s3.endpoint": endpoint,
        "s3.region": "us-east-1",
        "s3.access-key-id": MOTO_CREDENTIALS["aws_access_key_id"],
        "s3.secret-access-key": MOTO_CREDENTIALS["aws_secret_access_key"],
    }


def _glue_properties(endpoint: str) -> dict[str, str]:
    return {
        **_aws_properties(endpoint),
        "glue.endpoint": endpoint,
        "glue.region": "us-east-1",
        "glue.access-key-id": MOTO_CREDENTIALS["aws_access_key_id"],
        "glue.secret-access-key": MOTO_CREDENTIALS["aws_secret_access_key"],
    }


def _exercise(store: FeatureStore, bucket: str, endpoint: str) -> None:
    store.apply(user_group())
    store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    store.write_window("user_stats", user_frame(offset=5), DAY_START, NEXT_DAY)
    store.write("user_stats", user_frame(NEXT_DAY, users=2))

    table = store.table("user_stats")
    assert table.location() == f"s3://{bucket}/features/feature_platform/user_stats"
    assert_frame_equal(canonical(read_independently(table)), canonical(store.read("user_stats")))
    assert store.read("user_stats").height == 7
    assert_no_empty_files(table)

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **MOTO_CREDENTIALS)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert all(k.startswith("features/feature_platform/user_stats/") for k in keys)
    assert any(k.endswith(".parquet") for k in keys)


def test_glue_catalog_with_s3_warehouse(tmp_path: Path, moto_endpoint: str, s3_bucket: str) -> None:
    config = StoreConfig(
        offline_buffer_rows=0,
        home=tmp_path,
        catalog_type="glue",
        warehouse=f"s3://{s3_bucket}/features",
        namespace="feature_platform",
        catalog_properties=_glue_properties(moto_endpoint),
    )
    store = FeatureStore(config=config)
    _exercise(store, s3_bucket, moto_endpoint)

    glue = boto3.client(
        "glue", endpoint_url=moto_endpoint, region_name="us-east-1", **MOTO_CREDENTIALS
    )
    glue_table = glue.get_table(DatabaseName="feature_platform", Name="user_stats")["Table"]
    assert glue_table["Parameters"]["table_type"].upper() == "ICEBERG"
    assert (
        glue_table["Parameters"]["metadata_location"] == store.table("user_stats").metadata_location
    )
    # Another process configured by environment variables alone sees the same groups.
    other = FeatureStore(
        config=StoreConfig.from_env(
            {
                "FEATURE_PLATFORM_HOME": str(tmp_path),
                "FEATURE_PLATFORM_CATALOG_TYPE": "glue",
                "FEATURE_PLATFORM_WAREHOUSE": f"s3://{s3_bucket}/features",
                **{
                    "FEATURE_PLATFORM_CATALOG__" + k.upper().replace(".", "__"): v
                    for k, v in _glue_properties(moto_endpoint).items()
                },
            }
        )
    )
    assert [g.name for g in other.list_feature_groups()] == ["user_stats"]
    assert other.read("user_stats", start=NEXT_DAY).height == 2


def test_sql_catalog_with_s3_warehouse(tmp_path: Path, moto_endpoint: str, s3_bucket: str) -> None:
    config = StoreConfig(
        offline_buffer_rows=0,
        home=tmp_path,
        warehouse=f"s3://{s3_bucket}/features",
        catalog_properties=_aws_properties(moto_endpoint),
    )
    _exercise(FeatureStore(config=config), s3_bucket, moto_endpoint)


def test_time_travel_on_s3(tmp_path: Path, moto_endpoint: str, s3_bucket: str) -> None:
    config = StoreConfig(
        offline_buffer_rows=0,
        home=tmp_path,
        warehouse=f"s3://{s3_bucket}/features",
        catalog_properties=_aws_properties(moto_endpoint),
    )
    store = FeatureStore(config=config)
    store.apply(user_group())
    first = store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    store.write_window("user_stats", user_frame(offset=10), DAY_START, NEXT_DAY)
    old = store.read("user_stats", as_of=first.snapshot_id)
    assert old.get_column("clicks").sort().to_list() == [0, 1, 2, 3, 4]
    assert store.read("user_stats").get_column("clicks").min() == 10
