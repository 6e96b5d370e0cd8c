"""Orthogonal matrices and layer-sequential unit-variance (LSUV) rescaling, as pure functions.

The registry entries ``orthogonal`` and ``lsuv`` in :mod:`initlab.initializers` are thin wrappers
around :func:`orthogonal_matrix` and :func:`lsuv_rescale`.

References
----------
Saxe, McClelland & Ganguli (2014), *Exact solutions to the nonlinear dynamics of learning in deep
linear neural networks*. Mezzadri (2007), *How to generate random matrices from the classical
compact groups* (the sign fix). Mishkin & Matas (2016), *All you need is a good init* (LSUV).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["orthogonal_matrix", "lsuv_rescale"]


def orthogonal_matrix(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
    """Draw a Haar-distributed (semi-)orthogonal matrix of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        ``(fan_in, fan_out)``, or ``(n,)`` for a random unit vector.
    rng : numpy.random.Generator
        Source of randomness.
    dtype : numpy dtype, default float32
        Output dtype. The QR factorisation runs in float32 for float32 output (about 1e-6
        orthogonality) and in float64 otherwise.

    Returns
    -------
    ndarray of shape ``shape``
        With :math:`p = \\max(\\text{fan\\_in}, \\text{fan\\_out})` and
        :math:`q = \\min(\\text{fan\\_in}, \\text{fan\\_out})`, draw :math:`A \\in \\mathbb{R}^{p\\times q}`
        with i.i.d. :math:`N(0, 1)` entries and take its reduced QR factorisation :math:`A = QR`.
        Multiplying column :math:`j` of :math:`Q` by :math:`\\operatorname{sign}(R_{jj})` makes the
        factorisation unique, so :math:`Q` is Haar-distributed on the Stiefel manifold (without the fix
        LAPACK's sign convention biases it). The result is :math:`Q` (tall, :math:`W^\\top W = I_q`) or
        :math:`Q^\\top` (wide, :math:`W W^\\top = I_q`). Every entry has mean 0 and variance exactly
        :math:`1/p`, because each of the :math:`q` unit columns spreads its norm evenly in law over
        :math:`p` coordinates.

    Notes
    -----
    Cost is one QR, :math:`O(p q^2)`: about 5-10x a Gaussian draw of the same size at 1024 x 1024.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        return orthogonal_matrix((shape[0], 1), rng, dtype).reshape(shape)
    if len(shape) != 2:
        raise ValueError(f"weights must be 1-D or 2-D, got shape {shape}")
    n_in, n_out = shape
    p, q = max(n_in, n_out), min(n_in, n_out)
    work = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    a = rng.standard_normal((p, q), dtype=work)
    if q == 0:
        return np.zeros(shape, dtype=dtype)
    qmat, r = np.linalg.qr(a, mode="reduced")
    signs = np.where(np.diagonal(r) < 0, -1, 1).astype(work)
    qmat *= signs
    w = qmat if n_in >= n_out else qmat.T
    return np.ascontiguousarray(w, dtype=dtype)


def lsuv_rescale(
    w: np.ndarray,
    h: np.ndarray,
    bias: np.ndarray | None = None,
    tol: float = 0.1,
    max_passes: int = 10,
) -> tuple[np.ndarray, int, float]:
    """Rescale one layer's weights until its pre-activation has unit variance on a batch (LSUV).

    Parameters
    ----------
    w : ndarray of shape (fan_in, fan_out)
        Starting weights (LSUV starts from :func:`orthogonal_matrix`). Not modified.
    h : ndarray of shape (batch, fan_in)
        The layer's actual input on the batch (the previous layer's activation).
    bias : ndarray of shape (fan_out,), optional
        Added to the pre-activation; it is not rescaled.
    tol : float, default 0.1
        Stop when :math:`|\\mathrm{Var}(z) - 1| < \\text{tol}`.
    max_passes : int, default 10
        The most rescalings to do.

    Returns
    -------
    w_new : ndarray of shape (fan_in, fan_out)
        A new array, same dtype as ``w``.
    passes : int
        Rescalings done, ``0 <= passes <= max_passes`` (0 when ``w`` already met the tolerance).
    final_var : float
        :math:`\\mathrm{Var}(z)` for ``w_new`` (over all batch x unit entries, computed in float64).

    Notes
    -----
    Mishkin & Matas (2016), Algorithm 1: repeat :math:`z = h W + b`,
    :math:`W \\leftarrow W / \\sqrt{\\mathrm{Var}(z)}` while :math:`|\\mathrm{Var}(z) - 1| \\ge \\text{tol}`
    and fewer than ``max_passes`` rescalings were done. Without a bias one pass is exact for this
    layer (the variance is quadratic in the scale of :math:`W`); a bias makes it iterative. If the
    variance is 0 or not finite (an all-zero input, a diverged network) rescaling is impossible: the
    loop stops and ``final_var`` says so; the caller decides.
    """
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0, got {tol}")
    if isinstance(max_passes, bool) or not isinstance(max_passes, (int, np.integer)) or max_passes < 0:
        raise ValueError(f"max_passes must be an integer >= 0, got {max_passes}")
    w = np.asarray(w)
    h = np.asarray(h)
    w_new = np.array(w, dtype=w.dtype if w.dtype.kind == "f" else np.float64, copy=True)
    if w_new.ndim != 2 or h.ndim != 2 or h.shape[1] != w_new.shape[0]:
        raise ValueError(f"need h of shape (batch, {w_new.shape[0] if w_new.ndim == 2 else '?'}), got {h.shape}")
    passes = 0
    while True:
        z = h @ w_new
        if bias is not None:
            z = z + bias
        with np.errstate(over="ignore", invalid="ignore"):
            var = float(np.var(z, dtype=np.float64))
        done = abs(var - 1.0) < tol or passes >= max_passes or not np.isfinite(var) or var <= 0.0
        if done:
            return w_new, passes, var
        w_new /= w_new.dtype.type(np.sqrt(var))
        passes += 1
