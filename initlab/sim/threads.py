"""How many BLAS threads a simulation's matrix products get: the one place that chooses.

OpenBLAS splits a product over its threads and then waits for the slowest one; its idle threads spin for a
while after each product. That pays on a quiet machine for large products and costs a lot on small ones, or
whenever another process holds a core: the thread that shares a core with it finishes its half late, and the
spinning threads take time from the statistics between the products (measured by ``initlab bench --what
threads``; issue 23 measured width 256, batch 128, depth 200, tanh 3.5 to 4 times slower on 2 threads than on 1 with one
other process on a 2-core machine).

The default (:func:`choose_threads`)
    one thread when the largest product of a layer has fewer than :data:`SMALL_PRODUCT` multiply-adds
    (:math:`\\text{batch} \\times \\text{fan\\_in} \\times \\text{fan\\_out}`); otherwise as many threads as
    there are free cores (:func:`free_cores`: this process's cores less the other processes' runnable
    tasks, read from ``/proc/loadavg``), at least one and never more than the BLAS library's current limit
    (so a caller's ``threadpool_limits``, or a sweep worker's share of the cores, is kept).

Pinning
    :func:`pinned` sets exactly ``n`` threads and switches the choice off inside it (``--threads N``, a
    sweep's ``--threads``): the number of threads changes how a product's sums are split, and so the last
    bits of the results, so the same ``n`` gives the same bytes. The default's results depend on the
    threads it chose (at most the low-order bits).
"""

from __future__ import annotations

import contextlib
import os
from contextvars import ContextVar
from typing import Any, Iterator

__all__ = ["SMALL_PRODUCT", "choose_threads", "free_cores", "pinned", "auto_threads", "blas_limit", "cores"]

#: Products with fewer multiply-adds than this run on one thread (2**23: batch 128 × 256 × 256). Measured
#: (``initlab bench --what threads`` and the same at smaller shapes, 2 cores, load 3): 2 threads gained 12-13%
#: at 1-2 million multiply-adds a product and 24-43% at 8-17 million on a quiet moment, and lost 2-20 times
#: when another process took a core; below this size the gain is about the 10% tolerance and not worth the risk
#: of a core taken after the choice.
SMALL_PRODUCT = 1 << 23

_PINNED: ContextVar[int | None] = ContextVar("initlab_blas_pinned", default=None)
_CONTROLLER: dict[int, Any] = {}


def _controller() -> Any:
    """threadpoolctl's controller of this process (built once per process: it scans the loaded libraries)."""
    pid = os.getpid()
    if pid not in _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.clear()
        _CONTROLLER[pid] = ThreadpoolController()
    return _CONTROLLER[pid]


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def blas_limit() -> int:
    """The BLAS library's current thread limit (the largest over the loaded BLAS libraries; 1 when none)."""
    infos = [i["num_threads"] for i in _controller().info() if i.get("user_api") == "blas"]
    return max(infos, default=1)


def _own_running() -> int:
    """This process's threads that are running or runnable now."""
    n = 0
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as fh:
                n += fh.read().rpartition(")")[2].split()[0] == "R"
    except OSError:
        return 1
    return max(n, 1)


def free_cores(samples: int = 3) -> int:
    """Cores not taken by other processes now: this process's cores less the runnable tasks of the others.

    Read from the ``running`` field of ``/proc/loadavg`` (the machine's runnable tasks at this instant) less
    this process's own, the median of ``samples`` readings. Where that count is not this process's machine
    (no ``/proc/loadavg``, or fewer cores allowed to this process than the machine has), all its cores.
    """
    n = cores()
    if n != (os.cpu_count() or n):
        return n
    others = []
    try:
        for _ in range(samples):
            with open("/proc/loadavg", encoding="ascii") as fh:
                running = int(fh.read().split()[3].split("/")[0])
            others.append(max(running - _own_running(), 0))
    except (OSError, ValueError, IndexError):
        return n
    others.sort()
    return max(1, n - others[len(others) // 2])


def choose_threads(product: int, limit: int | None = None, free: int | None = None) -> int:
    """The BLAS threads for matrix products of at most ``product`` multiply-adds (see the module docstring).

    ``limit`` is the most threads allowed (default: the BLAS library's current limit), ``free`` the free
    cores (default: :func:`free_cores`, read only for products of :data:`SMALL_PRODUCT` or more).
    """
    limit = blas_limit() if limit is None else int(limit)
    if product < SMALL_PRODUCT or limit <= 1:
        return 1
    return max(1, min(limit, free_cores() if free is None else int(free)))


@contextlib.contextmanager
def _limit(n: int, user_api: str | None = "blas") -> Iterator[None]:
    with _controller().limit(limits=int(n), user_api=user_api):
        yield


@contextlib.contextmanager
def pinned(n: int | None, user_api: str | None = None) -> Iterator[None]:
    """Exactly ``n`` threads inside the block, and no automatic choice (``None``: a no-op); ``user_api``
    as threadpoolctl's (``'blas'``, ``'openmp'``; default both)."""
    if n is None:
        yield
        return
    if int(n) < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    token = _PINNED.set(int(n))
    try:
        with _limit(int(n), user_api):
            yield
    finally:
        _PINNED.reset(token)


@contextlib.contextmanager
def auto_threads(product: int) -> Iterator[int]:
    """The block's matrix products get :func:`choose_threads` threads, unless an enclosing :func:`pinned` or
    :func:`auto_threads` fixed them (a choice made once holds for the whole block: one simulation's trials
    all run on the same threads); yields the number of threads the block runs with."""
    pin = _PINNED.get()
    if pin is not None:
        yield pin
        return
    limit = blas_limit()
    n = choose_threads(product, limit)
    token = _PINNED.set(min(n, limit))
    try:
        if n >= limit:
            yield limit
        else:
            with _limit(n):
                yield n
    finally:
        _PINNED.reset(token)
