"""Figures of a simulation: data in, :class:`matplotlib.figure.Figure` out.

Every function takes the tidy per-layer frame (:data:`initlab.schema.LAYER_COLUMNS`), a
:class:`~initlab.schema.Histograms` or a result, builds its own Agg-safe ``Figure`` (no pyplot) and
touches no global style. Config ``i`` has the same colour and marker in every figure
(:func:`~initlab.plots.common.config_styles`). Save a figure with ``fig.savefig("x.png", dpi=120)``.

=========================  =============================================================
:func:`histogram_grid`     per-layer histograms, configs × layers (the classic figure)
:func:`moments_vs_layer`   mean and std (or q) per layer, theory overlaid for ``kind="pre"``
:func:`grad_vs_layer`      gradient norm relative to the last layer (log scale)
:func:`saturation_vs_layer` saturated and dead fractions per layer
:func:`correlation_vs_layer` correlation between input pairs per layer
:func:`activation_gallery` φ and φ' of each activation, saturated region shaded
:func:`figures_for`        the standard set for a result, in report order (:func:`figure_plan`)
=========================  =============================================================
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd
from matplotlib.figure import Figure

from .common import PALETTE, config_styles
from .gallery import activation_gallery
from .hist import histogram_grid, pick_layers
from .layers import correlation_vs_layer, grad_vs_layer, moments_vs_layer, saturation_vs_layer

__all__ = [
    "histogram_grid",
    "moments_vs_layer",
    "grad_vs_layer",
    "saturation_vs_layer",
    "correlation_vs_layer",
    "activation_gallery",
    "figures_for",
    "figure_plan",
    "config_styles",
    "pick_layers",
    "PALETTE",
]


def figure_plan(result: Any) -> list[tuple[str, str, Callable[[], Figure]]]:
    """The standard figures of a result as ``(name, caption, build)`` triples, in report order.

    Nothing is drawn until ``build()`` is called, so a report can make one figure at a time.
    Names (also the PNG file stems): ``histograms_act``, ``histograms_pre`` (when the result has
    histograms), ``moments_act``, ``moments_pre`` (with the mean-field std when the frame has it),
    ``gradients``, ``saturation``, ``correlation``, ``activations`` (the activations used).
    """
    df: pd.DataFrame = result.layers
    hist = getattr(result, "histograms", None)
    acts = list(dict.fromkeys(str(a) for a in df.sort_values("config", kind="stable")["act"]))
    plan: list[tuple[str, str, Callable[[], Figure]]] = []
    if hist is not None:
        plan += [
            ("histograms_act", "layer-output histograms", lambda: histogram_grid(hist, kind="act", df=df)),
            ("histograms_pre", "pre-activation histograms", lambda: histogram_grid(hist, kind="pre", df=df)),
        ]
    plan += [
        ("moments_act", "layer-output mean and std", lambda: moments_vs_layer(df, stat="std", kind="act")),
        ("moments_pre", "pre-activation mean and std", lambda: moments_vs_layer(df, stat="std", kind="pre")),
        ("gradients", "gradient norms", lambda: grad_vs_layer(df)),
        ("saturation", "saturated and dead units", lambda: saturation_vs_layer(df)),
        ("correlation", "input correlation", lambda: correlation_vs_layer(df)),
        ("activations", "activation functions", lambda: activation_gallery(acts)),
    ]
    return plan


def figures_for(result: Any) -> dict[str, Figure]:
    """The standard figures of a simulation result, in report order.

    Parameters
    ----------
    result : SimResult
        Anything with ``.layers`` (the tidy frame) and, optionally, ``.histograms``.

    Returns
    -------
    dict of str to Figure
        Keyed by the names of :func:`figure_plan`.
    """
    return {name: build() for name, _caption, build in figure_plan(result)}
