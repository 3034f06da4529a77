"""Every source refuses a bad argument when it is built, naming the argument; all are hashable
values, so groups sharing one source share its asset."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from feature_platform.errors import InvalidSpecError
from feature_platform.sources import (
    FeatureGroupSource,
    IcebergSource,
    ParquetSource,
    SnowflakeSource,
    Source,
)
from feature_platform_tests.helpers import user_group

QUERY = "SELECT * FROM T WHERE event_time >= %(start)s AND event_time < %(end)s"


def test_sources_are_hashable_values_with_useful_defaults() -> None:
    sources: list[Source] = [
        IcebergSource("raw.click_events", catalog_properties={"uri": "sqlite://"}, catalog="raw"),
        ParquetSource("s3://bucket/raw/clicks/", storage_options={"aws_region": "eu-west-1"}),
        SnowflakeSource("RAW.EVENTS.CLICKS", connection=lambda: None),  # type: ignore[arg-type, return-value]
        FeatureGroupSource(user_group()),
    ]
    assert len({*sources, *sources}) == 4
    iceberg, parquet, snowflake, group = sources
    assert iceberg.key == ("sources", "click_events")
    assert iceberg.defines_asset
    assert iceberg.description == (
        "Iceberg table raw.click_events in catalog raw (time column event_time)"
    )
    assert iceberg == IcebergSource(
        "raw.click_events", catalog="raw", catalog_properties=(("uri", "sqlite://"),)
    )
    assert parquet.key == ("sources", "clicks")
    assert parquet.description == (
        "Parquet files under s3://bucket/raw/clicks (daily folders dt={date:%Y-%m-%d}; time "
        "column event_time)"
    )
    assert snowflake.key == ("sources", "clicks")
    assert snowflake.description == "Snowflake table RAW.EVENTS.CLICKS (time column event_time)"
    assert not group.defines_asset
    elsewhere = IcebergSource("raw.click_events", asset_key=("other", "clicks"))
    assert elsewhere.key == ("other", "clicks")
    assert not elsewhere.defines_asset
    assert IcebergSource("raw.e", start=dt.date(2026, 11, 1)).start == dt.datetime(
        2026, 11, 1, tzinfo=dt.UTC
    )
    assert ParquetSource("/data", start="2026-11-01").start == dt.datetime(
        2026, 11, 1, tzinfo=dt.UTC
    )


def build(kind: str, **settings: Any) -> object:
    if kind == "iceberg":
        return IcebergSource(**{"table": "raw.events", **settings})
    if kind == "parquet":
        return ParquetSource(**{"path": "/data/raw/events", **settings})
    return SnowflakeSource(**{"table": "EVENTS", **settings})


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("iceberg", {"table": "events"}, "table must be 'namespace.table'"),
        ("iceberg", {"catalog_properties": {"uri": "x"}}, "pass catalog='<name>'"),
        ("iceberg", {"start": dt.datetime(2026, 1, 1)}, "start 2026-01-01T00:00:00 has no time"),
        ("iceberg", {"start": "first of May"}, "start 'first of May' is not an ISO-8601 date"),
        (
            "iceberg",
            {"start": dt.datetime(2026, 1, 1, 5, tzinfo=dt.UTC), "partitioning": "daily"},
            "not on a daily partition boundary",
        ),
        ("iceberg", {"partitioning": "weekly"}, "partitioning must be 'daily', 'hourly' or None"),
        ("iceberg", {"asset_key": ("Raw", "events")}, "asset_key part 'Raw'"),
        (
            "iceberg",
            {"table": "raw.ClickEvents"},
            "default asset key part 'ClickEvents'.*asset_key=",
        ),
        ("iceberg", {"columns": "user_id"}, "columns must be a tuple"),
        ("iceberg", {"columns": ("a", "a")}, r"columns repeats \['a'\]"),
        ("iceberg", {"allowed_lateness": dt.timedelta(hours=-1)}, "allowed_lateness must be"),
        ("iceberg", {"naive_timezone": "Mars/Olympus"}, "naive_timezone 'Mars/Olympus'"),
        ("parquet", {"layout": "nested"}, "layout must be one of"),
        ("parquet", {"path": "gs://bucket/x"}, "local folder or an s3:// URI, not gs://"),
        ("parquet", {"path": "s3://"}, "path needs a bucket"),
        ("parquet", {"layout": "template"}, "layout 'template' needs partition_template"),
        (
            "parquet",
            {"layout": "template", "partition_template": "{day:%Y}"},
            "only {date:<strftime format>} fields",
        ),
        (
            "parquet",
            {"layout": "template", "partition_template": "static"},
            r"has no {date:...} field",
        ),
        (
            "parquet",
            {"layout": "template", "partition_template": "{date:%Y/%m}"},
            "same folder for consecutive daily partitions",
        ),
        (
            "parquet",
            {"layout": "template", "partition_template": "{date:%Y/%m/%d/%H}"},
            "splits one daily partition",
        ),
        (
            "parquet",
            {"layout": "template", "partition_template": "{date:%m/%d}"},
            "does not name its partition unambiguously",
        ),
        (
            "parquet",
            {"layout": "template", "partition_template": "../{date:%Y/%m/%d}"},
            "must name a folder inside path",
        ),
        ("parquet", {"partition_template": "{date:%Y/%m/%d}"}, "hive folders are key=value"),
        ("parquet", {"partitioning": "hourly"}, None),
        (
            "parquet",
            {"partitioning": "hourly", "partition_template": "dt={date:%Y-%m-%d}"},
            "include every field down to the partition",
        ),
        (
            "parquet",
            {"layout": "flat", "success_marker": "_SUCCESS"},
            "success_marker needs a partitioned layout",
        ),
        (
            "parquet",
            {"allowed_lateness": dt.timedelta(hours=1)},
            "allowed_lateness applies to layout 'flat'",
        ),
        ("parquet", {"success_marker": "a/_SUCCESS"}, "success_marker must be a file name"),
        ("parquet", {"partitioning": None}, "needs partitioning 'daily' or 'hourly'"),
        ("parquet", {"storage_options": {"aws_region": "x"}}, "apply to s3:// paths only"),
        (
            "parquet",
            {"path": "s3://b/x", "storage_options": {"endpoint": "x"}},
            r"storage_options \['endpoint'\] are not supported",
        ),
        ("parquet", {"path": "/data/Raw-Events"}, "default asset key part 'Raw-Events'"),
        ("snowflake", {"query": QUERY}, "exactly one of table= and query="),
        ("snowflake", {"table": None}, "exactly one of table= and query="),
        ("snowflake", {"table": 'EVENTS"; DROP TABLE X; --'}, "table: unsafe Snowflake table name"),
        ("snowflake", {"table": "A.B.C.D"}, "table must be TABLE, SCHEMA.TABLE"),
        ("snowflake", {"time_column": "event time"}, "time_column: unsafe Snowflake"),
        ("snowflake", {"columns": ("a b",)}, "columns: unsafe Snowflake"),
        ("snowflake", {"table": None, "query": QUERY}, "a query source needs asset_key"),
        (
            "snowflake",
            {"table": None, "query": "SELECT 1", "asset_key": ("raw", "q")},
            "%\\(start\\)s and %\\(end\\)s",
        ),
        (
            "snowflake",
            {"table": None, "query": QUERY + " AND name LIKE 'a%'", "asset_key": ("raw", "q")},
            "write a literal % as %%",
        ),
        ("snowflake", {"connection": "acme"}, "connection must be a callable"),
    ],
)
def test_a_bad_argument_is_named(kind: str, settings: dict[str, Any], message: str | None) -> None:
    if message is None:  # the hive default follows the partitioning: a valid combination
        built = build(kind, **settings)
        assert isinstance(built, ParquetSource)
        assert built.template == "dt={date:%Y-%m-%d}/hour={date:%H}"
        return
    with pytest.raises(InvalidSpecError, match=message):
        build(kind, **settings)
