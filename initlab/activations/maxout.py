"""Maxout: the maximum over groups of ``k`` contiguous pre-activation columns.

A maxout unit :math:`j` owns the ``k`` columns :math:`jk, \\dots, jk + k - 1` of the
pre-activation :math:`z` (the layer's weight has ``k`` times the output's columns):

.. math:: a_j = \\max_{0 \\le i < k} z_{jk+i}, \\qquad
          \\frac{\\partial a_j}{\\partial z_{jk+i}} = [\\,i = i^*_j\\,], \\quad i^*_j = \\operatorname{argmax}_i z_{jk+i},

ties going to the first maximal piece (as ``np.argmax``). The pure array functions come first;
:class:`Maxout`, the registry entry (``"maxout:k"``), is built on them.

Reductions over a short last axis are slow in numpy (``z.reshape(n, m, k).max(-1)`` takes
~40 ms at 1024 x 2048), so every function here loops over the ``k`` strided piece views instead.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .base import Activation

__all__ = [
    "maxout_split",
    "maxout",
    "maxout_forward",
    "maxout_backward",
    "maxout_grad",
    "max_moments",
    "Maxout",
    "MAXOUT_SAMPLES",
    "MAXOUT_SEED",
]

#: Quasi-Monte Carlo points for the cross kernel of maxout with k >= 3.
MAXOUT_SAMPLES = 1 << 16
#: Seed of the maxout Sobol scrambling.
MAXOUT_SEED = 20160614


def maxout_split(z: np.ndarray, k: int) -> np.ndarray:
    """View ``z`` of shape (..., m*k) as (..., m, k); float input kept, anything else float64.

    Raises
    ------
    ValueError
        If the last axis is not a multiple of ``k``.
    """
    z = np.asarray(z)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
    if z.ndim == 0 or z.shape[-1] % k:
        last = z.shape[-1] if z.ndim else "a scalar"
        raise ValueError(f"maxout:{k} needs a last axis that is a multiple of {k}, got {last}")
    return z.reshape(*z.shape[:-1], z.shape[-1] // k, k)


def maxout(z: np.ndarray, k: int) -> np.ndarray:
    """Maxout of ``z`` of shape (..., m*k): ndarray of shape (..., m), same dtype."""
    zr = maxout_split(z, k)
    a = zr[..., 0].copy()
    for i in range(1, k):
        np.maximum(a, zr[..., i], out=a)
    return a


def maxout_forward(z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Maxout and the arg-max piece.

    Returns
    -------
    a : ndarray of shape (..., m)
        The maxima, same dtype as ``z``.
    idx : ndarray of shape (..., m), int8 (intp for k > 127)
        Index ``0 <= i < k`` of the first maximal piece of each unit.
    """
    zr = maxout_split(z, k)
    a = zr[..., 0].copy()
    idx = np.zeros(a.shape, dtype=np.int8 if k <= 127 else np.intp)
    for i in range(1, k):
        better = zr[..., i] > a  # strict: ties stay with the earlier piece
        np.maximum(a, zr[..., i], out=a)
        # pieces are visited in increasing order, so the new winner has the largest index so far
        np.maximum(idx, better.astype(idx.dtype) * idx.dtype.type(i), out=idx)
    return a, idx


def maxout_backward(idx: np.ndarray, grad_a: np.ndarray, k: int) -> np.ndarray:
    """Route ``grad_a`` of shape (..., m) to the arg-max pieces: ndarray of shape (..., m*k).

    The other pieces get exactly 0. ``idx`` comes from :func:`maxout_forward`.
    """
    grad_a = np.asarray(grad_a)
    out = np.empty((*grad_a.shape, k), dtype=grad_a.dtype)
    for i in range(k):
        np.multiply(grad_a, idx == i, out=out[..., i])
    return out.reshape(*grad_a.shape[:-1], grad_a.shape[-1] * k)


def maxout_grad(z: np.ndarray, k: int) -> np.ndarray:
    """Routing mask :math:`\\partial a_j / \\partial z_{jk+i}` (0 or 1), same shape and dtype as ``z``."""
    zr = maxout_split(z, k)
    _, idx = maxout_forward(zr.reshape(*zr.shape[:-2], -1), k)
    out = np.empty(zr.shape, dtype=zr.dtype)
    for i in range(k):
        np.equal(idx, i, out=out[..., i], casting="unsafe")
    return out.reshape(*zr.shape[:-2], -1)


@functools.lru_cache(maxsize=64)
def max_moments(k: int) -> tuple[float, float]:
    """:math:`(\\mathbb{E}[M], \\mathbb{E}[M^2])` of the maximum :math:`M` of ``k`` independent standard normals.

    Exact 1-D integrals over the order-statistic density :math:`f_M(x) = k\\,\\Phi(x)^{k-1}\\varphi(x)`:

    .. math:: \\mathbb{E}[M^p] = \\mathbb{E}_z\\bigl[z^p\\,k\\,\\Phi(z)^{k-1}\\bigr], \\quad z \\sim N(0, 1),

    by a 100-node Gauss–Hermite rule (:math:`\\Phi^{k-1}` is entire, so the rule converges spectrally: within
    1e-15 of :math:`1/\\sqrt\\pi` and 1 for ``k = 2``, :math:`3/(2\\sqrt\\pi)` and :math:`1 + \\sqrt3/(2\\pi)` for ``k = 3``).
    """
    from numpy.polynomial.hermite_e import hermegauss
    from scipy.special import ndtr

    x, w = hermegauss(100)
    w = w / math.sqrt(2.0 * math.pi)
    dens = k * ndtr(x) ** (k - 1)
    return float(w @ (x * dens)), float(w @ (x * x * dens))


@functools.lru_cache(maxsize=16)
def _qmc_tables(k: int, samples: int, seed: int, angles: int = 33):
    """Cubic splines in :math:`\\theta = \\arccos c` of :math:`K/q` and :math:`K'` for maxout:k by scrambled Sobol."""
    from scipy.interpolate import CubicSpline
    from scipy.special import ndtri
    from scipy.stats import qmc

    u = qmc.Sobol(d=2 * k, scramble=True, seed=seed).random(samples)
    z = ndtri(np.clip(u, 1e-16, 1 - 1e-16))
    z1, z2 = z[:, :k], z[:, k:]
    a1, i1 = maxout_forward(z1, k)
    a1, i1 = a1[:, 0], i1[:, 0]
    theta = np.linspace(0.0, np.pi, angles)
    kap, kapg = np.empty(angles), np.empty(angles)
    for j, t in enumerate(theta):
        a2, i2 = maxout_forward(z1 * math.cos(t) + z2 * math.sin(t), k)
        kap[j] = float(np.mean(a1 * a2[:, 0]))
        kapg[j] = float(np.mean(i1 == i2[:, 0]))
    kap *= max_moments(k)[1] / kap[0]  # K(q, 1) = q E[M^2] exactly (the c-map has C(1) = 1)
    return CubicSpline(theta, kap), CubicSpline(theta, kapg)


@dataclass(frozen=True)
class Maxout(Activation):
    """Maxout: each unit is the maximum of k linear pieces (default k = 2); the gradient goes to the arg-max.

    .. math:: a_j = \\max_{0 \\le i < k} z_{jk+i}, \\qquad
              \\frac{\\partial a_j}{\\partial z_{jk+i}} = [\\,i = \\operatorname{argmax}_{i'} z_{jk+i'}\\,]

    The pre-activation of shape (n, m*k) holds ``k`` contiguous columns per unit (the layer's
    weight has k times the output's columns); ``fn`` maps any (..., m*k) to (..., m). ``grad``
    is the (..., m*k) 0/1 routing mask; ``forward`` keeps the arg-max (..., m) as context. Never
    saturated (the slope is always 1 along the winning piece); ``maxout:1`` is the identity.
    Built on :func:`maxout_forward` and :func:`maxout_backward`.

    Gaussian kernel (maxout is positively homogeneous of degree 1): with :math:`M` the maximum of ``k``
    standard normals, :math:`m_2 = q\\,\\mathbb{E}[M^2]`, :math:`m_1 = \\sqrt q\\,\\mathbb{E}[M]` exactly
    (:func:`max_moments`), :math:`g_2 = 1` (one winning piece of slope 1). For ``k = 2``,
    :math:`\\max(a, b) = (a + b)/2 + |a - b|/2` gives the cross kernel in closed form,

    .. math:: K = \\frac q2\\Bigl(c + \\frac2\\pi\\bigl(\\sqrt{1-c^2} + c \\arcsin c\\bigr)\\Bigr), \\qquad
              K' = 1 - \\frac{\\theta}{\\pi}, \\quad \\theta = \\arccos c;

    for ``k >= 3``, :math:`K/q` and :math:`K'` are tabulated on 33 angles by quasi-Monte Carlo
    (:data:`MAXOUT_SAMPLES` scrambled Sobol points, seed :data:`MAXOUT_SEED`, errors about 2e-4 in
    :math:`K/q` and 1e-3 in :math:`K'`) and interpolated by a cubic spline, with :math:`K(q, 1) = m_2` exact.
    """

    k: int = 2

    def __post_init__(self):
        k = self.k
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"maxout k must be a positive integer, got {k!r}")
        object.__setattr__(self, "k", int(k))

    @property
    def pieces(self) -> int:  # type: ignore[override]
        return self.k

    def fn(self, x):
        return maxout(x, self.k)

    def grad(self, x):
        return maxout_grad(x, self.k)

    def fn_grad(self, x):
        a, idx = maxout_forward(x, self.k)
        return a, maxout_backward(idx, np.ones_like(a), self.k)

    def forward(self, z):
        return maxout_forward(z, self.k)

    def backward(self, ctx, grad_a):
        return maxout_backward(ctx, grad_a, self.k)

    @property
    def kernel_method(self) -> str:  # type: ignore[override]
        if self.k <= 2:
            return "exact (order-statistic integrals; closed-form cross kernel)"
        return (
            f"exact moments (order-statistic integrals); cross kernel by quasi-Monte Carlo "
            f"(scrambled Sobol, {MAXOUT_SAMPLES} samples, seed {MAXOUT_SEED})"
        )

    def gaussian_moments(self, q):
        q = np.asarray(q, dtype=np.float64)
        m2 = 1.0 if self.k == 1 else max_moments(self.k)[1]
        return m2 * q, np.full_like(q, m2), np.ones_like(q)

    def grad_square_at_infinity(self) -> float:
        """The kernel is homogeneous in :math:`q` (a unit's derivative is 0 or 1 on each piece), so the limit is
        :math:`\\mathbb{E}[\\phi'^2]` at any q: 1."""
        return 1.0

    def gaussian_mean(self, q):
        m1 = 0.0 if self.k == 1 else max_moments(self.k)[0]
        return m1 * np.sqrt(np.asarray(q, dtype=np.float64))

    def gaussian_cross(self, q, c):
        q, c = np.broadcast_arrays(np.asarray(q, dtype=np.float64), np.asarray(c, dtype=np.float64))
        if self.k == 1:
            return q * c, np.ones_like(q)
        th = np.arccos(c)
        if self.k == 2:
            s = np.sqrt(np.maximum(1.0 - c * c, 0.0))
            return 0.5 * q * (c + 2 / np.pi * (s + c * np.arcsin(c))), 1.0 - th / np.pi
        kap, kapg = _qmc_tables(self.k, MAXOUT_SAMPLES, MAXOUT_SEED)
        return q * kap(th), kapg(th)

    def saturated(self, z, ctx=None):
        zr = maxout_split(z, self.k)
        return np.zeros(zr.shape[:-1], dtype=bool)
