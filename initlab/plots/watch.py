"""Figures of a training run watched by :class:`initlab.nn.ActivationStats`: per-layer statistics against the
optimizer step, fastai's "colorful dimension" plot, and the weight histograms over training.

Every function takes the callback's tidy frames (``stats.layers``, ``stats.histograms``) and returns a
:class:`matplotlib.figure.Figure`; the styles are those of the simulation's figures
(:mod:`initlab.plots.common`: one colour per layer from the same palette, light grid, no top/right spines).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .common import PALETTE, TEXT_COLOR, new_figure, plain_log_ticks, style_axes

__all__ = ["UPDATE_RATIO_BAND", "training_stats", "colorful_dimension", "weight_histograms"]

#: cs231n's rule of thumb for ‖ΔW‖/‖W‖ per step: about 1e-3; the band drawn is half a decade either side.
UPDATE_RATIO_BAND = (10 ** -3.5, 10 ** -2.5)

_PANELS = (
    ("update_ratio", "‖ΔW‖ / ‖W‖ per step", True),
    ("dead", "dead units (fraction)", False),
    ("saturated", "saturated (fraction)", False),
    ("act_std", "std of layer output", True),
)


def _layer_color(layer: int) -> str:
    return PALETTE[(int(layer) - 1) % len(PALETTE)]


def training_stats(layers: pd.DataFrame, *, title: str = "") -> Figure:
    """Update/weight ratio (log axis, with cs231n's ~1e-3 band), dead and saturated fractions and the
    output std of every layer against the optimizer step; one line per layer.

    ``layers`` is :attr:`initlab.nn.ActivationStats.layers` (columns ``step``, ``layer`` and the statistics).
    """
    fig = new_figure(12.0, 6.2)
    axes = fig.subplots(2, 2).reshape(-1)
    for ax, (col, label, log) in zip(axes, _PANELS):
        for layer, part in layers.groupby("layer", sort=True):
            v = part[col].to_numpy(dtype=np.float64)
            ok = np.isfinite(v) & ((v > 0) if log else True)
            if ok.any():
                ax.plot(part["step"].to_numpy()[ok], v[ok], "-", color=_layer_color(layer), lw=1.3,
                        label=f"layer {layer}")
        if col == "update_ratio":
            lo, hi = UPDATE_RATIO_BAND
            ax.axhspan(lo, hi, color="#E0F2E9", zorder=0, lw=0, label="~1e-3 (cs231n)")
            ax.axhline(1e-3, color="#009E73", lw=0.8, ls="--")
        if log and ax.lines:
            ax.set_yscale("log")
            plain_log_ticks(ax.yaxis)
        if col in ("dead", "saturated"):
            ax.set_ylim(-0.02, 1.02)
        style_axes(ax, xlabel="optimizer step", ylabel=label)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(handles, labels, fontsize=7, loc="best")
    fig.suptitle(f"{title}{': ' if title else ''}per-layer statistics during training", fontsize=12,
                 color=TEXT_COLOR)
    return fig


def _layer_grid(n: int) -> tuple[Figure, np.ndarray]:
    """A figure of one panel per layer, three to a row; the panels past ``n`` are switched off."""
    n_panels = max(n, 1)
    cols = min(n_panels, 3)
    rows = -(-n_panels // cols)
    fig = new_figure(4.2 * cols, 2.8 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, cols)).reshape(-1)
    for ax in axes[n:]:
        ax.axis("off")
    return fig, axes


def _images(hist: pd.DataFrame, kind: str) -> list[tuple[int, np.ndarray, np.ndarray, float]]:
    """Per layer: ``(layer, steps, counts (bins, records), R)``."""
    part = hist[hist["kind"] == kind]
    out = []
    for layer, g in part.groupby("layer", sort=True):
        table = g.pivot_table(index="bin", columns="step", values="count", aggfunc="sum").sort_index()
        out.append((int(layer), table.columns.to_numpy(), table.to_numpy(dtype=np.float64), float(g["hi"].max())))
    return out


def colorful_dimension(hist: pd.DataFrame, *, kind: str = "act", title: str = "") -> Figure:
    """fastai's "colorful dimension" plot: per layer, the histogram of its outputs (``kind="act"``) or kernel
    entries (``"weight"``) at each recorded step as one column of an image, :math:`\\log(1 + \\text{count})`
    as the colour; value on the vertical axis, optimizer step on the horizontal one.

    A healthy layer shows a smooth band; a collapse to zero or a pile-up at the edge bins (saturation,
    explosion) shows as a bright line at the middle or the border of the image.
    """
    imgs = _images(hist, kind)
    fig, axes = _layer_grid(len(imgs))
    for ax, (layer, steps, counts, R) in zip(axes, imgs):
        extent = (float(steps.min()), float(steps.max()) if steps.size > 1 else float(steps.min()) + 1, -R, R)
        ax.imshow(np.log1p(counts), origin="lower", aspect="auto", extent=extent, cmap="viridis",
                  interpolation="nearest")
        used = np.flatnonzero(counts.sum(axis=1) > 0)  # zoom to the bins ever filled (ReLU: [0, R])
        if used.size:
            B = counts.shape[0]
            ax.set_ylim(-R + 2 * R * used[0] / B, -R + 2 * R * (used[-1] + 1) / B)
        ax.set_title(f"layer {layer}", fontsize=10, color=TEXT_COLOR)
        ax.set_xlabel("optimizer step", fontsize=9, color=TEXT_COLOR)
        ax.set_ylabel("value" if kind == "act" else "weight", fontsize=9, color=TEXT_COLOR)
        ax.tick_params(labelsize=8, colors=TEXT_COLOR)
    what = "layer outputs" if kind == "act" else "kernel entries"
    fig.suptitle(f"{title}{': ' if title else ''}histogram of the {what} against step (colour: log(1 + count))",
                 fontsize=12, color=TEXT_COLOR)
    return fig


def weight_histograms(hist: pd.DataFrame, *, title: str = "", snapshots: int = 3) -> Figure:
    """Per layer, the histogram of its kernel entries at ``snapshots`` recorded steps (first, middle, last),
    drawn as steps on the layer's fixed range: how far training moves the weights from their init."""
    part = hist[hist["kind"] == "weight"]
    layers = sorted(part["layer"].unique())
    fig, axes = _layer_grid(len(layers))
    steps = sorted(part["step"].unique())
    picks = [steps[i] for i in sorted({round(j * (len(steps) - 1) / max(snapshots - 1, 1))
                                       for j in range(snapshots)})] if steps else []
    shades = ["#9ECAE1", "#3182BD", "#08306B"] if len(picks) <= 3 else None
    for ax, layer in zip(axes, layers):
        g = part[part["layer"] == layer]
        for i, s in enumerate(picks):
            h = g[g["step"] == s].sort_values("bin")
            frac = h["count"].to_numpy(dtype=np.float64) / max(h["count"].sum(), 1)
            edges = np.append(h["lo"].to_numpy(), h["hi"].to_numpy()[-1])
            color = shades[i] if shades else PALETTE[i % len(PALETTE)]
            ax.stairs(frac, edges, color=color, lw=1.4, label=f"step {s}")
        style_axes(ax, xlabel="weight", ylabel="fraction", title=f"layer {layer}")
    if layers:
        axes[0].legend(fontsize=7)
    fig.suptitle(f"{title}{': ' if title else ''}kernel histograms over training", fontsize=12, color=TEXT_COLOR)
    return fig
