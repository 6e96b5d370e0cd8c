"""Studies that join the three parts of initlab (simulation, theory, training) in one experiment.

=================================  ==========================================================
:mod:`~initlab.study.freeprob`     free-probability prediction of the Jacobian spectrum
:mod:`~initlab.study.spectrum`     exact Jacobian singular values at init (dynamical isometry)
:mod:`~initlab.study.trainability` MNIST training over σ_w² × depth against ξ_c (Schoenholz et al.)
:mod:`~initlab.study.scores`       max trainable depth vs 6 ξ_c, balanced accuracy, and the baselines
=================================  ==========================================================
"""

from .._lazy import lazy_attributes

_MODULES = {
    ".freeprob": ("WEIGHTS", "JacobianTheory", "jacobian_theory", "d2_law", "critical_at_q"),
    ".spectrum": ("SpectrumConfig", "SpectrumResult", "measure_jacobian"),
    ".trainability": ("TrainPoint", "StudyData", "PRESETS", "theory_at", "train_point", "run_points",
                      "agreement", "load_study_data", "TrainabilityResult"),
    ".scores": ("trainability_scores", "balanced_accuracy", "max_trainable_depth"),
}
__all__ = [name for names in _MODULES.values() for name in names]
# The study functions share their modules' names (``initlab.study.spectrum`` is the module): they are
# ``initlab.spectrum`` and ``initlab.trainability`` in the top-level facade.

__getattr__, __dir__ = lazy_attributes(
    __name__, {name: mod for mod, names in _MODULES.items() for name in names}, (), globals())
