"""The classic figure: per-layer histograms of activations, one row per config, one column per layer."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

from .plots_common import TEXT_COLOR, config_styles, new_figure
from .schema import Histograms

__all__ = ["histogram_grid", "pick_layers"]

_KIND_TITLE = {
    "act": "Layer outputs $h^\\ell$",
    "pre": "Pre-activations $z^\\ell$",
}


#: Compact tick labels without a shared offset ("1e12" under every panel): 0.5, 2.5, 5e+12.
_TICKS = FuncFormatter(lambda v, _pos: "0" if v == 0 else f"{v:.3g}")


def pick_layers(depth: int, max_layers: int = 10) -> list[int]:
    """All layers ``1 … depth`` when there are at most ``max_layers``, else ``max_layers`` evenly spaced
    ones that always include the first and the last."""
    if depth <= max_layers:
        return list(range(1, depth + 1))
    return sorted({int(round(v)) for v in np.linspace(1, depth, max_layers)})


def _layer_stats(df: pd.DataFrame | None, kind: str) -> dict[tuple[int, int], tuple[float, float]]:
    """``{(config, layer): (mean, std)}`` averaged over trials, from the tidy frame."""
    if df is None or f"{kind}_mean" not in df.columns:
        return {}
    g = df.groupby(["config", "layer"], sort=True)[[f"{kind}_mean", f"{kind}_std"]].mean()
    return {(int(c), int(l)): (float(r.iloc[0]), float(r.iloc[1])) for (c, l), r in g.iterrows()}


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "nan"
    if v == 0:
        return "0"
    a = abs(v)
    return f"{v:.2g}" if a < 1e-2 or a >= 1e3 else f"{v:.2f}"


def _split_label(label: str) -> str:
    return label.replace(" / ", "\n") if len(label) > 14 else label


def _clip_spike(ax, frac: np.ndarray, edges: np.ndarray, color: str) -> None:
    """Keep the rest of the distribution readable when one bin towers over it (ReLU's zeros,
    tanh's ±1): cut the y-axis at 1.6× the second-tallest bin and write the spike's share on it."""
    order = np.argsort(frac)
    top, second = frac[order[-1]], frac[order[-2]] if frac.size > 1 else 0.0
    if second > 0.01 and top > 4 * second:
        ax.set_ylim(0, 1.6 * second)
        x = 0.5 * (edges[order[-1]] + edges[order[-1] + 1])
        ax.annotate(f"{top:.0%}", xy=(x, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -2),
                    textcoords="offset points", ha="left", va="top", fontsize=7, color=TEXT_COLOR)
    else:
        ax.set_ylim(0, top * 1.05)


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
    is shared along a row (zoomed to where that config's values lie, always including 0), so a
    distribution that collapses towards 0 or piles up at the saturation values is visible at a glance.
    Bar heights are scaled per panel (the y axis carries no ticks); the titles give the mean and
    standard deviation (from ``df``) when the frame is passed.

    Parameters
    ----------
    hist : Histograms
        Counts of shape (configs, trials, depth, bins) and edges of shape (configs, bins + 1).
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
    if kind not in ("act", "pre"):
        raise ValueError(f"kind must be 'act' or 'pre', got {kind!r}")
    edges_all = np.asarray(getattr(hist, f"{kind}_edges"), dtype=float)
    counts_all = np.asarray(getattr(hist, f"{kind}_counts"))
    if counts_all.ndim != 4:
        raise ValueError(f"{kind}_counts must have shape (configs, trials, depth, bins), got {counts_all.shape}")
    n_cfg, _, depth, _ = counts_all.shape
    rows = list(range(n_cfg)) if configs is None else [int(c) for c in configs]
    cols = pick_layers(depth, max_layers) if layers is None else [int(l) for l in layers]
    bad = [l for l in cols if not 1 <= l <= depth]
    if bad or not cols:
        raise ValueError(f"layers must lie in 1..{depth}, got {list(layers or [])}")
    if not rows or any(not 0 <= c < n_cfg for c in rows):
        raise ValueError(f"configs must lie in 0..{n_cfg - 1}")
    styles = config_styles(list(hist.labels))
    stats = _layer_stats(df, kind)

    fig = new_figure(1.45 * len(cols) + 1.3, 1.35 * len(rows) + 1.1)
    axes = np.atleast_2d(fig.subplots(len(rows), len(cols), squeeze=False))
    for r, cfg in enumerate(rows):
        st = styles[hist.labels[cfg]]
        edges = edges_all[cfg]
        counts = counts_all[cfg].sum(axis=0).astype(float)  # (depth, bins), summed over trials
        occupied = np.nonzero(counts[[l - 1 for l in cols]].sum(axis=0))[0]
        if occupied.size:  # zoom to where the row's values lie, always keeping 0 in view
            lo, hi = min(edges[occupied[0]], 0.0), max(edges[occupied[-1] + 1], 0.0)
        else:
            lo, hi = edges[0], edges[-1]
        if hi - lo <= 0:
            lo, hi = -1.0, 1.0
        pad = 0.04 * (hi - lo)
        for c, layer in enumerate(cols):
            ax = axes[r, c]
            row = counts[layer - 1]
            total = row.sum()
            ax.set_xlim(lo - pad, hi + pad)
            ax.yaxis.set_major_locator(NullLocator())
            ax.xaxis.set_major_locator(MaxNLocator(nbins=3))
            ax.xaxis.set_major_formatter(_TICKS)
            ax.tick_params(axis="x", labelsize=7, colors=TEXT_COLOR, length=2, pad=1)
            for side in ("top", "right", "left"):
                ax.spines[side].set_visible(False)
            if total > 0:
                frac = row / total
                ax.stairs(frac, edges, fill=True, color=st.color, alpha=0.85, linewidth=0)
                _clip_spike(ax, frac, edges, st.color)
            else:
                ax.set_facecolor("#F2F2F2")
                ax.text(0.5, 0.5, "diverged", transform=ax.transAxes, ha="center", va="center",
                        fontsize=8, color="#777777", style="italic")
            title = f"layer {layer}" if r == 0 else ""
            if (cfg, layer) in stats:
                m, s = stats[(cfg, layer)]
                if np.isfinite(m) or np.isfinite(s):
                    title += ("\n" if title else "") + f"μ {_fmt(m)}   σ {_fmt(s)}"
            if title:
                ax.set_title(title, fontsize=8, color=TEXT_COLOR, pad=3)
        axes[r, 0].set_ylabel(_split_label(st.label), fontsize=9, color=st.color, fontweight="bold",
                              rotation=90, labelpad=4)
    fig.supxlabel("value   (x-range shared along each row; bar heights scaled per panel; "
                  "the outermost bins also count values beyond the range)", fontsize=8, color="#555555")
    sub = f"{len(cols)} of {depth} layers" if len(cols) < depth else f"all {depth} layers"
    trials = counts_all.shape[1]
    fig.suptitle(
        f"{_KIND_TITLE[kind]}: histograms per layer ({sub}; "
        f"{'summed over ' + str(trials) + ' trials; ' if trials > 1 else ''}x-range shared per row)",
        fontsize=12, color=TEXT_COLOR,
    )
    return fig
