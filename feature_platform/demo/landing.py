"""Demo producer for the landing zone: fresh article-popularity rows, as a stream job would drop.

The files hold the last few complete hours of today, computed from the synthetic click log, so
when the Dagster UI starts its landing sensor finds them and launches push runs: the values reach
the online store within the sensor's interval, without waiting for a partition to complete.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from feature_platform.config import StoreConfig
from feature_platform.demo.click_events import generate_window
from feature_platform.demo.feature_groups import ARTICLE_POPULARITY, article_popularity
from feature_platform.time_windows import TimeWindow


def write_demo_landing_files(
    config: StoreConfig, now: dt.datetime | None = None, hours: int = 3
) -> list[Path]:
    """One parquet file per complete hour before `now`: the rows the hourly group would get."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    last_hour = now.replace(minute=0, second=0, microsecond=0)
    folder = Path(config.landing_uri.removeprefix("file://")) / ARTICLE_POPULARITY.name
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for back in range(hours, 0, -1):
        window = TimeWindow(
            last_hour - dt.timedelta(hours=back), last_hour - dt.timedelta(hours=back - 1)
        )
        events = generate_window(TimeWindow(window.start - dt.timedelta(hours=23), window.end))
        rows = article_popularity(events.filter(events["ingested_at"] <= now), window)
        if rows.is_empty():
            continue
        target = folder / f"article_popularity_{window.start:%Y%m%dT%H}.parquet"
        temporary = target.with_name("." + target.name)  # hidden until complete
        rows.write_parquet(temporary)
        temporary.rename(target)
        written.append(target)
    return written
