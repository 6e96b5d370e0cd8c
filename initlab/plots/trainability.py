"""The trainability heatmap (:mod:`initlab.study.trainability`): frames in, Figure out.

One panel per number of training steps: training accuracy over σ_w² × depth (one even tile per depth), the
measured trainable boundary, the theory's :math:`3\\xi_c` and :math:`6\\xi_c` curves beside it, the critical
line :math:`\\chi_1 = 1` marked, the scores in the panel titles and the legend under the panels.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure

from .common import fix_layout, fixed_figure

__all__ = ["trainability_heatmap"]

#: A dark outline that keeps the white theory curves readable on light tiles and in the legend.
_OUTLINE = [patheffects.Stroke(linewidth=2.8, foreground="#222222"), patheffects.Normal()]


def _depth_position(depths: np.ndarray):
    """Map a depth to the even tile axis: tile i is centred on i; in between, linear in log depth (and beyond
    the ends by the end tiles' slopes), so a curve over the tiles keeps its shape in log depth."""
    logd = np.log(depths)
    idx = np.arange(depths.size, dtype=float)

    def pos(d: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.log(np.asarray(d, dtype=float))
        if depths.size == 1:
            return np.where(np.isfinite(x), x - logd[0], np.nan)
        y = np.interp(x, logd, idx)
        lo, hi = (x - logd[0]) / (logd[1] - logd[0]), (depths.size - 1) + (x - logd[-1]) / (logd[-1] - logd[-2])
        return np.where(x < logd[0], lo, np.where(x > logd[-1], hi, y))

    return pos


def trainability_heatmap(points: pd.DataFrame, curves: pd.DataFrame, *, critical_sigma_w2: float = math.nan,
                         agreement: pd.Series | None = None, threshold: float | None = None,
                         title: str | None = None, metric: str = "train_acc", scores: pd.DataFrame | None = None,
                         ) -> Figure:
    """Accuracy heatmaps (mean over seeds) with the measured trainable boundary and the theory's depth scales.

    Each depth of the grid is one tile of the same height (labelled with its depth); the theory's
    :math:`3\\xi_c` and :math:`6\\xi_c` are placed between tiles by log depth and clipped to the grid (a curve
    along the top edge is at or beyond the deepest depth). The measured boundary (red steps) is, per
    :math:`\\sigma_w^2`, the top of the deepest tile whose mean accuracy over the seeds is above ``threshold``.
    The legend sits under the panels, off the data.

    Parameters
    ----------
    points : DataFrame
        ``TrainabilityResult.points`` (``sigma_w2``, ``depth``, ``steps``, ``metric``).
    curves : DataFrame
        ``sigma_w2`` and ``xi_c`` on a fine grid.
    critical_sigma_w2 : float
        Where χ₁ = 1 (a vertical line); NaN draws none (dropout has no critical point).
    agreement : Series, optional
        Agreement fraction per ``steps`` (in the panel titles, when ``scores`` is not given).
    scores : DataFrame, optional
        :func:`initlab.study.scores.trainability_scores`: the rule's and the baselines' balanced accuracy
        (mean over seeds) in the panel titles.
    """
    steps = sorted(points["steps"].unique())
    depths = np.array(sorted(points["depth"].unique()), dtype=float)
    sw = np.array(sorted(points["sigma_w2"].unique()), dtype=float)
    pos = _depth_position(depths)
    top = depths.size - 0.5
    fig = fixed_figure(4.2 * len(steps) + 1.3, 1.0)
    axes = np.atleast_1d(fig.subplots(1, len(steps), squeeze=False)[0])
    mesh = None
    handles: list = []
    for ax, s in zip(axes, steps):
        part = points[points["steps"] == s]
        table = part.pivot_table(index="depth", columns="sigma_w2", values=metric).reindex(index=depths, columns=sw)
        mesh = ax.pcolormesh(sw, np.arange(depths.size), table.to_numpy(), shading="nearest", cmap="viridis",
                             vmin=0.0, vmax=1.0)
        x0, x1 = ax.get_xlim()
        handles = []
        for factor, style in ((6.0, "-"), (3.0, "--")):
            y = np.clip(pos(factor * curves["xi_c"].to_numpy(float)), -0.5, top)
            keep = (curves["sigma_w2"] >= x0) & (curves["sigma_w2"] <= x1)
            handles += ax.plot(curves["sigma_w2"][keep], y[keep], style, color="white", lw=1.6,
                               label=f"{factor:g} ξ_c (theory)", path_effects=_OUTLINE)
        if threshold is not None:
            ok = table.to_numpy() > threshold
            reach = np.array([(np.flatnonzero(ok[:, j]).max() + 0.5) if ok[:, j].any() else -0.5
                              for j in range(sw.size)])
            mids = (sw[1:] + sw[:-1]) / 2
            edges = np.concatenate([[x0], mids, [x1]]) if sw.size > 1 else np.array([x0, x1])
            handles.append(ax.stairs(reach, edges, baseline=None, color="#FF5A5A", lw=2.0,
                                     label=f"deepest trainable (mean {metric.replace('_', ' ')} > {threshold:g})"))
        if math.isfinite(critical_sigma_w2) and x0 <= critical_sigma_w2 <= x1:
            handles.append(ax.axvline(critical_sigma_w2, color="#FFB000", lw=1.2, ls=":", label="χ₁ = 1"))
        ax.set_xlim(x0, x1)
        ax.set_ylim(-0.5, top)
        ax.set_yticks(np.arange(depths.size), [f"{d:g}" for d in depths])
        ax.set_xlabel("σ_w²", fontsize=9)
        head = f"after {s} steps"
        if scores is not None and (scores["steps"] == s).any():
            m = scores[scores["steps"] == s].mean(numeric_only=True)
            head += (f"\nbalanced accuracy: 6 ξ_c {m['bacc_rule']:.2f}, best cutoff {m['bacc_cutoff']:.2f}, "
                     f"always {m['bacc_always']:.2f}")
        elif agreement is not None and s in agreement.index:
            head += f": agreement {agreement[s]:.2f}"
        ax.set_title(head, fontsize=8.5)
        ax.tick_params(labelsize=8)
    axes[0].set_ylabel("depth L (hidden layers, one tile each)", fontsize=9)
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=7.5, frameon=False, bbox_to_anchor=(0.5, 0.0))
    cax = fig.add_axes((0.0, 0.0, 0.01, 0.01))
    cb = fig.colorbar(mesh, cax=cax)
    cb.set_label(metric.replace("_", " ") + " (mean over seeds)", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    fix_layout(fig, left=0.7, right=1.0, top=0.95, bottom=1.05, panel_h=3.2, gap_w=0.45,
               suptitle=title or "training accuracy over σ_w² × depth:\nthe measured boundary beside the theory's depth scales",
               suptitle_size=9.5)
    w, h = fig.get_figwidth(), fig.get_figheight()
    cax.set_position((1 - 0.8 / w, 1.05 / h, 0.15 / w, 3.2 / h))
    return fig
