"""Sigmoidal activations (bounded, saturating on both sides): sigmoid, tanh, softsign, erf.

Each saturated set is :math:`|z| > c` with :math:`c` solved in closed form from
:math:`|\\phi'(c)| = 0.05\\,\\sup|\\phi'|`, so :meth:`~Activation.saturated` is a comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._special import _float, _sigmoid, special
from .base import SATURATION_FRACTION, Activation

__all__ = ["Sigmoid", "Tanh", "Softsign", "Erf"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@dataclass(frozen=True)
class Sigmoid(Activation):
    """Logistic sigmoid: φ(x) = 1/(1+e^-x), in (0, 1), saturates on both sides.

    .. math:: \\phi(x) = \\frac{1}{1+e^{-x}}, \\qquad \\phi'(x) = \\phi(x)\\,(1-\\phi(x)),
              \\qquad \\sup|\\phi'| = \\phi'(0) = \\tfrac14
    """

    max_grad: ClassVar[float] = 0.25
    #: :math:`|x|` beyond which :math:`\\phi' < 0.05/4`: :math:`\\phi(x) = (1 + \\sqrt{0.95})/2`.
    _cut: ClassVar[float] = 2 * math.atanh(math.sqrt(1 - SATURATION_FRACTION))

    def fn(self, x):
        return _sigmoid(_float(x))

    def grad(self, x):
        return self.fn_grad(x)[1]

    def fn_grad(self, x):
        s = _sigmoid(_float(x))
        d = np.subtract(1, s, out=np.empty_like(s))
        d *= s
        return s, d

    def saturated(self, z, ctx=None):
        return np.abs(z) > self._cut


@dataclass(frozen=True)
class Tanh(Activation):
    """Hyperbolic tangent: φ(x) = tanh x, zero-centred, saturates at ±1.

    .. math:: \\phi(x) = \\tanh x, \\qquad \\phi'(x) = 1 - \\tanh^2 x, \\qquad \\sup|\\phi'| = 1
    """

    _cut: ClassVar[float] = math.atanh(math.sqrt(1 - SATURATION_FRACTION))

    def fn(self, x):
        return np.tanh(_float(x))

    def grad(self, x):
        return self.fn_grad(x)[1]

    def fn_grad(self, x):
        t = np.tanh(_float(x))
        d = np.multiply(t, t, out=np.empty_like(t))
        np.subtract(1, d, out=d)
        return t, d

    def saturated(self, z, ctx=None):
        return np.abs(z) > self._cut


@dataclass(frozen=True)
class Softsign(Activation):
    """Softsign: φ(x) = x/(1+|x|), saturates polynomially (slower than tanh).

    .. math:: \\phi(x) = \\frac{x}{1+|x|}, \\qquad \\phi'(x) = \\frac{1}{(1+|x|)^2}, \\qquad \\sup|\\phi'| = 1
    """

    _cut: ClassVar[float] = 1 / math.sqrt(SATURATION_FRACTION) - 1

    def fn(self, x):
        x = _float(x)
        d = np.abs(x, out=np.empty_like(x))
        d += 1
        return np.divide(x, d, out=d)

    def grad(self, x):
        return self.fn_grad(x)[1]

    def fn_grad(self, x):
        x = _float(x)
        r = np.abs(x, out=np.empty_like(x))
        r += 1
        np.reciprocal(r, out=r)
        f = x * r
        r *= r
        return f, r

    def saturated(self, z, ctx=None):
        return np.abs(z) > self._cut


@dataclass(frozen=True)
class Erf(Activation):
    """Error function: φ(x) = erf(x), a sigmoid-shaped map onto (-1, 1) with Gaussian-tailed slope.

    .. math:: \\phi(x) = \\frac{2}{\\sqrt\\pi}\\int_0^x e^{-t^2}\\,dt, \\qquad
              \\phi'(x) = \\frac{2}{\\sqrt\\pi} e^{-x^2}, \\qquad \\sup|\\phi'| = \\frac{2}{\\sqrt\\pi}

    Gaussian kernel (Williams 1997, the arcsine kernel):

    .. math::

        K = \\frac{2}{\\pi} \\arcsin \\frac{2qc}{1 + 2q}, \\quad
        K' = \\frac{4}{\\pi \\sqrt{(1+2q)^2 - 4q^2c^2}}, \\quad
        m_2' = \\frac{4}{\\pi (1+2q)\\sqrt{1+4q}}, \\quad g_2 = \\frac{4}{\\pi\\sqrt{1+4q}}, \\quad m_1 = 0.
    """

    max_grad: ClassVar[float] = _TWO_OVER_SQRT_PI
    _cut: ClassVar[float] = math.sqrt(-math.log(SATURATION_FRACTION))
    kernel_method: ClassVar[str] = "closed form (arcsine kernel)"

    def fn(self, x):
        return special.erf(_float(x))

    def grad(self, x):
        x = _float(x)
        d = np.multiply(x, x, out=np.empty_like(x))
        np.negative(d, out=d)
        np.exp(d, out=d)
        d *= _TWO_OVER_SQRT_PI
        return d

    def saturated(self, z, ctx=None):
        return np.abs(z) > self._cut

    def gaussian_moments(self, q):
        q = np.asarray(q, dtype=np.float64)
        m2 = 2 / np.pi * np.arcsin(2 * q / (1 + 2 * q))
        root = np.sqrt(1 + 4 * q)
        return m2, 4 / (np.pi * (1 + 2 * q) * root), 4 / (np.pi * root)

    def gaussian_mean(self, q):
        return np.zeros_like(np.asarray(q, dtype=np.float64))  # erf is odd

    def gaussian_cross(self, q, c):
        q, c = np.broadcast_arrays(np.asarray(q, dtype=np.float64), np.asarray(c, dtype=np.float64))
        k = 2 / np.pi * np.arcsin(2 * q * c / (1 + 2 * q))
        # (1+2q)^2 - 4q^2c^2 factored, so that c -> 1 at large q loses nothing to cancellation
        kg = 4 / (np.pi * np.sqrt((1 + 2 * q * (1 - c)) * (1 + 2 * q * (1 + c))))
        return k, kg
