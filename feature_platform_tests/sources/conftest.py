"""Fixtures of the source tests: a week of events, and a moto server that checks credentials."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import polars as pl
import pytest

from feature_platform.time_windows import TimeWindow
from feature_platform_tests.conftest import MOTO_CREDENTIALS
from feature_platform_tests.servers import free_port, wait_until_listening

UTC = dt.UTC
WEEK_START = dt.datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 7
ROWS_PER_DAY = 24


def day(index: int) -> TimeWindow:
    """The `index`-th day of the test week (0 = 2026-11-01)."""
    start = WEEK_START + dt.timedelta(days=index)
    return TimeWindow(start, start + dt.timedelta(days=1))


def week() -> TimeWindow:
    return TimeWindow(WEEK_START, WEEK_START + dt.timedelta(days=DAYS))


def events(window: TimeWindow, rows: int = ROWS_PER_DAY) -> pl.DataFrame:
    """`rows` events spread evenly over `window`, the last one just before its end."""
    step = (window.end - window.start) / rows
    times = [window.start + step * i + step / 2 for i in range(rows)]
    offset = int((window.start - WEEK_START) / dt.timedelta(hours=1)) * 1000
    return pl.DataFrame(
        {
            "user_id": [offset + i for i in range(rows)],
            "event_time": times,
            "amount": [float(i) / 4 for i in range(rows)],
        },
        schema={"user_id": pl.Int64, "event_time": pl.Datetime("us", "UTC"), "amount": pl.Float64},
    )


def week_of_events() -> pl.DataFrame:
    return pl.concat([events(day(i)) for i in range(DAYS)])


@dataclass(frozen=True)
class AuthMoto:
    """A moto server that checks request signatures, with one user allowed everything."""

    endpoint: str
    access_key: str
    secret_key: str

    def client(self, secret_key: str | None = None) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
        )


@pytest.fixture(scope="session")
def auth_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthMoto]:
    """moto checks credentials only past its first INITIAL_NO_AUTH_ACTION_COUNT requests: the
    three IAM calls that create the user and its key are the free ones."""
    port = free_port()
    log = tmp_path_factory.mktemp("auth_moto") / "moto.log"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(process, port, log, "moto server (auth)")
        iam = boto3.client(
            "iam", endpoint_url=endpoint, region_name="us-east-1", **MOTO_CREDENTIALS
        )
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        iam.put_user_policy(UserName="reader", PolicyName="all", PolicyDocument=json.dumps(policy))
        yield AuthMoto(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        process.terminate()
        process.wait(timeout=10)


def write_hive(root: Path, frame: pl.DataFrame, template: str = "dt={date:%Y-%m-%d}") -> None:
    """One Parquet file per day of `frame`, in the folder `template` names."""
    for (start,), rows in frame.group_by(
        pl.col("event_time").dt.truncate("1d"), maintain_order=True
    ):
        assert isinstance(start, dt.datetime)
        folder = root / template.format(date=start)
        folder.mkdir(parents=True, exist_ok=True)
        rows.write_parquet(folder / "part-0.parquet")
