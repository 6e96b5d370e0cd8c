"""Finite-depth mean-field predictions, layer by layer (the simulation adapter is :mod:`initlab.sim.predict`).

For a stack of ``depth`` layers (engine notation, :mod:`initlab.sim.engine`)

.. math::

    z^l = h^{l-1} W^l + b^l, \\qquad a^l = \\phi(z^l) \\odot m^l / (1 - p), \\qquad
    h^l = a^l \\;\\text{or}\\; h^{l-1} + a^l \\;\\text{(residual layers)},

with :math:`\\mathrm{Var}[W^l_{ij}] = \\sigma_{w,l}^2 / n_{l-1}`, :math:`\\mathrm{Var}[b^l_i] = \\sigma_{b,l}^2` and
inverted dropout of rate :math:`p`, the mean-field recursion for two inputs :math:`a, b` tracks the layer
output's second moment :math:`Q^l = \\mathbb{E}[(h^l_i)^2]`, cross moment :math:`C^l = \\mathbb{E}[h^l_{a,i} h^l_{b,i}]`
and mean :math:`\\mu^l = \\mathbb{E}[h^l_i]` (averages over units):

.. math::

    q^l &= \\sigma_{w,l}^2 Q^{l-1} + \\sigma_{b,l}^2, \\qquad c^l = \\frac{\\sigma_{w,l}^2 C^{l-1} + \\sigma_{b,l}^2}{q^l}, \\\\
    Q^l &= \\frac{\\mathbb{E}[\\phi(\\sqrt{q^l} z)^2]}{1 - p} + [\\text{res}_l]\\,\\bigl(Q^{l-1} + 2\\mu^{l-1} m_1^l\\bigr), \\qquad
    C^l = \\mathbb{E}[\\phi(u_a)\\phi(u_b)] + [\\text{res}_l]\\,\\bigl(C^{l-1} + 2\\mu^{l-1} m_1^l\\bigr), \\\\
    \\mu^l &= m_1^l + [\\text{res}_l]\\,\\mu^{l-1}, \\qquad m_1^l = \\mathbb{E}[\\phi(\\sqrt{q^l} z)],

starting from the input's :math:`Q^0 = q^0` (its mean squared entry), :math:`C^0 = c^0 q^0` and :math:`\\mu^0`
(its mean entry). Dropout scales second moments by :math:`1/(1-p)` but not cross moments or means (the masks
are independent of everything else). In a residual layer the branch :math:`\\phi(z^l_i)` is independent of the
skip :math:`h^{l-1}_i` at large width (it depends on :math:`h^{l-1}` only through a whole column of weights), so
their product averages to :math:`\\mu^{l-1} m_1^l`: zero for odd activations, not for ReLU.

Backward, with :math:`g^l = \\partial L/\\partial h^l` and :math:`\\delta^l = \\partial L/\\partial z^l`
(gradient independence assumption), squared norms obey

.. math::

    \\|\\delta^l\\|^2 = \\frac{\\mathbb{E}[\\phi'(\\sqrt{q^l} z)^2]}{1 - p} \\|g^l\\|^2, \\qquad
    \\|g^{l-1}\\|^2 = [\\text{res}_l]\\,\\|g^l\\|^2 + \\sigma_{w,l}^2 \\|\\delta^l\\|^2,

(for a plain stack :math:`\\|\\delta^{l}\\|^2 / \\|\\delta^{l+1}\\|^2 = \\chi^{(l)} = \\sigma_{w,l+1}^2\\,\\mathbb{E}[\\phi'(\\sqrt{q^l}z)^2]/(1-p)`,
the product of the :math:`\\chi`'s along the actual :math:`q^l` trajectory), and the predicted
``theory_grad_ratio`` is :math:`\\|\\delta^l\\| / \\|\\delta^L\\|`, the engine's ``grad_pre_ratio``.

Outside the theory (no prediction, NaN): batch normalisation, data-dependent initializers (LSUV), weights or
biases with a non-zero mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..activations import Activation, get_activation
from .gaussian import DEFAULT_DEGREE, DEFAULT_DEGREE_2D, gaussian_kernel

__all__ = ["Propagation", "propagate"]


@dataclass(frozen=True)
class Propagation:
    """Predicted per-layer quantities for layers ``1 … depth`` (arrays of shape (depth,)).

    Attributes
    ----------
    q : pre-activation second moment :math:`q^l`
    c : pre-activation correlation of two inputs :math:`c^l`
    h_q : layer-output second moment :math:`Q^l`
    chi : per-layer gradient factor :math:`\\sigma_{w,l}^2\\,\\mathbb{E}[\\phi'(\\sqrt{q^l} z)^2]/(1-p)`
    grad_ratio : :math:`\\|\\partial L/\\partial z^l\\| / \\|\\partial L/\\partial z^L\\|`
    """

    q: np.ndarray
    c: np.ndarray
    h_q: np.ndarray
    chi: np.ndarray
    grad_ratio: np.ndarray

    @property
    def std(self) -> np.ndarray:
        """:math:`\\sqrt{q^l}` (the pre-activation mean is 0 in the theory)."""
        return np.sqrt(self.q)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(
            {
                "layer": np.arange(1, self.q.size + 1),
                "q": self.q,
                "std": self.std,
                "c": self.c,
                "h_q": self.h_q,
                "chi": self.chi,
                "grad_ratio": self.grad_ratio,
            }
        )


def _per_layer(name: str, value: Any, depth: int, kind=float) -> np.ndarray:
    arr = np.asarray(value, dtype=kind)
    if arr.ndim == 0:
        return np.full(depth, arr.item(), dtype=kind)
    if arr.shape != (depth,):
        raise ValueError(f"{name} must be a number or have one entry per layer ({depth}), got shape {arr.shape}")
    return arr


def propagate(
    act: Activation | str,
    depth: int,
    sigma_w2: float | Sequence[float],
    sigma_b2: float | Sequence[float] = 0.0,
    *,
    q0: float = 1.0,
    c0: float = 0.0,
    mu0: float = 0.0,
    dropout: float = 0.0,
    residual: bool | Sequence[bool] = False,
    degree: int = DEFAULT_DEGREE,
    degree_2d: int = DEFAULT_DEGREE_2D,
) -> Propagation:
    """Iterate the mean-field maps through ``depth`` layers (see the module docstring for the recursion).

    Parameters
    ----------
    act : Activation or spec string
    depth : int
    sigma_w2, sigma_b2 : float or sequence of length ``depth``
        Per-layer :math:`\\sigma_w^2` (``fan_in`` × weight variance) and bias variance.
    q0, c0, mu0 : float
        The input's mean squared entry, the correlation of two inputs and the mean entry.
    dropout : float
        Inverted dropout rate :math:`0 \\le p < 1` on every layer's output.
    residual : bool or sequence of bool
        Which layers add their input to their output.

    Returns
    -------
    Propagation
        Non-finite values (inf, NaN) mark layers whose second moment overflows.
    """
    depth = int(depth)
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    k = gaussian_kernel(get_activation(act), degree, degree_2d)
    sw2, sb2 = _per_layer("sigma_w2", sigma_w2, depth), _per_layer("sigma_b2", sigma_b2, depth)
    res = _per_layer("residual", residual, depth, bool)
    keep = 1.0 - float(dropout)
    q, c, hq, e = (np.empty(depth) for _ in range(4))
    Q, C, mu = float(q0), float(c0) * float(q0), float(mu0)
    with np.errstate(over="ignore", invalid="ignore"):
        for l in range(depth):
            q[l] = sw2[l] * Q + sb2[l]
            c[l] = (sw2[l] * C + sb2[l]) / q[l] if q[l] > 0 else 1.0
            if not math.isfinite(q[l]):
                q[l:], c[l:], hq[l:], e[l:] = np.inf, np.nan, np.inf, np.nan
                break
            m2, _, g2 = (float(v) for v in k.moments(q[l]))
            cross = float(k.cross(q[l], min(max(c[l], -1.0), 1.0)))
            if res[l]:
                m1 = float(k.m1(q[l]))
                Q, C, mu = Q + 2 * mu * m1 + m2 / keep, C + 2 * mu * m1 + cross, mu + m1
            else:
                Q, C, mu = m2 / keep, cross, math.nan  # mu is only needed by residual layers
                if l + 1 < depth and res[l + 1 :].any():
                    mu = float(k.m1(q[l]))
            hq[l], e[l] = Q, g2 / keep
        # backward: G = ||g^l||^2, D = ||delta^l||^2, with G^L = 1
        D = np.empty(depth)
        G = 1.0
        for l in range(depth - 1, -1, -1):
            D[l] = e[l] * G
            G = (G if res[l] else 0.0) + sw2[l] * D[l]
        ratio = np.sqrt(D / D[-1])
    chi = sw2 * e
    return Propagation(q, c, hq, chi, ratio)
