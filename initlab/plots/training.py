"""Figures for the labs: learning curves across seeds, sample predictions, mistake analysis, tables.

Every function takes data (a tidy DataFrame or arrays) and returns a :class:`matplotlib.figure.Figure`
built with the object API, in the simulation figures' style (:data:`~initlab.plots.common.PALETTE`,
:func:`~initlab.plots.common.style_axes`); nothing touches global style or pyplot state.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .common import PALETTE, style_axes
from .table import table_figure

__all__ = [
    "curve_summary",
    "learning_curves",
    "sample_predictions",
    "mistake_table_figure",
    "wrong_histogram",
    "confusion_matrix_figure",
    "misclassified_grid",
    "regression_scatter",
    "table_figure",
    "init_profile",
]

_META = {"epoch", "seed", "trial", "lr", "group", "variant", "init"}


def _as_image(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 1:
        side = int(round(np.sqrt(x.size)))
        if side * side == x.size:
            return x.reshape(side, side)
        return x.reshape(1, -1)
    return x


def _names(class_names: Sequence[str] | None, n: int) -> list[str]:
    return [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(n)]


def curve_summary(history: pd.DataFrame, column: str, group: str | None = "init", spread: str = "std") -> pd.DataFrame:
    """Mean and spread of ``column`` per ``group`` and epoch, over seeds.

    Returns columns ``group``, ``epoch``, ``mean``, ``lo``, ``hi``, ``n``: with ``spread="std"``,
    ``lo, hi = mean ∓ std`` (sample std, 0 for one seed); with ``spread="range"``, the min and max; with
    ``spread="geometric"`` (for a log axis, positive values), the geometric mean
    :math:`g = \\exp\\overline{\\ln x}` and :math:`g \\cdot e^{\\mp s}`, :math:`s` the sample std of
    :math:`\\ln x`: a band that never reaches zero, as wide above the line as below it on the log axis.
    """
    h = history.copy()
    if group is None or group not in h.columns:
        h["group"] = ""
        group = "group"
    if spread == "geometric":
        h = h[h[column] > 0].copy()
        h[column] = np.log(h[column].to_numpy(dtype=np.float64))
        s = curve_summary(h, column, group, "std")
        return s.assign(mean=np.exp(s["mean"]), lo=np.exp(s["lo"]), hi=np.exp(s["hi"]))
    g = h.groupby([group, "epoch"], sort=False)[column]
    out = g.agg(["mean", "std", "min", "max", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    if spread == "range":
        lo, hi = out["min"], out["max"]
    elif spread == "std":
        lo, hi = out["mean"] - out["std"], out["mean"] + out["std"]
    else:
        raise ValueError(f"spread must be 'std', 'range' or 'geometric', got '{spread}'")
    return pd.DataFrame({"group": out[group].astype(str), "epoch": out["epoch"], "mean": out["mean"],
                         "lo": lo, "hi": hi, "n": out["count"]})


def _spans_decades(history: pd.DataFrame, m: str, decades: float = 2.0) -> bool:
    """Whether the positive values of ``m`` and ``val_m`` span more than ``decades`` orders of magnitude."""
    cols = [c for c in (m, f"val_{m}") if c in history.columns]
    v = history[cols].to_numpy(dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    return bool(v.size and (v > 0).all() and np.log10(v.max() / v.min()) > decades)


def learning_curves(history: pd.DataFrame, metrics: Sequence[str] | None = None, *, group: str | None = "init",
                         spread: str = "std", title: str = "", logy: Sequence[str] = ()) -> Figure:
    """Learning curves, one panel per metric: mean over seeds (line) ± spread (band) per ``group``;
    training solid, validation (``val_`` columns) dashed.

    Parameters
    ----------
    history : DataFrame
        Long frame: ``epoch``, metric columns (``loss``, ``val_loss``, ``accuracy``...), optionally
        ``seed`` and the ``group`` column (e.g. ``init``).
    metrics : list of str, optional
        Base metric names; default every non-``val_`` numeric column.
    """
    cols = [c for c in history.columns if c not in _META and c != group and not c.startswith("val_")
            and pd.api.types.is_numeric_dtype(history[c])
            and not (c == "learning_rate" and history[c].nunique() <= 1)]
    metrics = list(metrics) if metrics is not None else cols
    metrics = [m for m in metrics if m in history.columns or f"val_{m}" in history.columns] or cols[:1]
    fig = Figure(figsize=(5.0 * max(len(metrics), 1), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(len(metrics), 1)))
    groups = list(dict.fromkeys(history[group].astype(str))) if group and group in history.columns else [""]
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(groups))]
    logged = False
    for ax, m in zip(axes, metrics):
        log = m in logy or m == "learning_rate" or _spans_decades(history, m)
        logged |= log and spread == "std"
        for style, col in (("-", m), ("--", f"val_{m}")):
            if col not in history.columns or history[col].isna().all():
                continue
            s = curve_summary(history, col, group, "geometric" if log and spread == "std" else spread)
            for gname, color in zip(groups, colors):
                part = s[s["group"] == gname]
                if part.empty:
                    continue
                kind = "val" if col.startswith("val_") else "train"
                lab = f"{gname} {kind}".strip()
                ax.plot(part["epoch"], part["mean"], style, color=color, label=lab, lw=1.5)
                if (part["hi"] > part["lo"]).any():
                    ax.fill_between(part["epoch"], part["lo"], part["hi"], color=color, alpha=0.18, lw=0)
        style_axes(ax, xlabel="epoch", ylabel=m)
        if log:
            ax.set_yscale("log")
    handles, labels = axes[0].get_legend_handles_labels() if len(axes) else ([], [])
    if handles:  # below the panels, off the data
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), fontsize=7, frameon=False)
    band = "± 1 std" if spread == "std" else "min–max"
    if logged:
        band += " (log axes: geometric mean, × or ÷ the geometric std)"
    seeds = history.groupby([group, "epoch"] if group and group in history.columns else ["epoch"]).size().max() \
        if len(history) else 1
    what = f"mean over {seeds} seeds, band {band}" if seeds > 1 else "one seed"
    fig.suptitle(f"{title}{' — ' if title else ''}{what}", fontsize=10)
    return fig


def sample_predictions(images: np.ndarray, y_true: np.ndarray, proba: np.ndarray, *,
                            class_names: Sequence[str] | None = None, n: int = 10, cols: int = 5,
                            title: str = "") -> Figure:
    """A grid of ``n`` samples: each image with its label and prediction, and beneath it a bar chart of
    the predicted probability per class (true class green, a wrong prediction red)."""
    proba = np.asarray(proba)
    n = min(n, len(images))
    k = proba.shape[1]
    names = _names(class_names, k)
    rows = int(np.ceil(n / cols)) if n else 1
    fig = Figure(figsize=(2.1 * cols, 3.4 * rows + 0.4))
    grid = fig.add_gridspec(2 * rows, cols, height_ratios=[2, 1] * rows, left=0.04, right=0.98, bottom=0.05,
                            top=1 - 0.5 / (3.4 * rows + 0.4), hspace=0.45, wspace=0.3)
    for i in range(n):
        r, c = divmod(i, cols)
        ax_img = fig.add_subplot(grid[2 * r, c])
        ax_bar = fig.add_subplot(grid[2 * r + 1, c])
        pred = int(np.argmax(proba[i]))
        ok = pred == int(y_true[i])
        ax_img.imshow(_as_image(images[i]), cmap="gray_r", interpolation="nearest")
        ax_img.set_xticks([])
        ax_img.set_yticks([])
        ax_img.set_title(f"{names[pred]} {100 * proba[i, pred]:.0f}% ({names[int(y_true[i])]})", fontsize=8,
                         color=PALETTE[0] if ok else PALETTE[1])
        colors = ["lightgray"] * k
        colors[pred] = PALETTE[1]
        colors[int(y_true[i])] = PALETTE[2]
        ax_bar.bar(np.arange(k), proba[i], color=colors)
        ax_bar.set_ylim(0, 1)
        ax_bar.set_xticks(np.arange(k))
        ax_bar.set_xticklabels(names, fontsize=6)
        ax_bar.tick_params(axis="y", labelsize=6)
    fig.suptitle(title or "sample predictions: predicted (true), probability per class", fontsize=10)
    return fig


def mistake_table_figure(pairs: pd.DataFrame, *, class_names: Sequence[str] | None = None, max_rows: int = 25) -> Figure:
    """The notes' table of wrong answers as ``(label, predicted, count)``, most frequent first."""
    df = pairs.copy()
    if class_names is not None and not df.empty:
        names = list(class_names)
        df["label"] = [names[int(i)] for i in df["label"]]
        df["predicted"] = [names[int(i)] for i in df["predicted"]]
    total = int(pairs["count"].sum()) if "count" in pairs else len(pairs)
    return table_figure(df, f"wrong answers: (label, predicted), {total} in all", max_rows=max_rows)


def wrong_histogram(counts: np.ndarray, *, class_names: Sequence[str] | None = None) -> Figure:
    """Histogram of the classes the model predicted when it was wrong."""
    counts = np.asarray(counts)
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.bar(np.arange(len(counts)), counts, color=PALETTE[1])
    ax.set_xticks(np.arange(len(counts)))
    ax.set_xticklabels(_names(class_names, len(counts)))
    ax.set_xlabel("predicted class (wrong answers only)")
    ax.set_ylabel("count")
    ax.set_title(f"wrong predictions by predicted class ({int(counts.sum())} in all)", fontsize=10)
    return fig


def confusion_matrix_figure(cm: np.ndarray, *, class_names: Sequence[str] | None = None) -> Figure:
    """Confusion matrix (rows: label, columns: prediction) with counts written in the cells."""
    cm = np.asarray(cm)
    k = cm.shape[0]
    names = _names(class_names, k)
    fig = Figure(figsize=(1.0 + 0.5 * k + 1.5, 0.5 * k + 1.6), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, shrink=0.8)
    top = cm.max() if cm.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > 0.6 * top else "black")
    ax.set_xticks(np.arange(k))
    ax.set_yticks(np.arange(k))
    ax.set_xticklabels(names, fontsize=7)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("label")
    acc = np.trace(cm) / cm.sum() if cm.sum() else float("nan")
    ax.set_title(f"confusion matrix (accuracy {acc:.4f})", fontsize=10)
    return fig


def misclassified_grid(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, label: int, *,
                       class_names: Sequence[str] | None = None, n: int = 16, cols: int = 8) -> Figure:
    """A grid of examples of class ``label`` that the model got wrong, each titled with its prediction."""
    idx = np.flatnonzero((np.asarray(y_true) == label) & (np.asarray(y_pred) != label))[:n]
    names = _names(class_names, int(max(np.max(y_true, initial=0), np.max(y_pred, initial=0), label)) + 1)
    rows = max(1, int(np.ceil(len(idx) / cols)))
    fig = Figure(figsize=(1.3 * cols, 1.5 * rows + 0.5))
    axes = np.atleast_1d(fig.subplots(rows, cols, gridspec_kw=dict(left=0.02, right=0.98, bottom=0.02,
                                                                    top=1 - 0.55 / (1.5 * rows + 0.5),
                                                                    hspace=0.35, wspace=0.1))).reshape(-1)
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, idx):
        ax.imshow(_as_image(images[i]), cmap="gray_r", interpolation="nearest")
        ax.set_title(f"as {names[int(y_pred[i])]}", fontsize=8, color=PALETTE[1])
    fig.suptitle(f"misclassified examples of class {names[label]} ({len(idx)} shown)", fontsize=10)
    return fig


def regression_scatter(y_true: np.ndarray, y_pred: np.ndarray, *, title: str = "") -> Figure:
    """Predicted against true values with the identity line (regression labs)."""
    y_true, y_pred = np.ravel(y_true), np.ravel(y_pred)
    fig = Figure(figsize=(4.5, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.scatter(y_true, y_pred, s=10, alpha=0.7)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    mae = float(np.mean(np.abs(y_true - y_pred)))
    ax.set_title(f"{title}{' — ' if title else ''}MAE {mae:.3f}", fontsize=10)
    return fig


def init_profile(layers: pd.DataFrame, *, group: str = "init") -> Figure:
    """Per-layer activation std and gradient-norm ratio at init (from the simulation engine), one line per
    ``group`` value (mean over trials)."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    key = group if group in layers.columns else "label"
    for i, (g, part) in enumerate(layers.groupby(key, sort=False)):
        m = part.groupby("layer")[["act_std", "grad_pre_ratio"]].mean()
        ax1.plot(m.index, m["act_std"], "o-", color=PALETTE[i % len(PALETTE)], label=str(g), ms=3)
        ax2.plot(m.index, m["grad_pre_ratio"], "o-", color=PALETTE[i % len(PALETTE)], label=str(g), ms=3)
    ax1.set_yscale("log")
    ax2.set_yscale("log")
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_xlabel("layer")
    ax2.set_xlabel("layer")
    ax1.set_ylabel("std of layer output at init")
    ax2.set_ylabel("‖∂L/∂z‖ relative to last layer")
    for ax in (ax1, ax2):
        style_axes(ax)
        ax.legend(fontsize=7)
    fig.suptitle("at initialization (simulation engine)", fontsize=10)
    return fig
