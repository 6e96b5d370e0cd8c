"""Smooth rectifier-like activations: ELU, SELU, GELU (exact and tanh), SiLU, softplus, mish.

Linear-like for large positive :math:`x`, bounded (or vanishing) for large negative :math:`x`.
ELU and SELU are defined piecewise (the ``x <= 0`` branch is taken at 0, as PyTorch does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._special import _INF, _float, _log1p_unit, _mask, _ndtr_float32, _sigmoid, special
from .base import SATURATION_FRACTION, Activation, _check_alpha

__all__ = ["SELU_SCALE", "SELU_ALPHA", "ELU", "SELU", "GELU", "GELUTanh", "SiLU", "Softplus", "Mish"]

_SQRT_2PI_INV = 1.0 / math.sqrt(2.0 * math.pi)
#: SELU constants (Klambauer et al. 2017), as in PyTorch.
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
#: Coefficient of the cubic term in the tanh approximation of GELU (Hendrycks & Gimpel 2016).
_GELU_TANH_K = 0.044715
_GELU_TANH_C = math.sqrt(2.0 / math.pi)
#: |x| beyond which the tanh-GELU's cubic is not evaluated (sigma(2u) is exactly 0 or 1 there).
_GELU_TANH_CLIP = 1e4


def _elu_grad(e: np.ndarray, x: np.ndarray, scale: float) -> np.ndarray:
    """Blend in place: ``e`` (the negative-side slope, for every x) becomes ``scale`` where x > 0."""
    m = _mask(x, e.dtype)
    em = e * m
    e -= em  # exactly 0 where x > 0, unchanged elsewhere
    if scale != 1.0:
        m *= scale
    e += m
    return e


def _elu_fn_grad(x: np.ndarray, alpha: float, scale: float, want_grad: bool):
    """``scale * elu_alpha(x)`` and, if asked, its derivative (``None`` otherwise)."""
    e = np.clip(x, -_INF, 0, out=np.empty_like(x))
    np.expm1(e, out=e)
    e *= alpha * scale  # 0 where x > 0
    f = np.clip(x, 0, _INF)
    if scale != 1.0:
        f *= scale
    f += e
    if not want_grad:
        return f, None
    e += alpha * scale  # alpha*scale*exp(x) on x <= 0
    return f, _elu_grad(e, x, scale)


def _elu_grad_only(x: np.ndarray, alpha: float, scale: float) -> np.ndarray:
    e = np.clip(x, -_INF, 0, out=np.empty_like(x))
    np.exp(e, out=e)
    e *= alpha * scale
    return _elu_grad(e, x, scale)


@dataclass(frozen=True)
class _Fused(Activation):
    """An activation whose φ and φ′ both come from one static ``_fn_grad(x, want_grad) -> (φ, φ′ or None)``."""

    def fn(self, x):
        return self._fn_grad(_float(x), False)[0]

    def grad(self, x):
        return self._fn_grad(_float(x), True)[1]

    def fn_grad(self, x):
        return self._fn_grad(_float(x), True)

    @staticmethod
    def _fn_grad(x, want_grad):
        raise NotImplementedError


@dataclass(frozen=True)
class ELU(Activation):
    """Exponential linear unit: φ(x) = x for x > 0, alpha·(e^x - 1) otherwise (alpha > 0, default 1).

    .. math:: \\phi(x) = \\begin{cases} x & x > 0 \\\\ \\alpha (e^x - 1) & x \\le 0 \\end{cases},
              \\qquad \\phi'(x) = \\begin{cases} 1 & x > 0 \\\\ \\alpha e^x & x \\le 0 \\end{cases},
              \\qquad \\sup|\\phi'| = \\max(1, \\alpha)
    """

    alpha: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "alpha", _check_alpha("elu", self.alpha, _INF))

    @property
    def max_grad(self) -> float:  # type: ignore[override]
        return max(1.0, self.alpha)

    def fn(self, x):
        return _elu_fn_grad(_float(x), self.alpha, 1.0, False)[0]

    def grad(self, x):
        return _elu_grad_only(_float(x), self.alpha, 1.0)

    def fn_grad(self, x):
        return _elu_fn_grad(_float(x), self.alpha, 1.0, True)


@dataclass(frozen=True)
class SELU(Activation):
    """Scaled ELU (self-normalising): φ(x) = λ·elu_α(x), λ ≈ 1.0507, α ≈ 1.6733.

    .. math:: \\phi(x) = \\lambda \\begin{cases} x & x > 0 \\\\ \\alpha (e^x - 1) & x \\le 0 \\end{cases},
              \\qquad \\sup|\\phi'| = \\lambda\\alpha \\approx 1.7581

    with Klambauer et al.'s :math:`\\lambda = 1.0507009873554805`, :math:`\\alpha = 1.6732632423543772`
    (:data:`SELU_SCALE`, :data:`SELU_ALPHA`), the fixed point of zero mean and unit variance.
    """

    max_grad: ClassVar[float] = SELU_SCALE * SELU_ALPHA

    def fn(self, x):
        return _elu_fn_grad(_float(x), SELU_ALPHA, SELU_SCALE, False)[0]

    def grad(self, x):
        return _elu_grad_only(_float(x), SELU_ALPHA, SELU_SCALE)

    def fn_grad(self, x):
        return _elu_fn_grad(_float(x), SELU_ALPHA, SELU_SCALE, True)


@dataclass(frozen=True)
class GELU(Activation):
    """Gaussian error linear unit (exact): φ(x) = x·Φ(x), Φ the standard normal CDF.

    .. math:: \\phi(x) = x\\,\\Phi(x) = \\frac{x}{2}\\operatorname{erfc}\\!\\left(-\\frac{x}{\\sqrt2}\\right),
              \\qquad \\phi'(x) = \\Phi(x) + x\\,\\varphi(x),
              \\qquad \\sup|\\phi'| = \\phi'(\\sqrt2)
              = \\tfrac12\\operatorname{erfc}(-1) + \\frac{e^{-1}}{\\sqrt\\pi}
              \\approx 1.12890

    :math:`\\Phi` is ``scipy.special.ndtr`` in float64 (through erfc, so accurate in the left tail)
    and, 3x faster, a tail-accurate erfcx fit in float32 (:func:`_ndtr_float32`).
    """

    max_grad: ClassVar[float] = 0.5 * math.erfc(-1.0) + math.exp(-1.0) / math.sqrt(math.pi)

    def fn(self, x):
        x = _float(x)
        cdf = _ndtr_float32(x)[0] if x.dtype == np.float32 else special.ndtr(x)
        cdf *= x
        return cdf

    def grad(self, x):
        return self.fn_grad(x)[1]

    def fn_grad(self, x):
        x = _float(x)
        if x.dtype == np.float32:
            cdf, d = _ndtr_float32(x)
        else:
            cdf = special.ndtr(x)
            d = np.multiply(x, x, out=np.empty_like(x))
            d *= -0.5
            np.exp(d, out=d)
        d *= _SQRT_2PI_INV
        d *= x
        d += cdf
        cdf *= x
        return cdf, d


@dataclass(frozen=True)
class GELUTanh(_Fused):
    """GELU, tanh approximation: φ(x) = x/2·(1 + tanh(√(2/π)(x + 0.044715x³))).

    .. math:: \\phi(x) = \\tfrac{x}{2}\\bigl(1 + \\tanh u\\bigr) = x\\,\\sigma(2u), \\qquad
              u = \\sqrt{2/\\pi}\\,(x + 0.044715\\,x^3),

    .. math:: \\phi'(x) = \\sigma(2u) + 2x\\,\\sigma(2u)\\bigl(1-\\sigma(2u)\\bigr)
              \\sqrt{2/\\pi}\\,(1 + 3\\cdot0.044715\\,x^2),
              \\qquad \\sup|\\phi'| \\approx 1.12899 \\text{ at } x \\approx 1.4185

    Computed through the logistic form, which has no cancellation for negative x
    (PyTorch's ``gelu(approximate="tanh")``).
    """

    max_grad: ClassVar[float] = 1.1289930686587718  # sup of phi', found numerically (mpmath, 40 digits)

    @staticmethod
    def _fn_grad(x, want_grad):
        # the cubic is evaluated on x clipped to ±1e4, where sigma(2u) is already exactly 0 or 1 (2|u| > 7e10):
        # phi and phi' are unchanged, and x^3 cannot overflow (phi' stays finite up to the largest float)
        xc = np.clip(x, -_GELU_TANH_CLIP, _GELU_TANH_CLIP, out=np.empty_like(x))
        x2 = np.multiply(xc, xc, out=np.empty_like(x))
        u = np.multiply(x2, _GELU_TANH_K, out=np.empty_like(x))
        u += 1
        u *= xc
        u *= 2 * _GELU_TANH_C  # 2u
        s = _sigmoid(u)
        f = x * s
        if not want_grad:
            return f, None
        d = np.subtract(1, s, out=u)
        d *= s
        d *= xc
        x2 *= 3 * _GELU_TANH_K
        x2 += 1
        x2 *= 2 * _GELU_TANH_C
        d *= x2
        d += s
        return f, d


@dataclass(frozen=True)
class SiLU(Activation):
    """Sigmoid linear unit (swish): φ(x) = x·σ(x).

    .. math:: \\phi(x) = x\\,\\sigma(x), \\qquad \\phi'(x) = \\sigma(x)\\bigl(1 + x(1-\\sigma(x))\\bigr),
              \\qquad \\sup|\\phi'| \\approx 1.09984 \\text{ at } x \\approx 2.3994
    """

    max_grad: ClassVar[float] = 1.0998393201288669  # root of x*tanh(x/2) = 2; mpmath, 40 digits

    def fn(self, x):
        x = _float(x)
        s = _sigmoid(x)
        s *= x
        return s

    def grad(self, x):
        return self.fn_grad(x)[1]

    def fn_grad(self, x):
        x = _float(x)
        s = _sigmoid(x)
        d = np.subtract(1, s, out=np.empty_like(s))
        d *= x
        d += 1
        d *= s
        s *= x
        return s, d


@dataclass(frozen=True)
class Softplus(Activation):
    """Softplus: φ(x) = log(1 + e^x), a smooth ReLU whose slope is σ(x).

    .. math:: \\phi(x) = \\log(1+e^x) = \\max(x, 0) + \\log\\bigl(1 + e^{-|x|}\\bigr),
              \\qquad \\phi'(x) = \\sigma(x), \\qquad \\sup|\\phi'| = 1

    Exact for all x (no threshold, unlike PyTorch's, which returns x for x > 20).
    """

    _cut: ClassVar[float] = math.log(SATURATION_FRACTION / (1 - SATURATION_FRACTION))

    def fn(self, x):
        x = _float(x)
        e = np.abs(x, out=np.empty_like(x))
        np.negative(e, out=e)
        np.exp(e, out=e)
        out = _log1p_unit(e)
        np.clip(x, 0, _INF, out=e)
        out += e
        return out

    def grad(self, x):
        return _sigmoid(_float(x))

    def saturated(self, z, ctx=None):
        return z < self._cut


@dataclass(frozen=True)
class Mish(_Fused):
    """Mish: φ(x) = x·tanh(softplus(x)).

    .. math:: \\phi(x) = x \\tanh\\bigl(\\log(1+e^x)\\bigr) = x\\,\\frac{n^2 + 2n}{n^2 + 2n + 2},
              \\quad n = e^x,

    .. math:: \\phi'(x) = t + x\\,\\sigma(x)\\,(1 - t^2), \\quad t = \\tanh(\\operatorname{softplus} x),
              \\qquad \\sup|\\phi'| \\approx 1.08850 \\text{ at } x \\approx 1.4906

    The rational form needs one exponential; :math:`n` is computed at :math:`\\min(x, 20)`, beyond
    which :math:`t = 1` to double precision.
    """

    max_grad: ClassVar[float] = 1.0884981612517279  # found numerically (mpmath, 40 digits)

    @staticmethod
    def _fn_grad(x, want_grad):
        n = np.clip(x, -_INF, 20.0, out=np.empty_like(x))
        np.exp(n, out=n)
        p = np.add(n, 2, out=np.empty_like(x))
        p *= n
        t = np.add(p, 2, out=np.empty_like(x))
        np.divide(p, t, out=t)
        f = x * t
        if not want_grad:
            return f, None
        sig = np.add(n, 1, out=p)
        np.divide(n, sig, out=sig)
        d = np.multiply(t, t, out=n)
        np.subtract(1, d, out=d)
        d *= sig
        d *= x
        d += t
        return f, d
