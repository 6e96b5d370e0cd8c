"""What weight variance to use for an activation: the second-moment gain, the critical σ_w², PyTorch's gain.

For an activation :math:`\\phi`:

- the *second-moment gain* :math:`g = 1/\\sqrt{\\mathbb{E}[\\phi(z)^2]}`, :math:`z \\sim N(0,1)`: with
  :math:`\\sigma_w^2 = g^2` (and no bias) a layer maps a unit second moment to a unit second moment,
  :math:`q = 1 \\mapsto \\sigma_w^2\\,\\mathbb{E}[\\phi(z)^2] = 1` (ReLU :math:`\\sqrt2`, SELU 1, linear 1);
- the *critical* :math:`\\sigma_w^2` at a given :math:`\\sigma_b^2`, where :math:`\\chi_1 = 1` (edge of chaos,
  :func:`initlab.theory.critical_point`);
- PyTorch's ``calculate_gain`` where PyTorch has a value (:func:`initlab.initializers.torch_gain`).

Which one the spec carries
    ``spec`` is ``variance_scaling:scale=g²,mode=fan_in`` — the second-moment gain — and ``critical_spec``
    the same with the critical σ_w². The gain is defined for every activation and means what
    ``calculate_gain`` means (the initializer's :math:`\\sigma_w^2 = \\text{gain}^2`; ReLU's √2 is He), while the
    critical point is often degenerate at :math:`\\sigma_b^2 = 0`: there :math:`q^* = 0` for tanh, erf, ELU and
    SELU (the signal shrinks until the network is effectively linear; SELU's critical σ_w² is 0.477, not its
    self-normalising 1) and GELU, SiLU and Mish have none from a unit input (:math:`\\chi_1` jumps across 1
    where :math:`q^*` switches from 0 to ∞, which happens exactly at :math:`\\sigma_w^2 = g^2`: for these
    activations :math:`q = 1` is an *unstable* fixed point at the gain). Both are printed, with the phase and
    :math:`\\chi_1` the gain leads to, so the choice is visible.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from ..activations import ACTIVATIONS, Activation, get_activation
from .gaussian import gaussian_kernel
from ..initializers import torch_gain
from .critical import critical_point
from .meanfield import fixed_point

__all__ = ["Recommendation", "recommend", "recommend_all", "RECOMMEND_COLUMNS", "scale_spec"]

RECOMMEND_COLUMNS = ("act", "sigma_b2", "gain", "spec", "torch_gain", "chi1_at_gain", "phase_at_gain",
                     "critical_sigma_w2", "critical_q_star", "critical_spec", "note")


def scale_spec(sigma_w2: float) -> str:
    """``variance_scaling:scale=<σ_w²>,mode=fan_in`` (6 significant digits), or '' for NaN."""
    if not math.isfinite(sigma_w2):
        return ""
    return f"variance_scaling:scale={sigma_w2:.6g},mode=fan_in"


@dataclass(frozen=True)
class Recommendation:
    """The recommendation for one activation; see the module docstring.

    Attributes
    ----------
    act : str
    sigma_b2 : float
    gain : float
        :math:`1/\\sqrt{\\mathbb{E}[\\phi(z)^2]}`.
    spec : str
        ``variance_scaling:scale=gain²,mode=fan_in``.
    torch_gain : float or None
        PyTorch's ``calculate_gain`` (None where PyTorch raises).
    chi1_at_gain, phase_at_gain : float, str
        :math:`\\chi_1` and the phase at :math:`(\\sigma_w^2, \\sigma_b^2) = (g^2, \\sigma_b^2)`, from :math:`q^0 = 1`.
    critical_sigma_w2, critical_q_star : float
        The :math:`\\chi_1 = 1` point at ``sigma_b2`` (NaN if none) and its :math:`q^*`.
    critical_spec : str
        ``variance_scaling:scale=<critical σ_w²>,mode=fan_in`` ('' if none).
    note : str
        Why there is no critical point, if there is none.
    """

    act: str
    sigma_b2: float
    gain: float
    spec: str
    torch_gain: float | None
    chi1_at_gain: float
    phase_at_gain: str
    critical_sigma_w2: float
    critical_q_star: float
    critical_spec: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def recommend(act: Activation | str, sigma_b2: float = 0.0) -> Recommendation:
    """Second-moment gain, critical σ_w² and PyTorch's gain for one activation (see the module docstring)."""
    sigma_b2 = float(sigma_b2)
    if not math.isfinite(sigma_b2) or sigma_b2 < 0:
        raise ValueError(f"sigma_b2 must be a finite number >= 0, got {sigma_b2}")
    return _recommend(get_activation(act), sigma_b2)


@functools.lru_cache(maxsize=256)
def _recommend(a: Activation, sigma_b2: float) -> Recommendation:
    m2 = float(gaussian_kernel(a).m2(1.0))
    gain = 1.0 / math.sqrt(m2) if m2 > 0 else math.inf
    at_gain = fixed_point(a, gain * gain, sigma_b2)
    crit = critical_point(a, sigma_b2)
    return Recommendation(a.spec, sigma_b2, gain, scale_spec(gain * gain), torch_gain(a), at_gain.chi1, at_gain.phase,
                          crit.sigma_w2, crit.q_star, scale_spec(crit.sigma_w2), crit.reason)


def recommend_all(sigma_b2: float = 0.0):
    """:func:`recommend` for every registered activation (default parameters): a pandas DataFrame with
    :data:`RECOMMEND_COLUMNS`, one row per activation in registry order."""
    import pandas as pd

    rows = [recommend(name, sigma_b2).to_dict() for name in ACTIVATIONS.names()]
    return pd.DataFrame(rows, columns=list(RECOMMEND_COLUMNS))
