"""The finite-width collapse figure: variance of the log across networks against l/n, measured and predicted.

A frame in (:attr:`initlab.study.finite_width.FiniteWidthResult.points`, columns
:data:`initlab.schema.FINITE_WIDTH_POINT_COLUMNS`), a :class:`~matplotlib.figure.Figure` out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .common import PALETTE, MARKERS, TEXT_COLOR, fix_layout, fixed_figure, style_axes

__all__ = ["collapse_figure", "relu_law_figure"]

_MARKERS_PER_WIDTH = 24  # at most about this many measured points per width and panel (every k-th layer)
_ROWS = (("q", "Var log q̂ˡ (forward)"), ("grad", "Var log ‖∂L/∂zˡ‖² (backward)"))


def collapse_figure(points: pd.DataFrame, agreement: Any = None, *, title: str | None = None) -> Figure:
    """One column per activation, rows :math:`\\mathrm{Var}\\log\\hat q^l` and :math:`\\mathrm{Var}\\log\\|\\partial L/
    \\partial z^l\\|^2` against :math:`l/n`: markers measured (±2 s.e.), one colour per width; solid lines the
    :math:`1/n` prediction at that width; dashed black the exact ReLU law where it applies; grey the mean-field
    value 0. ``agreement`` (the study's table) adds each column's share within 3 s.e. to its title."""
    acts = list(dict.fromkeys(points["act"]))
    widths = sorted(points["width"].unique())
    fig = fixed_figure(3.6 * max(1, len(acts)) + 0.9, 1.0)
    axes = np.atleast_2d(fig.subplots(2, max(1, len(acts)), squeeze=False))
    for j, act in enumerate(acts):
        part = points[points["act"] == act]
        for i, (key, ylabel) in enumerate(_ROWS):
            ax = axes[i, j]
            for k, n in enumerate(widths):
                p = part[part["width"] == n].sort_values("layer")
                if p.empty:
                    continue
                color, marker = PALETTE[k % len(PALETTE)], MARKERS[k % len(MARKERS)]
                x = p["l_over_n"].to_numpy()
                pick = slice(None, None, max(1, len(p) // _MARKERS_PER_WIDTH))  # the lines keep every layer
                ax.errorbar(x[pick], p[f"var_log_{key}"].to_numpy()[pick],
                            yerr=2 * np.nan_to_num(p[f"var_log_{key}_se"].to_numpy()[pick]),
                            fmt=marker, color=color, ms=3, capsize=1.5, lw=0.6, alpha=0.85)
                ax.plot(x, p[f"pred_{key}"], "-", color=color, lw=1.2)
                if key == "q" and np.isfinite(p["exact_q"]).any():
                    ax.plot(x, p["exact_q"], "--", color="black", lw=0.9)
            ax.axhline(0.0, color="#888888", lw=1.0, ls=":")
            style_axes(ax, xlabel="l / n" if i == 1 else None, ylabel=ylabel if j == 0 else None)
            ax.xaxis.set_major_locator(_auto_locator())
            if i == 0:
                sw2, sb2 = float(part["sigma_w2"].iloc[0]), float(part["sigma_b2"].iloc[0])
                head = f"{act}  (σ_w² {sw2:.4g}, σ_b² {sb2:.3g})"
                if agreement is not None and len(agreement):
                    row = agreement[agreement["act"] == act]
                    if len(row):
                        r = row.iloc[0]
                        head += f"\nwithin 3 s.e.: q {r['within3_q']:.0%}, grad {r['within3_grad']:.0%}"
                ax.set_title(head, fontsize=9.5, color=TEXT_COLOR)
    handles = [Line2D([], [], color=PALETTE[k % len(PALETTE)], marker=MARKERS[k % len(MARKERS)], lw=1.2, ms=4)
               for k in range(len(widths))]
    labels = [f"n = {n}" for n in widths]
    handles += [Line2D([], [], color="black", ls="--", lw=0.9), Line2D([], [], color="#888888", ls=":", lw=1.0)]
    labels += ["exact ReLU law (Hanin & Nica)", "mean field (n = ∞): 0"]
    fig.legend(handles, labels, loc="lower center", ncols=min(len(labels), 4), fontsize=8.5, frameon=False)
    fix_layout(fig, left=0.75, right=0.2, top=0.95, bottom=1.05, panel_h=2.4, gap_w=0.45, gap_h=0.35,
               suptitle=title or "Finite-width fluctuations: measured (±2 s.e.) vs the 1/n theory (lines)",
               suptitle_size=10.5)
    return fig


def _auto_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=6)


def relu_law_figure(rows: pd.DataFrame, points: pd.DataFrame, *, title: str | None = None) -> Figure | None:
    """For each activation with an exact law (``exact_q`` finite) and each width, the last layer's measured
    :math:`\\log(\\hat q^L/G^1)` over networks (histogram, density scale) beside the exact Hanin–Nica density and
    the asymptotic log-normal one (:class:`initlab.theory.relu_law.ReLULaw` with the :math:`\\chi^2_n/n` readout,
    shifted by :math:`(L-1)\\log(\\sigma_w^2/2)`). None if no activation has an exact law."""
    from ..theory.relu_law import ReLULaw

    exact = points[np.isfinite(points["exact_q"])]
    cells = list(dict.fromkeys(zip(exact["act"], exact["width"])))
    if not cells:
        return None
    fig = fixed_figure(2.6 * min(len(cells), 5) + 0.6, 1.0)
    axes = np.atleast_1d(fig.subplots(1 + (len(cells) - 1) // 5, min(len(cells), 5), squeeze=False)).ravel()
    for ax, (act, n) in zip(axes, cells):
        part = rows[(rows["act"] == act) & (rows["width"] == n)]
        depth = int(part["depth"].iloc[0])
        last = part[part["layer"] == depth]
        sw2, sb2, q_in = (float(last[c].iloc[0]) for c in ("sigma_w2", "sigma_b2", "q_in"))
        with np.errstate(divide="ignore"):
            y = np.log(last["q_hat"].to_numpy() / (sw2 * q_in + sb2))
        y = y[np.isfinite(y)]
        law = ReLULaw((int(n),) * depth, readout=int(n))
        shift = (depth - 1) * np.log(sw2 / 2.0)
        ax.hist(y, bins=max(10, int(np.sqrt(y.size))), density=True, color=PALETTE[5], alpha=0.55,
                label=f"measured ({y.size} networks)")
        sd = float(np.sqrt(law.var))
        grid = np.linspace(law.mean - 5 * sd, law.mean + 4 * sd, 300)
        ax.plot(grid + shift, law.pdf(grid), "-", color="black", lw=1.3, label="exact (Hanin & Nica)")
        m, v = law.lognormal
        ax.plot(grid + shift, np.exp(-(grid - m) ** 2 / (2 * v)) / np.sqrt(2 * np.pi * v), "--", color=PALETTE[1],
                lw=1.1, label="log-normal limit")
        style_axes(ax, xlabel=f"log(q̂ᴸ / G¹), L = {depth}")
        ax.set_title(f"{act}, n = {n}", fontsize=9.5, color=TEXT_COLOR)
    for ax in axes[len(cells):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7.5, frameon=False)
    fix_layout(fig, left=0.45, right=0.2, top=0.6, bottom=0.55, panel_h=2.2, gap_w=0.35, gap_h=0.6,
               suptitle=title or "The last layer's log q̂ across networks: measured, exact law, log-normal limit",
               suptitle_size=10)
    return fig
