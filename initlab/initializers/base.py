"""The initializer contract, the registry and the pieces every family shares.

Entries are frozen dataclasses registered in :data:`INITIALIZERS` (by the family modules
:mod:`.fixed`, :mod:`.scaled`, :mod:`.orthogonal`, which import only this module) and built from a
spec string with :func:`get_initializer`. The shared samplers (:func:`_normal`, :func:`_uniform`,
:func:`_truncated_normal`, :func:`_draw`), validators (:func:`_set_real`, :func:`_check_choice`) and
the base of every initializer with a gain (:class:`_GainScaled`) live here too.

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

Gain
----
Every variance-based initializer is a :class:`_GainScaled`: a ``gain`` field multiplies the standard
deviation, so the variance is ``gain**2`` times its ``unit_variance(shape)`` (see :mod:`.gain`).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._spec import Registry, RegistryEntry
from .sampler import standard_normal

__all__ = [
    "Initializer",
    "INITIALIZERS",
    "get_initializer",
    "fans",
    "TRUNCATED_NORMAL_VARIANCE",
    "KERAS_TRUNCATION_STD",
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
class Initializer(RegistryEntry):
    """Base class: a distribution for weights with a closed-form variance."""

    name: ClassVar[str] = "initializer"
    data_dependent: ClassVar[bool] = False

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

    @property
    def iid_gaussian(self) -> bool:
        """True when the entries are i.i.d. Gaussian (what the finite-width theory,
        :mod:`initlab.theory.finite_width`, assumes); False for uniform, truncated, orthogonal, ... draws."""
        return False


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
    """:math:`N(0, \\text{std}^2)` (float32 by the Box–Muller block sampler of :mod:`.sampler`)."""
    work = _work_dtype(dtype)
    x = standard_normal(rng, shape, work)
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
    x = standard_normal(rng, shape, work)
    flat = x.reshape(-1)
    bad = np.flatnonzero(np.abs(flat) > 2)
    while bad.size:
        new = standard_normal(rng, bad.size, work)
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


#: Largest magnitude of a scale parameter (std, gain, limit, ...): its square must not overflow a float.
MAX_SCALE = 1e150


def _set_real(obj: Any, name: str, low: float | None = 0.0, strict: bool = False) -> None:
    """Check that field ``name`` is a finite real (``>= low``, or ``> low`` if ``strict``) of magnitude at
    most :data:`MAX_SCALE` (variances are squares), and store it as a float."""
    value = getattr(obj, name)
    bound = "" if low is None else f" {'>' if strict else '>='} {low:g}"
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or (low is not None and (value <= low if strict else value < low))
    ):
        raise ValueError(f"{name} must be a finite number{bound}, got {value}")
    if abs(float(value)) > MAX_SCALE:
        raise ValueError(
            f"{name} must be at most {MAX_SCALE:g} in magnitude (its square would overflow), got {value:g}"
        )
    object.__setattr__(obj, name, float(value))


def _check_choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(valid)}, got '{value}'")


# -- base of the variance-based initializers (with a gain) ---------------------------------------------
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

    @property
    def iid_gaussian(self) -> bool:
        return self.family == "normal"

    def sample(self, shape, rng, dtype=np.float32):
        return _draw(self.family, shape, rng, dtype, self.variance(shape))
