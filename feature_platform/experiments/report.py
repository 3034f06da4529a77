"""An experiment diff as text (for the shell) and as one self-contained HTML page.

The page carries its plots as inline SVG drawn here (no plotting library, no script, nothing
fetched): per feature, main's and the experiment's histograms on the same bins, so a data
scientist sees the shift the PSI measures before promoting.
"""

from __future__ import annotations

import html

from feature_platform.experiments.diff import ExperimentDiff, FeatureDiff, SideStats

_WIDTH, _HEIGHT, _MARGIN = 560, 180, 24
MAIN_COLOUR, EXPERIMENT_COLOUR = "#7f8c8d", "#e67e22"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _side(stats: SideStats | None) -> str:
    if stats is None:
        return "not on main"
    quantiles = " ".join(f"{k}={_number(v)}" for k, v in stats.quantiles.items())
    mean = f" mean={_number(stats.mean)}" if stats.mean is not None else ""
    return f"rows={stats.rows} nulls={stats.null_rate:.2%}{mean} {quantiles}".rstrip()


def text_report(diff: ExperimentDiff) -> str:
    """The diff as lines: the windows compared per group, then one block per feature."""
    lines = [f"experiment {diff.experiment}: main vs branch exp_{diff.experiment}"]
    for group, windows in diff.windows.items():
        span = f"{windows[0].start.date()} .. {windows[-1].end.date()}" if windows else "none"
        lines.append(f"  {group}: {len(windows)} rewritten window(s) ({span})")
    for feature in diff.features:
        psi = "-" if feature.psi is None else f"{feature.psi:.4f}"
        lines.append(f"{feature.group}:{feature.feature} ({feature.kind}) PSI={psi}")
        lines.append(f"  main       {_side(feature.main)}")
        lines.append(f"  experiment {_side(feature.experiment)}")
    return "\n".join(lines)


def html_report(diff: ExperimentDiff) -> str:
    """The diff as an HTML page: a summary table, then a plot per feature."""
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(cell)}</td>"
            for cell in (
                f"{f.group}:{f.feature}",
                f.kind,
                _side(f.main),
                _side(f.experiment),
                "-" if f.psi is None else f"{f.psi:.4f}",
            )
        )
        + "</tr>"
        for f in diff.features
    )
    plots = "".join(_figure(f) for f in diff.features)
    name = html.escape(diff.experiment)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>experiment {name}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 8px;"
        "border-bottom:1px solid #ddd;font-size:13px;text-align:left}</style></head><body>"
        f"<h1>Experiment {name}: main vs exp_{name}</h1>"
        f"<p>{html.escape(text_report(diff).splitlines()[0])}</p>"
        "<table><tr><th>feature</th><th>kind</th><th>main</th><th>experiment</th>"
        f"<th>PSI</th></tr>{rows}</table>{plots}</body></html>"
    )


def _figure(feature: FeatureDiff) -> str:
    title = html.escape(f"{feature.group}:{feature.feature}")
    psi = "" if feature.psi is None else f" (PSI {feature.psi:.4f})"
    return f"<h2>{title}{psi}</h2>{histogram_svg(feature)}"


def histogram_svg(feature: FeatureDiff) -> str:
    """Both sides' shares per bin as bars side by side, with a legend and the bins' labels."""
    bins = len(feature.bins)
    if not bins:
        return "<p>no values</p>"
    main = _shares(feature.main_counts, bins)
    new = _shares(feature.experiment_counts, bins)
    top = max([*main, *new, 1e-9])
    slot = (_WIDTH - 2 * _MARGIN) / bins
    bars = []
    for index in range(bins):
        x = _MARGIN + index * slot
        for offset, share, colour in ((0.0, main, MAIN_COLOUR), (0.5, new, EXPERIMENT_COLOUR)):
            height = (_HEIGHT - 2 * _MARGIN) * share[index] / top
            bars.append(
                f"<rect x='{x + offset * slot:.1f}' y='{_HEIGHT - _MARGIN - height:.1f}' "
                f"width='{slot / 2:.1f}' height='{height:.1f}' fill='{colour}'>"
                f"<title>{html.escape(feature.bins[index])}: main {main[index]:.2%}, "
                f"experiment {new[index]:.2%}</title></rect>"
            )
    labels = (
        f"<text x='{_MARGIN}' y='{_HEIGHT - 6}' font-size='10'>"
        f"{html.escape(feature.bins[0])}</text>"
        f"<text x='{_WIDTH - _MARGIN}' y='{_HEIGHT - 6}' font-size='10' text-anchor='end'>"
        f"{html.escape(feature.bins[-1])}</text>"
        f"<text x='{_MARGIN}' y='14' font-size='11' fill='{MAIN_COLOUR}'>main</text>"
        f"<text x='{_MARGIN + 48}' y='14' font-size='11' fill='{EXPERIMENT_COLOUR}'>"
        "experiment</text>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_WIDTH}' height='{_HEIGHT}' "
        f"role='img'>{''.join(bars)}{labels}</svg>"
    )


def _shares(counts: list[int], bins: int) -> list[float]:
    if not counts:
        return [0.0] * bins
    total = sum(counts) or 1
    return [count / total for count in counts]
