"""Synthetic news-recommendation training data, written identically to both offline stores.

The point-in-time benchmark and the differential check against Feast need data on which the
two engines can disagree in every documented way, deterministically (seeded numpy):

* `user_engagement` (int64 `user_id`, ttl 2 days): a user has a row every 1.5 days on average,
  so many label rows fall outside the ttl window (Feast drops those rows);
* `article_popularity` (string `article_id`, no ttl): each article gets its first row about two
  hours after publication, so impressions in its first hour have history only in the future
  (Feast drops those rows too);
* in both groups ~4% of rows have a "correction" twin with the same key and `event_time` but a
  different `created_at` (earlier or later) and different values, so the `created_at`
  tie-break decides the winner;
* label rows placed exactly on a feature row's `event_time`, exactly `ttl` after it and 1 µs
  beyond that, so both inclusive bounds are exercised;
* a few label rows whose user or article has no history at all (null features everywhere).

Label rows are unique on (`user_id`, `event_timestamp`): Feast collapses rows that share the keys
of the first requested view and the timestamp (a separate defect, shown on its own in the test),
and keeping them unique lets the differential predict Feast's dropped rows exactly.

Frame construction is plain numpy/polars; `write_ours` and `write_feast` put the same rows into an
Iceberg store (one `write_window` per day and group) and a Feast file offline store (one parquet
file per feature view).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAYS = 30
TIMESTAMP_COLUMN = "event_timestamp"
CREATED_COLUMN = "created_at"
USER_TTL = dt.timedelta(days=2)

_US = 1
_SECOND = 1_000_000 * _US
_HOUR = 3600 * _SECOND
_DAY = 24 * _HOUR
_TS = pl.Datetime("us", "UTC")
CATEGORIES = np.array(
    ["world", "politics", "business", "tech", "science", "sports", "culture", "health"],
    dtype=object,
)
CORRECTION_RATE = 0.04  # share of feature rows that get a same-event-time twin
ROWS_PER_USER = 20  # a row every 1.5 days on average: many gaps longer than the 2-day ttl
UPDATES_PER_ARTICLE = 20  # an update every ~2 h for ~40 h after publication
UPDATE_EVERY = 2 * _HOUR


@dataclass(frozen=True)
class GroupSpec:
    """What both engines need to know about one feature group."""

    name: str
    entity: str
    key: str
    key_dtype: str  # "int64" or "string"
    features: Mapping[str, str]  # feature name -> canonical dtype
    ttl: dt.timedelta | None

    @property
    def refs(self) -> list[str]:
        return [f"{self.name}:{feature}" for feature in self.features]

    def feature_group(self) -> FeatureGroup:
        """Our spec: daily partitions, `created_at` from the rows (not the write time)."""
        return FeatureGroup(
            name=self.name,
            entity=Entity(self.entity, [self.key], key_dtypes={self.key: self.key_dtype}),
            features=[Feature(name, dtype) for name, dtype in self.features.items()],
            created_time=CREATED_COLUMN,
            partitioning="daily",
            start=START,
            ttl=self.ttl,
        )


USER_ENGAGEMENT = GroupSpec(
    name="user_engagement",
    entity="user",
    key="user_id",
    key_dtype="int64",
    features={
        "clicks_7d": "int64",
        "impressions_7d": "int64",
        "ctr_7d": "float64",
        "top_category_7d": "string",
    },
    ttl=USER_TTL,
)
ARTICLE_POPULARITY = GroupSpec(
    name="article_popularity",
    entity="article",
    key="article_id",
    key_dtype="string",
    features={
        "views_24h": "int64",
        "clicks_24h": "int64",
        "ctr_24h": "float64",
        "category": "string",
    },
    ttl=None,
)
GROUPS = (USER_ENGAGEMENT, ARTICLE_POPULARITY)
FEATURE_REFS = [ref for group in GROUPS for ref in group.refs]
LABEL_COLUMNS = ["row_id", "user_id", "article_id", TIMESTAMP_COLUMN, "clicked"]


@dataclass(frozen=True)
class Size:
    """How much data: feature rows over both groups (60% users, 40% articles), label rows."""

    name: str
    feature_rows: int
    entity_rows: int

    @property
    def user_rows(self) -> int:
        return self.feature_rows * 3 // 5

    @property
    def article_rows(self) -> int:
        return self.feature_rows - self.user_rows

    @property
    def users(self) -> int:
        return max(self.user_rows // ROWS_PER_USER, 10)

    @property
    def articles(self) -> int:
        # Publication starts a day early and rows are clipped to the 30 days: that loses about
        # as many rows as the last day's articles would have had after the end.
        return max(round(self.article_rows / UPDATES_PER_ARTICLE), 5)


SIZES = {
    "small": Size("small", 10_000, 5_000),
    "medium": Size("medium", 1_000_000, 200_000),
    "large": Size("large", 10_000_000, 1_000_000),
    "xlarge": Size("xlarge", 50_000_000, 5_000_000),
}


@dataclass(frozen=True)
class NewsData:
    """Feature rows per group (key, event_time, created_at, features) and the label frame."""

    users: pl.DataFrame
    articles: pl.DataFrame
    labels: pl.DataFrame

    def rows_of(self, group: GroupSpec) -> pl.DataFrame:
        return self.users if group is USER_ENGAGEMENT else self.articles

    @property
    def feature_rows(self) -> int:
        return self.users.height + self.articles.height


def generate(size: Size, seed: int = 20260101) -> NewsData:
    """Deterministic data of `size`; the same seed gives the same frames, bit for bit."""
    users = _user_rows(size, np.random.default_rng([seed, 1]))
    articles, publish = _article_rows(size, np.random.default_rng([seed, 2]))
    labels = _labels(size, users, articles, publish, np.random.default_rng([seed, 3]))
    return NewsData(users=users, articles=articles, labels=labels)


def _timestamps(offsets_us: np.ndarray) -> pl.Series:
    return pl.Series(offsets_us, dtype=pl.Int64).cast(pl.Duration("us")) + START


def _article_ids(index: np.ndarray) -> pl.Series:
    """String keys ``a0000042``: the article group is keyed by strings, the user group by int64."""
    digits = pl.Series(index, dtype=pl.Int64).cast(pl.String).str.zfill(7)
    return pl.select(pl.concat_str(pl.lit("a"), pl.lit(digits))).to_series().alias("article_id")


def _with_corrections(
    base: pl.DataFrame, key: str, rng: np.random.Generator, redraw: dict[str, np.ndarray]
) -> pl.DataFrame:
    """Add twins with the same key and event_time, another created_at and other values.

    The twin's created_at is earlier or later at random, so neither file order nor write order
    can stand in for the tie-break. Rows are then ordered by event time, as a daily job would
    emit them, and exact (key, event_time, created_at) duplicates are ruled out: with those,
    the winner would be undefined for every engine.
    """
    count = round(base.height * CORRECTION_RATE)
    picked = np.sort(rng.choice(base.height, size=count, replace=False))
    shift = rng.integers(1 * _SECOND, 6 * _HOUR, count) * rng.choice([-1, 1], count)
    twins = base[picked].with_columns(
        (pl.col(CREATED_COLUMN) + pl.Series(shift).cast(pl.Duration("us"))).alias(CREATED_COLUMN),
        *[pl.Series(name, values[:count]) for name, values in redraw.items()],
    )
    rows = pl.concat([base, twins]).sort("event_time", maintain_order=True)
    return rows.unique([key, "event_time", CREATED_COLUMN], keep="first", maintain_order=True)


def _engagement_values(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    impressions = rng.integers(1, 400, n)
    clicks = rng.binomial(impressions, 0.08)
    category = CATEGORIES[rng.integers(0, len(CATEGORIES), n)]
    category[rng.random(n) < 0.03] = None  # users without clicks have no top category
    return {
        "clicks_7d": clicks,
        "impressions_7d": impressions,
        "ctr_7d": np.round(clicks / impressions, 6),
        "top_category_7d": category,
    }


def _user_rows(size: Size, rng: np.random.Generator) -> pl.DataFrame:
    n = round(size.user_rows / (1 + CORRECTION_RATE))
    event = rng.integers(0, DAYS * _DAY, n)
    created = event + _HOUR + rng.integers(0, _HOUR, n)
    base = pl.DataFrame(
        {
            "user_id": rng.integers(0, size.users, n),
            "event_time": _timestamps(event),
            CREATED_COLUMN: _timestamps(created),
            **_engagement_values(rng, n),
        },
        schema_overrides={"top_category_7d": pl.String},
    )
    redraw = _engagement_values(rng, n)
    return _with_corrections(base, "user_id", rng, redraw)


def _popularity_values(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    views = rng.integers(1, 50_000, n)
    clicks = rng.binomial(views, 0.05)
    return {"views_24h": views, "clicks_24h": clicks, "ctr_24h": np.round(clicks / views, 6)}


def _article_rows(size: Size, rng: np.random.Generator) -> tuple[pl.DataFrame, np.ndarray]:
    """Rows of articles published over DAYS + 1 days; also returns the publication offsets."""
    publish = rng.integers(-_DAY, DAYS * _DAY, size.articles)
    category = CATEGORIES[rng.integers(0, len(CATEGORIES), size.articles)]
    steps = np.arange(1, UPDATES_PER_ARTICLE + 1)
    article = np.repeat(np.arange(size.articles), UPDATES_PER_ARTICLE)
    jitter = rng.integers(0, 10 * 60 * _SECOND, article.size)
    event = publish[article] + np.tile(steps, size.articles) * UPDATE_EVERY + jitter
    inside = (event >= 0) & (event < DAYS * _DAY)
    article, event = article[inside], event[inside]
    n = article.size
    created = event + 5 * 60 * _SECOND + rng.integers(0, 30 * 60 * _SECOND, n)
    base = pl.DataFrame(
        {
            "article_id": _article_ids(article),
            "event_time": _timestamps(event),
            CREATED_COLUMN: _timestamps(created),
            **_popularity_values(rng, n),
            "category": pl.Series(category[article], dtype=pl.String),
        }
    )
    redraw = _popularity_values(rng, n)
    return _with_corrections(base, "article_id", rng, redraw), publish


def _labels(
    size: Size,
    users: pl.DataFrame,
    articles: pl.DataFrame,
    publish: np.ndarray,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Impressions: (user, article shown, when, clicked), shuffled, `row_id` = input position."""
    n = size.entity_rows + size.entity_rows // 50 + 20  # spare rows for de-duplication
    # Distinct instants over [START + 6 h, START + DAYS + 1 days): past the last partition too,
    # so ttl expiry is common.
    first, span = 6 * _HOUR, (DAYS + 1) * _DAY - 6 * _HOUR
    slot = span // n
    when = first + np.arange(n) * slot + rng.integers(0, slot, n)
    user = rng.integers(0, size.users + max(size.users // 50, 1), n)  # ~2% unknown users

    # Boundary rows: exactly at a user row's event time, exactly ttl after it, 1 µs beyond.
    kind = rng.random(n)
    user_event = users.get_column("event_time").dt.epoch("us").to_numpy() - _epoch_us(START)
    user_key = users.get_column("user_id").to_numpy()
    ttl_us = USER_TTL // dt.timedelta(microseconds=1)
    for share_from, share_to, offset in (
        (0.00, 0.03, 0),
        (0.03, 0.06, ttl_us),
        (0.06, 0.07, ttl_us + 1),
    ):
        rows = np.flatnonzero((kind >= share_from) & (kind < share_to))
        source = rng.choice(users.height, size=rows.size, replace=False)
        when[rows] = user_event[source] + offset
        user[rows] = user_key[source]

    # The article shown was published in the 48 h before (or up to 30 min after, a stale
    # cache); ~2% are articles with no rows at all.
    order = np.argsort(publish, kind="stable")
    published = publish[order]
    low = np.searchsorted(published, when - 2 * _DAY)
    high = np.searchsorted(published, when + 30 * 60 * _SECOND)
    pick = low + np.floor(rng.random(n) * np.maximum(high - low, 1)).astype(np.int64)
    article = np.where(
        high > low, order[np.minimum(pick, publish.size - 1)], rng.integers(0, publish.size, n)
    )
    unknown = rng.random(n) < 0.02
    article[unknown] = publish.size + rng.integers(0, 1000, int(unknown.sum()))
    # Rows exactly at an article row's event time.
    at_article = np.flatnonzero((kind >= 0.07) & (kind < 0.09))
    source = rng.choice(articles.height, size=at_article.size, replace=False)
    article_event = articles.get_column("event_time").dt.epoch("us").to_numpy()
    when[at_article] = article_event[source] - _epoch_us(START)
    article_index = articles.get_column("article_id").str.slice(1).cast(pl.Int64).to_numpy()[source]
    article[at_article] = article_index

    labels = (
        pl.DataFrame(
            {
                "user_id": user,
                "article_id": _article_ids(article),
                TIMESTAMP_COLUMN: _timestamps(when),
                "clicked": rng.random(n) < 0.1,
            }
        )
        .unique(["user_id", TIMESTAMP_COLUMN], keep="first", maintain_order=True)
        .head(size.entity_rows)
    )
    if labels.height < size.entity_rows:
        raise RuntimeError("not enough distinct (user_id, event_timestamp) label rows")
    shuffled = labels[rng.permutation(labels.height)]
    return (
        shuffled.with_row_index("row_id")
        .with_columns(pl.col("row_id").cast(pl.Int64))
        .select(LABEL_COLUMNS)
    )


def _epoch_us(instant: dt.datetime) -> int:
    return (instant - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


# --- writing ---------------------------------------------------------------------------------


def write_ours(home: Path, data: NewsData) -> FeatureStore:
    """Apply both groups and write every day as its own window (one commit per day and group)."""
    store = FeatureStore(home)
    for group in GROUPS:
        store.apply(group.feature_group())
        rows = data.rows_of(group).with_columns(
            ((pl.col("event_time") - START).dt.total_days()).alias("_day")
        )
        days = rows.partition_by("_day", as_dict=True, include_key=False)
        for day in range(DAYS):
            start = START + dt.timedelta(days=day)
            frame = days.get((day,), rows.clear().drop("_day"))
            store.write_window(group.name, frame, start, start + dt.timedelta(days=1))
    return store


def write_feast(repo: Path, data: NewsData, project: str = "news") -> None:
    """One parquet file per feature view (a plain `FileSource`), then `apply` the definitions."""
    from benchmarks.feast_repo import apply_definitions

    repo.mkdir(parents=True, exist_ok=True)
    paths = {}
    for group in GROUPS:
        paths[group.name] = repo / f"{group.name}.parquet"
        pq.write_table(feast_arrow(data.rows_of(group)), paths[group.name])
    apply_definitions(repo, project, GROUPS, paths, "event_time", CREATED_COLUMN)


def feast_arrow(frame: pl.DataFrame) -> pa.Table:
    """Arrow with `string` (not `large_string`) columns, the types Feast's file store reads."""
    table = frame.to_arrow()
    return table.cast(
        pa.schema(
            [
                field.with_type(pa.string()) if pa.types.is_large_string(field.type) else field
                for field in table.schema
            ]
        )
    )
