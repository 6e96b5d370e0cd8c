"""Variance-based initializers with a ``gain``: ``xavier_*``, ``he_*``, ``lecun_*``, ``torch_default``,
``variance_scaling``.

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
    "XavierNormal", "XavierUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "TorchDefault",
    "VarianceScaling",
]


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
