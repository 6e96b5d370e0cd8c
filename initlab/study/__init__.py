"""Studies that join the three parts of initlab (simulation, theory, training) in one experiment.

=================================  ==========================================================
:mod:`~initlab.study.freeprob`     free-probability prediction of the Jacobian spectrum
:mod:`~initlab.study.jacobian`     one sample: the exact singular values of one network's Jacobian
:mod:`~initlab.study.spectrum`     the spectrum study (dynamical isometry) against free probability
:mod:`~initlab.study.trainability` MNIST training over σ_w² × depth against ξ_c (Schoenholz et al.)
:mod:`~initlab.study.finite_width` fluctuations across networks against the 1/n theory (issue 21)
:mod:`~initlab.study.finite_width_stats` its per-layer and per-activation statistics
:mod:`~initlab.study.jacobian_width` the O(L/N) deviation of the Jacobian spectrum's variance
:mod:`~initlab.study.scores`       max trainable depth vs 6 ξ_c, balanced accuracy, and the baselines
=================================  ==========================================================
"""

from .._lazy import lazy_attributes

_MODULES = {
    ".freeprob": ("WEIGHTS", "JacobianTheory", "jacobian_theory", "d2_law", "critical_at_q"),
    ".jacobian": ("SpectrumConfig", "SpectrumSample", "SpectrumTask", "measure_jacobian"),
    ".spectrum": ("SpectrumResult",),
    ".trainability": ("TrainPoint", "TrainJob", "TrainTask", "StudyData", "PRESETS", "theory_at", "train_point",
                      "agreement", "load_study_data", "TrainabilityResult"),
    ".finite_width": ("FWPoint", "measure", "FiniteWidthResult", "finite_width_study"),
    ".finite_width_stats": ("summarise",),
    ".jacobian_width": ("jacobian_deviation", "deviation_slope"),
    ".scores": ("trainability_scores", "balanced_accuracy", "max_trainable_depth"),
}
__all__ = [name for names in _MODULES.values() for name in names]
# The study functions share their modules' names (``initlab.study.spectrum`` is the module): they are
# ``initlab.spectrum`` and ``initlab.trainability`` in the top-level facade.

__getattr__, __dir__ = lazy_attributes(
    __name__, {name: mod for mod, names in _MODULES.items() for name in names}, (), globals())
