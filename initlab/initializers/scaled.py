"""Variance-based initializers with a ``gain``: ``xavier_*``, ``glorot_*``, ``kaiming_*``, ``he_*``, ``lecun_*``,
``torch_default``, ``variance_scaling``.

A name behaves as in the library it comes from (:data:`NAMING`): Keras' names (``glorot_normal``,
``he_normal``, ``lecun_normal``, ``variance_scaling``) draw their normals truncated at ±2σ as Keras 3
does, PyTorch's (``xavier_normal``, ``kaiming_normal``) untruncated as ``torch.nn.init`` does. The
short names follow the same rule: ``glorot`` and ``he`` are Keras' words, ``xavier`` and ``kaiming``
PyTorch's. The uniform ones agree in both libraries.

Each is a :class:`~initlab.initializers.base._GainScaled`: its variance is ``gain**2`` times a function
of the fans, ``(fan_in, fan_out)`` of a weight of shape ``(fan_in, fan_out)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import (
    INITIALIZERS,
    KERAS_TRUNCATION_STD,
    _check_choice,
    _GainScaled,
    _normal,
    _set_real,
    _truncated_normal,
    _uniform,
    fans,
)

__all__ = [
    "XavierNormal", "GlorotNormal", "XavierUniform", "KaimingNormal", "HeNormal", "HeUniform", "LecunNormal",
    "LecunUniform", "TorchDefault", "VarianceScaling", "NAMING",
]


@INITIALIZERS.register("xavier_normal", "xavier")
@dataclass(frozen=True)
class XavierNormal(_GainScaled):
    """PyTorch's xavier_normal_ (Glorot & Bengio 2010): N(0, gain² · 2 / (fan_in + fan_out)), untruncated.

    .. math:: \\mathrm{Var}[W_{ij}] = g^2 \\frac{2}{n_\\text{in} + n_\\text{out}}

    Keeps the forward and backward variance of a linear (or tanh near 0) layer balanced.
    Keras' name, ``glorot_normal``, draws the same variance from a truncated normal (:class:`GlorotNormal`).
    """

    gain: float = 1.0

    def unit_variance(self, shape):
        return 2.0 / sum(fans(shape))


@INITIALIZERS.register("glorot_normal", "glorot")
@dataclass(frozen=True)
class GlorotNormal(_GainScaled):
    """Keras' glorot_normal: variance gain² · 2 / (fan_in + fan_out), from a normal truncated at ±2σ.

    .. math:: W_{ij} = \\frac{s}{c} Z, \\quad Z \\sim N(0, 1) \\text{ given } |Z| \\le 2, \\qquad
              s^2 = g^2 \\frac{2}{n_\\text{in} + n_\\text{out}}, \\quad c = \\sqrt{\\mathrm{Var}[Z]} = 0.8796\\ldots

    so :math:`\\mathrm{Var}[W_{ij}] = s^2` exactly, every weight lies within :math:`\\pm 2s/c \\approx \\pm 2.27 s`
    (Keras 3's ``VarianceScaling(1, "fan_avg", "truncated_normal")``).
    """

    gain: float = 1.0
    family: ClassVar[str] = "truncated_normal"

    def unit_variance(self, shape):
        return 2.0 / sum(fans(shape))


@INITIALIZERS.register("xavier_uniform", "glorot_uniform")
@dataclass(frozen=True)
class XavierUniform(_GainScaled):
    """Glorot & Bengio (2010): U(±gain · √(6 / (fan_in + fan_out))) (PyTorch's xavier_uniform_, Keras' glorot_uniform).

    .. math:: L = g \\sqrt{\\frac{6}{n_\\text{in} + n_\\text{out}}}, \\qquad
              \\mathrm{Var}[W_{ij}] = \\frac{L^2}{3} = g^2 \\frac{2}{n_\\text{in} + n_\\text{out}}
    """

    gain: float = 1.0
    family: ClassVar[str] = "uniform"

    def unit_variance(self, shape):
        return 2.0 / sum(fans(shape))


@INITIALIZERS.register("kaiming_normal", "kaiming")
@dataclass(frozen=True)
class KaimingNormal(_GainScaled):
    """PyTorch's kaiming_normal_ (He et al. 2015): N(0, gain² / fan_in), gain √2 (ReLU's), untruncated.

    .. math:: \\mathrm{Var}[W_{ij}] = \\frac{g^2}{n_\\text{in}}, \\qquad g = \\sqrt 2

    Keeps :math:`E[z^2]` constant through ReLU layers (ReLU halves the second moment). Keras' name,
    ``he_normal``, draws the same variance from a truncated normal (:class:`HeNormal`).
    """

    gain: float = math.sqrt(2.0)

    def unit_variance(self, shape):
        return 1.0 / fans(shape)[0]


@INITIALIZERS.register("he_normal", "he")
@dataclass(frozen=True)
class HeNormal(_GainScaled):
    """Keras' he_normal: variance gain² / fan_in, gain √2, from a normal truncated at ±2σ.

    .. math:: \\mathrm{Var}[W_{ij}] = \\frac{g^2}{n_\\text{in}}, \\qquad g = \\sqrt 2

    Drawn as :class:`GlorotNormal` is (σ raised by 1/0.8796 so the variance is exact); Keras 3's
    ``VarianceScaling(2, "fan_in", "truncated_normal")``.
    """

    gain: float = math.sqrt(2.0)
    family: ClassVar[str] = "truncated_normal"

    def unit_variance(self, shape):
        return 1.0 / fans(shape)[0]


@INITIALIZERS.register("he_uniform", "kaiming_uniform")
@dataclass(frozen=True)
class HeUniform(_GainScaled):
    """He et al. (2015): U(±gain · √(3 / fan_in)), gain √2 (Keras' he_uniform, PyTorch's kaiming_uniform_ with a=0).

    .. math:: L = g \\sqrt{\\frac{3}{n_\\text{in}}}, \\qquad \\mathrm{Var}[W_{ij}] = \\frac{g^2}{n_\\text{in}}
    """

    gain: float = math.sqrt(2.0)
    family: ClassVar[str] = "uniform"

    def unit_variance(self, shape):
        return 1.0 / fans(shape)[0]


@INITIALIZERS.register("lecun_normal")
@dataclass(frozen=True)
class LecunNormal(_GainScaled):
    """Keras' lecun_normal (LeCun et al. 1998; SELU's): variance gain² / fan_in, from a normal truncated at ±2σ.

    .. math:: \\mathrm{Var}[W_{ij}] = \\frac{g^2}{n_\\text{in}}

    Keras 3's ``VarianceScaling(1, "fan_in", "truncated_normal")``; for the untruncated normal use
    ``kaiming_normal:1`` (the same variance).
    """

    gain: float = 1.0
    family: ClassVar[str] = "truncated_normal"

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


#: How the library names resolve (printed by ``initlab list``).
NAMING = (
    "Names behave as in their library. Keras' glorot_normal (glorot), he_normal (he), lecun_normal and "
    "variance_scaling (its default) draw a normal truncated at ±2σ with σ = s/0.8796, so the variance is "
    "exactly s², as Keras 3; PyTorch's xavier_normal (xavier) and kaiming_normal (kaiming) are untruncated "
    "normals, as torch.nn.init. The uniform ones agree in both."
)

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

    @property
    def iid_gaussian(self) -> bool:
        return self.distribution == "untruncated_normal"

    def sample(self, shape, rng, dtype=np.float32):
        s = self.gain * math.sqrt(self.unit_variance(shape))
        if self.distribution == "truncated_normal":
            return _truncated_normal(shape, rng, dtype, s / KERAS_TRUNCATION_STD)
        if self.distribution == "untruncated_normal":
            return _normal(shape, rng, dtype, s)
        return _uniform(shape, rng, dtype, math.sqrt(3.0) * s)
