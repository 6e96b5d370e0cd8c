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

__all__ = ["collapse_figure"]

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
