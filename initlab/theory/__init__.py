"""Mean-field theory of signal propagation at initialization: plain numbers and activations in.

=====================================  ==========================================================
:mod:`~initlab.theory.quadrature`       Gauss rules split at an activation's kinks
:mod:`~initlab.theory.gaussian`         Gaussian kernels E[φ(u)φ(v)] and E[φ'(u)φ'(v)]
:mod:`~initlab.theory.fixedpoints`      the q-map fixed point iteration from q0 reaches, and all of them
:mod:`~initlab.theory.meanfield`        q/c maps, fixed points, χ₁, depth scales (one q0: the input's)
:mod:`~initlab.theory.correlations`     the c-map's fixed point c* and its slope χ_c
:mod:`~initlab.theory.critical`         the critical line χ₁ = 1 (crossings, jumps, the q* = 0 point)
:mod:`~initlab.theory.propagation`      layer-by-layer prediction of a stack
:mod:`~initlab.theory.phase`            phase diagrams over σ_w² × σ_b²
:mod:`~initlab.theory.recommend`        the critical gain of an activation
:mod:`~initlab.theory.relu_law`         the exact law of a ReLU network's norms at any widths (Hanin & Nica)
:mod:`~initlab.theory.finite_width`     the leading 1/n corrections for any activation (Roberts, Yaida & Hanin)
=====================================  ==========================================================
"""

from .._lazy import lazy_attributes

_MODULES = {
    ".meanfield": ("Q_MAX", "Q_MIN", "CRITICAL_TOL", "PHASES", "q_map", "c_map", "q_star", "c_star", "chi1", "chi_c",
                   "xi_q", "xi_c", "FixedPoint", "fixed_point", "fixed_points", "solve", "first_layer_q"),
    ".fixedpoints": ("FixedPointBranch",),
    ".critical": ("CriticalPoint", "critical_point", "critical_sigma_w2"),
    ".phase": ("PhaseGrid", "phase_grid", "default_sigma_w2_max"),
    ".propagation": ("Propagation", "propagate"),
    ".recommend": ("Recommendation", "recommend", "recommend_all"),
    ".relu_law": ("ReLULaw", "relu_law"),
    ".finite_width": ("FiniteWidth", "finite_width", "batch_fluctuations"),
}
__all__ = [name for names in _MODULES.values() for name in names]

__getattr__, __dir__ = lazy_attributes(
    __name__, {name: mod for mod, names in _MODULES.items() for name in names}, (), globals())
