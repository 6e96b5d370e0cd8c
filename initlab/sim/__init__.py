"""The simulation wing: config → draws → trial passes → statistics → :class:`SimResult`.

=====================================  ==========================================================
:mod:`~initlab.sim.config`             the frozen, validated experiment
:mod:`~initlab.sim.engine`             :func:`simulate`: every config × trial through the stack
:mod:`~initlab.sim.trial`              one forward/backward pass with its statistics
:mod:`~initlab.sim.draws`              the seeded draws; weights kept or redrawn in the backward pass
:mod:`~initlab.sim.stats`              the statistics kernels (moments, correlation, histograms)
:mod:`~initlab.sim.xp`                 the array-module seam (numpy / CuPy) and device draws
:mod:`~initlab.sim.xpstats`            the statistics kernels for any array module
:mod:`~initlab.sim.memory`             the memory estimate of a config
:mod:`~initlab.sim.result`             :class:`SimResult` and its files
:mod:`~initlab.sim.bench`              the engine and simulate() against the bare matrix products and PyTorch
:mod:`~initlab.sim.bench_gpu`          the device check: the engine on CuPy against CuPy GEMMs and PyTorch CUDA
:mod:`~initlab.sim.threads`            the one choice of BLAS threads (per product size and free cores; pinning)
:mod:`~initlab.sim.bench_threads`      that choice against 1 and all threads (``initlab bench --what threads``)
=====================================  ==========================================================
"""

from .._lazy import lazy_attributes

__all__ = ["SimConfig", "SimResult", "simulate"]

__getattr__, __dir__ = lazy_attributes(
    __name__, {"SimConfig": ".config", "simulate": ".engine", "SimResult": ".result"}, (), globals())
