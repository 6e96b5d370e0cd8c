"""Batch normalisation's forward and backward kernels, shared by the engine and ``nn.BatchNorm``.

Over the batch (axis 0) of :math:`z` (n, d):

.. math::

    \\mu = \\tfrac1n \\textstyle\\sum_i z_i, \\qquad \\sigma^2 = \\tfrac1n \\sum_i (z_i - \\mu)^2, \\qquad
    \\hat z = (z - \\mu)\\,s, \\quad s = (\\sigma^2 + \\epsilon)^{-1/2},

and for an upstream gradient :math:`g = \\partial L/\\partial \\hat z`,

.. math::

    \\frac{\\partial L}{\\partial z} = s\\,\\bigl(g - \\bar g - \\hat z\\,\\overline{g \\hat z}\\bigr),

with bars the batch means. Sums over the batch are accumulated in float64 and cast back to the data's dtype.
"""

from __future__ import annotations

import numpy as np

__all__ = ["normalize_", "normalize_backward"]


def normalize_(z: np.ndarray, eps: float, sq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise ``z`` (n, d) in place to :math:`\\hat z`; ``sq`` is a scratch array of ``z``'s shape and dtype.

    Returns
    -------
    mean, var : ndarray (d,), float64
        The batch mean and (biased) variance.
    inv : ndarray (d,), ``z.dtype``
        :math:`s = (\\sigma^2 + \\epsilon)^{-1/2}`, kept for :func:`normalize_backward`.
    """
    n = z.shape[0]
    mean = z.sum(axis=0, dtype=np.float64) / n
    z -= mean.astype(z.dtype)
    np.multiply(z, z, out=sq)
    var = sq.sum(axis=0, dtype=np.float64) / n
    inv = (1.0 / np.sqrt(var + eps)).astype(z.dtype)
    z *= inv
    return mean, var, inv


def normalize_backward(g: np.ndarray, zhat: np.ndarray, inv: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:math:`\\partial L/\\partial z` from ``g`` = :math:`\\partial L/\\partial \\hat z` into ``out`` (not ``g``)."""
    n = g.shape[0]
    dt = g.dtype
    mg = (g.sum(axis=0, dtype=np.float64) / n).astype(dt)
    np.multiply(g, zhat, out=out)
    mgz = (out.sum(axis=0, dtype=np.float64) / n).astype(dt)
    np.multiply(zhat, mgz, out=out)
    np.subtract(g, out, out=out)
    out -= mg
    out *= inv
    return out
