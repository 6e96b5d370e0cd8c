"""Softmax, the trainer's one non-elementwise output activation, and activation-spec resolution for layers.

Softmax is not in :data:`initlab.activations.ACTIVATIONS` (it is not elementwise: it has no scalar
derivative, so the simulation engine cannot use it). Layers accept ``"softmax"`` wherever they
accept an activation spec, and the model fuses it with categorical cross-entropy (see
:mod:`initlab.nn.losses`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._spec import SpecError, UnknownNameError, parse_spec
from ..activations import ACTIVATIONS, Activation, get_activation

__all__ = ["Softmax", "softmax", "log_softmax", "softmax_and_log", "resolve_activation", "ACTIVATION_NAMES"]


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, stable for any finite input (the row maximum is subtracted).

    .. math:: p_k = \\frac{e^{z_k - \\max_j z_j}}{\\sum_i e^{z_i - \\max_j z_j}}

    Parameters
    ----------
    z : ndarray of shape (n, k)

    Returns
    -------
    ndarray of shape (n, k), same dtype, rows summing to 1.
    """
    p = np.subtract(z, z.max(axis=-1, keepdims=True))
    np.exp(p, out=p)
    p /= p.sum(axis=-1, keepdims=True)
    return p


def log_softmax(z: np.ndarray) -> np.ndarray:
    """:math:`\\log p_k = z_k - \\max z - \\log \\sum_i e^{z_i - \\max z}` over the last axis (no overflow)."""
    return softmax_and_log(z)[1]


def softmax_and_log(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(softmax(z), log_softmax(z))`` over the last axis with one exponential pass."""
    s = np.subtract(z, z.max(axis=-1, keepdims=True))
    p = np.exp(s)
    total = p.sum(axis=-1, keepdims=True)
    p /= total
    s -= np.log(total)
    return p, s


@dataclass(frozen=True)
class Softmax(Activation):
    """Softmax over the last axis: φ(z)_k = exp(z_k) / Σ_j exp(z_j) (output layers; not elementwise).

    ``forward(z) -> (p, p)``; ``backward`` is the Jacobian-vector product

    .. math:: \\frac{\\partial L}{\\partial z_k} = p_k \\Big(g_k - \\sum_j g_j p_j\\Big), \\qquad g = \\frac{\\partial L}{\\partial p}.

    There is no elementwise derivative, so :meth:`grad` and :meth:`saturated` raise ``TypeError``
    (training statistics report NaN saturation for softmax layers).
    """

    name: ClassVar[str] = "softmax"
    max_grad: ClassVar[float] = 0.25

    def fn(self, x):
        x = np.asarray(x)
        return softmax(x if x.dtype.kind == "f" else x.astype(np.float64))

    def grad(self, x):
        raise TypeError("softmax is not elementwise: it has a Jacobian, not a derivative")

    def fn_grad(self, x):
        raise TypeError("softmax is not elementwise: it has a Jacobian, not a derivative")

    def forward(self, z):
        p = self.fn(z)
        return p, p

    def backward(self, ctx, grad_a):
        gz = np.multiply(grad_a, ctx)
        dot = gz.sum(axis=-1, keepdims=True)
        gz -= ctx * dot
        return gz

    def saturated(self, z):
        raise TypeError("softmax has no elementwise saturation")


#: Names a layer accepts as an activation: the registry's names and ``softmax``.
ACTIVATION_NAMES: tuple[str, ...] = tuple(ACTIVATIONS.all_names()) + ("softmax",)


def resolve_activation(spec: Any) -> Activation:
    """An activation for a layer: ``None`` → linear, ``"softmax"`` → :class:`Softmax`, else the registry's entry.

    Raises
    ------
    UnknownNameError
        One line with the valid names (including ``softmax``) and the closest match.
    SpecError
        For bad parameters.
    """
    if spec is None:
        return get_activation("linear")
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str):
        name, args, kwargs = parse_spec(spec)
        if name == "softmax":
            if args or kwargs:
                raise SpecError(f"softmax takes no parameters, got '{spec}'")
            return Softmax()
        if name not in ACTIVATIONS:
            raise UnknownNameError("activation", name, list(ACTIVATION_NAMES))
    return get_activation(spec)
