"""Figures of the Jacobian spectrum study (:mod:`initlab.study.spectrum`): frames in, Figure out.

- :func:`spectrum_histograms`: one panel per config × depth, the measured histogram of
  :math:`\\log_{10}\\sigma^2` (bars) under the free-probability density (line), with the TV distance;
- :func:`spectrum_moments`: mean and variance of :math:`\\sigma^2` and the largest singular value
  against depth, measured (markers, ±2 standard errors) and predicted (lines).
"""

from __future__ import annotations


import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .common import TEXT_COLOR, config_styles, fix_layout, fixed_figure

__all__ = ["spectrum_histograms", "spectrum_moments"]


def spectrum_histograms(bins: pd.DataFrame, density: pd.DataFrame, moments: pd.DataFrame, *,
                        title: str | None = None) -> Figure:
    """Measured histogram against predicted density of :math:`\\log_{10}\\sigma^2`, config rows × depth columns.

    ``bins``, ``density`` and ``moments`` are the frames of :class:`~initlab.study.spectrum.SpectrumResult`.
    Bin 0 (everything below the histogram's range, exact zeros included) is written in the panel as
    "below: measured / predicted" when either is above 0.5%.
    """
    labels = list(dict.fromkeys(moments.sort_values("config")["label"]))
    depths = sorted(moments["depth"].unique())
    styles = config_styles(labels)
    fig = fixed_figure(2.6 * len(depths) + 1.0, 1.0)
    axes = np.atleast_2d(fig.subplots(len(labels), len(depths), squeeze=False))
    for i, lab in enumerate(labels):
        for j, d in enumerate(depths):
            ax = axes[i, j]
            b = bins[(bins["label"] == lab) & (bins["depth"] == d)].sort_values("bin")
            body = b[b["bin"] > 0]
            lo, hi = np.log10(body["lo"].to_numpy()), np.log10(body["hi"].to_numpy())
            width = hi - lo
            ax.bar(lo, body["measured"].to_numpy() / width, width=width, align="edge", color=styles[lab].color,
                   alpha=0.45, edgecolor="none", label="measured")
            dn = density[(density["label"] == lab) & (density["depth"] == d)]
            ax.plot(np.log10(dn["x"].to_numpy()), dn["density_log10"].to_numpy(), color="black", lw=1.1,
                    label="free probability")
            m = moments[(moments["label"] == lab) & (moments["depth"] == d)].iloc[0]
            text = f"TV {m['tv']:.3f} (noise {m['tv_null']:.3f})"
            below = b[b["bin"] == 0].iloc[0]
            if max(below["measured"], below["predicted"]) > 0.005:
                text += f"\nbelow: {below['measured']:.2f} / {below['predicted']:.2f}"
            ax.text(0.02, 0.97, text, transform=ax.transAxes, fontsize=6.5, va="top", color=TEXT_COLOR)
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(f"L = {d}", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{lab}\ndensity of log₁₀σ²", fontsize=7.5, color=styles[lab].color)
            if i == len(labels) - 1:
                ax.set_xlabel("log₁₀ σ²  (eigenvalues of JJᵀ)", fontsize=7.5)
    axes[0, 0].legend(fontsize=6.5, loc="center left", frameon=False)
    fix_layout(fig, left=0.75, right=0.15, top=0.55, bottom=0.5, panel_h=1.7, gap_w=0.35, gap_h=0.35,
               suptitle=title or "Jacobian spectrum at init: measured (bars) vs free probability (line)",
               suptitle_size=10)
    return fig


def spectrum_moments(moments: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Mean and variance of :math:`\\sigma^2` and the largest singular value against depth, per config."""
    labels = list(dict.fromkeys(moments.sort_values("config")["label"]))
    styles = config_styles(labels)
    fig = fixed_figure(11.0, 1.0)
    axes = fig.subplots(1, 3)
    for lab in labels:
        m = moments[moments["label"] == lab].sort_values("depth")
        st = styles[lab]
        d = m["depth"].to_numpy()
        for ax, col, se in ((axes[0], "mean", "mean_se"), (axes[1], "var", "var_se")):
            err = 2 * np.nan_to_num(m[se].to_numpy())
            ax.errorbar(d, m[col], yerr=err, fmt=st.marker, color=st.color, ms=4, capsize=2, lw=0.8, label=lab)
            ax.plot(d, m[f"{col}_pred"], "-", color=st.color, lw=1.1)
        axes[2].plot(d, m["sv_max"], st.marker, color=st.color, ms=4, label=lab)
        axes[2].plot(d, m["sv_max_pred"], "-", color=st.color, lw=1.1)
    for ax, name in zip(axes, ("mean of σ² (= χ₁ᴸ)", "variance of σ²", "largest singular value")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("depth L", fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, which="both")
    positive = moments[["var", "var_pred"]].to_numpy(dtype=float)
    if np.all(positive[np.isfinite(positive)] > 0):
        axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    axes[0].legend(fontsize=7, frameon=False)
    fix_layout(fig, left=0.6, right=0.2, top=0.6, bottom=0.55, panel_h=2.8, gap_w=0.6,
               suptitle=title or "markers: measured (±2 s.e. over samples); lines: free-probability prediction",
               suptitle_size=9)
    return fig


