"""Piecewise-linear activations: linear, ReLU, leaky ReLU, hard tanh, hard sigmoid.

Their derivatives are step functions; at a kink PyTorch's convention is used (``relu'(0) = 0``, the
``x <= 0`` branch for leaky ReLU, ``hard_tanh'(±1) = 0``). Saturation is a comparison on ``z``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._special import _INF, _float, _mask
from .base import Activation

__all__ = ["Linear", "ReLU", "LeakyReLU", "HardTanh", "HardSigmoid", "ARCCOS_METHOD", "MAX_LEAKY_SLOPE"]

#: ``kernel_method`` of the ReLU family.
ARCCOS_METHOD = "closed form (arc-cosine kernel)"


class _ReLUFamilyKernel:
    """Closed forms for :math:`\\phi(x) = \\max(x, 0) + \\alpha \\min(x, 0)` (ReLU α=0, leaky ReLU, linear α=1).

    With :math:`\\theta = \\arccos c` and the arc-cosine kernel (Cho & Saul 2009)
    :math:`J(c) = \\frac{q}{2\\pi}\\left(\\sqrt{1-c^2} + (\\pi - \\theta)\\,c\\right)
    = \\mathbb{E}[\\mathrm{relu}(u_a)\\,\\mathrm{relu}(u_b)]`:

    .. math::

        K = (1+\\alpha^2)\\,J(c) - 2\\alpha\\,J(-c), \\qquad
        K' = \\frac{(1+\\alpha^2)(\\pi - \\theta) + 2\\alpha\\theta}{2\\pi}, \\qquad
        m_2 = \\frac{1+\\alpha^2}{2} q, \\quad m_2' = g_2 = \\frac{1+\\alpha^2}{2}, \\quad
        m_1 = (1 - \\alpha)\\sqrt{q / 2\\pi}.
    """

    #: max(x, 0) + α min(x, 0) is positively homogeneous (see :class:`~initlab.activations.Activation`).
    positively_homogeneous: ClassVar[bool] = True

    kernel_method: ClassVar[str] = ARCCOS_METHOD
    _alpha: ClassVar[float] = 0.0

    def _a(self) -> float:
        return float(getattr(self, "alpha", self._alpha))

    def gaussian_moments(self, q):
        q = np.asarray(q, dtype=np.float64)
        h = 0.5 * (1.0 + self._a() ** 2)
        return h * q, np.full_like(q, h), np.full_like(q, h)

    def gaussian_mean(self, q):
        return (1.0 - self._a()) * np.sqrt(np.asarray(q, dtype=np.float64) / (2 * np.pi))

    def gaussian_cross(self, q, c):
        q, c = np.broadcast_arrays(np.asarray(q, dtype=np.float64), np.asarray(c, dtype=np.float64))
        al = self._a()
        th = np.arccos(c)
        s = np.sqrt(np.maximum(1.0 - c * c, 0.0))
        j_pos = s + (np.pi - th) * c
        j_neg = s - th * c  # J(-c): arccos(-c) = pi - theta
        k = q / (2 * np.pi) * ((1 + al * al) * j_pos - 2 * al * j_neg)
        kg = ((1 + al * al) * (np.pi - th) + 2 * al * th) / (2 * np.pi)
        return k, kg


@dataclass(frozen=True)
class Linear(_ReLUFamilyKernel, Activation):
    """Identity: φ(x) = x.

    .. math:: \\phi(x) = x, \\qquad \\phi'(x) = 1

    Gaussian kernel: the arc-cosine family with :math:`\\alpha = 1` (:math:`K = qc`, :math:`K' = 1`).
    """

    engine_path: ClassVar[str] = "linear"
    _alpha: ClassVar[float] = 1.0

    def fn(self, x):
        return _float(x).copy()

    def grad(self, x):
        return np.ones_like(_float(x))

    def forward(self, z):
        return _float(z).copy(), None

    def backward(self, ctx, grad_a):
        return grad_a.copy()

    def saturated(self, z, ctx=None):
        return np.zeros(np.shape(z), dtype=bool)


@dataclass(frozen=True)
class ReLU(_ReLUFamilyKernel, Activation):
    """Rectified linear unit: φ(x) = max(x, 0); units can die.

    .. math:: \\phi(x) = \\max(x, 0), \\qquad \\phi'(x) = [x > 0]

    ``forward`` keeps the boolean mask :math:`[z > 0]` as its context. Gaussian kernel: the arc-cosine
    kernel of Cho & Saul (2009), :math:`\\alpha = 0`.
    """

    can_die: ClassVar[bool] = True
    engine_path: ClassVar[str] = "relu"

    def fn(self, x):
        return np.clip(_float(x), 0, _INF)  # faster than np.maximum(x, 0) and NaN-preserving

    def grad(self, x):
        x = _float(x)
        return _mask(x, x.dtype)

    def forward(self, z):
        z = _float(z)
        return np.clip(z, 0, _INF), z > 0

    def backward(self, ctx, grad_a):
        return np.multiply(grad_a, ctx)

    def saturated(self, z, ctx=None):
        return z <= 0


#: The largest |alpha| of a leaky ReLU: its Gaussian moments hold alpha squared (1e300 would overflow), and a
#: slope beyond this has no use at initialization.
MAX_LEAKY_SLOPE = 1e6


@dataclass(frozen=True)
class LeakyReLU(_ReLUFamilyKernel, Activation):
    """Leaky ReLU: φ(x) = x for x > 0, alpha·x otherwise (|alpha| up to :data:`MAX_LEAKY_SLOPE`; default 0.01).

    .. math:: \\phi(x) = \\begin{cases} x & x > 0 \\\\ \\alpha x & x \\le 0 \\end{cases}, \\qquad
              \\phi'(x) = \\begin{cases} 1 & x > 0 \\\\ \\alpha & x \\le 0 \\end{cases}

    For :math:`0 \\le \\alpha \\le 1` this is :math:`\\max(x, \\alpha x)`. Units cannot die unless
    :math:`\\alpha = 0` (ReLU); the largest slope is :math:`\\max(1, |\\alpha|)`, and the side whose slope
    is below 5% of it counts as saturated (the negative side for :math:`|\\alpha| < 0.05`, the positive
    side for :math:`|\\alpha| > 20`). Gaussian kernel: the arc-cosine family with slope :math:`\\alpha` on
    the left (its closed forms hold for any slope).
    """

    alpha: float = 0.01

    def __post_init__(self):
        alpha = float(self.alpha)
        if not (math.isfinite(alpha) and abs(alpha) <= MAX_LEAKY_SLOPE):
            raise ValueError(f"leaky_relu alpha must be a number with |alpha| <= {MAX_LEAKY_SLOPE:g}, got {alpha:g}")
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "max_grad", max(1.0, abs(alpha)))
        object.__setattr__(self, "can_die", alpha == 0.0)

    def fn(self, x):
        x = _float(x)
        y = np.multiply(x, self.alpha, out=np.empty_like(x))
        if 0.0 <= self.alpha <= 1.0:
            return np.maximum(x, y, out=y)
        np.copyto(y, x, where=x > 0)
        return y

    def grad(self, x):
        x = _float(x)
        m = _mask(x, x.dtype)  # {0, 1}
        if 0.0 <= self.alpha <= 1.0:  # {0, 1} -> {alpha, 1}, exactly
            return np.clip(m, self.alpha, _INF, out=m)
        m *= x.dtype.type(1.0 - self.alpha)  # {0, 1} -> {alpha, 1}: alpha + (1 - alpha) m
        m += x.dtype.type(self.alpha)
        return m

    def saturated(self, z, ctx=None):
        thr = self.saturation_threshold()
        neg, pos = abs(self.alpha) < thr, 1.0 < thr
        if neg and pos:
            return np.ones(np.shape(z), dtype=bool)
        if neg:
            return z <= 0
        if pos:
            return z > 0
        return np.zeros(np.shape(z), dtype=bool)


@dataclass(frozen=True)
class HardTanh(Activation):
    """Hard tanh: φ(x) = clip(x, -1, 1); zero slope outside [-1, 1].

    .. math:: \\phi(x) = \\min(\\max(x, -1), 1), \\qquad \\phi'(x) = [|x| < 1]
    """

    def fn(self, x):
        return np.clip(_float(x), -1, 1)

    def grad(self, x):
        x = _float(x)
        return (np.abs(x) < 1).astype(x.dtype)

    def saturated(self, z, ctx=None):
        return np.abs(z) >= 1


@dataclass(frozen=True)
class HardSigmoid(Activation):
    """Hard sigmoid (PyTorch / Keras 3): φ(x) = relu6(x + 3)/6; units can die.

    .. math:: \\phi(x) = \\frac{\\min(\\max(x + 3, 0), 6)}{6}, \\qquad \\phi'(x) = \\tfrac16\\,[|x| < 3]

    This is ``torch.nn.Hardsigmoid`` and Keras 3's ``hard_sigmoid``; Keras 2 and Theano used
    :math:`\\mathrm{clip}(0.2x + 0.5, 0, 1)` instead. :math:`\\phi = 0` for :math:`x < -3`, so
    units can die; :math:`x > 3` is saturated at 1.
    """

    can_die: ClassVar[bool] = True
    max_grad: ClassVar[float] = 1.0 / 6.0

    def fn(self, x):
        x = _float(x)
        y = np.add(x, 3, out=np.empty_like(x))
        np.clip(y, 0, 6, out=y)
        return np.divide(y, 6, out=y)

    def grad(self, x):
        x = _float(x)
        g = (np.abs(x) < 3).astype(x.dtype)
        g /= 6
        return g

    def saturated(self, z, ctx=None):
        return np.abs(z) >= 3
