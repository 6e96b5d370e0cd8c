"""Gains: PyTorch's recommended gain for an activation and setting an initializer's ``gain``.

Every variance-based initializer (``xavier_*``, ``he_*``, ``lecun_*``, ``orthogonal``,
``variance_scaling``, ``torch_default``) has a ``gain`` field that multiplies the standard deviation,
so the variance scales by ``gain**2``. :func:`with_gain` sets it (the CLI's ``--gain``);
:func:`gain` gives PyTorch's recommended gain for an activation.
"""

from __future__ import annotations

import dataclasses
import math

from .._spec import SpecError
from ..activations import Activation, get_activation
from .base import INITIALIZERS, Initializer, get_initializer

__all__ = ["gain", "torch_gain", "with_gain", "gain_initializers"]


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
        raise SpecError(f"{init.spec} has a fixed scale; a gain applies only to: {', '.join(gain_initializers())}")
    try:
        return dataclasses.replace(init, gain=float(gain))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"bad gain for {init.spec}: {exc}") from None


_TORCH_GAINS: dict[str, float] = {
    "linear": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    "selu": 0.75,
}


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
