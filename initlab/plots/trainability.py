"""The trainability heatmap (:mod:`initlab.study.trainability`): frames in, Figure out.

One panel per number of training steps: training accuracy over σ_w² × depth, the theory's
:math:`3\\xi_c` and :math:`6\\xi_c` curves over it, the critical line :math:`\\chi_1 = 1` marked, and the
panel's agreement fraction in its title.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .common import fix_layout, fixed_figure

__all__ = ["trainability_heatmap"]


def trainability_heatmap(points: pd.DataFrame, curves: pd.DataFrame, *, critical_sigma_w2: float = math.nan,
                         agreement: pd.Series | None = None, threshold: float | None = None,
                         title: str | None = None, metric: str = "train_acc") -> Figure:
    """Accuracy heatmaps with the depth scales of the theory drawn over them.

    Parameters
    ----------
    points : DataFrame
        ``TrainabilityResult.points`` (``sigma_w2``, ``depth``, ``steps``, ``metric``).
    curves : DataFrame
        ``sigma_w2`` and ``xi_c`` on a fine grid.
    critical_sigma_w2 : float
        Where χ₁ = 1 (a vertical line); NaN draws none (dropout has no critical point).
    agreement : Series, optional
        Agreement fraction per ``steps`` (in the panel titles).
    """
    steps = sorted(points["steps"].unique())
    fig = fixed_figure(4.2 * len(steps) + 1.3, 1.0)
    axes = np.atleast_1d(fig.subplots(1, len(steps), squeeze=False)[0])
    ymax = float(points["depth"].max()) * 1.08
    mesh = None
    for ax, s in zip(axes, steps):
        part = points[points["steps"] == s]
        table = part.pivot_table(index="depth", columns="sigma_w2", values=metric)
        mesh = ax.pcolormesh(table.columns.to_numpy(float), table.index.to_numpy(float), table.to_numpy(),
                             shading="nearest", cmap="viridis", vmin=0.0, vmax=1.0)
        for factor, style in ((6.0, "-"), (3.0, "--")):
            y = np.minimum(factor * curves["xi_c"].to_numpy(float), ymax * 10)
            ax.plot(curves["sigma_w2"], y, style, color="white", lw=1.6, label=f"{factor:g} ξ_c")
        if math.isfinite(critical_sigma_w2):
            ax.axvline(critical_sigma_w2, color="#FF5A5A", lw=1.2, ls=":", label="χ₁ = 1")
        ax.set_ylim(0, ymax)
        ax.set_xlabel("σ_w²", fontsize=9)
        head = f"after {s} steps"
        if agreement is not None and s in agreement.index:
            head += f": agreement {agreement[s]:.2f}"
        ax.set_title(head, fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0].set_ylabel("depth L (hidden layers)", fontsize=9)
    axes[0].legend(fontsize=7, loc="upper right", framealpha=0.6)
    cax = fig.add_axes((0.0, 0.0, 0.01, 0.01))
    cb = fig.colorbar(mesh, cax=cax)
    cb.set_label(metric.replace("_", " "), fontsize=8)
    cb.ax.tick_params(labelsize=7)
    sub = f"trainable: {metric} > {threshold:g}; agreement: trainable == (L < 6 ξ_c)" if threshold is not None else ""
    fix_layout(fig, left=0.7, right=1.0, top=0.75, bottom=0.5, panel_h=3.2, gap_w=0.45,
               suptitle=title or f"accuracy over σ_w² × depth with the theory's depth scales\n{sub}",
               suptitle_size=9.5)
    w, h = fig.get_figwidth(), fig.get_figheight()
    cax.set_position((1 - 0.8 / w, 0.5 / h, 0.15 / w, 3.2 / h))
    return fig
