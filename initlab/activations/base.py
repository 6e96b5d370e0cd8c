"""Activation functions, each with its derivative beside it.

Every activation is a frozen dataclass registered in :data:`ACTIVATIONS` and built from a
spec string with :func:`get_activation` (``"leaky_relu:0.2"``, ``"elu:alpha=0.5"``).

Contract (used by the engine, the theory and the trainer)
---------------------------------------------------------
``fn(x)``
    :math:`\\phi(x)`, elementwise, same dtype as ``x`` (float32 stays float32).
``grad(x)``
    :math:`\\phi'(x)`, elementwise, same dtype as ``x``. At a kink PyTorch's convention is
    used (``relu'(0) = 0``, the ``x <= 0`` branch for leaky ReLU and ELU, ``hard_tanh'(±1) = 0``).
``fn_grad(x)``
    ``(fn(x), grad(x))``, sharing work where possible.
``forward(z) -> (a, ctx)`` and ``backward(ctx, grad_a) -> grad_z``
    The layer view used by the engine and the trainer. ``ctx`` is opaque: :math:`\\phi'(z)`
    by default, the boolean mask :math:`[z > 0]` for ReLU, the arg-max for :class:`Maxout` (whose
    input has ``k`` times the output's columns). ``a`` and ``grad_z`` are new arrays, never views
    of the inputs; ``backward`` returns ``grad_a``'s dtype.
``max_grad``
    :math:`\\sup_x |\\phi'(x)|` (exact, or to 1e-9 where found numerically).
``saturated(z, ctx=None)``
    Boolean mask :math:`|\\phi'(z)| < 0.05\\,\\text{max\\_grad}`, shape of the activation; pass
    ``forward``'s ``ctx`` to avoid recomputing the derivative (simple regions are a comparison).
``can_die``
    True where an open input region gives :math:`\\phi = 0` and :math:`\\phi' = 0` (ReLU,
    hard sigmoid): a unit whose pre-activation stays there is dead (no output, no gradient).
``pieces``
    Columns of pre-activation per output unit (1, or ``k`` for maxout).

All functions are numerically stable in float32 and float64 for :math:`|x| \\le 10^4`
(no overflow or invalid warnings, no NaN, the correct limits). Non-float input is
computed in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import special

from ._spec import Registry, spec_string
from .maxout import maxout, maxout_backward, maxout_forward, maxout_grad, maxout_split

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "SATURATION_FRACTION",
    "SELU_SCALE",
    "SELU_ALPHA",
    "Linear",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "SELU",
    "GELU",
    "GELUTanh",
    "SiLU",
    "Softplus",
    "Softsign",
    "HardTanh",
    "HardSigmoid",
    "Erf",
    "Mish",
    "Maxout",
]

#: A unit is saturated where its derivative is below this fraction of the activation's maximum derivative.
SATURATION_FRACTION = 0.05

ACTIVATIONS: Registry["Activation"] = Registry("activation")

_INF = math.inf
_SQRT_2PI_INV = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
#: SELU constants (Klambauer et al. 2017), as in PyTorch.
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
#: Coefficient of the cubic term in the tanh approximation of GELU (Hendrycks & Gimpel 2016).
_GELU_TANH_K = 0.044715
_GELU_TANH_C = math.sqrt(2.0 / math.pi)


def _float(x: Any) -> np.ndarray:
    """``x`` as a float array (float32/float64 kept, anything else float64)."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


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


def _mask(x: np.ndarray, dtype: Any) -> np.ndarray:
    """:math:`[x > 0]` as a (possibly 0-d) array of ``dtype``."""
    return np.greater(x, 0, out=np.empty(x.shape, bool)).astype(dtype)


@dataclass(frozen=True)
class Activation:
    """Base class: an elementwise activation :math:`\\phi` and its derivative."""

    name: ClassVar[str] = "activation"
    can_die: ClassVar[bool] = False
    max_grad: ClassVar[float] = 1.0
    pieces: ClassVar[int] = 1

    @property
    def spec(self) -> str:
        """Canonical spec string (name plus non-default parameters)."""
        return spec_string(self)

    def __str__(self) -> str:
        return self.spec

    @property
    def description(self) -> str:
        return (type(self).__doc__ or "").strip().splitlines()[0]

    def fn(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def grad(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fn_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(fn(x), grad(x))``; subclasses share work where they can."""
        return self.fn(x), self.grad(x)

    # -- layer view ---------------------------------------------------------------------------
    def forward(self, z: np.ndarray) -> tuple[np.ndarray, Any]:
        """Activation of pre-activation ``z`` of shape (n, units*pieces) and the context for backward."""
        return self.fn_grad(z)

    def backward(self, ctx: Any, grad_a: np.ndarray) -> np.ndarray:
        """Gradient with respect to the pre-activation, given the gradient with respect to the output."""
        return grad_a * ctx

    def saturation_threshold(self) -> float:
        """Derivative magnitude below which a unit counts as saturated."""
        return SATURATION_FRACTION * self.max_grad

    def saturated(self, z: np.ndarray, ctx: Any = None) -> np.ndarray:
        """Boolean mask of the same shape as the activation: :math:`|\\phi'(z)| < 0.05\\,\\max|\\phi'|`.

        ``ctx``, the context :meth:`forward` returned for ``z``, is used instead of recomputing
        the derivative where it is :math:`\\phi'(z)` (the default ``forward``). Subclasses whose
        saturated set is a simple region override this with a comparison (much cheaper than the
        derivative) and ignore ``ctx``; the tests check all three ways agree.
        """
        use_ctx = ctx is not None and type(self).forward is Activation.forward
        return np.abs(ctx if use_ctx else self.grad(z)) < self.saturation_threshold()


def get_activation(spec: Any) -> Activation:
    """Parse an activation spec (``"relu"``, ``"leaky_relu:0.2"``) or pass an :class:`Activation` through."""
    return ACTIVATIONS.get(spec)


def _check_alpha(name: str, alpha: float, high: float) -> float:
    """``alpha`` as a Python float (so float32 arrays stay float32), checked to lie in (0, high]."""
    alpha = float(alpha)
    if not (math.isfinite(alpha) and 0 < alpha <= high):
        raise ValueError(f"{name} alpha must be in (0, {high:g}], got {alpha:g}")
    return alpha


@ACTIVATIONS.register("linear", "identity")
@dataclass(frozen=True)
class Linear(Activation):
    """Identity: φ(x) = x.

    .. math:: \\phi(x) = x, \\qquad \\phi'(x) = 1
    """

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


@ACTIVATIONS.register("sigmoid", "logistic")
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


@ACTIVATIONS.register("tanh")
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


@ACTIVATIONS.register("relu")
@dataclass(frozen=True)
class ReLU(Activation):
    """Rectified linear unit: φ(x) = max(x, 0); units can die.

    .. math:: \\phi(x) = \\max(x, 0), \\qquad \\phi'(x) = [x > 0]

    ``forward`` keeps the boolean mask :math:`[z > 0]` as its context.
    """

    can_die: ClassVar[bool] = True

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


@ACTIVATIONS.register("leaky_relu")
@dataclass(frozen=True)
class LeakyReLU(Activation):
    """Leaky ReLU: φ(x) = x for x > 0, alpha·x otherwise (alpha in (0, 1], default 0.01).

    .. math:: \\phi(x) = \\max(x, \\alpha x), \\qquad \\phi'(x) = \\begin{cases} 1 & x > 0 \\\\
              \\alpha & x \\le 0 \\end{cases}

    Units cannot die (the slope is never 0); with :math:`\\alpha < 0.05` the negative side
    counts as saturated.
    """

    alpha: float = 0.01

    def __post_init__(self):
        object.__setattr__(self, "alpha", _check_alpha("leaky_relu", self.alpha, 1.0))

    def fn(self, x):
        x = _float(x)
        y = np.multiply(x, self.alpha, out=np.empty_like(x))
        return np.maximum(x, y, out=y)

    def grad(self, x):
        x = _float(x)
        m = _mask(x, x.dtype)  # {0, 1} -> {alpha, 1}, exactly
        return np.clip(m, self.alpha, _INF, out=m)

    def saturated(self, z, ctx=None):
        if self.alpha < self.saturation_threshold():
            return z <= 0
        return np.zeros(np.shape(z), dtype=bool)


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


@ACTIVATIONS.register("elu")
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


@ACTIVATIONS.register("selu")
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


@ACTIVATIONS.register("gelu")
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


@ACTIVATIONS.register("gelu_tanh")
@dataclass(frozen=True)
class GELUTanh(Activation):
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

    def fn(self, x):
        return self._fn_grad(_float(x), False)[0]

    def grad(self, x):
        return self._fn_grad(_float(x), True)[1]

    def fn_grad(self, x):
        return self._fn_grad(_float(x), True)

    @staticmethod
    def _fn_grad(x, want_grad):
        x2 = np.multiply(x, x, out=np.empty_like(x))
        u = np.multiply(x2, _GELU_TANH_K, out=np.empty_like(x))
        u += 1
        u *= x
        u *= 2 * _GELU_TANH_C  # 2u
        s = _sigmoid(u)
        f = x * s
        if not want_grad:
            return f, None
        d = np.subtract(1, s, out=u)
        d *= s
        d *= x
        x2 *= 3 * _GELU_TANH_K
        x2 += 1
        x2 *= 2 * _GELU_TANH_C
        d *= x2
        d += s
        return f, d


@ACTIVATIONS.register("silu", "swish")
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


@ACTIVATIONS.register("softplus")
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


@ACTIVATIONS.register("softsign")
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


@ACTIVATIONS.register("hard_tanh", "hardtanh")
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


@ACTIVATIONS.register("hard_sigmoid", "hardsigmoid")
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


@ACTIVATIONS.register("erf")
@dataclass(frozen=True)
class Erf(Activation):
    """Error function: φ(x) = erf(x), a sigmoid-shaped map onto (-1, 1) with Gaussian-tailed slope.

    .. math:: \\phi(x) = \\frac{2}{\\sqrt\\pi}\\int_0^x e^{-t^2}\\,dt, \\qquad
              \\phi'(x) = \\frac{2}{\\sqrt\\pi} e^{-x^2}, \\qquad \\sup|\\phi'| = \\frac{2}{\\sqrt\\pi}
    """

    max_grad: ClassVar[float] = _TWO_OVER_SQRT_PI
    _cut: ClassVar[float] = math.sqrt(-math.log(SATURATION_FRACTION))

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


@ACTIVATIONS.register("mish")
@dataclass(frozen=True)
class Mish(Activation):
    """Mish: φ(x) = x·tanh(softplus(x)).

    .. math:: \\phi(x) = x \\tanh\\bigl(\\log(1+e^x)\\bigr) = x\\,\\frac{n^2 + 2n}{n^2 + 2n + 2},
              \\quad n = e^x,

    .. math:: \\phi'(x) = t + x\\,\\sigma(x)\\,(1 - t^2), \\quad t = \\tanh(\\operatorname{softplus} x),
              \\qquad \\sup|\\phi'| \\approx 1.08850 \\text{ at } x \\approx 1.4906

    The rational form needs one exponential; :math:`n` is computed at :math:`\\min(x, 20)`, beyond
    which :math:`t = 1` to double precision.
    """

    max_grad: ClassVar[float] = 1.0884981612517279  # found numerically (mpmath, 40 digits)

    def fn(self, x):
        return self._fn_grad(_float(x), False)[0]

    def grad(self, x):
        return self._fn_grad(_float(x), True)[1]

    def fn_grad(self, x):
        return self._fn_grad(_float(x), True)

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


@ACTIVATIONS.register("maxout")
@dataclass(frozen=True)
class Maxout(Activation):
    """Maxout: each unit is the maximum of k linear pieces (default k = 2); the gradient goes to the arg-max.

    .. math:: a_j = \\max_{0 \\le i < k} z_{jk+i}, \\qquad
              \\frac{\\partial a_j}{\\partial z_{jk+i}} = [\\,i = \\operatorname{argmax}_{i'} z_{jk+i'}\\,]

    The pre-activation of shape (n, m*k) holds ``k`` contiguous columns per unit (the layer's
    weight has k times the output's columns); ``fn`` maps any (..., m*k) to (..., m). ``grad``
    is the (..., m*k) 0/1 routing mask; ``forward`` keeps the arg-max (..., m) as context. Never
    saturated (the slope is always 1 along the winning piece); ``maxout:1`` is the identity.
    See :mod:`initlab.maxout`.
    """

    k: int = 2

    def __post_init__(self):
        k = self.k
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"maxout k must be a positive integer, got {k!r}")
        object.__setattr__(self, "k", int(k))

    @property
    def pieces(self) -> int:  # type: ignore[override]
        return self.k

    def fn(self, x):
        return maxout(x, self.k)

    def grad(self, x):
        return maxout_grad(x, self.k)

    def fn_grad(self, x):
        a, idx = maxout_forward(x, self.k)
        return a, maxout_backward(idx, np.ones_like(a), self.k)

    def forward(self, z):
        return maxout_forward(z, self.k)

    def backward(self, ctx, grad_a):
        return maxout_backward(ctx, grad_a, self.k)

    def saturated(self, z, ctx=None):
        zr = maxout_split(z, self.k)
        return np.zeros(zr.shape[:-1], dtype=bool)
