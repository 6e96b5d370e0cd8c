"""BLAS thread count and a tiny thread pool for elementwise work over one flat array.

numpy's ufuncs run on one core but release the GIL, so an isolated optimizer update over a flat
parameter buffer of a few hundred thousand entries runs about twice as fast when its slices are handed
to two threads. Inside a training loop OpenBLAS's workers keep spinning for a while after each matrix
product and compete with that second thread, so optimizers use one thread unless told otherwise. The
result is bit-for-bit the same as the serial update: every entry is computed by the same sequence of
ufunc calls, only on a different thread (no reductions are split).
"""

from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["blas_threads", "set_blas_threads", "parallel_slices", "MIN_PARALLEL_SIZE"]

#: Flat arrays shorter than this are updated on the calling thread (the hand-off costs ~20 µs).
MIN_PARALLEL_SIZE = 65536

_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_PID = 0
_LOCK = threading.Lock()
_BLAS_THREADS: int | None = None


def _openblas_fn(kind: str) -> Any:
    """``openblas_get_num_threads`` / ``openblas_set_num_threads`` of the OpenBLAS numpy loaded (Linux), or None."""
    np.dot(np.ones((2, 2)), np.ones((2, 2)))  # make sure BLAS is loaded
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    names = [f"{p}openblas_{kind}_num_threads{s}" for p in ("scipy_", "") for s in ("64_", "")]
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                return fn
    return None


def _openblas_threads() -> int | None:
    fn = _openblas_fn("get")
    if fn is None:
        return None
    fn.restype = ctypes.c_int
    n = int(fn())
    return n if n > 0 else None


def set_blas_threads(n: int) -> bool:
    """Set the OpenBLAS thread count at run time (for benchmarks); False where it cannot be set."""
    global _BLAS_THREADS
    fn = _openblas_fn("set")
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_int]
    fn(int(n))
    _BLAS_THREADS = None
    return blas_threads() == int(n)


def blas_threads() -> int:
    """Threads numpy's BLAS uses for a matrix product (``OPENBLAS_NUM_THREADS``, … or the core count)."""
    global _BLAS_THREADS
    if _BLAS_THREADS is None:
        n = _openblas_threads()
        if n is None:
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                try:
                    n = int(os.environ.get(var, "").split(",")[0])
                    break
                except ValueError:
                    continue
        _BLAS_THREADS = max(1, n or os.cpu_count() or 1)
    return _BLAS_THREADS


def _pool(n: int) -> ThreadPoolExecutor:
    """The shared pool with at least ``n`` workers (a new one after a fork: threads do not survive it)."""
    global _POOL, _POOL_SIZE, _POOL_PID
    with _LOCK:
        pid = os.getpid()
        if _POOL is None or _POOL_SIZE < n or _POOL_PID != pid:
            if _POOL is not None and _POOL_PID == pid:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="initlab-nn")
            _POOL_SIZE, _POOL_PID = n, pid
        return _POOL


def parallel_slices(fn: Callable[..., None], arrays: Sequence[np.ndarray], threads: int) -> None:
    """Call ``fn(*[a[lo:hi] for a in arrays])`` over ``threads`` contiguous slices of equal-length 1-D arrays.

    The first slice runs on the calling thread. With ``threads <= 1`` or short arrays, ``fn(*arrays)``
    runs once. Slice boundaries are multiples of 16 entries (64-byte aligned for float32).
    """
    size = arrays[0].shape[0]
    threads = min(int(threads), max(1, size // (MIN_PARALLEL_SIZE // 2)))
    if threads <= 1 or size < MIN_PARALLEL_SIZE:
        fn(*arrays)
        return
    bounds = [0] + [(size * i // threads) // 16 * 16 for i in range(1, threads)] + [size]
    parts = [[a[lo:hi] for a in arrays] for lo, hi in zip(bounds[:-1], bounds[1:])]
    pool = _pool(threads - 1)
    futures = [pool.submit(fn, *p) for p in parts[1:]]
    try:
        fn(*parts[0])
    finally:
        for f in futures:
            f.result()
