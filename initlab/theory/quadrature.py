"""Quadrature rules for expectations over a standard normal, including rules split at kinks.

The rules behind :mod:`initlab.theory.gaussian`:

- :func:`hermite_rule`: the probabilists' Gauss–Hermite rule (:func:`numpy.polynomial.hermite_e.hermegauss`),
  with :func:`expect` and :func:`expect2` (2-D, Cholesky construction) built on it: spectrally accurate for
  smooth integrands, but only algebraically (errors of 1e-4 to 1e-2) across a kink.
- :func:`half_line_rule`: Gauss rules on :math:`[0, \\infty)` for the half-normal and Rayleigh weights.
- :func:`piecewise_rule` (1-D) and :func:`radial_rule` (the radius of a 2-D normal): split at given points,
  so a function that is smooth between its kinks is still integrated to spectral accuracy.
- :func:`kinks`: where an activation's derivative jumps, found from its ``grad`` alone.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from ..activations import Activation

__all__ = ["hermite_rule", "half_line_rule", "piecewise_rule", "radial_rule", "legendre01", "kinks", "expect",
           "expect2", "FAR"]

_BLOCK = 1 << 20


@functools.lru_cache(maxsize=32)
def hermite_rule(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the probabilists' Gauss–Hermite rule, weights normalised to sum to 1.

    .. math:: \\mathbb{E}[f(z)] \\approx \\sum_i w_i f(x_i), \\quad z \\sim N(0, 1)

    Exact for polynomials of degree up to ``2 * degree - 1``. Read-only arrays of shape (degree,).
    """
    degree = int(degree)
    if degree < 2:
        raise ValueError(f"quadrature degree must be >= 2, got {degree}")
    x, w = hermegauss(degree)
    w = w / math.sqrt(2.0 * math.pi)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


@functools.lru_cache(maxsize=32)
def half_line_rule(n: int, power: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule on :math:`[0, \\infty)` for the weight :math:`\\propto x^p e^{-x^2/2}` (mass normalised to 1).

    ``power=0`` is the half-normal (the 1-D rule below splits the line at 0 with it); ``power=1`` is the
    Rayleigh density :math:`x e^{-x^2/2}`, the radial part of a 2-D standard normal.

    Built from the discretised measure (composite 12-point Gauss–Legendre on 576 panels of [0, 36]) by the
    Lanczos algorithm with full reorthogonalisation (Golub–Welsch), with the weights recomputed as
    :math:`1/\\sum_j p_j(x_i)^2` from the orthonormal recurrence so that tiny weights keep their relative
    accuracy. Exact (to about 1e-14, relative) for polynomials of degree up to :math:`2n-1`.
    Read-only arrays of shape (n,).
    """
    n, power = int(n), int(power)
    if not 1 <= n <= 128:
        raise ValueError(f"half-line rule size must be in [1, 128], got {n}")
    t, v = np.polynomial.legendre.leggauss(12)
    edges = np.linspace(0.0, 36.0, 577)
    h = np.diff(edges)[:, None]
    x = (edges[:-1, None] + (t + 1) / 2 * h).ravel()
    w = (v / 2 * h).ravel() * x**power * np.exp(-0.5 * x * x)
    w /= w.sum()
    basis = np.zeros((n + 1, x.size))
    basis[0] = np.sqrt(w)
    alpha, beta = np.zeros(n), np.zeros(n)
    prev, b_prev = np.zeros(x.size), 0.0
    for j in range(n):
        vec = x * basis[j]
        alpha[j] = basis[j] @ vec
        vec -= alpha[j] * basis[j] + b_prev * prev
        for _ in range(2):  # full reorthogonalisation, twice is enough
            vec -= basis[: j + 1].T @ (basis[: j + 1] @ vec)
        b_prev = float(np.linalg.norm(vec))
        beta[j], prev = b_prev, basis[j]
        basis[j + 1] = vec / b_prev
    nodes = np.linalg.eigvalsh(np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1))
    poly = np.zeros((n, n))
    poly[0] = 1.0
    if n > 1:
        poly[1] = (nodes - alpha[0]) / beta[0]
    for j in range(1, n - 1):
        poly[j + 1] = ((nodes - alpha[j]) * poly[j] - beta[j - 1] * poly[j - 1]) / beta[j]
    weights = 1.0 / (poly * poly).sum(axis=0)
    nodes.flags.writeable = False
    weights.flags.writeable = False
    return nodes, weights


def _blocks(n: int, per_row: int):
    rows = max(1, _BLOCK // max(per_row, 1))
    for s in range(0, n, rows):
        yield slice(s, min(n, s + rows))


def expect(f: Callable[[np.ndarray], np.ndarray], q: Any, degree: int = 64) -> np.ndarray:
    """:math:`\\mathbb{E}[f(\\sqrt q\\,z)]` for every entry of ``q`` by Gauss–Hermite quadrature.

    Parameters
    ----------
    f : callable
        Elementwise function of an ndarray.
    q : array_like of float, any shape, >= 0
    degree : int
        Number of nodes.

    Returns
    -------
    ndarray of the shape of ``q``, float64.
    """
    q = np.asarray(q, dtype=np.float64)
    x, w = hermite_rule(degree)
    flat = q.reshape(-1)
    out = np.empty(flat.shape)
    for s in _blocks(flat.size, x.size):
        out[s] = f(np.sqrt(flat[s])[:, None] * x) @ w
    return out.reshape(q.shape)


def _cholesky(q1, q2, q12):
    """Coefficients of :math:`u_1 = a z_1`, :math:`u_2 = b z_1 + d z_2` with the given covariance."""
    a = np.sqrt(q1)
    b = np.divide(q12, a, out=np.zeros_like(q12), where=a > 0)
    d = np.sqrt(np.maximum(q2 - b * b, 0.0))
    return a, b, d


def expect2(f: Callable, g: Callable, q1: Any, q2: Any, q12: Any, degree: int = 48) -> np.ndarray:
    """:math:`\\mathbb{E}[f(u_1)\\,g(u_2)]` for :math:`(u_1, u_2)` Gaussian with covariance
    :math:`\\begin{pmatrix} q_1 & q_{12} \\\\ q_{12} & q_2 \\end{pmatrix}`, by 2-D Gauss–Hermite quadrature.

    The Cholesky construction :math:`u_1 = \\sqrt{q_1} z_1`,
    :math:`u_2 = (q_{12}/\\sqrt{q_1}) z_1 + \\sqrt{q_2 - q_{12}^2/q_1}\\, z_2` puts ``degree``² nodes on
    :math:`(z_1, z_2)`; ``f`` is evaluated on ``degree`` points, ``g`` on ``degree``².
    ``q1``, ``q2``, ``q12`` broadcast together; the result has their broadcast shape.
    """
    q1, q2, q12 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (q1, q2, q12)))
    shape = q1.shape
    a, b, d = _cholesky(q1.reshape(-1), q2.reshape(-1), q12.reshape(-1))
    x, w = hermite_rule(degree)
    out = np.empty(a.shape)
    for s in _blocks(a.size, x.size * x.size):
        u1 = a[s, None] * x
        u2 = (b[s, None] * x)[:, :, None] + (d[s, None] * x)[:, None, :]
        inner = g(u2) @ w
        out[s] = (f(u1) * inner) @ w
    return out.reshape(shape)


#: Breakpoints farther than this from 0 (in units of the standard normal) are dropped: the mass beyond is < 1e-23.
FAR = 10.0


def piecewise_rule(breaks: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A rule for :math:`\\mathbb{E}[f(z)]`, :math:`z \\sim N(0, 1)`, split at the given points (and at 0).

    Each piece between consecutive breakpoints gets ``n`` Gauss–Legendre nodes (with the normal density in
    the weight); the two tails :math:`(-\\infty, b_0]` and :math:`[b_{B-1}, \\infty)` get the ``n``-node
    half-normal rule of :func:`half_line_rule`, shifted: for :math:`a \\ge 0`,
    :math:`\\int_a^\\infty f(z)\\varphi(z)\\,dz = e^{-a^2/2} \\int_0^\\infty f(a+t)\\,e^{-at}\\varphi(t)\\,dt`.
    A function that is smooth between the breakpoints is integrated to spectral accuracy even where it
    has kinks or jumps.

    Parameters
    ----------
    breaks : ndarray of shape (..., B)
        Breakpoints, any order; non-finite ones and those beyond ±10 are replaced by 0. 0 must be among them
        (pass it explicitly) so that the tails start on the right side of 0.
    n : int
        Nodes per piece.

    Returns
    -------
    nodes, weights : ndarray of shape (..., (B + 1) * n)
        The weights sum to 1 (to rounding, for the untruncated pieces).
    """
    b = np.asarray(breaks, dtype=np.float64)
    b = np.sort(np.where(np.isfinite(b) & (np.abs(b) <= FAR), b, 0.0), axis=-1)
    t, w = half_line_rule(n, 0)
    xi, v = _leggauss(n)
    lo, hi = b[..., :1], b[..., -1:]
    mid = 0.5 * (b[..., 1:] + b[..., :-1])
    half = 0.5 * (b[..., 1:] - b[..., :-1])
    fz = mid[..., None] + half[..., None] * xi
    fw = half[..., None] * v * np.exp(-0.5 * fz * fz) / math.sqrt(2.0 * math.pi)
    nodes = np.concatenate([lo - t, fz.reshape(*b.shape[:-1], -1), hi + t], axis=-1)
    weights = np.concatenate(
        [
            0.5 * w * np.exp(lo * t - 0.5 * lo * lo),
            fw.reshape(*b.shape[:-1], -1),
            0.5 * w * np.exp(-hi * t - 0.5 * hi * hi),
        ],
        axis=-1,
    )
    return nodes, weights


@functools.lru_cache(maxsize=8)
def _split0(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = piecewise_rule(np.zeros(1), n)
    return x, w


@functools.lru_cache(maxsize=128)
def kinks(act: Activation) -> tuple[float, ...]:
    """Points :math:`x \\ne 0` in [-16, 16] where the activation's derivative jumps (hard_tanh: ±1).

    Found from the activation's own ``grad`` alone: a scan on a grid of spacing 2⁻¹⁰ flags steps larger
    than 2% of ``max_grad`` (a smooth activation's derivative moves far less per step), and each is
    located to about 1e-15 by bisection. Kinks at 0 need no detection: every rule here splits at 0.
    """
    x = np.linspace(-16.0, 16.0, (1 << 15) + 1)
    d = act.grad(x)
    idx = np.flatnonzero(np.abs(np.diff(d)) > 0.02 * float(act.max_grad))
    found: list[float] = []
    for i in idx:
        lo, hi = float(x[i]), float(x[i + 1])
        g_lo, g_hi = act.grad(np.array([lo, hi]))
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                break
            g_mid = float(act.grad(np.array([mid]))[0])
            if abs(g_mid - g_lo) <= abs(g_mid - g_hi):
                lo, g_lo = mid, g_mid
            else:
                hi, g_hi = mid, g_mid
        p = 0.5 * (lo + hi)
        if abs(p) > 1e-9 and all(abs(p - f) > 1e-9 for f in found):
            found.append(p)
    return tuple(sorted(found))


@functools.lru_cache(maxsize=16)
def _leggauss(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


@functools.lru_cache(maxsize=8)
def legendre01(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [0, 1]."""
    t, v = np.polynomial.legendre.leggauss(n)
    return (t + 1) / 2, v / 2


def radial_rule(breaks: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A rule for :math:`\\int_0^\\infty \\rho e^{-\\rho^2/2} F(\\rho)\\,d\\rho` split at ``breaks`` (..., B).

    Breakpoints outside (0, 10] are replaced by 0 (empty pieces). Pieces :math:`[b_{k-1}, b_k]` get ``n``
    Gauss–Legendre nodes; the tail :math:`[a, \\infty)` gets the shifted half-normal rule,
    :math:`e^{-a^2/2}\\sqrt{\\pi/2}\\,\\sum_i w_i (a + t_i) e^{-a t_i} F(a + t_i)`.
    """
    b = np.where(np.isfinite(breaks) & (breaks > 0) & (breaks <= FAR), breaks, 0.0)
    b = np.sort(np.concatenate([np.zeros(b.shape[:-1] + (1,)), b], axis=-1), axis=-1)
    t, w = half_line_rule(n, 0)
    xi, v = legendre01(n)
    width = b[..., 1:] - b[..., :-1]
    fz = b[..., :-1, None] + width[..., None] * xi
    fw = width[..., None] * v * fz * np.exp(-0.5 * fz * fz)
    a = b[..., -1:]
    tz = a + t
    tw = math.sqrt(math.pi / 2) * w * tz * np.exp(-a * t - 0.5 * a * a)
    lead = b.shape[:-1]
    return (np.concatenate([fz.reshape(*lead, -1), tz], axis=-1), np.concatenate([fw.reshape(*lead, -1), tw], axis=-1))
