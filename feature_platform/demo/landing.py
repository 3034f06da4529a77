"""Demo producer for the landing zone: fresh article-popularity rows, as a stream job would drop.

The files hold the last few complete hours of today, computed from the synthetic click log, so
when the Dagster UI starts its landing sensor finds them and launches push runs: the values reach
the online store within the sensor's interval, without waiting for a partition to complete.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from feature_platform.config import StoreConfig
from feature_platform.demo.click_events import generate_window
from feature_platform.demo.feature_groups import ARTICLE_POPULARITY, article_popularity
from feature_platform.time_windows import TimeWindow


def write_demo_landing_files(
    config: StoreConfig, now: dt.datetime | None = None, hours: int = 3
) -> list[Path]:
    """One parquet file per recent complete hour with activity: what the hourly group would get."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    last_hour = now.replace(minute=0, second=0, microsecond=0)
    folder = Path(config.landing_uri.removeprefix("file://")) / ARTICLE_POPULARITY.name
    folder.mkdir(parents=True, exist_ok=True)
    found: list[tuple[TimeWindow, pl.DataFrame]] = []
    # The newest complete hours that had readers (night hours can be empty).
    for back in range(1, 25):
        if len(found) == hours:
            break
        window = TimeWindow(
            last_hour - dt.timedelta(hours=back), last_hour - dt.timedelta(hours=back - 1)
        )
        events = generate_window(TimeWindow(window.start - dt.timedelta(hours=23), window.end))
        rows = article_popularity(events.filter(events["ingested_at"] <= now), window)
        if not rows.is_empty():
            found.append((window, rows))
    written: list[Path] = []
    for window, rows in reversed(found):  # oldest first, as a stream would have dropped them
        target = folder / f"article_popularity_{window.start:%Y%m%dT%H}.parquet"
        temporary = target.with_name("." + target.name)  # hidden until complete
        rows.write_parquet(temporary)
        temporary.rename(target)
        written.append(target)
    return written
