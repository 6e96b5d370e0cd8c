"""initlab: how weight initialization and activation functions shape deep networks."""

from ._spec import SpecError, UnknownNameError
from .activations import ACTIVATIONS, Activation, get_activation
from .initializers import INITIALIZERS, Initializer, get_initializer

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "SpecError",
    "UnknownNameError",
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "INITIALIZERS",
    "Initializer",
    "get_initializer",
]
