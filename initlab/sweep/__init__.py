"""The sweep wing: whole regions of the parameter space, on every core or on a Dask cluster (issue 11); its
executors and store are the experiment engine every study runs on (issue 18).

=================================  ==========================================================
:mod:`~initlab.sweep.axes`         axes, grid forms, the definition and its points
:mod:`~initlab.sweep.task`         a task: config, pure measure, schema; the batch workers run
:mod:`~initlab.sweep.store`        the SQLite store (resume, extension, crash safety)
:mod:`~initlab.sweep.measure`      what is measured at a point, beside the theory
:mod:`~initlab.sweep.executors`    serial, process pool, Dask (any task)
:mod:`~initlab.sweep.run`          the coordinator, :func:`sweep`, and :func:`~initlab.sweep.run.run_task`
:mod:`~initlab.sweep.result`       :class:`SweepResult`
:mod:`~initlab.sweep.export`       the points or layers as Parquet or CSV
:mod:`~initlab.sweep.bench`        points per second on each executor
=================================  ==========================================================

``initlab.sweep`` is this package and is also callable: ``initlab.sweep(act="tanh", sigma_w2="0.5:4:8")``
is :func:`initlab.sweep.run.sweep` (importing a submodule would otherwise replace a function of that name
on the facade).
"""

from __future__ import annotations

import inspect
import sys
import types

from .result import SweepResult
from .run import sweep

__all__ = ["sweep", "SweepResult"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
#: ``inspect.signature(initlab.sweep)`` and ``help`` show :func:`~initlab.sweep.run.sweep`'s parameters.
__signature__ = inspect.signature(sweep)
