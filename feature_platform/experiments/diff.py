"""Compare an experiment with main, feature by feature, over the windows it rewrote.

Per feature and side: rows, null rate, mean and quantiles, and the population-stability index
(PSI) of the experiment's distribution against main's. Numeric features are binned at main's
deciles (the usual PSI binning: each main bin holds a tenth of main's values, so a shift shows
as mass moving between bins); strings and booleans bin by value. Nulls are reported as the null
rate and left out of the PSI. Rule of thumb: PSI < 0.1 stable, 0.1 to 0.25 moderate, > 0.25 a
large shift. The same numbers, plus per-feature histograms on shared bins, make the HTML report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from pyiceberg.expressions import BooleanExpression, Or

from feature_platform.errors import UnknownFeatureGroupError
from feature_platform.experiments.state import GroupExperiment, load_group_experiment
from feature_platform.offline_store.reads import scan_table
from feature_platform.offline_store.writes import window_filter
from feature_platform.specs import EVENT_TIME_COLUMN
from feature_platform.time_windows import TimeWindow, merge_adjacent

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
PSI_BINS = 10
PLOT_BINS = 30
TOP_CATEGORIES = 20
_FLOOR = 1e-6  # the share given to an empty bin, so the PSI stays finite


@dataclass(frozen=True)
class SideStats:
    """One side's values of a feature over the compared windows."""

    rows: int
    nulls: int
    mean: float | None
    quantiles: dict[str, float | None]

    @property
    def null_rate(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class FeatureDiff:
    """One feature of one group, main against the experiment.

    `main` is None for a feature the experiment added. `bins` label the histogram both sides
    are counted on (`main_counts`, `experiment_counts`).
    """

    group: str
    feature: str
    kind: str
    main: SideStats | None
    experiment: SideStats
    psi: float | None
    bins: list[str] = field(default_factory=list)
    main_counts: list[int] = field(default_factory=list)
    experiment_counts: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ExperimentDiff:
    experiment: str
    windows: dict[str, tuple[TimeWindow, ...]]
    features: list[FeatureDiff]


def diff_experiment(store: FeatureStore, name: str, group: str | None = None) -> ExperimentDiff:
    """Main against experiment `name` over the windows it rewrote (of `group`, or of all).

    Raises:
        InvalidIdentifierError, UnknownExperimentError: Bad experiment name.
        UnknownFeatureGroupError: `group` is not in the experiment.
    """
    groups = store.require_experiment(name)
    if group is not None and group not in groups:
        raise UnknownFeatureGroupError(
            f"experiment {name!r} has no branch of group {group!r}; its groups: {groups}"
        )
    windows: dict[str, tuple[TimeWindow, ...]] = {}
    features: list[FeatureDiff] = []
    for part_name in [group] if group else groups:
        part = load_group_experiment(store.table(part_name), name)
        if part is None:
            continue
        windows[part.group] = part.rewritten
        features.extend(_diff_group(part))
    return ExperimentDiff(name, windows, features)


def _diff_group(part: GroupExperiment) -> list[FeatureDiff]:
    if not part.rewritten or part.head is None:
        return []
    row_filter = _windows_filter(part.rewritten)
    branch = scan_table(
        part.table,
        columns=list(part.spec.feature_names),
        time_column=EVENT_TIME_COLUMN,
        as_of=part.head.snapshot_id,
        row_filter=row_filter,
    )
    on_main = [f for f in part.spec.feature_names if f in part.main_spec.feature_names]
    main = scan_table(
        part.table, columns=on_main, time_column=EVENT_TIME_COLUMN, row_filter=row_filter
    )
    return [
        compare_feature(
            part.group, feature, main[feature] if feature in on_main else None, branch[feature]
        )
        for feature in part.spec.feature_names
    ]


def _windows_filter(windows: tuple[TimeWindow, ...]) -> BooleanExpression:
    """The windows as one filter, adjacent windows merged (30 days are one range)."""
    merged = merge_adjacent(windows)
    expression = window_filter(EVENT_TIME_COLUMN, merged[0])
    for window in merged[1:]:
        expression = Or(expression, window_filter(EVENT_TIME_COLUMN, window))
    return expression


def compare_feature(
    group: str, feature: str, main: pl.Series | None, experiment: pl.Series
) -> FeatureDiff:
    """The statistics of both sides and the experiment's PSI against main."""
    numeric = experiment.dtype.is_numeric() or experiment.dtype.is_temporal()
    if numeric:
        main_values = None if main is None else _as_float(main)
        return _numeric_diff(group, feature, main_values, _as_float(experiment))
    main_text = None if main is None else main.cast(pl.String)
    return _categorical_diff(group, feature, main_text, experiment.cast(pl.String))


def _as_float(series: pl.Series) -> pl.Series:
    if series.dtype.is_temporal():
        series = series.to_physical()
    return series.cast(pl.Float64)


def _stats(series: pl.Series, numeric: bool) -> SideStats:
    values = series.drop_nulls()
    if not numeric or values.is_empty():
        return SideStats(series.len(), series.null_count(), None, {})
    array = values.to_numpy()
    found = np.quantile(array, QUANTILES)
    return SideStats(
        rows=series.len(),
        nulls=series.null_count(),
        mean=float(array.mean()),
        quantiles={f"p{round(q * 100)}": float(v) for q, v in zip(QUANTILES, found, strict=True)},
    )


def _numeric_diff(
    group: str, feature: str, main: pl.Series | None, experiment: pl.Series
) -> FeatureDiff:
    new = experiment.drop_nulls().to_numpy()
    old = None if main is None else main.drop_nulls().to_numpy()
    psi = None
    if old is not None and len(old) and len(new):
        edges = np.unique(np.quantile(old, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
        psi = psi_of(_bin_counts(old, edges), _bin_counts(new, edges))
    both = new if old is None else np.concatenate([old, new])
    bins: list[str] = []
    main_counts: list[int] = []
    new_counts: list[int] = []
    if len(both):
        # The plot spans the central 99% of both sides; the tails count in the edge bins, so a
        # few outliers do not squeeze the distribution into one bar.
        low, high = (float(v) for v in np.quantile(both, [0.005, 0.995]))
        plot_edges = np.linspace(low, high if high > low else low + 1, PLOT_BINS + 1)
        bins = [f"{edge:.4g}" for edge in plot_edges[:-1]]
        new_counts = _plot_counts(new, plot_edges)
        main_counts = [] if old is None else _plot_counts(old, plot_edges)
    return FeatureDiff(
        group,
        feature,
        "numeric",
        None if main is None else _stats(main, True),
        _stats(experiment, True),
        psi,
        bins,
        main_counts,
        new_counts,
    )


def _plot_counts(values: np.ndarray, edges: np.ndarray) -> list[int]:
    clipped = np.clip(values, edges[0], edges[-1])
    return [int(c) for c in np.histogram(clipped, edges)[0]]


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> list[int]:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return [int(c) for c in counts]


def _categorical_diff(
    group: str, feature: str, main: pl.Series | None, experiment: pl.Series
) -> FeatureDiff:
    new = _value_counts(experiment)
    old = {} if main is None else _value_counts(main)
    categories = sorted(set(new) | set(old), key=lambda c: -(new.get(c, 0) + old.get(c, 0)))
    psi = None
    if main is not None and old and new:
        psi = psi_of([old.get(c, 0) for c in categories], [new.get(c, 0) for c in categories])
    shown = categories[:TOP_CATEGORIES]
    return FeatureDiff(
        group,
        feature,
        "categorical",
        None if main is None else _stats(main, False),
        _stats(experiment, False),
        psi,
        shown,
        [old.get(c, 0) for c in shown] if main is not None else [],
        [new.get(c, 0) for c in shown],
    )


def _value_counts(series: pl.Series) -> dict[str, int]:
    counts = series.drop_nulls().value_counts()
    return dict(zip(counts[:, 0].to_list(), counts[:, 1].to_list(), strict=True))


def psi_of(expected: list[int], actual: list[int]) -> float:
    """Population-stability index of `actual` against `expected`, counted on the same bins."""
    old = np.asarray(expected, dtype=float)
    new = np.asarray(actual, dtype=float)
    p = np.maximum(old / max(old.sum(), 1.0), _FLOOR)
    q = np.maximum(new / max(new.sum(), 1.0), _FLOOR)
    value = float(np.sum((q - p) * np.log(q / p)))
    return 0.0 if math.isclose(value, 0.0, abs_tol=1e-12) else value
