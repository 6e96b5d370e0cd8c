"""Orthogonal and LSUV (layer-sequential unit-variance) initialization.

The maths is in two pure functions, :func:`orthogonal_matrix` (a Haar-random semi-orthogonal
matrix) and :func:`lsuv_rescale` (one layer's data-dependent rescaling); the registry entries
``orthogonal`` (:class:`Orthogonal`) and ``lsuv`` (:class:`LSUV`) of
:data:`initlab.initializers.INITIALIZERS` are thin wrappers around them. Also importable as
:mod:`initlab.lsuv`.

References
----------
Saxe, McClelland & Ganguli (2014), *Exact solutions to the nonlinear dynamics of learning in deep
linear neural networks*. Mezzadri (2007), *How to generate random matrices from the classical
compact groups* (the sign fix). Mishkin & Matas (2016), *All you need is a good init* (LSUV).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .base import INITIALIZERS, Initializer, _GainScaled, _set_real, _work_dtype, fans

__all__ = ["Orthogonal", "LSUV", "orthogonal_matrix", "lsuv_rescale"]


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
    Cost is one QR, :math:`O(p q^2)`: about 12x a float32 Gaussian draw at 1024 x 1024 (~120 ms on
    2 cores; multithreaded LAPACK slows down sharply when the cores are oversubscribed).
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
    import scipy.linalg  # loaded on first use: `import initlab` stays scipy-free

    qmat, r = scipy.linalg.qr(a, mode="economic", overwrite_a=True, check_finite=False)  # ~2x numpy's in float32
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


@INITIALIZERS.register("orthogonal")
@dataclass(frozen=True)
class Orthogonal(_GainScaled):
    """Saxe et al. (2014): a Haar-random (semi-)orthogonal matrix times gain (QR with the sign fix).

    .. math:: W^\\top W = g^2 I \\;(n_\\text{in} \\ge n_\\text{out}), \\qquad
              W W^\\top = g^2 I \\;(n_\\text{in} < n_\\text{out}), \\qquad
              \\mathrm{Var}[W_{ij}] = \\frac{g^2}{\\max(n_\\text{in}, n_\\text{out})}

    A 1-D shape ``(n,)`` gives a random vector of norm ``gain``. Costs one QR (see
    :func:`orthogonal_matrix`).
    """

    gain: float = 1.0

    def unit_variance(self, shape):
        return 1.0 / max(fans(shape))

    @property
    def iid_gaussian(self) -> bool:
        return False

    def sample(self, shape, rng, dtype=np.float32):
        w = orthogonal_matrix(shape, rng, _work_dtype(dtype))
        w *= w.dtype.type(self.gain)
        return w.astype(dtype, copy=False)


@INITIALIZERS.register("lsuv")
@dataclass(frozen=True)
class LSUV(Initializer):
    """Mishkin & Matas (2016): orthogonal start, then rescale each layer to unit output variance on the batch.

    Parameters
    ----------
    tol : float, default 0.1
        Stop when :math:`|\\mathrm{Var}(z) - 1| < \\text{tol}` for the layer's pre-activation ``z``.
    max_passes : int, default 10
        The most rescalings per layer.

    Notes
    -----
    Data-dependent: :meth:`sample` gives the orthogonal start and the engine then calls
    :meth:`rescale` (:func:`lsuv_rescale`) layer by layer with each layer's real input.
    :meth:`variance` is the *orthogonal start's*, :math:`1 / \\max(n_\\text{in}, n_\\text{out})`; the
    effective variance after rescaling depends on the data (about :math:`1 / (n_\\text{in}\\,E[h^2])`
    for a layer input ``h``), so the theory cannot use it as a closed form.
    """

    tol: float = 0.1
    max_passes: int = 10
    data_dependent: ClassVar[bool] = True

    def __post_init__(self):
        _set_real(self, "tol", strict=True)
        n = self.max_passes
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"max_passes must be an integer >= 1, got {n}")
        object.__setattr__(self, "max_passes", int(n))

    def sample(self, shape, rng, dtype=np.float32):
        return orthogonal_matrix(shape, rng, dtype)

    def variance(self, shape):
        return 1.0 / max(fans(shape))

    def rescale(self, w: np.ndarray, h: np.ndarray, bias: np.ndarray | None = None) -> tuple[np.ndarray, int, float]:
        """``lsuv_rescale(w, h, bias, self.tol, self.max_passes)`` → ``(w_new, passes, final_var)``."""
        return lsuv_rescale(w, h, bias, tol=self.tol, max_passes=self.max_passes)
