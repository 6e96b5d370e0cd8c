"""initlab: how weight initialization and activation functions shape deep networks.

Three questions, one package:

* *What happens to the signal at init?* — :func:`simulate` pushes random batches through a deep
  stack and returns a :class:`SimResult` (a tidy per-layer DataFrame, histograms, gradients).
* *Why?* — mean-field theory: :func:`fixed_point`, :func:`critical_sigma_w2`, :func:`phase_grid`,
  :func:`predict_layers`, :func:`recommend`.
* *Does it matter for training?* — the numpy trainer :mod:`initlab.nn` and the course labs
  :mod:`initlab.labs` on the datasets of :mod:`initlab.datasets`.

Figures and PDF reports live in :mod:`initlab.plots` and :mod:`initlab.report` (imported on demand,
so that ``import initlab`` does not load matplotlib).
"""

__version__ = "0.1.0"

from ._spec import ConfigError, SpecError, UnknownNameError
from .activations import ACTIVATIONS, SATURATION_FRACTION, Activation, get_activation
from .initializers import INITIALIZERS, Initializer, gain, get_initializer, torch_gain, with_gain
from .config import SimConfig
from .engine import simulate
from .result import SimResult
from .theory import FixedPoint, critical_point, critical_sigma_w2, fixed_point
from .phase import PhaseGrid, phase_grid
from .propagation import config_summary, predict_layers, propagate
from .recommend import Recommendation, recommend, recommend_all
from .datasets import (
    DatasetError,
    load_boston_housing,
    load_fashion_mnist,
    load_imdb,
    load_iris,
    load_mnist,
    load_movie_reviews,
    load_pima,
    multi_hot,
)
from . import datasets, labs, nn

__all__ = [
    "__version__",
    # errors
    "SpecError", "ConfigError", "UnknownNameError", "DatasetError",
    # registries
    "ACTIVATIONS", "Activation", "get_activation", "SATURATION_FRACTION",
    "INITIALIZERS", "Initializer", "get_initializer", "gain", "torch_gain", "with_gain",
    # simulation
    "SimConfig", "SimResult", "simulate",
    # theory
    "FixedPoint", "fixed_point", "critical_point", "critical_sigma_w2", "PhaseGrid", "phase_grid",
    "propagate", "predict_layers", "config_summary", "Recommendation", "recommend", "recommend_all",
    # data, trainer, labs
    "load_mnist", "load_fashion_mnist", "load_pima", "load_boston_housing", "load_iris", "load_imdb",
    "load_movie_reviews", "multi_hot", "datasets", "nn", "labs",
]
