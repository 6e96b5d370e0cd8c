"""The phase-diagram figure: ξ_c over (σ_w², σ_b²), the χ₁ = 1 line and the region where q* diverges.

Data in (a :class:`~initlab.theory.phase.PhaseGrid`), Figure out; no pyplot, no global style.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..theory.phase import PhaseGrid

__all__ = ["phase_diagram", "XI_CAP"]

#: ξ_c above this (and ∞ at criticality) is drawn in the top colour.
XI_CAP = 1e3

_DIVERGENT = "#BDBDBD"


def phase_diagram(grid: PhaseGrid, *, title: str | None = None, figsize: tuple[float, float] = (6.4, 4.8)) -> Figure:
    """Draw the phase diagram of ``grid``.

    - heat map: the correlation depth scale :math:`\\xi_c` (log colour scale, capped at :data:`XI_CAP`);
    - black line: :math:`\\chi_1 = 1`, the order-to-chaos transition (contour of the grid's :math:`\\chi_1`);
    - grey hatched region, labelled: no finite :math:`q^*` (the variance diverges with depth);
    - the words *ordered* and *chaotic* at the centre of each phase's cells.

    Parameters
    ----------
    grid : PhaseGrid
        From :func:`initlab.theory.phase.phase_grid` (any activation; every cell may be divergent).
    title : str, optional
        Defaults to ``"<act>: correlation depth scale ξ_c"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=figsize, layout="constrained", facecolor="white")
    ax = fig.add_subplot()
    sw, sb = grid.sigma_w2, grid.sigma_b2
    xi = np.array(grid.xi_c, dtype=float)
    finite = np.isfinite(xi) & (xi > 0)
    handles = []
    if finite.any() or np.isinf(xi).any():
        lo = float(np.nanmin(xi[finite])) if finite.any() else 1.0
        lo = max(min(lo, XI_CAP / 10), 1e-2)
        shown = np.where(np.isnan(xi), np.nan, np.clip(xi, lo, XI_CAP))
        mesh = ax.pcolormesh(sw, sb, np.ma.masked_invalid(shown), shading="nearest", cmap="viridis",
                             norm=LogNorm(vmin=lo, vmax=XI_CAP))
        cbar = fig.colorbar(mesh, ax=ax)
        cbar.set_label("ξ_c (layers; capped at %g)" % XI_CAP)
    div = np.asarray(grid.divergent, dtype=bool)
    if div.any():
        shade = np.where(div, 1.0, np.nan)
        ax.pcolormesh(sw, sb, np.ma.masked_invalid(shade), shading="nearest", cmap=_single(_DIVERGENT), vmin=0, vmax=1)
        if sw.size > 1 and sb.size > 1:
            ax.contourf(sw, sb, div.astype(float), levels=[0.5, 1.5], colors="none", hatches=["//"])
        handles.append(Patch(facecolor=_DIVERGENT, hatch="//", edgecolor="#555555", label="q* = ∞ (diverges)"))
        _label(ax, grid, div, "q* = ∞")
    chi = np.array(grid.chi1, dtype=float)
    if sw.size > 1 and sb.size > 1 and np.nanmin(chi) < 1 < np.nanmax(chi):
        ax.contour(sw, sb, chi, levels=[1.0], colors="black", linewidths=1.6)
        handles.append(_line_handle("χ₁ = 1 (critical)"))
    for name in ("ordered", "chaotic"):
        _label(ax, grid, grid.phase == name, name)
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize="small", framealpha=0.85)
    ax.set_xlabel("σ_w²  (weight variance × fan_in)")
    ax.set_ylabel("σ_b²  (bias variance)")
    ax.set_xlim(sw.min(), sw.max()) if sw.size > 1 else None
    ax.set_ylim(sb.min(), sb.max()) if sb.size > 1 else None
    ax.set_title(title if title is not None else f"{grid.act}: correlation depth scale ξ_c")
    return fig


def _single(color: str):
    from matplotlib.colors import ListedColormap

    return ListedColormap([color])


def _line_handle(label: str):
    from matplotlib.lines import Line2D

    return Line2D([], [], color="black", linewidth=1.6, label=label)


def _label(ax, grid: PhaseGrid, mask: np.ndarray, text: str) -> None:
    """Write ``text`` at the centre of the cells in ``mask`` (if there are enough of them)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.sum() < max(2, mask.size // 50):
        return
    rows, cols = np.nonzero(mask)
    x = float(np.median(grid.sigma_w2[cols]))
    y = float(np.median(grid.sigma_b2[rows]))
    ax.text(x, y, text, ha="center", va="center", fontsize="medium", color="white" if text != "q* = ∞" else "black",
            bbox={"facecolor": "black" if text != "q* = ∞" else "white", "alpha": 0.45, "edgecolor": "none", "pad": 2})
