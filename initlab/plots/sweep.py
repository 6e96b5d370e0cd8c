"""Figures of a sweep: a points (or layers) frame in, a Figure out; no pyplot, no global style.

- :func:`phase_comparison`: measured vs predicted :math:`\\chi_1` and :math:`\\xi_c` over
  :math:`\\sigma_w^2 \\times \\sigma_b^2`, with both :math:`\\chi_1 = 1` lines and the difference;
- :func:`width_scaling`: the deviation of a statistic from its mean-field value against width, log–log, with
  fitted slopes (:func:`width_table`);
- :func:`depth_profiles`: a per-layer statistic against layer for chosen points.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .common import PALETTE, style_axes

__all__ = ["phase_comparison", "phase_agreement", "width_table", "width_scaling", "depth_profiles", "pick_points",
           "axis_columns", "XI_CAP"]

#: ξ_c above this (and ∞) is drawn in the top colour.
XI_CAP = 1e3


def _grid(points: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """σ_w² values, σ_b² values and the (B, W) array of ``column`` (mean over repeated cells)."""
    df = points[points["status"] == "done"] if "status" in points else points
    vals = pd.to_numeric(df[column], errors="coerce").astype(float)
    piv = vals.groupby([df["sigma_b2"].astype(float), df["sigma_w2"].astype(float)]).mean().unstack()
    return piv.columns.to_numpy(float), piv.index.to_numpy(float), piv.to_numpy(float)


def phase_agreement(points: pd.DataFrame, *, margin: float = 0.05) -> dict[str, float]:
    """Agreement of the measured and predicted phase diagrams.

    Returns ``cells``, ``same_phase`` (the fraction of cells whose measured phase, from the measured χ₁,
    equals the theory's), ``chi1_median_rel_err`` and ``xi_c_median_rel_err`` (medians of
    :math:`|m - t|/t` over the cells with :math:`|\\chi_1^{theory} - 1| > ` ``margin``, and finite values),
    and ``cells_away`` (how many such cells).
    """
    df = points[points["status"] == "done"] if "status" in points else points
    df = df[df["theory_phase"].astype(str) != ""]
    same = (df["phase"].astype(str) == df["theory_phase"].astype(str)).to_numpy()
    away = df[(df["theory_chi1"] - 1).abs() > margin]

    def rel(m: str, t: str) -> float:
        a, b = away[m].to_numpy(float), away[t].to_numpy(float)
        ok = np.isfinite(a) & np.isfinite(b) & (b != 0)
        return float(np.median(np.abs(a[ok] - b[ok]) / np.abs(b[ok]))) if ok.any() else math.nan

    return {"cells": float(len(df)), "same_phase": float(same.mean()) if len(df) else math.nan,
            "cells_away": float(len(away)), "chi1_median_rel_err": rel("chi1", "theory_chi1"),
            "xi_c_median_rel_err": rel("xi_c", "theory_xi_c")}


def _contour_chi1(ax, sw, sb, chi, **kw) -> bool:
    if sw.size > 1 and sb.size > 1 and np.isfinite(chi).any() and np.nanmin(chi) < 1 < np.nanmax(chi):
        ax.contour(sw, sb, np.ma.masked_invalid(chi), levels=[1.0], **kw)
        return True
    return False


def phase_comparison(points: pd.DataFrame, *, title: str | None = None,
                     figsize: tuple[float, float] = (13.0, 7.6)) -> Figure:
    """Measured beside predicted χ₁ and ξ_c over σ_w² × σ_b², and their difference.

    Rows: χ₁ (linear colours centred on 1), ξ_c (log colours, capped at :data:`XI_CAP`). Columns: measured,
    predicted (mean-field), difference (χ₁: measured − predicted; ξ_c: (measured − predicted)/predicted).
    Every panel shows the measured χ₁ = 1 line (dashed) and the predicted one (solid).

    Parameters
    ----------
    points : DataFrame
        A sweep's points with ``sigma_w2``, ``sigma_b2``, ``chi1``, ``theory_chi1``, ``xi_c``, ``theory_xi_c``
        (cells repeated over other axes are averaged).
    """
    for c in ("sigma_w2", "sigma_b2"):
        if c not in points or points[c].nunique() < 1:
            raise ValueError(f"the phase comparison needs a '{c}' column")
    fig = Figure(figsize=figsize, layout="constrained", facecolor="white")
    axes = fig.subplots(2, 3, sharex=True, sharey=True)
    sw, sb, chi_m = _grid(points, "chi1")
    _, _, chi_t = _grid(points, "theory_chi1")
    _, _, xi_m = _grid(points, "xi_c")
    _, _, xi_t = _grid(points, "theory_xi_c")
    hi = max(1.5, float(np.nanmax(np.r_[chi_m[np.isfinite(chi_m)], chi_t[np.isfinite(chi_t)], [1.5]])))
    lo = min(0.5, float(np.nanmin(np.r_[chi_m[np.isfinite(chi_m)], chi_t[np.isfinite(chi_t)], [0.5]])))
    cnorm = TwoSlopeNorm(vcenter=1.0, vmin=lo, vmax=hi)
    for ax, data, name in ((axes[0, 0], chi_m, "measured χ₁"), (axes[0, 1], chi_t, "predicted χ₁")):
        mesh = ax.pcolormesh(sw, sb, np.ma.masked_invalid(data), shading="nearest", cmap="RdBu_r", norm=cnorm)
        ax.set_title(name)
    fig.colorbar(mesh, ax=axes[0, :2], label="χ₁", shrink=0.9)
    d = chi_m - chi_t
    lim = float(np.nanmax(np.abs(d))) if np.isfinite(d).any() else 1.0
    mesh = axes[0, 2].pcolormesh(sw, sb, np.ma.masked_invalid(d), shading="nearest", cmap="PuOr_r",
                                 vmin=-max(lim, 1e-3), vmax=max(lim, 1e-3))
    axes[0, 2].set_title("measured − predicted χ₁")
    fig.colorbar(mesh, ax=axes[0, 2], shrink=0.9)
    fin = np.r_[xi_m[np.isfinite(xi_m) & (xi_m > 0)], xi_t[np.isfinite(xi_t) & (xi_t > 0)]]
    xlo = max(min(float(fin.min()) if fin.size else 1.0, XI_CAP / 10), 1e-2)
    xnorm = LogNorm(vmin=xlo, vmax=XI_CAP)
    for ax, data, name in ((axes[1, 0], xi_m, "measured ξ_c"), (axes[1, 1], xi_t, "predicted ξ_c")):
        shown = np.where(np.isnan(data), np.nan, np.clip(data, xlo, XI_CAP))
        mesh = ax.pcolormesh(sw, sb, np.ma.masked_invalid(shown), shading="nearest", cmap="viridis", norm=xnorm)
        ax.set_title(name)
    fig.colorbar(mesh, ax=axes[1, :2], label=f"ξ_c (layers; capped at {XI_CAP:g})", shrink=0.9)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(np.isfinite(xi_m) & np.isfinite(xi_t) & (xi_t > 0), (xi_m - xi_t) / xi_t, np.nan)
    mesh = axes[1, 2].pcolormesh(sw, sb, np.ma.masked_invalid(np.clip(r, -1, 1)), shading="nearest",
                                 cmap="PuOr_r", vmin=-1, vmax=1)
    axes[1, 2].set_title("(measured − predicted) / predicted ξ_c")
    fig.colorbar(mesh, ax=axes[1, 2], shrink=0.9)
    drawn = False
    for ax in axes.flat:
        drawn |= _contour_chi1(ax, sw, sb, chi_t, colors="black", linewidths=1.6)
        _contour_chi1(ax, sw, sb, chi_m, colors="black", linewidths=1.4, linestyles="--")
        ax.set_facecolor("#DDDDDD")
    for ax in axes[1]:
        style_axes(ax, xlabel="σ_w²  (weight variance × fan_in)")
    for ax in axes[:, 0]:
        ax.set_ylabel("σ_b²  (bias variance)")
    grey = Patch(facecolor="#DDDDDD", edgecolor="none",
                 label="grey: no value (the point diverged, c reached c* in under 3 layers so ξ_c has no fit, "
                       "or the theory has no prediction)")
    lines = [Line2D([], [], color="black", lw=1.6, label="predicted χ₁ = 1"),
             Line2D([], [], color="black", lw=1.4, ls="--", label="measured χ₁ = 1")] if drawn else []
    fig.legend(handles=lines + [grey], loc="outside lower center", ncols=len(lines) + 1, fontsize="small",
               frameon=False)
    acts = sorted(points["act"].astype(str).unique()) if "act" in points else []
    agree = phase_agreement(points)
    fig.suptitle(title or (f"{', '.join(acts)}: measured vs mean-field, {int(agree['cells'])} cells; same phase "
                           f"{agree['same_phase']:.0%}"))
    return fig


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def width_table(points: pd.DataFrame, stat: str = "q_tail", theory: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Per width: ``n`` (points), ``bias`` :math:`= |\\bar m - t|` (the mean over the points at that width of
    ``stat`` less its mean-field value, the mean of ``theory``), ``bias_se`` (its standard error from the
    spread of the per-point means) and ``spread`` (the mean of ``stat_sd``, the spread over trials).
    ``theory`` defaults to ``theory_q_star`` for ``q_*``, ``theory_chi1`` for ``chi1``,
    ``theory_c_star`` for ``c_last`` and ``theory_xi_c`` for ``xi_c``. Also returns the fitted log–log
    slopes ``{"bias": s, "spread": s}``."""
    named = {"chi1": "theory_chi1", "c_last": "theory_c_star", "xi_c": "theory_xi_c"}
    theory = theory or named.get(stat, "theory_q_star")
    df = points[points["status"] == "done"] if "status" in points else points
    rows = []
    for w, g in df.groupby(df["width"].astype(int)):
        m, t = g[stat].to_numpy(float), g[theory].to_numpy(float)
        dev = m - t
        n = int(np.isfinite(dev).sum())
        se = float(np.nanstd(dev, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        rows.append({"width": int(w), "n": n, "bias": float(abs(np.nanmean(dev))), "bias_se": se,
                     "spread": float(np.nanmean(g[f"{stat}_sd"].to_numpy(float)))})
    tab = pd.DataFrame(rows, columns=["width", "n", "bias", "bias_se", "spread"])
    x = tab["width"].to_numpy(float)
    return tab, {"bias": _slope(x, tab["bias"].to_numpy(float)), "spread": _slope(x, tab["spread"].to_numpy(float))}


def width_scaling(points: pd.DataFrame, stat: str = "q_tail", theory: str | None = None, *,
                  figsize: tuple[float, float] = (6.8, 4.6)) -> Figure:
    """The deviation of ``stat`` from mean field against width, log–log (see :func:`width_table`).

    Bias (with ±1 standard error) and spread over trials, each with its fitted power law and slope in the
    legend; faint guides of slope −1 and −1/2 through the first point (the expected orders of a bias and of
    a spread).
    """
    tab, slopes = width_table(points, stat, theory)
    fig = Figure(figsize=figsize, layout="constrained", facecolor="white")
    ax = fig.add_subplot()
    x = tab["width"].to_numpy(float)
    for i, (col, name) in enumerate((("bias", "bias |mean − mean field|"), ("spread", "spread over trials (sd)"))):
        y = tab[col].to_numpy(float)
        color = PALETTE[i]
        if col == "bias":
            ax.errorbar(x, y, yerr=tab["bias_se"].to_numpy(float), fmt="o", color=color, capsize=3, ms=5)
        else:
            ax.plot(x, y, "s", color=color, ms=5)
        s = slopes[col]
        ok = np.isfinite(y) & (y > 0)
        if math.isfinite(s) and ok.sum() >= 2:
            c = np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)
            ax.plot(x, np.exp(np.polyval(c, np.log(x))), "-", color=color, lw=1.4, label=f"{name}: slope {s:.2f}")
            y0 = y[ok][0]
            ax.plot(x, y0 * (x / x[ok][0]) ** (-1.0 if col == "bias" else -0.5), ":", color=color, lw=1, alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    style_axes(ax, xlabel="width N", ylabel=f"{stat}: deviation from mean field",
               title=f"width scaling of {stat} (dotted: slopes −1 and −1/2)")
    ax.legend(fontsize="small")
    return fig


def pick_points(points: pd.DataFrame, n: int = 4) -> list[str]:
    """Keys of up to ``n`` finished points spread evenly over the grid order."""
    keys = points.loc[points["status"] == "done", "key"].tolist()
    if len(keys) <= n:
        return keys
    idx = np.unique(np.linspace(0, len(keys) - 1, n).round().astype(int))
    return [keys[i] for i in idx]


def _point_label(points: pd.DataFrame, key: str, axes: Sequence[str]) -> str:
    row = points.loc[points["key"] == key].iloc[0]
    return ", ".join(f"{a}={row[a]:.3g}" if isinstance(row[a], float) else f"{a}={row[a]}" for a in axes)


def depth_profiles(layers: pd.DataFrame, points: pd.DataFrame, column: str = "pre_corr", *,
                   figsize: tuple[float, float] = (6.8, 4.6)) -> Figure:
    """``column`` against layer for every point in ``layers`` (mean over trials; the min–max over trials
    shaded), with its ``theory_*`` counterpart dashed where the layers frame has one."""
    fig = Figure(figsize=figsize, layout="constrained", facecolor="white")
    ax = fig.add_subplot()
    axes = [c for c in axis_columns(points) if points[c].nunique() > 1]
    theory = {"pre_corr": "theory_pre_corr", "pre_q": "theory_pre_q", "pre_std": "theory_pre_std",
              "grad_pre_ratio": "theory_grad_ratio"}.get(column)
    for i, (key, g) in enumerate(layers.groupby("point", sort=False)):
        color = PALETTE[i % len(PALETTE)]
        per = g.groupby("layer")[column]
        m = per.mean()
        ax.plot(m.index, m.to_numpy(), "-o", ms=3, color=color, label=_point_label(points, key, axes) or key[:8])
        if g["trial"].nunique() > 1:
            ax.fill_between(m.index, per.min().to_numpy(), per.max().to_numpy(), color=color, alpha=0.15, lw=0)
        if theory and theory in g and g[theory].notna().any():
            t = g.groupby("layer")[theory].first()
            ax.plot(t.index, t.to_numpy(), "--", color=color, lw=1)
    style_axes(ax, xlabel="layer", ylabel=column,
               title=f"{column} against depth" + (" (dashed: mean field)" if theory else ""))
    if len(ax.lines):
        ax.legend(fontsize="x-small")
    return fig


def axis_columns(points: pd.DataFrame) -> list[str]:
    """The axis columns of a points frame (between ``status`` and the summary)."""
    cols = list(points.columns)
    start = cols.index("status") + 1 if "status" in cols else 0
    end = cols.index("q_last") if "q_last" in cols else len(cols)
    return cols[start:end]
