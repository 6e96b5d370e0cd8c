"""Per-layer statistics and histogram kernels, vectorised over a stack of layers.

Every kernel takes a stack ``x`` of shape (k, n, c): ``k`` layers, ``n`` samples, ``c`` columns,
C-contiguous in its last two axes, and returns one value per layer. They are written for speed in
float32 (no temporaries of the data's size beyond the caller's scratch buffers, BLAS for every sum
of products) and for accuracy: reductions run in float32 only over one row or one column and are
finished in float64, and a variance that loses more than three digits to cancellation
(:math:`\\mathrm{Var} < 10^{-3}\\,\\mathbb E[x^2]`, e.g. sigmoid outputs :math:`0.5 \\pm 10^{-6}`)
is recomputed from data shifted by its mean.

Definitions (:math:`N = nc` entries per layer)
    mean :math:`\\bar x = \\frac1N\\sum x`, second moment :math:`q = \\frac1N\\sum x^2`,
    std :math:`\\sqrt{q - \\bar x^2}` (population), min, max;
    pair correlation: the mean over disjoint sample pairs :math:`(0, 1), (2, 3), \\dots` of
    :math:`\\langle x_a, x_b\\rangle / (\\|x_a\\|\\|x_b\\|)` (uncentred, pairs with a zero row skipped);
    dead: the fraction of columns that are zero for every sample.

Histograms use one symmetric range :math:`[-R, R]` and ``bins`` equal bins; values outside go to the
edge bins (as ``np.histogram`` of the clipped values). The bin index is
:math:`\\lfloor (x + R)\\,B / 2R \\rfloor` (a scale into a cache-sized float block, then an add
that casts straight to int8); pairs of indices are packed into one int16 code (:math:`i_1 (B+1) + i_2`)
so a single ``np.bincount`` over half as many entries fills a :math:`(B+1)^2` table whose two
marginals are the counts. No sorting; about 1.2-1.5 ms per million float32 values on a 2-core
machine, ``np.bincount`` being half of it. The result agrees with ``np.histogram`` except possibly
for values within a few ulp of a bin edge.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["Moments", "moments", "minmax", "pair_corr", "dead_fraction", "dead_from_mask", "nice_ceil", "hist_counts",
           "relu_counts_from_pre", "frobenius", "Scratch"]

#: Recompute the variance from shifted data when it is below this fraction of the second moment.
CANCELLATION = 1e-3
#: Entries per block of the histogram's float temporary (256k float32 = 1 MB: stays in L2).
_HIST_BLOCK = 1 << 18


class Scratch:
    """Reusable work arrays, reallocated only when a larger one is needed, allocated by the array
    module ``xp`` (numpy, or CuPy for a device run: see :mod:`initlab.sim.xp`)."""

    def __init__(self, xp=np) -> None:
        self.xp = xp
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A C-contiguous array of ``shape`` and ``dtype`` (contents undefined)."""
        dtype = np.dtype(dtype)
        size = math.prod(shape)
        arr = self._arrays.get(name)
        if arr is None or arr.dtype != dtype or arr.size < size:
            arr = self.xp.empty(size, dtype=dtype)
            self._arrays[name] = arr
        return arr[:size].reshape(shape)

    def ones(self, n: int, dtype) -> np.ndarray:
        """A vector of ``n`` ones (kept)."""
        arr = self._arrays.get(f"ones-{np.dtype(dtype).str}")
        if arr is None or arr.size < n:
            arr = self.xp.ones(n, dtype=dtype)
            self._arrays[f"ones-{np.dtype(dtype).str}"] = arr
        return arr[:n]


class Moments(NamedTuple):
    """Per-layer moments (float64 arrays of shape (k,)) and the reductions they came from."""

    mean: np.ndarray
    std: np.ndarray
    q: np.ndarray
    colsum: np.ndarray | None  # (k, c) column sums when asked for, else None
    rownorm2: np.ndarray  # (k, n), squared row norms


def moments(x: np.ndarray, scratch: Scratch, colsum: bool = False) -> Moments:
    """Mean, population std and second moment of each layer of ``x`` (k, n, c).

    Row sums and squared row norms come from ``np.vecdot`` (one BLAS dot per row; no threads, so
    no stalls when the cores are shared), column sums (``colsum=True``) from ``x.sum(axis=1)``;
    all are finished in float64. Layers whose variance lost more than three digits to
    cancellation are recomputed from shifted data; layers whose squares overflow the dtype are
    recomputed in float64.
    """
    k, n, c = x.shape
    N = n * c
    if colsum:
        cs = x.sum(axis=1)  # (k, c)
        s = cs.sum(axis=1, dtype=np.float64)
    else:
        cs = None
        s = np.vecdot(x, scratch.ones(c, x.dtype)).sum(axis=1, dtype=np.float64)
    rn = np.vecdot(x, x)  # (k, n)
    q = rn.sum(axis=1, dtype=np.float64)
    q /= N
    mean = s / N
    var = q - mean * mean
    redo = ((q > 0) & (var <= CANCELLATION * q)) | (q == np.inf)
    if redo.any():
        for l in np.flatnonzero(redo):
            mean[l], var[l], q[l] = _careful_moments(x[l], scratch)
    np.maximum(var, 0.0, out=var)
    return Moments(mean, np.sqrt(var), q, cs, rn)


def _careful_moments(x: np.ndarray, scratch: Scratch) -> tuple[float, float, float]:
    """(mean, var, q) of one 2-D layer from data shifted by its mean; in float64 when squares overflow."""
    N = x.size
    q = np.vecdot(x, x).sum(dtype=np.float64) / N
    if not np.isfinite(q):
        if not np.isfinite(x).all():
            return math.nan, math.nan, math.nan
        x = x.astype(np.float64)  # finite values whose squares overflow the dtype (a blowing-up network)
        q = np.vecdot(x, x).sum(dtype=np.float64) / N
    shift = x.dtype.type(x.sum(dtype=np.float64) / N)
    d = np.subtract(x, shift, out=scratch.get("shift", x.shape, x.dtype))
    dm = d.sum(dtype=np.float64) / N
    var = np.vecdot(d, d).sum(dtype=np.float64) / N - dm * dm
    return float(shift) + dm, max(var, 0.0), q


def frobenius(x: np.ndarray) -> np.ndarray:
    """Per-layer Frobenius norm :math:`\\sqrt{\\sum x^2}` of ``x`` (k, n, c): squared row norms by
    ``np.vecdot`` (BLAS), summed in float64 (a layer whose squares overflow the dtype is redone in float64);
    NaN where a layer holds a NaN, inf where it holds an inf."""
    out = np.sqrt(np.vecdot(x, x).sum(axis=1, dtype=np.float64))
    for l in np.flatnonzero(np.isinf(out)):
        if np.isfinite(x[l]).all():
            y = x[l].astype(np.float64)
            out[l] = math.sqrt(float(np.vecdot(y, y).sum()))
    return out


def minmax(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer minimum and maximum (float64, NaN where the layer holds a NaN)."""
    flat = x.reshape(x.shape[0], -1)
    return flat.min(axis=1).astype(np.float64), flat.max(axis=1).astype(np.float64)


def pair_corr(x: np.ndarray, rownorm2: np.ndarray) -> np.ndarray:
    """Mean uncentred correlation of disjoint sample pairs (0, 1), (2, 3), … per layer.

    ``rownorm2`` (k, n) are the squared row norms from :func:`moments`. NaN for a layer whose
    rows are all zero. Layers whose products overflow the dtype (finite values near
    :math:`\\sqrt{\\text{max float}}`, e.g. 1e19 in float32) are recomputed in float64 from the data
    divided by its largest magnitude, so finite activations give a finite correlation.
    """
    k, n, _ = x.shape
    p = n // 2
    dots = np.vecdot(x[:, 0:2 * p:2], x[:, 1:2 * p:2]).astype(np.float64)  # (k, p)
    rn = rownorm2.astype(np.float64)
    bad = ~(np.isfinite(dots).all(axis=1) & np.isfinite(rn).all(axis=1))
    if bad.any():  # products overflowed the dtype: redo those layers in float64, scaled by max |x|
        dots, rn = dots.copy(), rn.copy()
        for l in np.flatnonzero(bad):
            dots[l], rn[l] = _scaled_pair_dots(x[l], p)
    den = rn[:, 0:2 * p:2] * rn[:, 1:2 * p:2]
    np.sqrt(den, out=den)
    valid = den > 0
    ratio = np.divide(dots, den, out=np.zeros_like(dots), where=valid)
    cnt = valid.sum(axis=1)
    out = np.full(k, np.nan)
    np.divide(ratio.sum(axis=1), cnt, out=out, where=cnt > 0)
    return out


def _scaled_pair_dots(x: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair dot products and squared row norms of one layer (n, c) in float64 after dividing by
    :math:`\\max|x|` (the correlation does not change; nothing overflows for finite data). NaN where
    the layer itself holds inf or NaN."""
    n = x.shape[0]
    if not np.isfinite(x).all():
        return np.full(p, np.nan), np.full(n, np.nan)
    y = x.astype(np.float64)
    top = float(np.max(np.abs(y))) if y.size else 0.0
    if top > 0:
        y /= top
    return np.vecdot(y[0:2 * p:2], y[1:2 * p:2]), np.vecdot(y, y)


def dead_fraction(x: np.ndarray, colsum: np.ndarray) -> np.ndarray:
    """Fraction of columns of each layer of ``x`` (k, n, c) that are zero for every sample.

    A zero column has a zero column sum (``colsum``, (k, c)), so only the (rare) columns whose
    sum is exactly zero are inspected.
    """
    k, n, c = x.shape
    cand = colsum == 0
    out = np.zeros(k)
    if not cand.any():
        return out
    for l in np.flatnonzero(cand.any(axis=1)):
        cols = np.flatnonzero(cand[l])
        alive = np.count_nonzero(np.any(x[l][:, cols] != 0, axis=0))
        out[l] = (cols.size - alive) / c
    return out


def dead_from_mask(mask: np.ndarray) -> np.ndarray:
    """Fraction of columns of each layer of a (k, n, c) boolean "unit is active" mask that are never active."""
    k, n, c = mask.shape
    return 1.0 - np.count_nonzero(mask.any(axis=1), axis=1) / c


_NICE = (1.0, 2.0, 2.5, 5.0)


def nice_ceil(value: float) -> float:
    """The smallest number of the form {1, 2, 2.5, 5} × 10^e that is ≥ ``value`` (1 if ``value`` ≤ 0 or not finite)."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    e = math.floor(math.log10(value)) - 1
    while True:
        for m in _NICE:
            c = float(f"{m}e{e}")  # decimal parse: 2.5e-1 is the double nearest 0.25, not 2.5 * 0.1
            if c >= value:
                return c
        e += 1


def hist_counts(x: np.ndarray, R: float, bins: int, scratch: Scratch, clip: bool = True) -> np.ndarray:
    """Counts of each layer of ``x`` (k, n, c) in ``bins`` equal bins on ``[-R, R]``: (k, bins) int64.

    Values beyond ±R go to the edge bins. ``clip=False`` promises that every value is within
    ±R and finite (skips a pass).
    """
    k = x.shape[0]
    m = x.shape[1] * x.shape[2]
    B = int(bins)
    B1 = B + 1  # index B (a value exactly at +R) is folded into the last bin at the end
    itype = np.int8 if B1 <= 127 else np.int16 if B1 <= 32767 else np.int32
    idx = scratch.get("hist_i", (k, m), itype)
    # idx = floor((x + R) B / 2R), through a float temporary small enough to stay in cache
    flat = x.reshape(k * m)
    out = idx.reshape(k * m)
    step = min(k * m, _HIST_BLOCK)
    t = scratch.get("hist_f", (step,), x.dtype)
    scale, shift = x.dtype.type(B / (2.0 * R)), x.dtype.type(B / 2.0)
    for i in range(0, k * m, step):
        tb = t[: min(step, k * m - i)]
        np.multiply(flat[i:i + step], scale, out=tb)
        if clip:
            np.add(tb, shift, out=tb)
            np.clip(tb, 0, B, out=tb)  # NaN would survive: callers never pass non-finite layers
            np.copyto(out[i:i + step], tb, casting="unsafe")
        else:  # add and cast in one pass; truncation = floor as tb >= -0.x
            np.add(tb, shift, out=out[i:i + step], casting="unsafe")
    h = m // 2
    if B1 * B1 <= 32767:
        # codes i1*(B+1) + i2 (+ layer offset) in int16: groups of layers whose table fits int16
        # (measured: packing to int16 and letting bincount convert beats packing to intp)
        group = max(1, 32767 // (B1 * B1))
        code = scratch.get("hist_code", (min(k, group), h), np.int16)
        counts = np.empty((k, B1), dtype=np.int64)
        for g0 in range(0, k, group):
            g1 = min(k, g0 + group)
            c = code[: g1 - g0]
            np.multiply(idx[g0:g1, :h], B1, out=c, dtype=np.int16)
            np.add(c, idx[g0:g1, h:2 * h], out=c, dtype=np.int16)
            if g1 - g0 > 1:
                np.add(c, (np.arange(g1 - g0, dtype=np.int16) * np.int16(B1 * B1))[:, None], out=c)
            table = np.bincount(c.ravel(), minlength=(g1 - g0) * B1 * B1).reshape(g1 - g0, B1, B1)
            np.sum(table, axis=2, out=counts[g0:g1])
            counts[g0:g1] += table.sum(axis=1)
        if m % 2:
            counts[np.arange(k), idx[:, -1]] += 1
    else:
        offs = (np.arange(k, dtype=np.int64) * B1)[:, None]
        counts = np.bincount((idx + offs).ravel(), minlength=k * B1).reshape(k, B1)
    counts[:, B - 1] += counts[:, B]
    return counts[:, :B].astype(np.int64)


def relu_counts_from_pre(pre_counts: np.ndarray) -> np.ndarray:
    """Histogram of :math:`\\max(z, 0)` from that of ``z`` on the same range and bins.

    With bins on :math:`[-R, R]`, 0 falls in bin :math:`c = \\lfloor B/2 \\rfloor`; every value in a
    lower bin (all negative) becomes 0 and lands in bin ``c``; values in bin ``c`` and above keep
    their bin. Exact, given the same index arithmetic for both.
    """
    B = pre_counts.shape[-1]
    c = B // 2
    out = np.zeros_like(pre_counts)
    out[..., c] = pre_counts[..., : c + 1].sum(axis=-1)
    out[..., c + 1:] = pre_counts[..., c + 1:]
    return out
