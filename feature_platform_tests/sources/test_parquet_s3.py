"""`ParquetSource` on ``s3://`` against real moto servers (one of them checks credentials)."""

from __future__ import annotations

import io

import boto3
import pytest
from polars.testing import assert_frame_equal

from feature_platform import FeatureStore
from feature_platform.errors import SourceError
from feature_platform.sources import ParquetSource
from feature_platform_tests.conftest import MOTO_CREDENTIALS
from feature_platform_tests.sources.conftest import (
    DAYS,
    WEEK_START,
    AuthMoto,
    day,
    events,
    week,
)

pytestmark = pytest.mark.integration


def upload_week(client: object, bucket: str, prefix: str, skip: int | None = None) -> None:
    for index in range(DAYS):
        if index == skip:
            continue
        buffer = io.BytesIO()
        events(day(index)).write_parquet(buffer)
        key = f"{prefix}/{day(index).start:dt=%Y-%m-%d}/part-0.parquet"
        client.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())  # type: ignore[attr-defined]


def options(endpoint: str, access_key: str, secret_key: str) -> dict[str, str]:
    return {
        "aws_endpoint_url": endpoint,
        "aws_region": "us-east-1",
        "aws_access_key_id": access_key,
        "aws_secret_access_key": secret_key,
    }


def test_an_s3_prefix_reads_its_windows_and_tells_its_completeness(
    store: FeatureStore, moto_endpoint: str, s3_bucket: str
) -> None:
    client = boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", **MOTO_CREDENTIALS
    )
    upload_week(client, s3_bucket, "raw/clicks", skip=4)
    settings = options(moto_endpoint, *MOTO_CREDENTIALS.values())
    source = ParquetSource(
        f"s3://{s3_bucket}/raw/clicks", start=WEEK_START, storage_options=settings
    )
    assert source.key == ("sources", "clicks")
    assert "secret" not in repr(source)
    assert_frame_equal(source.read(store, day(2)), events(day(2)))
    verdict = source.completeness(store, week())
    assert verdict.missing == ("dt=2026-11-05",)
    assert source.read(store, day(4)).height == 0
    observation = source.observe(store)
    assert observation is not None
    assert observation.newest_partition == "2026-11-07"


def test_a_bucket_that_does_not_exist_is_a_source_error(
    store: FeatureStore, moto_endpoint: str
) -> None:
    settings = options(moto_endpoint, *MOTO_CREDENTIALS.values())
    source = ParquetSource("s3://no-such-bucket/raw/clicks", storage_options=settings)
    with pytest.raises(SourceError, match=r"s3://no-such-bucket/raw/clicks \(parquet\)"):
        source.read(store, day(0))


def test_wrong_credentials_are_a_source_error(store: FeatureStore, auth_moto: AuthMoto) -> None:
    client = auth_moto.client()
    client.create_bucket(Bucket="guarded")  # type: ignore[attr-defined]
    upload_week(client, "guarded", "raw/clicks")
    good = options(auth_moto.endpoint, auth_moto.access_key, auth_moto.secret_key)
    source = ParquetSource("s3://guarded/raw/clicks", start=WEEK_START, storage_options=good)
    assert_frame_equal(source.read(store, day(1)), events(day(1)))
    bad = ParquetSource(
        "s3://guarded/raw/clicks",
        start=WEEK_START,
        storage_options={**good, "aws_secret_access_key": "wrong"},
    )
    for call in (bad.read, bad.completeness):
        with pytest.raises(SourceError, match=r"s3://guarded/raw/clicks \(parquet\): cannot list"):
            call(store, day(1))


def test_a_readable_listing_but_unreadable_file_is_a_source_error(
    store: FeatureStore, moto_endpoint: str, s3_bucket: str
) -> None:
    client = boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", **MOTO_CREDENTIALS
    )
    client.put_object(Bucket=s3_bucket, Key="raw/clicks/dt=2026-11-01/part-0.parquet", Body=b"x")
    settings = options(moto_endpoint, *MOTO_CREDENTIALS.values())
    source = ParquetSource(
        f"s3://{s3_bucket}/raw/clicks", start=WEEK_START, storage_options=settings
    )
    with pytest.raises(SourceError, match=r"cannot read s3://.*part-0.parquet"):
        source.read(store, day(0))
