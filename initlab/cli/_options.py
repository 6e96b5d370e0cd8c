"""Options shared by several commands: ``--threads``, ``--max-memory``, the experiment engine's (``--store``,
``--workers``, ``--scheduler``, ``--dask-local``), ``--quiet`` and the one grid syntax.

``--threads N`` limits the BLAS (and OpenMP) thread pools for the duration of the command, through
threadpoolctl. The number of BLAS threads changes how a matrix product's sums are split, and so the
low-order bits of the results (measured for ``--init he --act relu --depth 50 --width 500 --batch 1000``,
float32, 1 against 2 threads: up to 2.2e-8 relative in ``act_mean`` and 6.7e-4 in ``grad_w_norm``); give
the same ``--threads`` on every machine for bit-identical outputs.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import click

__all__ = ["threads_option", "use_threads", "max_memory_option"]


def _max_memory(ctx, param, value):
    if value is None:
        return None
    from ..sim.memory import parse_size
    from .._spec import ConfigError

    try:
        return parse_size(value, "--max-memory")
    except ConfigError as exc:
        raise click.BadParameter(str(exc).split(": ", 1)[-1]) from None


threads_option = click.option(
    "--threads", type=click.IntRange(min=1, max=4096), default=None,
    help="BLAS threads to use (same N on every machine: bit-identical results) [default: one for small "
         "products, else the free cores].")
max_memory_option = click.option(
    "--max-memory", "max_memory", callback=_max_memory, default=None, metavar="SIZE",
    help="Memory the run may use, e.g. 8G [default: refuse runs estimated above the available memory].")


@contextlib.contextmanager
def use_threads(n: int | None) -> Iterator[None]:
    """Exactly ``n`` BLAS/OpenMP threads inside the block, the engine's own choice switched off
    (:func:`initlab.sim.threads.pinned`); a no-op for ``None``."""
    if n is None:
        yield
        return
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        from . import InputError

        raise InputError("--threads needs threadpoolctl (pip install threadpoolctl)") from None
    from ..sim.threads import pinned

    with pinned(n):
        yield


class FiniteFloat(click.FloatRange):
    """A float option that must be finite (``nan``, ``inf`` are refused) and within the given range."""

    name = "finite float"

    def convert(self, value, param, ctx):
        import math

        v = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(v, param, ctx)


__all__ += ["FiniteFloat"]


def engine_options(f):
    """The experiment engine's options, the same on every command that runs points (sweep, study, spectrum):
    ``--store``, ``--workers``, ``--scheduler``, ``--dask-local`` (:func:`initlab.sweep.run.executor_for`)."""
    opts = [
        click.option("--store", "store", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="SQLite store of the measured points: a rerun (after a kill too) skips every stored point."),
        click.option("--workers", type=int, default=None,
                     help="Local worker processes [default: one per core; 1 = this process]."),
        click.option("--scheduler", default=None, help="A running Dask scheduler, tcp://HOST:PORT."),
        click.option("--dask-local", "dask_local", type=int, default=None,
                     help="Start a Dask LocalCluster of N worker processes."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


quiet_option = click.option("--quiet", is_flag=True, help="No progress on stderr.")
#: ``--threads`` of the commands that run on the experiment engine: BLAS threads in each worker.
engine_threads_option = click.option(
    "--threads", type=click.IntRange(min=1, max=4096), default=None,
    help="BLAS threads per worker (same N on every machine: bit-identical results) [default: cores / workers].")


def grid_option_values(text: str, name: str, **kw):
    """:func:`initlab.sweep.axes.grid_values` of an option, bad input as one line (exit 2)."""
    from .._spec import ConfigError
    from ..sweep.axes import grid_values
    from . import InputError

    try:
        return grid_values(name, text, **kw)
    except ConfigError as exc:
        raise InputError(str(exc)) from None


__all__ += ["engine_options", "engine_threads_option", "quiet_option", "grid_option_values"]
