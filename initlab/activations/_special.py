"""Private numeric helpers shared by the activation families.

Dtype handling (:func:`_float`), the :math:`[x > 0]` mask, an overflow-free logistic sigmoid, a fast
:math:`\\log(1+y)` on :math:`[0, 1]`, and a fast tail-accurate float32 normal CDF. Every helper keeps
``x``'s float dtype and never writes to its input.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["_INF", "_float", "_mask", "_sigmoid", "_log1p_unit", "_ndtr_float32", "special"]

_INF = math.inf


class _ScipySpecial:
    """``scipy.special``, imported on first use (``import initlab`` and ``initlab --help`` stay scipy-free)."""

    def __getattr__(self, name: str) -> Any:
        import scipy.special

        return getattr(scipy.special, name)


#: Stand-in for ``scipy.special`` that imports it when a function is first looked up.
special = _ScipySpecial()


def _float(x: Any) -> np.ndarray:
    """``x`` as a float array (float32/float64 kept, anything else float64)."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _mask(x: np.ndarray, dtype: Any) -> np.ndarray:
    """:math:`[x > 0]` as a (possibly 0-d) array of ``dtype``."""
    return np.greater(x, 0, out=np.empty(x.shape, bool)).astype(dtype)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """:math:`1/(1+e^{-x})` in ``x``'s dtype; :math:`e^{-x}` may overflow to inf, giving exactly 0."""
    e = np.negative(x, out=np.empty_like(x))
    with np.errstate(over="ignore"):
        np.exp(e, out=e)
    e += 1
    return np.reciprocal(e, out=e)


def _log1p_unit(y: np.ndarray) -> np.ndarray:
    """:math:`\\log(1+y)` for :math:`y \\in [0, 1]`, to a few ulp, ~4x faster than ``np.log1p``.

    With :math:`u = \\mathrm{fl}(1+y)`, :math:`\\log(1+y) = \\log u + \\log(1 + \\delta/u)` where
    :math:`\\delta = y - (u - 1)` is the exact rounding error of the sum; the first-order term
    :math:`\\delta/u` (at most half an ulp) is the whole correction.
    """
    u = y + 1
    out = np.log(u, out=np.empty_like(u))
    delta = np.subtract(u, 1, out=np.empty_like(u))
    np.subtract(y, delta, out=delta)
    delta /= u
    out += delta
    return out


#: :math:`\\tfrac12\\operatorname{erfcx}(a)/t` as a polynomial in :math:`t = 1/(1 + 0.4a)` on :math:`a \\ge 0`
#: (Chebyshev least-squares fit of degree 10 to ``scipy.special.erfcx``, relative error 9e-9).
_ERFCX_T = 0.4
_HALF_ERFCX_POLY = (0.1128379168696637, 0.11283793081187428, 0.1038078342249902, 0.08585021455599658,
                    0.059661431201354746, 0.041283738014429215, -0.021755819040440688, 0.06621502625831202,
                    -0.11544766146964998, 0.06907811584082195, -0.014368729502581267)


def _ndtr_float32(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:math:`\\Phi(x)` and :math:`e^{-x^2/2}` for float32 ``x``, ~3x faster than ``scipy.special.ndtr``.

    With :math:`a = |x|/\\sqrt2`, :math:`\\Phi(-|x|) = \\tfrac12\\operatorname{erfc}(a)
    = t\\,H(t)\\,e^{-a^2}` (:data:`_HALF_ERFCX_POLY`), then :math:`\\Phi(x) = h + [x \\ge 0](1 - 2h)`
    keeps the left tail's relative accuracy: at most 4 ulp for :math:`|x| < 2`, growing like
    :math:`x^2/2` ulp further out from the rounding of :math:`x^2` (35 ulp at -13; tested against scipy).
    """
    e = np.multiply(x, x, out=np.empty_like(x))
    e *= -0.5
    np.exp(e, out=e)
    t = np.abs(x, out=np.empty_like(x))
    t *= _ERFCX_T / math.sqrt(2.0)
    t += 1
    np.reciprocal(t, out=t)
    h = np.multiply(t, _HALF_ERFCX_POLY[-1], out=np.empty_like(x))
    h += _HALF_ERFCX_POLY[-2]
    for c in _HALF_ERFCX_POLY[-3::-1]:
        h *= t
        h += c
    h *= t
    h *= e  # h = Phi(-|x|)
    np.multiply(h, -2, out=t)
    t += 1
    t *= _mask(x, x.dtype)  # x = 0 gives h = 1/2 either way
    t += h
    return t, e
