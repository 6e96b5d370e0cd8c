"""Per-layer statistics against depth, one line per config: moments, gradients, saturation, correlation.

Each function takes the tidy per-layer frame (:data:`initlab.schema.LAYER_COLUMNS`) and returns a
:class:`matplotlib.figure.Figure`. Measurements are averaged over trials; the spread across trials is
shown as a band (no theory) or as min–max bars around points, with the mean-field prediction drawn as
a line in the same colour (when the frame's ``theory_*`` column has values for that config). Diverged
layers (NaN statistics) leave a gap and a dotted vertical line at the first diverged layer.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from .common import (
    TEXT_COLOR,
    ConfigStyle,
    bottom_legend,
    divergence,
    divergence_suffix,
    fix_layout,
    fixed_figure,
    frame_styles,
    mark_divergence,
    outside_legend,
    per_layer,
    plain_log_ticks,
    style_axes,
    theory_handles,
    wants_log,
)

__all__ = ["moments_vs_layer", "grad_vs_layer", "saturation_vs_layer", "correlation_vs_layer", "dodge"]

_SYMBOL = {"pre": r"z^\ell", "act": r"h^\ell"}
_KIND_NAME = {"pre": "Pre-activations", "act": "Layer outputs"}
_LAYER = "layer ℓ"  # plain text where it reads the same: every save parses mathtext anew (~20 ms a string)
_STAT_NAME = {"std": "standard deviation", "q": r"second moment $q = \mathbb{E}[x^2]$"}


def _check(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in ("config", "label", "trial", "layer", *columns) if c not in df.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {', '.join(missing)}")
    if len(df) == 0:
        raise ValueError("empty frame: nothing to plot")


def _marker_size(depth: int) -> float:
    return 5.5 if depth <= 20 else 4.0 if depth <= 50 else 2.8


def _series(
    ax: Axes,
    df: pd.DataFrame,
    column: str,
    styles: dict[int, ConfigStyle],
    theory_column: str | None = None,
    log: bool = False,
    points: bool = False,
) -> bool:
    """Draw ``column`` against layer for every config; return whether any theory line was drawn.

    Measurements are points with min–max bars when the config has a theory line, hollow markers on a
    faint line when ``points`` (panels beside a theory panel), else a line with markers and a min–max
    band across trials. In stacks of at most 40 layers the
    measurements of config ``i`` are shifted by a small ``dodge(i)`` along x so that configs whose
    values coincide (ReLU's dead fraction does not depend on the weight scale) stay visible.
    """
    agg = per_layer(df, column)
    theory = per_layer(df, theory_column) if theory_column and theory_column in df.columns else None
    depth = int(df["layer"].max())
    ms = _marker_size(depth)
    every = max(1, depth // 30)
    drew_theory = False
    for cfg, st in styles.items():
        a = agg[agg["config"] == cfg]
        x = a["layer"].to_numpy(dtype=float) + dodge(list(styles).index(cfg), len(styles), depth)
        y, lo, hi = (a[k].to_numpy(dtype=float) for k in ("mean", "min", "max"))
        if log:  # non-positive values cannot be drawn on a log axis
            y = np.where(y > 0, y, np.nan)
            lo = np.where(lo > 0, lo, y)
        t = theory[theory["config"] == cfg] if theory is not None else None
        with_line = t is not None and bool(np.isfinite(t["mean"].to_numpy(dtype=float)).any())
        if with_line:
            ty = t["mean"].to_numpy(dtype=float)
            if log:
                ty = np.where(ty > 0, ty, np.nan)
            ax.plot(t["layer"].to_numpy(dtype=float), ty, color=st.color, linewidth=1.7, zorder=3, alpha=0.9)
            drew_theory = True
        if points and not with_line:  # beside theory panels: markers on a faint line, no bars
            ax.plot(x, y, color=st.color, marker=st.marker, markersize=ms * 0.9, markevery=every, linewidth=0.8,
                    alpha=0.75, markerfacecolor="white", markeredgewidth=1.2, zorder=3)
        elif with_line:
            ok = np.isfinite(y)
            yerr = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])[:, ok]
            ax.errorbar(
                x[ok][::every], y[ok][::every], yerr=yerr[:, ::every], fmt=st.marker, color=st.color,
                markersize=ms, markerfacecolor="white", markeredgewidth=1.3, elinewidth=1.0, capsize=2,
                linestyle="none", zorder=4,
            )
        else:
            ax.plot(
                x, y, color=st.color, marker=st.marker, markersize=ms, markevery=every, linewidth=1.5,
                markeredgecolor="white", markeredgewidth=0.6, zorder=3,
            )
            if (a["n"] > 1).any():
                ax.fill_between(x, lo, hi, color=st.color, alpha=0.16, linewidth=0, zorder=2)
    if log:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
        if wants_log(agg[["min", "max"]].to_numpy(), decades=3.0):  # decades enough: 8 unlabelled minor
            ax.yaxis.set_minor_locator(NullLocator())  # ticks per decade cost a draw and say little
    ax.set_xlim(0.5, depth + 0.5)
    return drew_theory


def dodge(i: int, n: int, depth: int) -> float:
    """X-offset of config ``i`` of ``n``: spread over at most ±0.2 layer, none beyond 40 layers."""
    if n < 2 or depth > 40:
        return 0.0
    return (i - (n - 1) / 2) * min(0.08, 0.4 / (n - 1))


def _fit_limits(ax: Axes, margin: float = 0.05) -> None:
    """Y-limits at the data's extent plus a margin measured on the axis' own (e.g. symlog) scale."""
    lo, hi = ax.dataLim.y0, ax.dataLim.y1
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
        return
    tr = ax.yaxis.get_transform()
    a, b = tr.transform([lo, hi])
    pad = margin * (b - a)
    lo2, hi2 = tr.inverted().transform([a - pad, b + pad])
    ax.set_ylim(lo2, hi2)


def _mean_dominated(means: np.ndarray, scales: np.ndarray, factor: float = 30.0) -> bool:
    """Whether the largest |mean| exceeds ``factor`` times the median positive scale (std or q)."""
    m = np.abs(np.asarray(means, dtype=float))
    m = m[np.isfinite(m)]
    v = np.asarray(scales, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return bool(m.size and v.size and m.max() > factor * np.median(v))


def _symlog_threshold(scale_values: np.ndarray) -> float:
    """A linear zone for a symmetric-log mean axis: a power of ten a decade below the typical scale."""
    v = np.asarray(scale_values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(10.0 ** (np.floor(np.log10(np.median(v))) - 1)) if v.size else 1.0


# Fixed layout in inches: y tick labels (up to "−10¹⁰") and label left of each panel, the axes title
# and the suptitle above, x tick labels, x label and the legend below.
_LEFT, _GAP, _RIGHT, _TOP, _BELOW_AXES = 0.95, 1.0, 0.2, 0.62, 0.52
_PANEL_H = 2.7


def _finish(
    fig: Figure, owned: bool, title: str, styles: dict[int, ConfigStyle], div: dict, with_theory: bool,
    n_trials: int, top: float = _TOP, title_size: float = 13.0, panel_h: float = _PANEL_H,
) -> None:
    """Suptitle and legend; on a figure this module made, also the fixed margins (the legend's height
    decides the bottom one). ``title`` is the suptitle (``""``: the axes title is enough)."""
    handles = [
        Line2D([], [], color=s.color, marker=s.marker, markersize=6, linewidth=1.8, markeredgecolor="white")
        for s in styles.values()
    ]
    labels = [s.label + divergence_suffix(div, c) for c, s in styles.items()]
    if n_trials > 1 or with_theory:
        h, lab = theory_handles(with_theory)
        handles += h
        labels += lab
    legend_title = "config (init / activation)"
    if not owned:  # someone else's figure: leave its layout alone
        if title:
            fig.suptitle(title, fontsize=title_size, color=TEXT_COLOR)
        outside_legend(fig, handles, labels, title=legend_title)
        return
    legend_h = bottom_legend(fig, handles, labels, title=legend_title)
    fix_layout(fig, left=_LEFT, right=_RIGHT, top=top, bottom=_BELOW_AXES + legend_h, panel_h=panel_h,
               gap_w=_GAP, suptitle=title or None, suptitle_size=title_size)


def _two_panel(fig: Figure | None, width: float = 11.0) -> tuple[Figure, list[Axes], bool]:
    """Two panels side by side in ``fig``, or in a new fixed-layout figure (``owned``)."""
    owned = fig is None
    fig = fixed_figure(width, 4.8) if fig is None else fig
    axes = fig.subplots(1, 2, sharex=True)
    return fig, list(axes), owned


def moments_vs_layer(df: pd.DataFrame, stat: str = "std", kind: str = "act", fig: Figure | None = None) -> Figure:
    """Mean and standard deviation (or second moment) of every layer, one line per config.

    Parameters
    ----------
    df : DataFrame
        Tidy per-layer frame with ``config``, ``label``, ``trial``, ``layer`` and ``{kind}_mean``,
        ``{kind}_{stat}`` (plus ``diverged`` and ``theory_pre_{stat}`` when present).
    stat : {"std", "q"}
        Right panel: :math:`\\sqrt{\\mathrm{Var}[x]}` or :math:`q = \\mathbb{E}[x^2]`. Log scale when the
        values span more than two decades.
    kind : {"act", "pre"}
        Layer outputs :math:`h^\\ell` or pre-activations :math:`z^\\ell`. Theory lines exist for ``"pre"``.
    fig : Figure, optional
        An empty figure to draw into.
    """
    if stat not in ("std", "q"):
        raise ValueError(f"stat must be 'std' or 'q', got {stat!r}")
    if kind not in ("act", "pre"):
        raise ValueError(f"kind must be 'act' or 'pre', got {kind!r}")
    mean_col, stat_col = f"{kind}_mean", f"{kind}_{stat}"
    _check(df, (mean_col, stat_col))
    styles, div = frame_styles(df), divergence(df)
    fig, (ax_m, ax_s), owned = _two_panel(fig)
    sym = _SYMBOL[kind]
    theory_col = f"theory_pre_{stat}" if kind == "pre" else None
    log = wants_log(df[stat_col].to_numpy(dtype=float))
    drew = _series(ax_s, df, stat_col, styles, theory_col, log=log)
    _series(ax_m, df, mean_col, styles, points=drew)
    ax_m.axhline(0, color="#9A9A9A", linewidth=0.9, zorder=1)
    scale = df[stat_col].to_numpy(dtype=float)
    if stat == "q":
        with np.errstate(invalid="ignore"):
            scale = np.sqrt(scale)
    mean_log = log and _mean_dominated(df[mean_col].to_numpy(dtype=float), scale)
    if mean_log:  # one config's mean explodes: keep the small and the huge means both readable
        ax_m.set_yscale("symlog", linthresh=_symlog_threshold(scale))
        ax_m.yaxis.get_major_locator().set_params(numticks=9)  # every decade labelled was a wall of text
        plain_log_ticks(ax_m.yaxis)
        _fit_limits(ax_m)
    style_axes(ax_m, _LAYER, f"mean of ${sym}$" + ("  (symmetric log scale)" if mean_log else ""), "Mean")
    stat_label = f"std of ${sym}$" if stat == "std" else f"$q = \\mathbb{{E}}[({sym})^2]$"
    style_axes(ax_s, _LAYER, stat_label + ("  (log scale)" if log else ""),
               "Standard deviation" if stat == "std" else "Second moment")
    mark_divergence([ax_m, ax_s], div, styles)
    _finish(fig, owned, f"{_KIND_NAME[kind]} ${sym}$ across layers: mean and {_STAT_NAME[stat]}",
            styles, div, drew, int(df["trial"].nunique()))
    return fig


def grad_vs_layer(df: pd.DataFrame, fig: Figure | None = None) -> Figure:
    """Backpropagated gradient norms relative to the last layer, log scale, one line per config.

    Left: :math:`\\|\\partial L/\\partial z^\\ell\\| / \\|\\partial L/\\partial z^L\\|` (theory
    ``theory_grad_ratio`` as lines when present); right: the same ratio for the weight gradients
    :math:`\\|\\partial L/\\partial W^\\ell\\|`. Values far below 1 at early layers mean vanishing
    gradients, far above 1 exploding ones.
    """
    _check(df, ("grad_pre_ratio", "grad_w_ratio"))
    styles, div = frame_styles(df), divergence(df)
    fig, (ax_z, ax_w), owned = _two_panel(fig)
    log_z = wants_log(df["grad_pre_ratio"].to_numpy(dtype=float), decades=1.0)
    log_w = wants_log(df["grad_w_ratio"].to_numpy(dtype=float), decades=1.0)
    drew = _series(ax_z, df, "grad_pre_ratio", styles, "theory_grad_ratio", log=log_z)
    _series(ax_w, df, "grad_w_ratio", styles, log=log_w, points=drew)
    for ax in (ax_z, ax_w):
        ax.axhline(1.0, color="#9A9A9A", linewidth=0.9, linestyle="--", zorder=1)
    log_note = "  (log scale)"
    style_axes(ax_z, _LAYER, r"$\|\partial L/\partial z^\ell\| \,/\, \|\partial L/\partial z^L\|$"
               + (log_note if log_z else ""), "Pre-activation gradient")
    style_axes(ax_w, _LAYER, r"$\|\partial L/\partial W^\ell\| \,/\, \|\partial L/\partial W^L\|$"
               + (log_note if log_w else ""), "Weight gradient")
    mark_divergence([ax_z, ax_w], div, styles)
    _finish(fig, owned, "Gradient norm relative to the last layer (< 1: vanishing, > 1: exploding)",
            styles, div, drew, int(df["trial"].nunique()))
    return fig


def saturation_vs_layer(df: pd.DataFrame, fig: Figure | None = None) -> Figure:
    """Percentage of saturated entries (:math:`|\\phi'(z)| < 5\\%` of its maximum) and of dead units
    (zero for every sample of the batch) in every layer, one line per config."""
    _check(df, ("saturated", "dead"))
    styles, div = frame_styles(df), divergence(df)
    fig, (ax_s, ax_d), owned = _two_panel(fig)
    pct = df.copy()
    pct["saturated"] = pd.to_numeric(df["saturated"], errors="coerce") * 100.0
    pct["dead"] = pd.to_numeric(df["dead"], errors="coerce") * 100.0
    _series(ax_s, pct, "saturated", styles)
    _series(ax_d, pct, "dead", styles)
    for ax in (ax_s, ax_d):
        ax.set_ylim(-3, 103)
    style_axes(ax_s, _LAYER, "saturated entries (%)", "Saturated: |φ′(z)| < 0.05 max|φ′|")
    style_axes(ax_d, _LAYER, "dead units (%)", "Dead: zero for every input in the batch")
    mark_divergence([ax_s, ax_d], div, styles)
    _finish(fig, owned, "Saturated and dead units across layers", styles, div, False, int(df["trial"].nunique()))
    return fig


def correlation_vs_layer(df: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Mean correlation :math:`c^\\ell` between the pre-activations of pairs of inputs, per layer.

    :math:`c^\\ell \\to 1` means every input is mapped to the same direction (the ordered phase);
    :math:`c^\\ell` staying away from 1 means the inputs stay distinguishable. The correlation-map
    prediction ``theory_pre_corr`` is drawn as a line when present.

    Parameters
    ----------
    ax : Axes, optional
        Draw into this axes (its figure gets the legend); otherwise a new figure is made.
    """
    _check(df, ("pre_corr",))
    styles, div = frame_styles(df), divergence(df)
    owned = ax is None
    if ax is None:
        fig = fixed_figure(8.5, 4.5)
        ax = fig.subplots()
    else:
        fig = ax.figure
    drew = _series(ax, df, "pre_corr", styles, "theory_pre_corr")
    ax.axhline(1.0, color="#9A9A9A", linewidth=0.9, linestyle="--", zorder=1)
    lo = np.nanmin(np.append(pd.to_numeric(df["pre_corr"], errors="coerce").to_numpy(dtype=float), 0.0))
    ax.set_ylim(max(-1.05, min(lo, 0.0) - 0.05), 1.05)
    style_axes(ax, _LAYER, "mean correlation $c^\\ell$ between input pairs")
    mark_divergence([ax], div, styles)
    ax.set_title("Correlation between inputs across layers (c → 1: inputs become indistinguishable)",
                 fontsize=12, color=TEXT_COLOR, y=1.0)
    _finish(fig, owned, "", styles, div, drew, int(df["trial"].nunique()), top=0.45, panel_h=2.9)
    return fig
