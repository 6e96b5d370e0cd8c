"""Weight initializers that know their exact variance.

Every initializer is a frozen dataclass registered in :data:`INITIALIZERS` and built from a spec
string with :func:`get_initializer` (``"normal:0.01"``, ``"he_uniform"``,
``"variance_scaling:scale=2,mode=fan_in,distribution=truncated_normal"``).

Contract (used by the engine, the theory and the trainer)
---------------------------------------------------------
Weights have shape ``(fan_in, fan_out)`` and a layer computes ``z = a @ W`` (Keras' kernel layout).
A 1-D shape ``(n,)`` (a bias) has ``fan_in = fan_out = n``.

``sample(shape, rng, dtype=np.float32)``
    Draw an array of ``shape`` from a :class:`numpy.random.Generator` (float32 draws are made in
    float32 directly; other float dtypes are drawn in float32 and cast, float64 in float64).
``variance(shape)``
    The exact per-entry variance :math:`\\mathrm{Var}[W_{ij}]` in closed form
    (the mean-field theory uses :math:`\\sigma_w^2 = \\mathrm{fan\\_in} \\cdot \\mathrm{variance}`).
``mean(shape)``
    The per-entry mean (0 except for ``constant``).
``data_dependent``
    True for initializers that rescale on a batch (LSUV); the engine calls their ``rescale``.

The ``orthogonal`` and ``lsuv`` entries (:class:`initlab.lsuv.Orthogonal`, :class:`initlab.lsuv.LSUV`)
are defined in :mod:`initlab.lsuv` and registered when this module is imported.

Gain
----
Every variance-based initializer (``xavier_*``, ``he_*``, ``lecun_*``, ``orthogonal``,
``variance_scaling``, ``torch_default``) has a ``gain`` field that multiplies the standard deviation,
so the variance scales by ``gain**2``. :func:`with_gain` sets it (the CLI's ``--gain``);
:func:`gain` gives PyTorch's recommended gain for an activation.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._spec import Registry, SpecError, spec_string
from .activations import Activation, get_activation

__all__ = [
    "Initializer", "INITIALIZERS", "get_initializer", "fans", "with_gain", "gain", "torch_gain", "gain_initializers",
    "TRUNCATED_NORMAL_VARIANCE", "KERAS_TRUNCATION_STD", "Zeros", "Constant", "Normal", "Uniform", "TruncatedNormal",
    "XavierNormal", "XavierUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
    "VarianceScaling", "TorchDefault",
]

INITIALIZERS: Registry["Initializer"] = Registry("initializer")

#: Variance of a standard normal truncated to [-2, 2]: :math:`1 - 4\varphi(2) / (2\Phi(2) - 1) \approx 0.7737`.
TRUNCATED_NORMAL_VARIANCE: float = 1.0 - 4.0 * math.exp(-2.0) / math.sqrt(2.0 * math.pi) / math.erf(math.sqrt(2.0))

#: Keras' constant: the standard deviation of a standard normal truncated to [-2, 2] (``sqrt`` of the above).
KERAS_TRUNCATION_STD: float = 0.87962566103423978


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape: ``(n, m) -> (n, m)``; ``(n,) -> (n, n)``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape
    raise ValueError(f"weights must be 1-D or 2-D, got shape {shape}")


@dataclass(frozen=True)
class Initializer:
    """Base class: a distribution for weights with a closed-form variance."""

    name: ClassVar[str] = "initializer"
    data_dependent: ClassVar[bool] = False

    @property
    def spec(self) -> str:
        """Canonical spec string (name plus non-default parameters)."""
        return spec_string(self)

    def __str__(self) -> str:
        return self.spec

    @property
    def description(self) -> str:
        return (type(self).__doc__ or "").strip().splitlines()[0]

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
        """Draw weights.

        Parameters
        ----------
        shape : tuple of int
            ``(fan_in, fan_out)`` for a weight matrix, ``(n,)`` for a bias.
        rng : numpy.random.Generator
            The only source of randomness (same generator state, same bytes).
        dtype : floating dtype, default float32

        Returns
        -------
        ndarray of ``shape`` and ``dtype``
        """
        raise NotImplementedError

    def variance(self, shape: tuple[int, ...]) -> float:
        """Exact :math:`\\mathrm{Var}[W_{ij}]` for weights of ``shape`` (closed form, float)."""
        raise NotImplementedError

    def mean(self, shape: tuple[int, ...]) -> float:
        """Exact :math:`E[W_{ij}]` for weights of ``shape`` (0 except for ``constant``)."""
        return 0.0


def get_initializer(spec: Any) -> Initializer:
    """Parse an initializer spec (``"he"``, ``"normal:0.01"``) or pass an :class:`Initializer` through."""
    return INITIALIZERS.get(spec)


# -- samplers: one pass of random numbers in the work dtype, scaled in place -----------------------------
def _work_dtype(dtype: Any) -> type:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"initializers draw floating-point weights, got dtype {dt}")
    return np.float64 if dt == np.float64 else np.float32


def _normal(shape, rng: np.random.Generator, dtype, std: float) -> np.ndarray:
    """:math:`N(0, \\text{std}^2)`."""
    work = _work_dtype(dtype)
    x = rng.standard_normal(shape, dtype=work)
    x *= work(std)
    return x.astype(dtype, copy=False)


def _uniform(shape, rng: np.random.Generator, dtype, limit: float) -> np.ndarray:
    """:math:`U(-\\text{limit}, \\text{limit})`, never beyond ``limit`` rounded to ``dtype``."""
    work = _work_dtype(dtype)
    x = rng.random(shape, dtype=work)
    x *= work(2)
    x -= work(1)  # exact: 2u - 1 in [-1, 1)
    x *= work(limit)
    return x.astype(dtype, copy=False)


def _truncated_normal(shape, rng: np.random.Generator, dtype, std: float) -> np.ndarray:
    """:math:`N(0, \\text{std}^2)` conditioned on :math:`|x| \\le 2\\,\\text{std}` (exact: redraw the ~4.6% outside)."""
    work = _work_dtype(dtype)
    x = rng.standard_normal(shape, dtype=work)
    flat = x.reshape(-1)
    bad = np.flatnonzero(np.abs(flat) > 2)
    while bad.size:
        new = rng.standard_normal(bad.size, dtype=work)
        flat[bad] = new
        bad = bad[np.abs(new) > 2]
    x *= work(std)
    return x.astype(dtype, copy=False)


def _draw(family: str, shape, rng, dtype, var: float) -> np.ndarray:
    """Draw from ``family`` scaled so that the per-entry variance is ``var``."""
    if family == "normal":
        return _normal(shape, rng, dtype, math.sqrt(var))
    if family == "uniform":
        return _uniform(shape, rng, dtype, math.sqrt(3.0 * var))
    return _truncated_normal(shape, rng, dtype, math.sqrt(var / TRUNCATED_NORMAL_VARIANCE))


def _set_real(obj: Any, name: str, low: float | None = 0.0, strict: bool = False) -> None:
    """Check that field ``name`` is a finite real (``>= low``, or ``> low`` if ``strict``) and store it as a float."""
    value = getattr(obj, name)
    bound = "" if low is None else f" {'>' if strict else '>='} {low:g}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or (low is not None and (value <= low if strict else value < low)):
        raise ValueError(f"{name} must be a finite number{bound}, got {value}")
    object.__setattr__(obj, name, float(value))


def _check_choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(valid)}, got '{value}'")


# -- fixed-scale initializers --------------------------------------------------------------------------
@INITIALIZERS.register("zeros")
@dataclass(frozen=True)
class Zeros(Initializer):
    """All zeros (every unit computes the same thing: the symmetry is never broken)."""

    def sample(self, shape, rng, dtype=np.float32):
        _work_dtype(dtype)
        return np.zeros(shape, dtype=dtype)

    def variance(self, shape):
        return 0.0


@INITIALIZERS.register("constant")
@dataclass(frozen=True)
class Constant(Initializer):
    """Every weight equal to a constant c (default 0; Keras' Constant): mean c, variance 0."""

    value: float = 0.0

    def __post_init__(self):
        _set_real(self, "value", low=None)

    def sample(self, shape, rng, dtype=np.float32):
        _work_dtype(dtype)
        return np.full(shape, self.value, dtype=dtype)

    def variance(self, shape):
        return 0.0

    def mean(self, shape):
        return float(self.value)


@INITIALIZERS.register("normal", "random_normal")
@dataclass(frozen=True)
class Normal(Initializer):
    """Gaussian N(0, std²) with a fixed std (default 0.05, Keras' RandomNormal).

    .. math:: W_{ij} \\sim N(0, \\sigma^2), \\qquad \\mathrm{Var}[W_{ij}] = \\sigma^2
    """

    std: float = 0.05

    def __post_init__(self):
        _set_real(self, "std")

    def sample(self, shape, rng, dtype=np.float32):
        return _normal(shape, rng, dtype, self.std)

    def variance(self, shape):
        return self.std**2


@INITIALIZERS.register("uniform", "random_uniform")
@dataclass(frozen=True)
class Uniform(Initializer):
    """Uniform U(-limit, limit) with a fixed limit (default 0.05, Keras' RandomUniform).

    .. math:: W_{ij} \\sim U(-L, L), \\qquad \\mathrm{Var}[W_{ij}] = L^2 / 3
    """

    limit: float = 0.05

    def __post_init__(self):
        _set_real(self, "limit")

    def sample(self, shape, rng, dtype=np.float32):
        return _uniform(shape, rng, dtype, self.limit)

    def variance(self, shape):
        return self.limit**2 / 3.0


@INITIALIZERS.register("truncated_normal")
@dataclass(frozen=True)
class TruncatedNormal(Initializer):
    """Gaussian N(0, std²) with values beyond ±2·std redrawn (default std 0.05, Keras' TruncatedNormal).

    The redraw makes the law :math:`N(0, \\sigma^2)` conditioned on :math:`|W| \\le 2\\sigma`, whose
    variance is smaller than :math:`\\sigma^2`:

    .. math:: \\mathrm{Var}[W_{ij}] = \\sigma^2 \\left(1 - \\frac{2 \\cdot 2\\varphi(2)}{2\\Phi(2) - 1}\\right)
              \\approx 0.7737\\,\\sigma^2
    """

    std: float = 0.05

    def __post_init__(self):
        _set_real(self, "std")

    def sample(self, shape, rng, dtype=np.float32):
        return _truncated_normal(shape, rng, dtype, self.std)

    def variance(self, shape):
        return self.std**2 * TRUNCATED_NORMAL_VARIANCE


# -- variance-based initializers (with a gain) ---------------------------------------------------------
@dataclass(frozen=True)
class _GainScaled(Initializer):
    """Base: variance = gain² · unit_variance(shape), drawn from ``family`` (normal, uniform, truncated_normal)."""

    family: ClassVar[str] = "normal"

    def __post_init__(self):
        _set_real(self, "gain")

    def unit_variance(self, shape: tuple[int, ...]) -> float:
        """The variance at gain 1."""
        raise NotImplementedError

    def variance(self, shape):
        return self.gain**2 * self.unit_variance(shape)  # type: ignore[attr-defined]

    def sample(self, shape, rng, dtype=np.float32):
        return _draw(self.family, shape, rng, dtype, self.variance(shape))


@INITIALIZERS.register("xavier_normal", "xavier", "glorot_normal", "glorot")
@dataclass(frozen=True)
class XavierNormal(_GainScaled):
    """Glorot & Bengio (2010): N(0, gain² · 2 / (fan_in + fan_out)) (PyTorch's xavier_normal_).

    .. math:: \\mathrm{Var}[W_{ij}] = g^2 \\frac{2}{n_\\text{in} + n_\\text{out}}

    Keeps the forward and backward variance of a linear (or tanh near 0) layer balanced.
    Keras' ``glorot_normal`` truncates at 2σ with the same variance: ``variance_scaling:1,fan_avg``.
    """

    gain: float = 1.0

    def unit_variance(self, shape):
        return 2.0 / sum(fans(shape))


@INITIALIZERS.register("xavier_uniform", "glorot_uniform")
@dataclass(frozen=True)
class XavierUniform(_GainScaled):
    """Glorot & Bengio (2010): U(±gain · √(6 / (fan_in + fan_out))) (PyTorch's xavier_uniform_).

    .. math:: L = g \\sqrt{\\frac{6}{n_\\text{in} + n_\\text{out}}}, \\qquad
              \\mathrm{Var}[W_{ij}] = \\frac{L^2}{3} = g^2 \\frac{2}{n_\\text{in} + n_\\text{out}}
    """

    gain: float = 1.0
    family: ClassVar[str] = "uniform"

    def unit_variance(self, shape):
        return 2.0 / sum(fans(shape))


@INITIALIZERS.register("he_normal", "he", "kaiming_normal", "kaiming")
@dataclass(frozen=True)
class HeNormal(_GainScaled):
    """He et al. (2015): N(0, gain² / fan_in) with gain √2, ReLU's (PyTorch's kaiming_normal_).

    .. math:: \\mathrm{Var}[W_{ij}] = \\frac{g^2}{n_\\text{in}}, \\qquad g = \\sqrt 2

    Keeps :math:`E[z^2]` constant through ReLU layers (ReLU halves the second moment).
    """

    gain: float = math.sqrt(2.0)

    def unit_variance(self, shape):
        return 1.0 / fans(shape)[0]


@INITIALIZERS.register("he_uniform", "kaiming_uniform")
@dataclass(frozen=True)
class HeUniform(_GainScaled):
    """He et al. (2015): U(±gain · √(3 / fan_in)) with gain √2 (PyTorch's kaiming_uniform_ with a=0).

    .. math:: L = g \\sqrt{\\frac{3}{n_\\text{in}}}, \\qquad \\mathrm{Var}[W_{ij}] = \\frac{g^2}{n_\\text{in}}
    """

    gain: float = math.sqrt(2.0)
    family: ClassVar[str] = "uniform"

    def unit_variance(self, shape):
        return 1.0 / fans(shape)[0]


@INITIALIZERS.register("lecun_normal")
@dataclass(frozen=True)
class LecunNormal(_GainScaled):
    """LeCun et al. (1998): N(0, gain² / fan_in), the SELU initialization.

    .. math:: \\mathrm{Var}[W_{ij}] = \\frac{g^2}{n_\\text{in}}

    Untruncated, like ``xavier_normal`` and ``he_normal``; Keras' ``lecun_normal`` truncates at 2σ with
    the same variance: ``variance_scaling`` (its defaults).
    """

    gain: float = 1.0

    def unit_variance(self, shape):
        return 1.0 / fans(shape)[0]


@INITIALIZERS.register("lecun_uniform")
@dataclass(frozen=True)
class LecunUniform(_GainScaled):
    """LeCun et al. (1998): U(±gain · √(3 / fan_in)) (Keras' lecun_uniform).

    .. math:: L = g \\sqrt{\\frac{3}{n_\\text{in}}}, \\qquad \\mathrm{Var}[W_{ij}] = \\frac{g^2}{n_\\text{in}}
    """

    gain: float = 1.0
    family: ClassVar[str] = "uniform"

    def unit_variance(self, shape):
        return 1.0 / fans(shape)[0]


@INITIALIZERS.register("torch_default")
@dataclass(frozen=True)
class TorchDefault(_GainScaled):
    """PyTorch nn.Linear's default weight: U(±gain / √fan_in), i.e. kaiming_uniform_ with a=√5.

    .. math:: L = \\frac{g}{\\sqrt{n_\\text{in}}}, \\qquad \\mathrm{Var}[W_{ij}] = \\frac{g^2}{3\\,n_\\text{in}}

    A third of He's variance: signals shrink through deep ReLU stacks. For a bias PyTorch uses the
    *weight's* fan_in; a 1-D shape ``(n,)`` here uses ``n``, so pass the bias shape accordingly.
    """

    gain: float = 1.0
    family: ClassVar[str] = "uniform"

    def unit_variance(self, shape):
        return 1.0 / (3.0 * fans(shape)[0])


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


@INITIALIZERS.register("variance_scaling")
@dataclass(frozen=True)
class VarianceScaling(_GainScaled):
    """Keras' VarianceScaling: variance gain² · scale / n, n = fan_in, fan_out or their mean.

    Parameters
    ----------
    scale : float, default 1
        Positive scaling factor.
    mode : {"fan_in", "fan_out", "fan_avg"}, default "fan_in"
        :math:`n = n_\\text{in}`, :math:`n_\\text{out}` or :math:`(n_\\text{in} + n_\\text{out}) / 2`.
    distribution : {"truncated_normal", "untruncated_normal", "uniform"}, default "truncated_normal"
        ``"normal"`` is accepted as Keras 2's name for ``"truncated_normal"``.
    gain : float, default 1
        Multiplies the standard deviation.

    Notes
    -----
    With :math:`s^2 = g^2\\,\\text{scale} / n`:

    - truncated_normal: :math:`N(0, \\sigma^2)` cut at :math:`\\pm 2\\sigma` with
      :math:`\\sigma = s / 0.87962566103423978`, the std of a unit normal cut at ±2, so the variance is
      :math:`s^2` (to 1e-16);
    - untruncated_normal: :math:`N(0, s^2)`;
    - uniform: :math:`U(-L, L)` with :math:`L = \\sqrt{3}\\,s`.

    In every case :math:`\\mathrm{Var}[W_{ij}] = s^2`.
    """

    scale: float = 1.0
    mode: str = "fan_in"
    distribution: str = "truncated_normal"
    gain: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        _set_real(self, "scale", strict=True)
        mode, dist = str(self.mode).lower(), str(self.distribution).lower()
        dist = "truncated_normal" if dist == "normal" else dist
        _check_choice("mode", mode, _MODES)
        _check_choice("distribution", dist, _DISTRIBUTIONS)
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "distribution", dist)

    def _n(self, shape) -> float:
        fi, fo = fans(shape)
        return {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2.0}[self.mode]

    def unit_variance(self, shape):
        return self.scale / self._n(shape)

    def sample(self, shape, rng, dtype=np.float32):
        s = self.gain * math.sqrt(self.unit_variance(shape))
        if self.distribution == "truncated_normal":
            return _truncated_normal(shape, rng, dtype, s / KERAS_TRUNCATION_STD)
        if self.distribution == "untruncated_normal":
            return _normal(shape, rng, dtype, s)
        return _uniform(shape, rng, dtype, math.sqrt(3.0) * s)


# -- gain ----------------------------------------------------------------------------------------------
def gain_initializers() -> list[str]:
    """Names of the registered initializers that take a ``gain``."""
    return [n for n in INITIALIZERS.names() if any(f.name == "gain" for f in dataclasses.fields(INITIALIZERS.cls(n)))]


def with_gain(init: Initializer | str, gain: float) -> Initializer:
    """Return ``init`` with its ``gain`` replaced (the CLI's ``--gain``).

    Parameters
    ----------
    init : Initializer or str
        An initializer or its spec.
    gain : float
        Non-negative; multiplies the standard deviation, so the variance scales by ``gain**2``.

    Raises
    ------
    SpecError
        One line, if ``init`` has no gain (a fixed-scale or data-dependent initializer) or ``gain`` is invalid.
    """
    init = get_initializer(init)
    if not any(f.name == "gain" for f in dataclasses.fields(init)):
        raise SpecError(f"{init.spec} has a fixed scale; --gain applies to: {', '.join(gain_initializers())}")
    try:
        return dataclasses.replace(init, gain=float(gain))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"bad gain for {init.spec}: {exc}") from None


_TORCH_GAINS: dict[str, float] = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 0.75}


def torch_gain(activation: Activation | str) -> float | None:
    """PyTorch's ``calculate_gain`` for an activation, or ``None`` where PyTorch has no value.

    .. math:: g_\\text{linear} = g_\\text{sigmoid} = 1, \\quad g_\\text{tanh} = \\tfrac53, \\quad
              g_\\text{relu} = \\sqrt2, \\quad g_\\text{leaky\\_relu} = \\sqrt{\\frac{2}{1 + \\alpha^2}}, \\quad
              g_\\text{selu} = \\tfrac34
    """
    act = get_activation(activation)
    if act.name == "leaky_relu":
        alpha = float(act.alpha)  # type: ignore[attr-defined]
        return math.sqrt(2.0 / (1.0 + alpha * alpha))
    return _TORCH_GAINS.get(act.name)


def gain(activation: Activation | str) -> float:
    """PyTorch's recommended gain for an activation (see :func:`torch_gain` for the values).

    Raises
    ------
    SpecError
        One line, for an activation PyTorch gives no gain (use ``initlab recommend --act NAME``).
    """
    g = torch_gain(activation)
    if g is None:
        name = get_activation(activation).spec
        raise SpecError(
            f"PyTorch has no gain for activation '{name}' (it has one for: linear, sigmoid, tanh, relu, "
            f"leaky_relu, selu); try `initlab recommend --act {name}`"
        )
    return g


# The ``orthogonal`` and ``lsuv`` entries live in :mod:`initlab.lsuv`, which builds on the classes above;
# importing it here registers them whichever module is imported first.
from . import lsuv as _lsuv  # noqa: E402,F401
