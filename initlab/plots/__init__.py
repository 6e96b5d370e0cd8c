"""Figures: a frame (or a result) in, a :class:`matplotlib.figure.Figure` out, no global style.

=============================  ==========================================================
:mod:`~initlab.plots.common`   palette, config styles, fixed layouts, tick helpers
:mod:`~initlab.plots.hist`     per-layer histograms (the classic figure)
:mod:`~initlab.plots.layers`   moments, gradients, saturation and correlation per layer
:mod:`~initlab.plots.gallery`  φ and φ' of each activation
:mod:`~initlab.plots.phase`    phase diagrams of the theory
:mod:`~initlab.plots.training` learning curves and the labs' figures
:mod:`~initlab.plots.plan`     the standard set of a simulation, in report order
=============================  ==========================================================
"""

from .common import PALETTE, config_styles
from .gallery import activation_gallery
from .hist import histogram_grid, pick_layers
from .layers import correlation_vs_layer, grad_vs_layer, moments_vs_layer, saturation_vs_layer
from .phase import phase_diagram
from .plan import figure_plan, figures_for

__all__ = [
    "histogram_grid", "moments_vs_layer", "grad_vs_layer", "saturation_vs_layer", "correlation_vs_layer",
    "activation_gallery", "phase_diagram", "figures_for", "figure_plan", "config_styles", "pick_layers",
    "PALETTE",
]
