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

from dataclasses import dataclass

import numpy as np

from .base import Activation

__all__ = ["maxout_split", "maxout", "maxout_forward", "maxout_backward", "maxout_grad", "Maxout"]


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

    def saturated(self, z, ctx=None):
        zr = maxout_split(z, self.k)
        return np.zeros(zr.shape[:-1], dtype=bool)
