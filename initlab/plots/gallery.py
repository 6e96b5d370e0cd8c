"""Activation gallery: each activation function and its derivative, with the saturated region shaded."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..activations import ACTIVATIONS, Activation, get_activation
from .common import GRID_COLOR, TEXT_COLOR, bottom_legend, fix_layout, fixed_figure

__all__ = ["activation_gallery", "activation_curve"]

FN_COLOR = "#1F3A5F"
GRAD_COLOR = "#D55E00"
SAT_COLOR = "#E9E9E9"

# Fixed layout in inches: tick labels left of and below each panel, its title above.
_PANEL_W, _PANEL_H = 2.0, 1.6
_LEFT, _GAP_W, _RIGHT = 0.5, 0.45, 0.15
_TOP, _GAP_H, _BELOW = 0.68, 0.55, 0.38


def _default_activations() -> list[Activation]:
    """Every registry entry with its default parameters."""
    return [get_activation(name) for name in ACTIVATIONS.names()]


def activation_curve(act: Activation, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:math:`\\phi(x)` and :math:`d\\phi/dx` on a 1-D grid, through the layer contract.

    Elementwise activations use ``fn_grad``. A multi-piece activation (maxout, ``pieces = k``) is shown
    for one unit whose k pieces are tangents (drawn dotted; never shaded as saturated) :math:`z_i = s_i x - s_i^2` to :math:`x^2/4` at
    :math:`t_i \\in [-2, 2]` (:math:`s_i = t_i/2`): its value is the largest piece and its derivative
    the slope of the arg-max piece (from ``backward``). Returns ``(phi, dphi, pieces)`` with ``pieces``
    of shape (n, k) or ``None``.
    """
    x = np.asarray(x, dtype=np.float64)
    k = int(getattr(act, "pieces", 1))
    if k <= 1:
        phi, dphi = act.fn_grad(x)
        return np.asarray(phi, dtype=float), np.asarray(dphi, dtype=float), None
    t = np.linspace(-2.0, 2.0, k)
    slope = t / 2.0
    z = x[:, None] * slope[None, :] - t[None, :] ** 2 / 4.0  # (n, k): tangents to x**2/4
    a, ctx = act.forward(z)
    g = act.backward(ctx, np.ones_like(np.asarray(a, dtype=float)))
    dphi = np.asarray(g, dtype=float) @ slope
    return np.asarray(a, dtype=float).reshape(-1), dphi.reshape(-1), z


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges [i, j] of consecutive True values."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0] - 1))


def activation_gallery(acts: Sequence[Any] | None = None, xlim: float = 5.0, ncols: int | None = None) -> Figure:
    """Small multiples of :math:`\\phi` and :math:`\\phi'` for each activation.

    The shaded band marks where the activation is *saturated*: :math:`|\\phi'(x)| < 0.05\\max|\\phi'|`
    (the definition used by the ``saturated`` statistic); "can die" marks activations whose units can
    be stuck at zero derivative for every input.

    Parameters
    ----------
    acts : sequence of spec strings or Activation, optional
        Default: every registry entry with its default parameters.
    xlim : float
        The x-range is ``[-xlim, xlim]``.
    ncols : int, optional
        Panels per row (default: up to 6).
    """
    items = _default_activations() if acts is None else [get_activation(a) for a in acts]
    if not items:
        raise ValueError("no activations to draw")
    n = len(items)
    if ncols is None:  # balanced rows of at most 6 panels
        ncols = math.ceil(n / math.ceil(n / 6))
    nrows = math.ceil(n / ncols)
    fig = fixed_figure(_LEFT + ncols * _PANEL_W + (ncols - 1) * _GAP_W + _RIGHT, 2.05 * nrows + 0.7)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    x = np.linspace(-xlim, xlim, 801)
    for ax, act in zip(axes, items):
        phi, dphi, pieces = activation_curve(act, x)
        if pieces is not None:
            for j in range(pieces.shape[1]):
                ax.plot(x, pieces[:, j], color="#9A9A9A", linewidth=0.8, linestyle=":", zorder=2)
            sat = np.zeros(x.shape, dtype=bool)  # the winning piece always passes the gradient on
        else:
            sat = np.abs(dphi) < act.saturation_threshold()
        for i, j in _spans(sat):
            ax.axvspan(x[i], x[j], color=SAT_COLOR, linewidth=0, zorder=0)
        ax.axhline(0, color="#B0B0B0", linewidth=0.7, zorder=1)
        ax.axvline(0, color="#B0B0B0", linewidth=0.7, zorder=1)
        ax.plot(x, dphi, color=GRAD_COLOR, linewidth=1.6, linestyle="--", zorder=3)
        ax.plot(x, phi, color=FN_COLOR, linewidth=2.0, zorder=4)
        lo = min(float(np.nanmin(phi)), float(np.nanmin(dphi)), -0.2)
        hi = max(float(np.nanmax(phi)), float(np.nanmax(dphi)), 1.2)
        pad = 0.06 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(-xlim, xlim)
        ax.grid(True, color=GRID_COLOR, linewidth=0.6, zorder=0)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=8, colors=TEXT_COLOR)
        title = act.spec + ("  · can die" if act.can_die else "")
        ax.set_title(title, fontsize=10, color=TEXT_COLOR, y=1.0)
    for ax in axes[n:]:
        ax.set_visible(False)
    handles = [
        Line2D([], [], color=FN_COLOR, linewidth=2.0),
        Line2D([], [], color=GRAD_COLOR, linewidth=1.6, linestyle="--"),
        Patch(facecolor=SAT_COLOR, edgecolor="#BBBBBB", linewidth=0.5),
    ]
    labels = ["φ(x)", "φ′(x)", "saturated:\n|φ′| < 5% of max"]  # plain text: mathtext is parsed on every save
    if any(getattr(a, "pieces", 1) > 1 for a in items):
        handles.append(Line2D([], [], color="#9A9A9A", linewidth=0.8, linestyle=":"))
        labels.append("maxout pieces\n(illustrative)")
    legend_h = bottom_legend(fig, handles, labels, ncols=4)
    fix_layout(
        fig,
        left=_LEFT,
        right=_RIGHT,
        top=_TOP,
        bottom=_BELOW + legend_h,
        panel_h=_PANEL_H,
        gap_w=_GAP_W,
        gap_h=_GAP_H,
        suptitle="Activation functions and their derivatives",
    )
    return fig
