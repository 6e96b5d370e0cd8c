"""Activation functions, each with its derivative beside it.

Every activation is a frozen dataclass registered in :data:`ACTIVATIONS` and built from a
spec string with :func:`get_activation` (``"leaky_relu:0.2"``, ``"elu:alpha=0.5"``).

Contract (used by the engine, the theory and the trainer)
---------------------------------------------------------
``fn(x)``
    :math:`\\phi(x)`, elementwise, same dtype as ``x``.
``grad(x)``
    :math:`\\phi'(x)`, elementwise, same dtype as ``x``.
``fn_grad(x)``
    ``(fn(x), grad(x))``, sharing work where possible.
``forward(z) -> (a, ctx)`` and ``backward(ctx, grad_a) -> grad_z``
    The layer view used by the engine and the trainer. For elementwise activations
    ``ctx`` is :math:`\\phi'(z)` and the backward pass multiplies by it; :class:`Maxout`
    overrides both (its input has ``k`` times the output's columns).
``max_grad``
    :math:`\\sup_x |\\phi'(x)|`; a unit is *saturated* where :math:`|\\phi'(z)| < 0.05\\,\\text{max\\_grad}`.
``can_die``
    Whether units can be stuck at a zero derivative for every input (dead units).
``pieces``
    Columns of pre-activation per output unit (1, or ``k`` for maxout).

All functions are numerically stable in float32 and float64 for :math:`|x| \\le 10^4`
(no overflow warnings, no NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._spec import Registry, spec_string

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "SATURATION_FRACTION",
    "Linear",
    "Tanh",
    "ReLU",
]

#: A unit is saturated where its derivative is below this fraction of the activation's maximum derivative.
SATURATION_FRACTION = 0.05

ACTIVATIONS: Registry["Activation"] = Registry("activation")


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

    def saturated(self, z: np.ndarray) -> np.ndarray:
        """Boolean mask: :math:`|\\phi'(z)| < 0.05\\,\\max|\\phi'|`."""
        return np.abs(self.grad(z)) < self.saturation_threshold()


def get_activation(spec: Any) -> Activation:
    """Parse an activation spec (``"relu"``, ``"leaky_relu:0.2"``) or pass an :class:`Activation` through."""
    return ACTIVATIONS.get(spec)


@ACTIVATIONS.register("linear", "identity")
@dataclass(frozen=True)
class Linear(Activation):
    """Identity: φ(x) = x."""

    def fn(self, x):
        return x.copy()

    def grad(self, x):
        return np.ones_like(x)


@ACTIVATIONS.register("tanh")
@dataclass(frozen=True)
class Tanh(Activation):
    """Hyperbolic tangent: φ(x) = tanh x, zero-centred, saturates at ±1.

    .. math:: \\phi(x) = \\tanh x, \\qquad \\phi'(x) = 1 - \\tanh^2 x
    """

    def fn(self, x):
        return np.tanh(x)

    def grad(self, x):
        t = np.tanh(x)
        return 1 - t * t

    def fn_grad(self, x):
        t = np.tanh(x)
        return t, 1 - t * t


@ACTIVATIONS.register("relu")
@dataclass(frozen=True)
class ReLU(Activation):
    """Rectified linear unit: φ(x) = max(x, 0); units can die.

    .. math:: \\phi(x) = \\max(x, 0), \\qquad \\phi'(x) = [x > 0]
    """

    can_die: ClassVar[bool] = True

    def fn(self, x):
        return np.maximum(x, 0)

    def grad(self, x):
        return (x > 0).astype(x.dtype)
