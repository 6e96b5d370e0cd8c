"""Fixed-scale initializers: ``zeros``, ``constant``, ``normal``, ``uniform``, ``truncated_normal``.

Their scale is a parameter (Keras' defaults), not a function of the fans, so they take no ``gain``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import (
    INITIALIZERS,
    TRUNCATED_NORMAL_VARIANCE,
    Initializer,
    _normal,
    _set_real,
    _truncated_normal,
    _uniform,
    _work_dtype,
)

__all__ = ["Zeros", "Constant", "Normal", "Uniform", "TruncatedNormal"]


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

    @property
    def iid_gaussian(self) -> bool:
        return True


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
