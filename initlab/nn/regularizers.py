"""Weight penalties with Keras semantics: the penalty is added to the loss and its gradient to the weight's.

Spec strings: ``"l2"``, ``"l2:0.001"``, ``"l1:1e-4"``, ``"l1_l2:l1=1e-5,l2=1e-4"`` (alias ``elastic_net``).

.. math:: R(W) = \\lambda_1 \\sum |W_{ij}| + \\lambda_2 \\sum W_{ij}^2, \\qquad
          \\nabla R = \\lambda_1 \\operatorname{sign}(W) + 2 \\lambda_2 W

(Keras' ``l2`` has no factor 1/2, so its gradient is :math:`2\\lambda_2 W`; the sign of 0 is 0.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._spec import Registry, RegistryEntry

__all__ = ["Regularizer", "REGULARIZERS", "get_regularizer", "L1", "L2", "L1L2"]

REGULARIZERS: Registry["Regularizer"] = Registry("regularizer")


def _check(name: str, v: float) -> None:
    if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v}")


@dataclass(frozen=True)
class Regularizer(RegistryEntry):
    """Base class: ``penalty(w) -> float`` and ``add_grad(w, g)`` (adds the penalty's gradient into ``g``).

    Subclasses define the fields ``l1`` and/or ``l2`` (a missing one counts as 0).
    """

    l1: ClassVar[float] = 0.0
    l2: ClassVar[float] = 0.0


    def __call__(self, w: np.ndarray) -> float:
        return self.penalty(w)

    def penalty(self, w: np.ndarray) -> float:
        """:math:`\\lambda_1 \\sum|w| + \\lambda_2 \\sum w^2` (float64 sum)."""
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(w).sum(dtype=np.float64))
        if self.l2:
            flat = w.reshape(-1)
            total += self.l2 * float(np.dot(flat, flat))
        return total

    def add_grad(self, w: np.ndarray, g: np.ndarray) -> None:
        """``g += λ1 sign(w) + 2 λ2 w`` in place (``g`` has ``w``'s shape and dtype)."""
        if self.l1:
            g += self.l1 * np.sign(w)
        if self.l2:
            g += (2.0 * self.l2) * w


@REGULARIZERS.register("l1")
@dataclass(frozen=True)
class L1(Regularizer):
    """Lasso penalty λ1·Σ|w| (default λ1 = 0.01, Keras'); pushes weights to exactly zero."""

    l1: float = 0.01

    def __post_init__(self):
        _check("l1", self.l1)


@REGULARIZERS.register("l2")
@dataclass(frozen=True)
class L2(Regularizer):
    """Ridge (weight decay) penalty λ2·Σw² (default λ2 = 0.01, Keras'); gradient 2·λ2·w."""

    l2: float = 0.01

    def __post_init__(self):
        _check("l2", self.l2)


@REGULARIZERS.register("l1_l2", "elastic_net", "l1l2")
@dataclass(frozen=True)
class L1L2(Regularizer):
    """Elastic net λ1·Σ|w| + λ2·Σw² (defaults 0.01 and 0.01, as keras.regularizers.l1_l2)."""

    l1: float = 0.01
    l2: float = 0.01

    def __post_init__(self):
        _check("l1", self.l1)
        _check("l2", self.l2)


def get_regularizer(spec: Any) -> Regularizer | None:
    """``None`` → ``None``; a spec string (``"l2:1e-4"``) or a :class:`Regularizer` → the regularizer."""
    if spec is None:
        return None
    return REGULARIZERS.get(spec)
