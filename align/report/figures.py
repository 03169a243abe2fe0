"""The report's figures, drawn by matplotlib (its object API on the Agg canvas, no pyplot state) and
returned as PNG bytes: CSLS P@1 heatmaps per method, methods compared per pair, run times."""
from __future__ import annotations

import io

import numpy as np

from ..errors import AlignError
from .rows import Row, languages, mean_by, ordered


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise AlignError("the report needs matplotlib: pip install 'align[report]'") from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def heatmaps(rows: list[Row]) -> bytes:
    """One heatmap per method: CSLS P@1 (mean over seeds) with source languages as rows and target
    languages as columns; blank where a direction was not run or failed."""
    langs = languages(rows)
    methods = ordered(r.method for r in rows)
    means = mean_by(rows, lambda r: (r.method, r.src, r.tgt), lambda r: r.p("csls", 1))
    cols = min(len(methods), 3)
    lines = -(-len(methods) // cols)
    side = 1.0 + 0.75 * len(langs)
    fig = _figure(cols * side + 1.2, lines * side + 0.6)
    axes = np.atleast_1d(fig.subplots(lines, cols, squeeze=False)).ravel()
    image = None
    for ax, method in zip(axes, methods):
        grid = np.full((len(langs), len(langs)), np.nan)
        for i, s in enumerate(langs):
            for j, t in enumerate(langs):
                if (method, s, t) in means:
                    grid[i, j] = means[(method, s, t)]
        image = ax.imshow(np.ma.masked_invalid(grid), vmin=0, vmax=100, cmap="viridis")
        for i in range(len(langs)):
            for j in range(len(langs)):
                if not np.isnan(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=9,
                            color="white" if grid[i, j] < 60 else "black")
        ax.set_xticks(range(len(langs)), langs)
        ax.set_yticks(range(len(langs)), langs)
        ax.set_xlabel("target")
        ax.set_ylabel("source")
        ax.set_title(method, fontsize=10)
    for ax in axes[len(methods):]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=list(axes[:len(methods)]), label="CSLS P@1 (%)", shrink=0.8)
    return _png(fig)


def _grouped_bars(rows: list[Row], value, ylabel: str, title: str, log: bool = False) -> bytes:
    pairs = ordered(r.pair for r in rows)
    methods = ordered(r.method for r in rows)
    means = mean_by(rows, lambda r: (r.method, r.pair), value)
    fig = _figure(max(6.0, 1.1 * len(pairs) * max(1, len(methods)) * 0.45 + 2), 4.2)
    ax = fig.subplots()
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(pairs))
    for m, method in enumerate(methods):
        heights = [means.get((method, p), np.nan) for p in pairs]
        bars = ax.bar(x + (m - (len(methods) - 1) / 2) * width, heights, width, label=method)
        ax.bar_label(bars, fmt="%.1f" if not log else "%.3g", fontsize=7, padding=1)
    ax.set_xticks(x, [p.replace("-", "→") for p in pairs])
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    if log:
        ax.set_yscale("log")
    else:
        ax.margins(y=0.08)  # room for the bar labels
    ax.legend(fontsize=8, ncols=min(4, len(methods)), loc="upper left", bbox_to_anchor=(0, -0.1))
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def methods_per_pair(rows: list[Row]) -> bytes:
    """CSLS P@1 of each method, grouped by language pair (mean over seeds)."""
    return _grouped_bars(rows, lambda r: r.p("csls", 1), "CSLS P@1 (%)", "Methods compared per pair (CSLS P@1)")


def run_times(rows: list[Row]) -> bytes:
    """Wall time of each cell (mean over seeds) per method and pair, on a log axis when they span
    more than a factor of 30."""
    times = [r.seconds for r in rows if r.seconds]
    log = bool(times) and max(times) / max(min(times), 1e-9) > 30
    return _grouped_bars(rows, lambda r: r.seconds, "seconds", "Run time per cell", log=log)
