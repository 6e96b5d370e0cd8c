"""initlab: how weight initialization and activation functions shape deep networks.

Three questions, one package:

* *What happens to the signal at init?* — :func:`simulate` pushes random batches through a deep
  stack and returns a :class:`SimResult` (a tidy per-layer DataFrame, histograms, gradients).
* *Why?* — mean-field theory: :func:`fixed_point`, :func:`critical_sigma_w2`, :func:`phase_grid`,
  :func:`predict_layers`, :func:`recommend`.
* *Does it matter for training?* — the numpy trainer :mod:`initlab.nn` and the course labs
  :mod:`initlab.labs` on the datasets of :mod:`initlab.datasets`.

Figures and PDF reports live in :mod:`initlab.plots` and :mod:`initlab.report`.

This module is a thin facade: every name is resolved on first use (PEP 562), so ``import initlab``
loads neither pandas, scipy nor matplotlib until a name that needs them is used.
"""

from __future__ import annotations

from ._lazy import lazy_attributes
from ._version import __version__

# public name -> module that defines it
_NAMES: dict[str, str] = {
    "SpecError": "._spec", "ConfigError": "._spec", "UnknownNameError": "._spec",
    "ACTIVATIONS": ".activations", "SATURATION_FRACTION": ".activations", "Activation": ".activations",
    "get_activation": ".activations",
    "INITIALIZERS": ".initializers", "Initializer": ".initializers", "gain": ".initializers",
    "get_initializer": ".initializers", "torch_gain": ".initializers", "with_gain": ".initializers",
    "SimConfig": ".sim.config", "simulate": ".sim.engine", "SimResult": ".sim.result",
    "SweepResult": ".sweep",
    "FixedPoint": ".theory.meanfield", "critical_point": ".theory.critical",
    "critical_sigma_w2": ".theory.critical", "fixed_point": ".theory.meanfield",
    "PhaseGrid": ".theory.phase", "phase_grid": ".theory.phase",
    "propagate": ".theory.propagation", "config_summary": ".sim.predict", "predict_layers": ".sim.predict",
    "Recommendation": ".theory.recommend", "recommend": ".theory.recommend", "recommend_all": ".theory.recommend",
    "DatasetError": ".datasets", "load_boston_housing": ".datasets", "load_fashion_mnist": ".datasets",
    "load_imdb": ".datasets", "load_iris": ".datasets", "load_mnist": ".datasets",
    "load_movie_reviews": ".datasets", "load_pima": ".datasets", "multi_hot": ".datasets",
    # studies (issue 12)
    "spectrum": ".study.spectrum", "SpectrumResult": ".study.spectrum", "jacobian_theory": ".study.freeprob",
    "trainability": ".study.trainability", "TrainabilityResult": ".study.trainability",
    # finite width (issue 21)
    "finite_width_study": ".study.finite_width", "FiniteWidthResult": ".study.finite_width",
    "finite_width": ".theory.finite_width", "relu_law": ".theory.relu_law",
}
# ``sweep`` is a package that can be called: initlab.sweep(...) runs a sweep (issue 11)
_SUBMODULES = ("datasets", "labs", "nn", "plots", "report", "sim", "theory", "activations", "initializers", "sweep",
               "study")

__all__ = [
    "__version__",
    # errors
    "SpecError", "ConfigError", "UnknownNameError", "DatasetError",
    # registries
    "ACTIVATIONS", "Activation", "get_activation", "SATURATION_FRACTION",
    "INITIALIZERS", "Initializer", "get_initializer", "gain", "torch_gain", "with_gain",
    # simulation
    "SimConfig", "SimResult", "simulate",
    # sweeps
    "sweep", "SweepResult",
    # theory
    "FixedPoint", "fixed_point", "critical_point", "critical_sigma_w2", "PhaseGrid", "phase_grid",
    "propagate", "predict_layers", "config_summary", "Recommendation", "recommend", "recommend_all",
    # data, trainer, labs
    "load_mnist", "load_fashion_mnist", "load_pima", "load_boston_housing", "load_iris", "load_imdb",
    "load_movie_reviews", "multi_hot", "datasets", "nn", "labs",
    # studies
    "spectrum", "SpectrumResult", "jacobian_theory", "trainability", "TrainabilityResult", "study",
    "finite_width_study", "FiniteWidthResult", "finite_width", "relu_law",
]


__getattr__, __dir__ = lazy_attributes(__name__, _NAMES, _SUBMODULES, globals())
