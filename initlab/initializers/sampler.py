"""A fast exact standard-normal sampler for float32 blocks: vectorised Box–Muller on raw PCG64 bits.

numpy's ``Generator.standard_normal(dtype=float32)`` (a scalar ziggurat) costs about 8 ns a sample on the
2-core reference machine. Here each pair of normals comes from one 64-bit word of the generator,
through numpy's SIMD float32 ``log``, ``sqrt``, ``cos`` and ``sin`` over cache-sized blocks
(about 4 ns a sample on one thread), and large arrays are filled in fixed-size parts on several
threads (numpy's bit generators and ufuncs release the GIL).

Box–Muller
    For :math:`U_1 \\in (0, 1]` and :math:`U_2 \\in [0, 1)` independent and uniform,

    .. math:: R = \\sqrt{-2 \\ln U_1}, \\quad \\Theta = 2\\pi U_2, \\qquad
              Z_1 = R \\cos\\Theta, \\; Z_2 = R \\sin\\Theta

    are independent :math:`N(0, 1)`: :math:`R^2 \\sim \\chi^2_2 = \\mathrm{Exp}(1/2)` and
    :math:`\\Theta` is uniform and independent of :math:`R`. A block of :math:`k` outputs takes
    :math:`h = \\lceil k/2 \\rceil` 64-bit words, read as :math:`2h` 32-bit integers :math:`v_j` (low half
    first); pair :math:`i` uses :math:`U_1 = (\\mathrm{fl}_{32}(v_i) + \\tfrac12)\\,2^{-32}` and
    :math:`U_2 = \\mathrm{fl}_{32}(v_{h+i})\\,2^{-32}` (:math:`\\mathrm{fl}_{32}`: rounding to float32).
    :math:`U_1 \\ge 2^{-33}` never reaches 0, so the radius is at most
    :math:`\\sqrt{66 \\ln 2} = 6.77`: the only departure from :math:`N(0,1)` beyond float32 rounding
    is the missing tail :math:`P(R > 6.77) = 2^{-33}` per pair (one pair in 8.6 billion).
    A block of :math:`k` outputs holds the :math:`\\lceil k/2 \\rceil` cosines first, then the sines
    (the last sine dropped when :math:`k` is odd).

The stream (same generator state → same bytes, whatever the number of threads)
    An array of :math:`N` samples is cut into parts of :data:`PART` samples. The sampler first takes
    two 64-bit words :math:`k` from the caller's generator; part 0 is then drawn from the caller's
    generator itself and part :math:`p \\ge 1` from ``PCG64(SeedSequence(k, spawn_key=(p,)))``. Each
    part is filled in blocks of :data:`BLOCK` samples, in order. The threads only decide which part
    is drawn when, never what it holds.

Reproducibility across machines relies on numpy's float32 ``log``/``sin``/``cos`` giving the same bits
on every CPU it dispatches to (true for its AVX2/FMA3 and AVX-512 kernels, which share one algorithm;
a numpy release that changes those kernels would change the stream).
"""

from __future__ import annotations

import math
import os
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

import numpy as np

__all__ = ["PART", "BLOCK", "standard_normal", "fill_standard_normal", "draw_threads", "parallel_map"]

#: Samples per independently seeded part (the unit of work of a thread).
PART = 1 << 18
#: Samples per block inside a part (its float32 temporaries stay in the L2 cache).
BLOCK = 1 << 16

_SCALE = np.float32(2.0 ** -32)
_ANGLE = np.float32(2.0 * math.pi * 2.0 ** -32)
_HALF = np.float32(0.5)
_MINUS_TWO = np.float32(-2.0)

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import ThreadPoolExecutor

T = TypeVar("T")
R = TypeVar("R")


def draw_threads() -> int:
    """Threads used to draw: ``INITLAB_DRAW_THREADS`` if set, else the usable cores (at most 4)."""
    env = os.environ.get("INITLAB_DRAW_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


_POOL: "ThreadPoolExecutor | None" = None
_POOL_SIZE = 0
_LOCK = threading.Lock()
_LOCAL = threading.local()


def _pool(n: int) -> "ThreadPoolExecutor":
    from concurrent.futures import ThreadPoolExecutor  # here: concurrent.futures costs ~20 ms of every start

    global _POOL, _POOL_SIZE
    with _LOCK:
        if _POOL is None or _POOL_SIZE != n:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL, _POOL_SIZE = ThreadPoolExecutor(n, thread_name_prefix="initlab-draw"), n
        return _POOL


def _in_worker(fn: Callable[[T], R]) -> Callable[[T], R]:
    def run(item: T) -> R:
        _LOCAL.worker = True
        try:
            return fn(item)
        finally:
            _LOCAL.worker = False
    return run


def parallel_map(fn: Callable[[T], R], items: Iterable[T], threads: int | None = None) -> list[R]:
    """``[fn(i) for i in items]`` on up to ``threads`` threads (serial inside a worker: no nesting).

    Only for functions whose result does not depend on when they run (pure functions of the item).
    """
    items = list(items)
    n = draw_threads() if threads is None else max(1, int(threads))
    if n == 1 or len(items) < 2 or getattr(_LOCAL, "worker", False):
        return [fn(i) for i in items]
    return list(_pool(n).map(_in_worker(fn), items))


def _fill_block(bg: np.random.BitGenerator, out: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> None:
    """Fill the float32 vector ``out`` (at most BLOCK long) by Box–Muller from ``bg``'s raw words."""
    k = out.size
    h = (k + 1) // 2
    halves = bg.random_raw(h).view(np.uint32)  # 2h 32-bit halves, contiguous: U1 from the first h, U2 from the rest
    r, t = t1[:h], t2[:h]
    np.copyto(r, halves[:h], casting="unsafe")  # round to float32
    np.add(r, _HALF, out=r)
    np.multiply(r, _SCALE, out=r)  # U1 in [2^-33, 1]
    np.log(r, out=r)
    np.multiply(r, _MINUS_TWO, out=r)
    np.sqrt(r, out=r)  # R
    np.multiply(halves[h:], _ANGLE, out=t, dtype=np.float32, casting="unsafe")  # Theta in [0, 2 pi]
    c = out[:h]
    np.cos(t, out=c)
    np.multiply(c, r, out=c)
    if k == 2 * h:
        s = out[h:]
        np.sin(t, out=s)
        np.multiply(s, r, out=s)
    else:
        np.sin(t, out=t)
        np.multiply(t, r, out=t)
        out[h:] = t[: k - h]


def _fill_part(bg: np.random.BitGenerator, out: np.ndarray) -> None:
    t1 = np.empty(BLOCK // 2, dtype=np.float32)
    t2 = np.empty(BLOCK // 2, dtype=np.float32)
    for i in range(0, out.size, BLOCK):
        _fill_block(bg, out[i:i + BLOCK], t1, t2)


def fill_standard_normal(rng: np.random.Generator, out: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Fill the C-contiguous float32 array ``out`` with independent :math:`N(0, 1)` samples (see the module).

    Parameters
    ----------
    rng : numpy.random.Generator
        Consumed: two words, then part 0 (the other parts come from seeds it gives).
    out : ndarray of float32, C-contiguous
    threads : int, optional
        Parts drawn concurrently (default :func:`draw_threads`); the values do not depend on it.

    Returns
    -------
    out
    """
    if out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError("fill_standard_normal needs a C-contiguous float32 array")
    flat = out.reshape(-1)
    N = flat.size
    if N == 0:
        return out
    key = [int(w) for w in rng.bit_generator.random_raw(2)]
    parts = [flat[i:i + PART] for i in range(0, N, PART)]

    def one(p: int) -> None:
        bg = rng.bit_generator if p == 0 else np.random.PCG64(np.random.SeedSequence(key, spawn_key=(p,)))
        _fill_part(bg, parts[p])

    if len(parts) == 1:
        one(0)
    else:
        # part 0 uses the caller's generator: never on two threads at once (it is the only shared state)
        parallel_map(one, range(len(parts)), threads)
    return out


def standard_normal(rng: np.random.Generator, shape: Any, dtype: Any = np.float32,
                    threads: int | None = None) -> np.ndarray:
    """An array of ``shape`` of :math:`N(0,1)` samples: float32 by :func:`fill_standard_normal`;
    float64 by numpy's ``standard_normal`` (its ziggurat, unchanged)."""
    dt = np.dtype(dtype)
    if dt == np.float64:
        return rng.standard_normal(shape, dtype=np.float64)
    if dt != np.float32:
        raise ValueError(f"standard_normal draws float32 or float64, got {dt}")
    return fill_standard_normal(rng, np.empty(shape, dtype=np.float32), threads)
