"""Figures of the study labs that show the notes' remaining lessons (:mod:`initlab.labs.lessons`,
:mod:`initlab.labs.lessons_training`): a tidy frame in, a :class:`matplotlib.figure.Figure` out, in the style
of the simulation's figures (:mod:`initlab.plots.common`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .common import PALETTE, TEXT_COLOR, new_figure, style_axes

__all__ = ["output_gradient_figure", "same_sign_figure", "zigzag_figure", "line_panels", "histogram_panels"]


def output_gradient_figure(table: pd.DataFrame) -> Figure:
    """``|∂L/∂z|`` at the output against the predicted probability of the right class, cross-entropy
    against MSE, after a sigmoid and after a softmax."""
    fig = new_figure(11.0, 4.0)
    axes = fig.subplots(1, 2)
    for ax, head in zip(axes, ("sigmoid", "softmax")):
        for i, loss in enumerate(("ce", "mse")):
            ax.plot(table["p"], table[f"{head}_{loss}"], color=PALETTE[i], lw=1.8,
                    label="cross-entropy" if loss == "ce" else "MSE")
        style_axes(ax, xlabel="predicted probability of the right class", ylabel="|∂L/∂z| at the output",
                   title=f"{head} output")
        ax.xaxis.set_major_locator(MaxNLocator(6))
        ax.legend(fontsize=8)
    fig.suptitle("far from the answer (p → 0) MSE's gradient vanishes, cross-entropy's does not", fontsize=12,
                 color=TEXT_COLOR)
    return fig


def same_sign_figure(table: pd.DataFrame) -> Figure:
    """Per layer, the fraction of units whose weight gradient has entries of one sign, per activation."""
    fig = new_figure(11.0, 3.8)
    axes = fig.subplots(1, 2)
    acts = list(dict.fromkeys(table["act"]))
    for ax, col in zip(axes, ("per_sample", "per_batch")):
        w = 0.8 / max(len(acts), 1)
        for i, a in enumerate(acts):
            part = table[table["act"] == a]
            ax.bar(part["layer"] + (i - (len(acts) - 1) / 2) * w, part[col], width=w, color=PALETTE[i], label=a)
        style_axes(ax, xlabel="layer", ylabel="fraction of units", title=f"one sign, {col.replace('_', ' ')}")
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8)
    fig.suptitle("weight gradients whose entries all share one sign (inputs of a layer after sigmoid are all > 0)",
                 fontsize=12, color=TEXT_COLOR)
    return fig


def zigzag_figure(path: pd.DataFrame, w_star: np.ndarray) -> Figure:
    """The toy's paths in the (w1, w2) plane, positive against centred inputs, and the distance to w*."""
    fig = new_figure(11.0, 4.4)
    ax, ax2 = fig.subplots(1, 2)
    for i, (kind, part) in enumerate(path.groupby("kind", sort=False)):
        ax.plot(part["w1"], part["w2"], "-o", ms=2.5, lw=1.1, color=PALETTE[i], label=f"{kind} inputs")
        ax2.semilogy(part["step"], part["distance"], color=PALETTE[i], lw=1.6, label=f"{kind} inputs")
    ax.plot([0], [0], "ks", ms=5)
    ax.plot([w_star[0]], [w_star[1]], "k*", ms=12, label="w*")
    style_axes(ax, xlabel="w1", ylabel="w2", title="per-sample gradient descent from 0")
    style_axes(ax2, xlabel="step", ylabel="‖w − w*‖", title="distance to the optimum")
    ax.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.suptitle("all-positive inputs move both weights the same way at every step: a zig-zag", fontsize=12,
                 color=TEXT_COLOR)
    return fig


def line_panels(frame: pd.DataFrame, x: str, ys: list[tuple[str, str]], group: str, *, title: str,
               logx: bool = False, logy: tuple[str, ...] = ()) -> Figure:
    """One panel per ``(column, label)`` of ``ys``: ``column`` against ``x``, one line per ``group``."""
    fig = new_figure(5.2 * len(ys), 3.9)
    axes = np.atleast_1d(fig.subplots(1, len(ys)))
    groups = list(dict.fromkeys(frame[group]))
    for ax, (col, label) in zip(axes, ys):
        for i, g in enumerate(groups):
            part = frame[frame[group] == g]
            ax.plot(part[x], part[col], "-o", ms=3, lw=1.5, color=PALETTE[i % len(PALETTE)], label=str(g))
        style_axes(ax, xlabel=x.replace("_", " "), ylabel=label)
        if logx:
            ax.set_xscale("log")
        if col in logy:
            ax.set_yscale("log")
    axes[0].legend(fontsize=8, title=group.replace("_", " "), title_fontsize=8)
    fig.suptitle(title, fontsize=12, color=TEXT_COLOR)
    return fig


def histogram_panels(frame: pd.DataFrame, panel: str, group: str, *, title: str, xlabel: str) -> Figure:
    """Step histograms (columns ``lo``, ``hi``, ``fraction``) one panel per ``panel`` value, one line per ``group``."""
    panels = list(dict.fromkeys(frame[panel]))
    fig = new_figure(5.2 * len(panels), 3.9)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, p in zip(axes, panels):
        part = frame[frame[panel] == p]
        for i, g in enumerate(dict.fromkeys(part[group])):
            h = part[part[group] == g].sort_values("lo")
            edges = np.append(h["lo"].to_numpy(), h["hi"].to_numpy()[-1])
            ax.stairs(h["fraction"].to_numpy(), edges, color=PALETTE[i % len(PALETTE)], lw=1.4, label=str(g))
        style_axes(ax, xlabel=xlabel, ylabel="fraction", title=str(p))
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=12, color=TEXT_COLOR)
    return fig
