"""The classic figure: per-layer histograms of activations, one row per config, one column per layer.

Layout: one :class:`~matplotlib.axes.Axes` per config row, holding that row's layer panels side by
side (drawing 80 separate Axes and measuring their texts took seconds per figure). Each panel's
step histogram is drawn in its own coordinates (values on x, fraction of the entries on y) through
:func:`panel_transform`, so its ``get_data()`` are the fractions and bin edges themselves; the
margins are fixed in inches and the figure size follows the grid.
"""

from __future__ import annotations

import textwrap
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import TICKDOWN
from matplotlib.patches import Rectangle, StepPatch
from matplotlib.ticker import MaxNLocator, NullLocator
from matplotlib.transforms import Affine2D, Transform

from .common import TEXT_COLOR, config_styles
from .._format import fmt_number
from ..schema import Histograms

__all__ = ["histogram_grid", "pick_layers", "panel_transform", "PANEL_PITCH", "OWN_RANGE_RATIO"]

#: A row's panels get their own x-ranges when their value ranges differ by more than this factor.
OWN_RANGE_RATIO = 10.0

_KIND_TITLE = {
    "act": "Layer outputs $h^\\ell$",
    "pre": "Pre-activations $z^\\ell$",
}

# Fixed layout in inches.
_PANEL_W, _PANEL_H = 1.42, 1.0  # one histogram
_GAP_W = 0.14  # between columns
_GAP_H = 0.40  # between rows: tick labels below a panel, a one-line title above the next
_LEFT, _RIGHT = 0.45, 0.1  # row labels: up to two lines of bold 9 pt text, rotated
_TOP = 0.46  # suptitle, above the first row's titles
_TITLE_LINE = 0.14  # one 8 pt title line
_BOTTOM = 0.44  # tick labels and the figure's x label
#: Panel ``c`` of a row spans ``[c * PANEL_PITCH, c * PANEL_PITCH + 1]`` in the row's data coordinates.
PANEL_PITCH = 1.0 + _GAP_W / _PANEL_W

_SPINE = dict(color=TEXT_COLOR, linewidth=0.8)


def _tick_label(v: float) -> str:
    """Compact tick labels without a shared offset ("1e12" under every panel): 0.5, 2.5, 5e+12."""
    return "0" if v == 0 else f"{v:.3g}"


def pick_layers(depth: int, max_layers: int = 10) -> list[int]:
    """All layers ``1 … depth`` when there are at most ``max_layers``, else ``max_layers`` evenly spaced
    ones that always include the first and the last."""
    if depth <= max_layers:
        return list(range(1, depth + 1))
    return sorted({int(round(v)) for v in np.linspace(1, depth, max_layers)})


def panel_transform(ax: Axes, column: int, xlim: tuple[float, float], top: float) -> Transform:
    """Panel coordinates → display: value ``xlim[0] … xlim[1]`` onto panel ``column`` of the row axes
    ``ax``, fraction ``0 … top`` onto the row's height (higher values are clipped at the top)."""
    x0, x1 = xlim
    return (Affine2D().translate(-x0, 0.0).scale(1.0 / (x1 - x0), 1.0 / top)
            .translate(column * PANEL_PITCH, 0.0) + ax.transData)


def _layer_stats(df: pd.DataFrame | None, kind: str) -> dict[tuple[int, int], tuple[float, float]]:
    """``{(config, layer): (mean, std)}`` averaged over trials, from the tidy frame."""
    if df is None or f"{kind}_mean" not in df.columns:
        return {}
    g = df.groupby(["config", "layer"], sort=True)[[f"{kind}_mean", f"{kind}_std"]].mean()
    return {(int(c), int(l)): (float(r.iloc[0]), float(r.iloc[1])) for (c, l), r in g.iterrows()}


def _fmt(v: float) -> str:
    return fmt_number(v, inside=".2f", outside=".2g", band=(1e-2, 1e3), zero="0", nan="nan", inf=("nan", "nan"))


def _split_label(label: str) -> str:
    return label.replace(" / ", "\n") if len(label) > 14 else label


def _panel_top(frac: np.ndarray) -> tuple[float, int | None]:
    """The panel's y-range top and the bin of a clipped spike (or ``None``).

    Keeps the rest of the distribution readable when one bin towers over it (ReLU's zeros, tanh's
    ±1): the panel is cut at 1.6× the second-tallest bin when the tallest is more than 4× that."""
    order = np.argsort(frac)
    top, second = frac[order[-1]], frac[order[-2]] if frac.size > 1 else 0.0
    if second > 0.01 and top > 4 * second:
        return 1.6 * second, int(order[-1])
    return top * 1.05, None


def _wrap(text: str, width: float, fontsize: float) -> str:
    """``text`` broken into lines that fit ``width`` inches at ``fontsize`` (≤ 0.55 em per character)."""
    return "\n".join(textwrap.wrap(text, max(20, int((width - 0.2) * 72 / (0.55 * fontsize)))))


def _row_axes(fig: Figure, n_rows: int, n_cols: int, top: float, bottom: float) -> list[Axes]:
    """One bare axes per row, spanning ``n_cols`` panels, margins fixed in inches."""
    width, height = fig.get_size_inches()
    axes = fig.subplots(
        n_rows, 1, squeeze=False,
        gridspec_kw=dict(left=_LEFT / width, right=1 - _RIGHT / width, bottom=bottom / height,
                         top=1 - top / height, hspace=_GAP_H / _PANEL_H),
    )[:, 0]
    for ax in axes:
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_facecolor("none")
        ax.yaxis.set_major_locator(NullLocator())
        ax.set_xlim(0.0, n_cols * PANEL_PITCH - (PANEL_PITCH - 1.0))
        ax.set_ylim(0.0, 1.0)
        ax.set_autoscale_on(False)
        ax.tick_params(axis="x", labelsize=7, colors=TEXT_COLOR, length=2, width=0.8, pad=1)
    return list(axes)


def histogram_grid(
    hist: Histograms,
    layers: Sequence[int] | None = None,
    kind: str = "act",
    df: pd.DataFrame | None = None,
    configs: Sequence[int] | None = None,
    max_layers: int = 10,
) -> Figure:
    """Histograms of every layer (columns) for every config (rows), summed over trials.

    Each panel shows the fraction of entries per bin on the config's shared signed range; the x-range
    is shared along a row (zoomed to where that config's values lie, always including 0; tick labels
    under the row's first panel, tick marks under every panel), so a distribution that collapses
    towards 0 or piles up at the saturation values is visible at a glance. Where the panels of a row
    span ranges more than :data:`OWN_RANGE_RATIO` apart (a stack whose scale explodes or collapses), a
    shared range would squash most of them to one bar: each panel then gets its own x-range (zoomed to
    its own values, tick labels under every panel), and a panel whose values all fall in one bin of the
    config's histogram says so. Bar heights are scaled per
    panel (no y ticks); a bin more than 4× the next tallest is cut off and labelled with its share.
    The panel titles give the mean and standard deviation (from ``df``) when the frame is passed.

    The figure has one axes per row (see the module notes); the step histogram of each panel is a
    :class:`~matplotlib.patches.StepPatch` in ``fig.axes[r].patches`` with ``gid`` ``"layer k"`` (none for
    a diverged panel, which is shaded and says so), the panel titles are in ``fig.axes[r].texts``.

    Parameters
    ----------
    hist : Histograms or SimResult
        Counts of shape (configs, trials, depth, bins) and edges of shape (configs, bins + 1); a result
        gives its histograms and its frame (for the titles).
    layers : sequence of int, optional
        Layers to show (1-based). Default: all, or ``max_layers`` evenly spaced ones for deep stacks.
    kind : {"act", "pre"}
        Layer outputs :math:`h^\\ell` or pre-activations :math:`z^\\ell`.
    df : DataFrame, optional
        The tidy per-layer frame; adds mean and std to the panel titles.
    configs : sequence of int, optional
        Config indices (rows) to show. Default: all.
    max_layers : int
        Most columns when ``layers`` is not given.
    """
    if hasattr(hist, "histograms"):  # a SimResult: its histograms, and its frame for the titles
        df = hist.layers if df is None else df
        hist = hist.histograms
    if kind not in ("act", "pre"):
        raise ValueError(f"kind must be 'act' or 'pre', got {kind!r}")
    edges_all = np.asarray(getattr(hist, f"{kind}_edges"), dtype=float)
    counts_all = np.asarray(getattr(hist, f"{kind}_counts"))
    if counts_all.ndim != 4:
        raise ValueError(f"{kind}_counts must have shape (configs, trials, depth, bins), got {counts_all.shape}")
    n_cfg, trials, depth, _ = counts_all.shape
    rows, cols = _rows_and_columns(n_cfg, depth, configs, layers, max_layers)
    styles = config_styles(list(hist.labels))
    stats = _layer_stats(df, kind)
    fig, axes, suptitle, xlabel = _grid_figure(kind, len(rows), cols, depth, trials, bool(stats))
    starts = np.arange(len(cols)) * PANEL_PITCH
    for r, (ax, cfg) in enumerate(zip(axes, rows)):
        st = styles[hist.labels[cfg]]
        edges = edges_all[cfg]
        counts = counts_all[cfg].sum(axis=0).astype(float)  # (depth, bins), summed over trials
        shown = [counts[l - 1] for l in cols]
        if _own_ranges(edges, shown):
            views = _panel_ranges(edges, shown, ax, starts)
        else:
            views = [_row_range(edges, np.sum(shown, axis=0), ax, starts)] * len(cols)
        for c, layer in enumerate(cols):
            xlim, first, last = views[c]
            _draw_panel(ax, starts[c], c, counts[layer - 1], edges, xlim, (first, last), st.color, layer)
            title = f"layer {layer}" if r == 0 else ""
            if (cfg, layer) in stats:
                m, s = stats[(cfg, layer)]
                if np.isfinite(m) or np.isfinite(s):
                    title += ("\n" if title else "") + f"μ {_fmt(m)}   σ {_fmt(s)}"
            if title:
                ax.annotate(title, xy=(starts[c] + 0.5, 1.0), xycoords=("data", "axes fraction"),
                            xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                            fontsize=8, color=TEXT_COLOR)
        ax.set_ylabel(_split_label(st.label), fontsize=9, color=st.color, fontweight="bold", rotation=90,
                      labelpad=4)
    height = fig.get_figheight()
    fig.supxlabel(xlabel, fontsize=8, color="#555555", y=0.06 / height, va="bottom")
    fig.suptitle(suptitle, fontsize=12, color=TEXT_COLOR, y=1 - 0.12 / height, va="top")
    return fig


def _rows_and_columns(n_cfg: int, depth: int, configs: Sequence[int] | None, layers: Sequence[int] | None,
                      max_layers: int) -> tuple[list[int], list[int]]:
    """The validated config rows and layer columns of the grid."""
    rows = list(range(n_cfg)) if configs is None else [int(c) for c in configs]
    cols = pick_layers(depth, max_layers) if layers is None else [int(l) for l in layers]
    bad = [l for l in cols if not 1 <= l <= depth]
    if bad or not cols:
        raise ValueError(f"layers must lie in 1..{depth}, got {list(layers or [])}")
    if not rows or any(not 0 <= c < n_cfg for c in rows):
        raise ValueError(f"configs must lie in 0..{n_cfg - 1}")
    return rows, cols


def _grid_figure(kind: str, n_rows: int, cols: list[int], depth: int, trials: int,
                 with_stats: bool) -> tuple[Figure, list[Axes], str, str]:
    """The empty figure in inches (one axes per row), with its wrapped title and x-label texts."""
    n_cols = len(cols)
    width = _LEFT + n_cols * _PANEL_W + (n_cols - 1) * _GAP_W + _RIGHT
    sub = f"{len(cols)} of {depth} layers" if len(cols) < depth else f"all {depth} layers"
    suptitle = _wrap(f"{_KIND_TITLE[kind]}: histograms per layer ({sub}; "
                     f"{'summed over ' + str(trials) + ' trials; ' if trials > 1 else ''}x-range shared per row, "
                     f"or per panel where the layers' ranges differ more than {OWN_RANGE_RATIO:g}×)",
                     width, 12)
    xlabel = _wrap("value   (x-range shared along a row, ticks labelled under its first panel, or each panel's own, "
                   "ticks labelled under every panel; bar heights scaled per panel; the outermost bins also count "
                   "values beyond the range)", width, 8)
    top = _TOP + 0.2 * suptitle.count("\n") + (2 if with_stats else 1) * _TITLE_LINE
    bottom = _BOTTOM + 0.135 * xlabel.count("\n")
    height = top + n_rows * _PANEL_H + (n_rows - 1) * _GAP_H + bottom
    fig = Figure(figsize=(width, height), facecolor="white")
    return fig, _row_axes(fig, n_rows, n_cols, top, bottom), suptitle, xlabel


def _extent(edges: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """The span of the occupied bins (0 always in it); the whole range when nothing is counted."""
    occupied = np.nonzero(counts)[0]
    if occupied.size:
        lo, hi = min(edges[occupied[0]], 0.0), max(edges[occupied[-1] + 1], 0.0)
    else:
        lo, hi = edges[0], edges[-1]
    return (-1.0, 1.0) if hi - lo <= 0 else (float(lo), float(hi))


def _own_ranges(edges: np.ndarray, shown: list[np.ndarray]) -> bool:
    """Whether the panels' occupied spans differ by more than :data:`OWN_RANGE_RATIO`."""
    spans = [np.subtract(*_extent(edges, c)[::-1]) for c in shown if c.sum() > 0]
    return len(spans) > 1 and max(spans) > OWN_RANGE_RATIO * min(spans)


def _view(edges: np.ndarray, lo: float, hi: float) -> tuple[tuple[float, float], int, int, np.ndarray]:
    """The padded x-range of ``[lo, hi]``, the first and last (exclusive) bins in it and its ticks."""
    pad = 0.04 * (hi - lo)
    xlim = (lo - pad, hi + pad)
    keep = (edges[1:] > xlim[0]) & (edges[:-1] < xlim[1])  # bins in view (the others are empty)
    first, last = int(np.argmax(keep)), len(keep) - int(np.argmax(keep[::-1]))
    ticks = np.array([t for t in MaxNLocator(nbins=3).tick_values(lo, hi) if xlim[0] <= t <= xlim[1]])
    return xlim, first, last, ticks


def _panel_ranges(edges: np.ndarray, shown: list[np.ndarray], ax: Axes,
                  starts: np.ndarray) -> list[tuple[tuple[float, float], int, int]]:
    """Each panel zoomed to its own values, its ticks labelled under it; the panels' baselines."""
    views, pos, labels = [], [], []
    for start, counts in zip(starts, shown):
        xlim, first, last, ticks = _view(edges, *_extent(edges, counts))
        views.append((xlim, first, last))
        pos += list(start + (ticks - xlim[0]) / (xlim[1] - xlim[0]))
        labels += [_tick_label(t) for t in ticks]
    ax.set_xticks(pos, labels)
    ax.tick_params(axis="x", labelsize=6)
    ax.hlines(np.zeros(starts.size), starts, starts + 1.0, clip_on=False, **_SPINE)
    return views


def _row_range(edges: np.ndarray, shown: np.ndarray, ax: Axes,
               starts: np.ndarray) -> tuple[tuple[float, float], int, int]:
    """Zoom a row to where its shown layers' values lie (0 always in view) and draw its ticks and baselines.

    Returns the x-range and the first and last (exclusive) bins in view.
    """
    xlim, first, last, ticks = _view(edges, *_extent(edges, shown))
    tick_pos = (ticks - xlim[0]) / (xlim[1] - xlim[0])
    n_cols = starts.size
    ax.set_xticks(tick_pos, [_tick_label(t) for t in ticks])  # labelled under the first panel
    ax.plot((tick_pos[None, :] + starts[1:, None]).ravel(), np.zeros(tick_pos.size * (n_cols - 1)),
            linestyle="none", marker=TICKDOWN, markersize=2, markeredgewidth=0.8,
            color=TEXT_COLOR, clip_on=False)
    ax.hlines(np.zeros(n_cols), starts, starts + 1.0, clip_on=False, **_SPINE)  # panel baselines
    return xlim, first, last


def _draw_panel(ax: Axes, start: float, column: int, row: np.ndarray, edges: np.ndarray,
                xlim: tuple[float, float], view: tuple[int, int], color: str, layer: int) -> None:
    """One layer's step histogram (fractions per bin, a towering bin cut off and labelled), or 'diverged'."""
    total = row.sum()
    first, last = view
    if total > 0:
        frac = row / total
        ptop, spike = _panel_top(frac)
        tr = panel_transform(ax, column, xlim, ptop)
        one = np.count_nonzero(row) == 1  # narrower than the config's bins: the panel cannot show a shape
        ax.add_artist(StepPatch(  # not add_patch: measuring its path for autoscaling is slow
            frac[first:last], np.clip(edges[first:last + 1], *xlim), fill=True, facecolor=color,
            edgecolor="none", alpha=0.25 if one else 0.85, linewidth=0, transform=tr, gid=f"layer {layer}"))
        if one:
            ax.text(start + 0.5, 0.5, "all in one bin\n(σ above)", transform=ax.get_xaxis_transform(),
                    ha="center", va="center", fontsize=6.5, color=TEXT_COLOR, style="italic")
        elif spike is not None:
            x = 0.5 * (edges[spike] + edges[spike + 1])
            ax.annotate(f"{frac[spike]:.0%}", xy=(x, ptop), xycoords=tr, xytext=(3, -2),
                        textcoords="offset points", ha="left", va="top", fontsize=7, color=TEXT_COLOR)
    else:
        ax.add_artist(Rectangle((start, 0.0), 1.0, 1.0, facecolor="#F2F2F2", edgecolor="none",
                                zorder=0, transform=ax.get_xaxis_transform()))
        ax.text(start + 0.5, 0.5, "diverged", transform=ax.get_xaxis_transform(), ha="center",
                va="center", fontsize=8, color="#777777", style="italic")
