"""Differential check of our point-in-time join against Feast's, row by row (matched by row id).

DESIGN.md says our semantics are Feast's minus two defects: Feast drops an entity row whose key
has history but no candidate in the window, and breaks event-time ties arbitrarily. So the check
predicts exactly where Feast may differ and demands equality everywhere else:

* **dropped**: rows where some group has history for the key but no candidate (outside the ttl
  window, or only future rows). Feast must have dropped exactly these rows and no others; ours
  must still return them, with nulls for that group and the right values for the other.
* **ambiguous**: rows where two or more candidates of a group share the winning `event_time`.
  Feast sorts by `created_at` and then by `event_time` with pandas' default (unstable) quicksort
  and keeps the last row (feast/infra/offline_stores/dask.py:1260-1290), so which twin it keeps
  is an accident of the sort; only these rows are excluded, and on each of them Feast's values
  must still be those of one of the tied candidates.
* every other row Feast returns must equal ours, every feature, nulls included.

Our output is also checked on every row (dropped and ambiguous ones too) against a brute-force
reference written from DESIGN.md's rules, and for row count, input order and pass-through
columns. The reference joins every label row with every row of its key, which is fine for the
small and medium sizes this runs on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from benchmarks.news_data import GROUPS, LABEL_COLUMNS, TIMESTAMP_COLUMN, GroupSpec, NewsData
from feature_platform.dtypes import polars_dtype

_TIMESTAMP = pl.col(TIMESTAMP_COLUMN)


@dataclass(frozen=True)
class GroupCandidates:
    """Per label row, one group's view of it: counts, the winner and the tied candidates."""

    summary: pl.DataFrame  # row_id, history, candidates, top_ties, exact_ties
    winners: pl.DataFrame  # row_id, features of the winner (rows with a candidate only)
    tied: pl.DataFrame  # row_id, features of every candidate at the winning event_time


def candidates(labels: pl.DataFrame, rows: pl.DataFrame, group: GroupSpec) -> GroupCandidates:
    """Brute force: join each label row with all rows of its key, then apply DESIGN.md's rules.

    Candidates have `event_time <= t` and, with a ttl, `event_time >= t - ttl` (both
    inclusive); the winner has the largest event_time, then the largest created_at.
    """
    features = list(group.features)
    joined = labels.select("row_id", group.key, TIMESTAMP_COLUMN).join(
        rows, on=group.key, how="inner"
    )
    window = pl.col("event_time") <= _TIMESTAMP
    if group.ttl is not None:
        window = window & (pl.col("event_time") >= _TIMESTAMP - group.ttl)
    inside = joined.filter(window)
    tied = inside.filter(pl.col("event_time") == pl.col("event_time").max().over("row_id"))
    top = tied.group_by("row_id").agg(
        pl.len().alias("top_ties"),
        (pl.col("created_at") == pl.col("created_at").max()).sum().alias("exact_ties"),
        pl.all().sort_by("created_at").last(),
    )
    summary = (
        labels.select("row_id")
        .join(joined.group_by("row_id").len("history"), on="row_id", how="left")
        .join(inside.group_by("row_id").len("candidates"), on="row_id", how="left")
        .join(top.select("row_id", "top_ties", "exact_ties"), on="row_id", how="left")
        .with_columns(pl.exclude("row_id").fill_null(0))
    )
    return GroupCandidates(
        summary=summary,
        winners=top.select("row_id", *features),
        tied=tied.select("row_id", *features),
    )


def reference_join(labels: pl.DataFrame, per_group: dict[str, GroupCandidates]) -> pl.DataFrame:
    """DESIGN.md's point-in-time join, brute force: label columns, then each group's features."""
    frame = labels
    for group in GROUPS:
        frame = frame.join(per_group[group.name].winners, on="row_id", how="left")
    return frame.sort("row_id")


def feast_to_polars(frame: Any) -> pl.DataFrame:
    """Feast's pandas result (or its parquet, read by polars) in our dtypes.

    Feast returns int features as float64 once a row misses them and missing values as NaN or
    None; going through Arrow turns both into nulls, then the spec's dtypes are restored.
    """
    converted = (
        frame
        if isinstance(frame, pl.DataFrame)
        else pl.from_arrow(pa.Table.from_pandas(frame, preserve_index=False))
    )
    assert isinstance(converted, pl.DataFrame)
    casts = []
    for group in GROUPS:
        for name, dtype in group.features.items():
            column = pl.col(name)
            if converted.schema[name].is_float():
                column = column.fill_nan(None)
            casts.append(column.cast(polars_dtype(dtype), strict=True))
    return converted.with_columns(casts)


@dataclass(frozen=True)
class Differential:
    """What the comparison found; `problems()` lists every violated expectation."""

    rows: int
    ours_rows: int
    ours_in_input_order: bool
    ours_passthrough_equal: bool
    ours_wrong_dtypes: dict[str, str]  # feature -> dtype, where it is not the spec's
    ours_vs_reference: list[int]  # row ids where ours differs from the brute-force reference
    feast_rows: int
    feast_duplicate_row_ids: int
    feast_dropped: frozenset[int]
    expected_dropped: frozenset[int]  # some group has history for the key but no candidate
    dropped_by_group: dict[str, int]  # attributed to the first requested group lacking one
    dropped_with_candidates: int  # dropped rows that did have candidates in another group
    dropped_not_null_in_ours: list[int]  # dropped rows with non-null features of that group
    ambiguous: frozenset[int]  # Feast rows with >= 2 candidates at a winning event_time
    ambiguous_by_group: dict[str, int]
    ambiguous_feast_agrees: int  # ambiguous rows where Feast's pick happens to equal ours
    ambiguous_unexplained: list[int]  # Feast's values are none of the tied candidates'
    compared: int  # Feast rows that are not ambiguous
    mismatches: list[int]  # Feast rows differing from ours in a group without a tie
    exact_ties: int  # rows whose winner ties on (event_time, created_at) too; 0 by construction
    mismatch_sample: pl.DataFrame = field(repr=False)

    @property
    def equal(self) -> int:
        return self.compared - len(set(self.mismatches) - self.ambiguous)

    def summary(self) -> str:
        dropped = ", ".join(f"{n:,} {g}" for g, n in self.dropped_by_group.items())
        ties = ", ".join(f"{n:,} {g}" for g, n in self.ambiguous_by_group.items())
        return (
            f"differential: {self.equal:,} rows equal, {len(self.feast_dropped):,} rows Feast "
            f"dropped (no candidate in {dropped}; ours returns them), {len(self.ambiguous):,} "
            f"ambiguous ties excluded ({ties}; Feast picked our winner on "
            f"{self.ambiguous_feast_agrees:,})"
        )

    def problems(self) -> list[str]:
        found = []
        if self.compared == 0:
            found.append("no rows compared")
        if self.ours_rows != self.rows:
            found.append(f"ours returned {self.ours_rows} rows for {self.rows} label rows")
        if not self.ours_in_input_order:
            found.append("ours is not in input order")
        if not self.ours_passthrough_equal:
            found.append("ours changed the label columns")
        if self.ours_wrong_dtypes:
            found.append(f"ours returned features in other dtypes: {self.ours_wrong_dtypes}")
        if self.ours_vs_reference:
            found.append(
                f"ours differs from the reference on {len(self.ours_vs_reference)} rows, "
                f"e.g. row ids {self.ours_vs_reference[:10]}"
            )
        if self.feast_duplicate_row_ids:
            found.append(f"Feast returned {self.feast_duplicate_row_ids} duplicate row ids")
        if self.feast_dropped != self.expected_dropped:
            unexpected = sorted(self.feast_dropped - self.expected_dropped)[:10]
            kept = sorted(self.expected_dropped - self.feast_dropped)[:10]
            found.append(
                f"Feast dropped {len(self.feast_dropped)} rows, expected "
                f"{len(self.expected_dropped)}; unexpectedly dropped {unexpected}, "
                f"unexpectedly kept {kept}"
            )
        if self.dropped_not_null_in_ours:
            found.append(
                "ours has values for a group without candidates on dropped rows "
                f"{self.dropped_not_null_in_ours[:10]}"
            )
        if self.ambiguous_unexplained:
            found.append(
                f"on ambiguous rows {self.ambiguous_unexplained[:10]} Feast's values are none of "
                "the tied candidates'"
            )
        if self.mismatches:
            found.append(
                f"{len(self.mismatches)} rows differ from Feast in a group without a tie, e.g. "
                f"row ids {self.mismatches[:10]}"
            )
        if self.exact_ties:
            found.append(f"{self.exact_ties} rows tie on (event_time, created_at): bad test data")
        return found


def _differing_rows(
    left: pl.DataFrame, right: pl.DataFrame, columns: Sequence[str]
) -> pl.DataFrame:
    """Rows of the inner join on row_id where any of `columns` differs (nulls equal nulls)."""
    joined = left.select("row_id", *columns).join(
        right.select("row_id", *columns), on="row_id", how="inner", suffix="_other"
    )
    differs = pl.any_horizontal([~pl.col(c).eq_missing(pl.col(f"{c}_other")) for c in columns])
    return joined.filter(differs)


def _ids(frame: pl.DataFrame) -> set[int]:
    return set(frame.get_column("row_id").to_list())


def compare(data: NewsData, ours: pl.DataFrame, feast: pl.DataFrame) -> Differential:
    """Compare our result and Feast's (already through `feast_to_polars`) on `data.labels`."""
    labels = data.labels
    label_ids = _ids(labels)
    per_group = {g.name: candidates(labels, data.rows_of(g), g) for g in GROUPS}
    features = [name for g in GROUPS for name in g.features]

    # Ours against the brute-force reference, on every row.
    reference = reference_join(labels, per_group)
    in_order = ours.height == labels.height and ours.get_column("row_id").equals(
        labels.get_column("row_id")
    )
    passthrough = ours.height == labels.height and ours.select(LABEL_COLUMNS).equals(labels)
    wrong_dtypes = {
        name: str(ours.schema.get(name))
        for g in GROUPS
        for name, dtype in g.features.items()
        if ours.schema.get(name) != polars_dtype(dtype)
    }
    ours_wrong = _ids(_differing_rows(ours, reference, features)) | (label_ids - _ids(ours))

    # Per row and group: history but no candidate (Feast drops), tied winners (Feast guesses).
    status = labels.select("row_id")
    for name, found in per_group.items():
        status = status.join(
            found.summary.rename(
                {c: f"{name}:{c}" for c in found.summary.columns if c != "row_id"}
            ),
            on="row_id",
            how="left",
        )
    lacking = {
        g.name: (pl.col(f"{g.name}:history") > 0) & (pl.col(f"{g.name}:candidates") == 0)
        for g in GROUPS
    }
    tied = {g.name: pl.col(f"{g.name}:top_ties") >= 2 for g in GROUPS}
    expected_dropped = _ids(status.filter(pl.any_horizontal(list(lacking.values()))))
    # Feast joins the views in request order and a row dropped by one never reaches the next.
    dropped_by_group: dict[str, int] = {}
    earlier = pl.lit(False)
    for group in GROUPS:
        dropped_by_group[group.name] = status.filter(lacking[group.name] & ~earlier).height
        earlier = earlier | lacking[group.name]
    dropped_with_candidates = status.filter(
        pl.any_horizontal(list(lacking.values()))
        & pl.any_horizontal([pl.col(f"{g.name}:candidates") > 0 for g in GROUPS])
    ).height

    feast_ids = _ids(feast)
    feast_dropped = label_ids - feast_ids

    not_null: set[int] = set()
    mismatches: set[int] = set()
    unexplained: set[int] = set()
    ambiguous: set[int] = set()
    ambiguous_by_group: dict[str, int] = {}
    disagreeing: set[int] = set()
    for group in GROUPS:
        names = list(group.features)
        # Ours on rows without candidates in this group: all null.
        lacking_ids = _ids(status.filter(lacking[group.name]))
        not_null |= _ids(
            ours.filter(
                pl.col("row_id").is_in(sorted(lacking_ids))
                & pl.any_horizontal(pl.col(names).is_not_null())
            )
        )
        # Feast against ours, for this group's features, on the rows Feast kept.
        tied_ids = _ids(status.filter(tied[group.name])) & feast_ids
        ambiguous |= tied_ids
        ambiguous_by_group[group.name] = len(tied_ids)
        differing = _ids(_differing_rows(ours, feast, names))
        mismatches |= differing - tied_ids
        disagreeing |= differing & tied_ids
        # Where Feast disagrees on a tie, it must have kept one of the tied candidates.
        picked = feast.filter(pl.col("row_id").is_in(sorted(differing & tied_ids)))
        explained = picked.select("row_id", *names).join(
            per_group[group.name].tied, on=["row_id", *names], how="semi", nulls_equal=True
        )
        unexplained |= _ids(picked) - _ids(explained)

    sample = _differing_rows(ours, feast, features).filter(
        pl.col("row_id").is_in(sorted(mismatches)[:10])
    )
    exact = pl.any_horizontal([pl.col(f"{g.name}:exact_ties") >= 2 for g in GROUPS])
    return Differential(
        rows=labels.height,
        ours_rows=ours.height,
        ours_in_input_order=in_order,
        ours_passthrough_equal=passthrough,
        ours_wrong_dtypes=wrong_dtypes,
        ours_vs_reference=sorted(ours_wrong),
        feast_rows=feast.height,
        feast_duplicate_row_ids=feast.height - len(feast_ids),
        feast_dropped=frozenset(feast_dropped),
        expected_dropped=frozenset(expected_dropped),
        dropped_by_group=dropped_by_group,
        dropped_with_candidates=dropped_with_candidates,
        dropped_not_null_in_ours=sorted(not_null),
        ambiguous=frozenset(ambiguous),
        ambiguous_by_group=ambiguous_by_group,
        ambiguous_feast_agrees=len(ambiguous - disagreeing),
        ambiguous_unexplained=sorted(unexplained),
        compared=len(feast_ids - ambiguous),
        mismatches=sorted(mismatches),
        exact_ties=status.filter(exact).height,
        mismatch_sample=sample,
    )
