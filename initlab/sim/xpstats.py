"""The statistics kernels of :mod:`initlab.sim.stats` for any array module (numpy or CuPy).

Same functions, same signatures, same definitions (see :mod:`initlab.sim.stats`), written only with
operations numpy and CuPy share and with whole-array temporaries (cheap on a device, where the CPU
kernels' cache blocking and BLAS row dot products do not apply). The per-layer results come back
to the host as float64 numpy arrays (:func:`initlab.sim.xp.to_host`); ``colsum`` and ``rownorm2`` stay
on the device for the kernels that use them.

The histogram index is computed exactly as on the CPU (:math:`x \\cdot B/2R`, then :math:`+ B/2`, in the
data's dtype, clipped to :math:`[0, B]`, truncated), so for the same data both give the same counts.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from .stats import CANCELLATION, Moments, nice_ceil, relu_counts_from_pre
from .xp import to_host

__all__ = ["XpKernels"]


class XpKernels:
    """The kernels bound to one array module ``xp``."""

    nice_ceil = staticmethod(nice_ceil)
    relu_counts_from_pre = staticmethod(relu_counts_from_pre)

    def __init__(self, xp: ModuleType):
        self.xp = xp

    def minmax(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        flat = x.reshape(x.shape[0], -1)
        return to_host(flat.min(axis=1)).astype(np.float64), to_host(flat.max(axis=1)).astype(np.float64)

    def moments(self, x: Any, scratch: Any = None, colsum: bool = False) -> Moments:
        xp = self.xp
        k, n, c = x.shape
        N = n * c
        cs = x.sum(axis=1) if colsum else None
        s = to_host(x.sum(axis=(1, 2), dtype=xp.float64))
        rn = (x * x).sum(axis=2)  # (k, n) in the data's dtype, like the CPU's row dot products
        q = to_host(rn.sum(axis=1, dtype=xp.float64)) / N
        mean = s / N
        var = q - mean * mean
        redo = ((q > 0) & (var <= CANCELLATION * q)) | (q == np.inf)
        for l in np.flatnonzero(redo):
            mean[l], var[l], q[l] = self._careful(x[l])
        np.maximum(var, 0.0, out=var)
        return Moments(mean, np.sqrt(var), q, cs, rn)

    def _careful(self, x: Any) -> tuple[float, float, float]:
        xp = self.xp
        N = x.size
        q = float((x * x).sum(dtype=xp.float64)) / N
        if not math.isfinite(q):
            if not bool(xp.isfinite(x).all()):
                return math.nan, math.nan, math.nan
            x = x.astype(xp.float64)
            q = float((x * x).sum()) / N
        shift = x.dtype.type(float(x.sum(dtype=xp.float64)) / N)
        d = x - shift
        dm = float(d.sum(dtype=xp.float64)) / N
        var = float((d * d).sum(dtype=xp.float64)) / N - dm * dm
        return float(shift) + dm, max(var, 0.0), q

    def pair_corr(self, x: Any, rownorm2: Any) -> np.ndarray:
        xp = self.xp
        k, n, _ = x.shape
        p = n // 2
        dots = (x[:, 0:2 * p:2] * x[:, 1:2 * p:2]).sum(axis=2).astype(xp.float64)
        rn = rownorm2.astype(xp.float64)
        bad = to_host(~(xp.isfinite(dots).all(axis=1) & xp.isfinite(rn).all(axis=1)))
        for l in np.flatnonzero(bad):  # products overflowed the dtype: float64 after dividing by max |x|
            y = x[l].astype(xp.float64)
            if not bool(xp.isfinite(y).all()):
                dots[l], rn[l] = xp.nan, xp.nan
                continue
            top = float(xp.abs(y).max()) if y.size else 0.0
            if top > 0:
                y /= top
            dots[l] = (y[0:2 * p:2] * y[1:2 * p:2]).sum(axis=1)
            rn[l] = (y * y).sum(axis=1)
        den = xp.sqrt(rn[:, 0:2 * p:2] * rn[:, 1:2 * p:2])
        valid = den > 0
        ratio = xp.where(valid, dots / xp.where(valid, den, 1.0), 0.0)
        cnt = to_host(valid.sum(axis=1))
        tot = to_host(ratio.sum(axis=1))
        out = np.full(k, np.nan)
        np.divide(tot, cnt, out=out, where=cnt > 0)
        return out

    def dead_fraction(self, x: Any, colsum: Any = None) -> np.ndarray:
        xp = self.xp
        alive = xp.count_nonzero((x != 0).any(axis=1), axis=1)
        return 1.0 - to_host(alive).astype(np.float64) / x.shape[2]

    def dead_from_mask(self, mask: Any) -> np.ndarray:
        xp = self.xp
        return 1.0 - to_host(xp.count_nonzero(mask.any(axis=1), axis=1)).astype(np.float64) / mask.shape[2]

    def hist_counts(self, x: Any, R: float, bins: int, scratch: Any = None, clip: bool = True) -> np.ndarray:
        xp = self.xp
        k = x.shape[0]
        B = int(bins)
        t = x.reshape(k, -1) * x.dtype.type(B / (2.0 * R))
        t += x.dtype.type(B / 2.0)
        if clip:
            t = xp.clip(t, 0, B)
        idx = t.astype(xp.int64)  # truncation = floor, as t >= -0.x
        idx += (xp.arange(k, dtype=xp.int64) * (B + 1))[:, None]
        counts = to_host(xp.bincount(idx.ravel(), minlength=k * (B + 1))).reshape(k, B + 1).astype(np.int64)
        counts[:, B - 1] += counts[:, B]
        return counts[:, :B]

    def norm(self, a: Any) -> float:
        """:math:`\\|a\\|_F`, squares summed in float64."""
        xp = self.xp
        s = float((a * a).sum(dtype=xp.float64))
        if not math.isfinite(s) and bool(xp.isfinite(a).all()):
            b = a.astype(xp.float64)
            return math.sqrt(float((b * b).sum()))
        return math.sqrt(s)
