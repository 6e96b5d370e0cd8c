"""The simulation wing: config → draws → trial passes → statistics → :class:`SimResult`.

=============================  ==========================================================
:mod:`~initlab.sim.config`     the frozen, validated experiment
:mod:`~initlab.sim.engine`     :func:`simulate`: every config × trial through the stack
:mod:`~initlab.sim.trial`      one forward/backward pass with its statistics
:mod:`~initlab.sim.stats`      the statistics kernels (moments, correlation, histograms)
:mod:`~initlab.sim.result`     :class:`SimResult` and its files
:mod:`~initlab.sim.bench`      the engine against the bare matrix products
=============================  ==========================================================
"""

from .._lazy import lazy_attributes

__all__ = ["SimConfig", "SimResult", "simulate"]

__getattr__, __dir__ = lazy_attributes(
    __name__, {"SimConfig": ".config", "simulate": ".engine", "SimResult": ".result"}, (), globals())
