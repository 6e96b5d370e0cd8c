"""Activation functions, each with its derivative beside it.

Every activation is a frozen dataclass registered in :data:`ACTIVATIONS` and built from a
spec string with :func:`get_activation` (``"leaky_relu:0.2"``, ``"elu:alpha=0.5"``).
The contract every entry follows is documented in :mod:`initlab.activations.base`.

Modules
-------
``base``
    :class:`Activation` (the contract), :data:`ACTIVATIONS`, :func:`get_activation`, :data:`SATURATION_FRACTION`.
``piecewise``
    linear, relu, leaky_relu, hard_tanh, hard_sigmoid.
``sigmoidal``
    sigmoid, tanh, softsign, erf.
``smooth``
    elu, selu, gelu, gelu_tanh, silu, softplus, mish.
``maxout``
    maxout (the entry and its array functions).
``_special``
    Private numeric helpers (dtype handling, stable sigmoid, fast log1p and float32 normal CDF).
"""

from __future__ import annotations

from ._special import _ndtr_float32  # noqa: F401  (private; imported from here by the tests)
from .base import ACTIVATIONS, SATURATION_FRACTION, Activation, get_activation
from .maxout import Maxout
from .piecewise import HardSigmoid, HardTanh, LeakyReLU, Linear, ReLU
from .sigmoidal import Erf, Sigmoid, Softsign, Tanh
from .smooth import ELU, GELU, SELU, SELU_ALPHA, SELU_SCALE, GELUTanh, Mish, SiLU, Softplus

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "SATURATION_FRACTION",
    "SELU_SCALE",
    "SELU_ALPHA",
    "Linear",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "SELU",
    "GELU",
    "GELUTanh",
    "SiLU",
    "Softplus",
    "Softsign",
    "HardTanh",
    "HardSigmoid",
    "Erf",
    "Mish",
    "Maxout",
]

# Registered here, in one place, because the families interleave: this order is the order
# `initlab list` shows and the tests iterate. Add new entries at the end.
for _cls, _names in (
    (Linear, ("linear", "identity")),
    (Sigmoid, ("sigmoid", "logistic")),
    (Tanh, ("tanh",)),
    (ReLU, ("relu",)),
    (LeakyReLU, ("leaky_relu",)),
    (ELU, ("elu",)),
    (SELU, ("selu",)),
    (GELU, ("gelu",)),
    (GELUTanh, ("gelu_tanh",)),
    (SiLU, ("silu", "swish")),
    (Softplus, ("softplus",)),
    (Softsign, ("softsign",)),
    (HardTanh, ("hard_tanh", "hardtanh")),
    (HardSigmoid, ("hard_sigmoid", "hardsigmoid")),
    (Erf, ("erf",)),
    (Mish, ("mish",)),
    (Maxout, ("maxout",)),
):
    ACTIVATIONS.register(*_names)(_cls)
del _cls, _names
