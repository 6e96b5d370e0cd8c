"""Weight initializers that know their exact variance.

Every initializer is a frozen dataclass registered in :data:`INITIALIZERS` and built from a spec
string with :func:`get_initializer` (``"normal:0.01"``, ``"he_uniform"``,
``"variance_scaling:scale=2,mode=fan_in,distribution=truncated_normal"``).

Contract (used by the engine, the theory and the trainer)
---------------------------------------------------------
Weights have shape ``(fan_in, fan_out)`` and a layer computes ``z = a @ W`` (Keras' kernel layout).
A 1-D shape ``(n,)`` (a bias) has ``fan_in = fan_out = n``.

``sample(shape, rng, dtype=np.float32)``
    Draw an array of ``shape`` from a :class:`numpy.random.Generator`.
``variance(shape)``
    The exact per-entry variance :math:`\\mathrm{Var}[W_{ij}]` in closed form
    (the mean-field theory uses :math:`\\sigma_w^2 = \\mathrm{fan\\_in} \\cdot \\mathrm{variance}`).
``mean(shape)``
    The per-entry mean (0 except for ``constant``).
``data_dependent``
    True for initializers that rescale on a batch (LSUV); the engine calls them specially.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._spec import Registry, spec_string

__all__ = [
    "Initializer",
    "INITIALIZERS",
    "get_initializer",
    "fans",
    "Zeros",
    "Normal",
    "XavierNormal",
    "HeNormal",
]

INITIALIZERS: Registry["Initializer"] = Registry("initializer")


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
        raise NotImplementedError

    def variance(self, shape: tuple[int, ...]) -> float:
        raise NotImplementedError

    def mean(self, shape: tuple[int, ...]) -> float:
        return 0.0


def get_initializer(spec: Any) -> Initializer:
    """Parse an initializer spec (``"he"``, ``"normal:0.01"``) or pass an :class:`Initializer` through."""
    return INITIALIZERS.get(spec)


def _check_nonneg(name: str, value: float) -> None:
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")


@INITIALIZERS.register("zeros")
@dataclass(frozen=True)
class Zeros(Initializer):
    """All zeros (every unit computes the same thing: the symmetry is never broken)."""

    def sample(self, shape, rng, dtype=np.float32):
        return np.zeros(shape, dtype=dtype)

    def variance(self, shape):
        return 0.0


@INITIALIZERS.register("normal", "random_normal")
@dataclass(frozen=True)
class Normal(Initializer):
    """Gaussian N(0, std²) with a fixed std (default 0.05, Keras' RandomNormal)."""

    std: float = 0.05

    def __post_init__(self):
        _check_nonneg("std", self.std)

    def sample(self, shape, rng, dtype=np.float32):
        return (rng.standard_normal(shape, dtype=np.float64) * self.std).astype(dtype, copy=False)

    def variance(self, shape):
        return self.std**2


@INITIALIZERS.register("xavier_normal", "xavier", "glorot_normal", "glorot")
@dataclass(frozen=True)
class XavierNormal(Initializer):
    """Glorot & Bengio (2010): N(0, gain² · 2 / (fan_in + fan_out))."""

    gain: float = 1.0

    def __post_init__(self):
        _check_nonneg("gain", self.gain)

    def variance(self, shape):
        fi, fo = fans(shape)
        return self.gain**2 * 2.0 / (fi + fo)

    def sample(self, shape, rng, dtype=np.float32):
        return (rng.standard_normal(shape, dtype=np.float64) * np.sqrt(self.variance(shape))).astype(dtype, copy=False)


@INITIALIZERS.register("he_normal", "he", "kaiming_normal", "kaiming")
@dataclass(frozen=True)
class HeNormal(Initializer):
    """He et al. (2015): N(0, gain² / fan_in) with gain √2 (ReLU's)."""

    gain: float = float(np.sqrt(2.0))

    def __post_init__(self):
        _check_nonneg("gain", self.gain)

    def variance(self, shape):
        fi, _ = fans(shape)
        return self.gain**2 / fi

    def sample(self, shape, rng, dtype=np.float32):
        return (rng.standard_normal(shape, dtype=np.float64) * np.sqrt(self.variance(shape))).astype(dtype, copy=False)
