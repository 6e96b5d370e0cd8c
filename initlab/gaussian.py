"""Gaussian expectations of an activation: the integrals behind the mean-field maps.

For :math:`z, z_1, z_2 \\sim N(0, 1)` independent, the theory (:mod:`initlab.theory`) needs, for
every activation :math:`\\phi` and pre-activation variance :math:`q`,

.. math::

    m_2(q) &= \\mathbb{E}[\\phi(\\sqrt q\\,z)^2], \\qquad
    m_2'(q) = \\frac{d m_2}{dq} = \\frac{\\mathbb{E}[z\\,\\phi(\\sqrt q z)\\,\\phi'(\\sqrt q z)]}{\\sqrt q}, \\qquad
    g_2(q) = \\mathbb{E}[\\phi'(\\sqrt q\\,z)^2], \\\\
    K(q, c) &= \\mathbb{E}[\\phi(u_a)\\,\\phi(u_b)], \\qquad
    K'(q, c) = \\mathbb{E}[\\phi'(u_a)\\,\\phi'(u_b)],

where :math:`(u_a, u_b)` is Gaussian with variances :math:`q` and correlation :math:`c`, built by the
Cholesky construction :math:`u_a = \\sqrt q\\,z_1`, :math:`u_b = \\sqrt q\\,(c z_1 + \\sqrt{1-c^2}\\,z_2)`.
(:math:`m_2'` uses only :math:`\\phi` and :math:`\\phi'`; by Stein's lemma it equals
:math:`\\mathbb{E}[\\phi'^2 + \\phi\\phi'']`. By Price's theorem :math:`\\partial K / \\partial c = q K'`.)

Methods
-------
- *Gauss–Hermite quadrature* (probabilists', :func:`numpy.polynomial.hermite_e.hermegauss`) on the
  activation's own ``fn``/``fn_grad``: ``degree`` nodes in 1-D, ``degree_2d``² nodes in 2-D. Exact to
  rounding for smooth activations at the default degrees; for activations with kinks (hard_tanh,
  hard_sigmoid, elu, selu) the error falls only algebraically with the degree (about 1e-5 at the
  defaults).
- *Closed forms* where they exist: linear; ReLU and leaky ReLU through the arc-cosine kernel of
  Cho & Saul (2009); erf through the arcsine kernel of Williams (1997). They are tested against
  quadrature.
- *Monte Carlo* for maxout (its ``fn`` is not elementwise), with :data:`MAXOUT_SAMPLES` pairs drawn from
  a generator seeded with :data:`MAXOUT_SEED`. Maxout is positively homogeneous, so
  :math:`m_2 = q\\,M_2`, :math:`K = q\\,\\kappa(c)`; :math:`\\kappa` and :math:`K'` are tabulated on
  129 angles :math:`\\theta = \\arccos c` with common random numbers and interpolated by a cubic spline.
  The standard error is about 0.4% of :math:`M_2` (``MaxoutKernel.m2_stderr`` has the estimate).

Everything is float64 and vectorised over arrays of ``q`` and ``c`` (broadcast together), in blocks of
about a million nodes so memory stays small.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from .activations import Activation, get_activation

__all__ = [
    "DEFAULT_DEGREE",
    "DEFAULT_DEGREE_2D",
    "MAXOUT_SAMPLES",
    "MAXOUT_SEED",
    "Q_FLOOR",
    "hermite_rule",
    "half_line_rule",
    "piecewise_rule",
    "kinks",
    "expect",
    "expect2",
    "Kernel",
    "QuadratureKernel",
    "ReLUFamilyKernel",
    "ErfKernel",
    "MaxoutKernel",
    "gaussian_kernel",
]

#: Gauss–Hermite nodes for 1-D expectations.
DEFAULT_DEGREE = 48
#: Quadrature nodes per piece for 2-D expectations (see :class:`QuadratureKernel`).
DEFAULT_DEGREE_2D = 20
#: Monte Carlo pairs for maxout.
MAXOUT_SAMPLES = 1 << 16
#: Seed of the maxout Monte Carlo generator.
MAXOUT_SEED = 20160614
#: Variances below this are evaluated at ``Q_FLOOR`` (the q → 0⁺ limit, to about 1e-12; this also gives
#: the one-sided limits at a kink, e.g. :math:`g_2(0^+) = 1/2` for ReLU).
Q_FLOOR = 1e-12

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


def expect(f: Callable[[np.ndarray], np.ndarray], q: Any, degree: int = DEFAULT_DEGREE) -> np.ndarray:
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


def expect2(f: Callable, g: Callable, q1: Any, q2: Any, q12: Any, degree: int = DEFAULT_DEGREE_2D) -> np.ndarray:
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


class Kernel:
    """Gaussian expectations of one activation, vectorised over ``q`` (and ``c``).

    Subclasses implement :meth:`moments` and :meth:`cross_grad`; see the module docstring for the
    quantities. All methods take array_like ``q >= 0`` (and ``c`` in [-1, 1]) and return float64 arrays
    of the broadcast shape.
    """

    #: How the expectations are computed (shown in reports).
    method: str = ""

    def __init__(self, act: Activation):
        self.act = act

    def moments(self, q: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(m2, m2_slope, g2)`` at ``q``: :math:`\\mathbb{E}[\\phi^2]`, its q-derivative, :math:`\\mathbb{E}[\\phi'^2]`."""
        raise NotImplementedError

    def cross_grad(self, q: Any, c: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(K, K')``: :math:`\\mathbb{E}[\\phi(u_a)\\phi(u_b)]` and :math:`\\mathbb{E}[\\phi'(u_a)\\phi'(u_b)]`."""
        raise NotImplementedError

    def m2(self, q: Any) -> np.ndarray:
        """:math:`\\mathbb{E}[\\phi(\\sqrt q z)^2]`."""
        return self.moments(q)[0]

    def g2(self, q: Any) -> np.ndarray:
        """:math:`\\mathbb{E}[\\phi'(\\sqrt q z)^2]` (summed over the pieces of a maxout unit)."""
        return self.moments(q)[2]

    def cross(self, q: Any, c: Any) -> np.ndarray:
        """:math:`\\mathbb{E}[\\phi(u_a)\\phi(u_b)]`, variances ``q``, correlation ``c``."""
        return self.cross_grad(q, c)[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.act.spec}, {self.method})"


def _qc(q, c=None):
    q = np.maximum(np.asarray(q, dtype=np.float64), Q_FLOOR)
    if c is None:
        return q
    c = np.clip(np.asarray(c, dtype=np.float64), -1.0, 1.0)
    return np.broadcast_arrays(q, c)


#: Breakpoints farther than this from 0 (in units of the standard normal) are dropped: the mass beyond is < 1e-23.
_FAR = 10.0


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
    b = np.sort(np.where(np.isfinite(b) & (np.abs(b) <= _FAR), b, 0.0), axis=-1)
    t, w = half_line_rule(n, 0)
    xi, v = np.polynomial.legendre.leggauss(n)
    lo, hi = b[..., :1], b[..., -1:]
    mid = 0.5 * (b[..., 1:] + b[..., :-1])
    half = 0.5 * (b[..., 1:] - b[..., :-1])
    fz = mid[..., None] + half[..., None] * xi
    fw = half[..., None] * v * np.exp(-0.5 * fz * fz) / math.sqrt(2.0 * math.pi)
    nodes = np.concatenate([lo - t, fz.reshape(*b.shape[:-1], -1), hi + t], axis=-1)
    weights = np.concatenate(
        [0.5 * w * np.exp(lo * t - 0.5 * lo * lo), fw.reshape(*b.shape[:-1], -1), 0.5 * w * np.exp(-hi * t - 0.5 * hi * hi)],
        axis=-1,
    )
    return nodes, weights


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


class QuadratureKernel(Kernel):
    """Quadrature on the activation's own ``fn_grad``, split at its kinks.

    1-D: :math:`\\mathbb{E}[f(\\sqrt q z)]` with :func:`piecewise_rule` split at 0 and at
    :math:`p/\\sqrt q` for every kink ``p`` of :func:`kinks` (``degree`` nodes per piece; two pieces,
    ``2 * degree`` nodes, for an activation whose only kink is at 0).

    2-D: the Cholesky construction :math:`u_a = \\sqrt q z_1`, :math:`u_b = \\sqrt q (c z_1 + s z_2)`,
    :math:`s = \\sqrt{1 - c^2}`, integrated iteratively: the outer rule in :math:`z_1` is split where
    :math:`u_a` or :math:`\\sqrt q c z_1` crosses 0 or a kink, and for each outer node the inner rule in
    :math:`z_2` is split where :math:`u_b` crosses 0 or a kink (``degree_2d`` nodes per piece). Kinks and
    jumps of :math:`\\phi'` therefore cost no accuracy: the ReLU family matches its closed form to about
    1e-14 and smooth activations converge spectrally.

    ``rule="hermite"`` gives the plain textbook rules instead: :func:`hermite_rule` with ``degree`` nodes
    in 1-D and ``degree_2d``² tensor nodes in 2-D (errors of 1e-4 to 1e-2 at kinks; kept for comparison).
    """

    def __init__(self, act: Activation, degree: int = DEFAULT_DEGREE, degree_2d: int = DEFAULT_DEGREE_2D,
                 rule: str = "split"):
        super().__init__(act)
        if rule not in ("split", "hermite"):
            raise ValueError(f"rule must be 'split' or 'hermite', got {rule!r}")
        self.degree, self.degree_2d, self.rule = int(degree), int(degree_2d), rule
        if rule == "split":
            half_line_rule(self.degree), half_line_rule(self.degree_2d)  # validate sizes
            self.kinks = np.array(kinks(act))
            self.method = f"quadrature split at kinks ({self.degree} nodes per piece; {self.degree_2d} in 2-D)"
        else:
            hermite_rule(self.degree), hermite_rule(self.degree_2d)
            self.kinks = np.zeros(0)
            self.method = f"Gauss-Hermite quadrature ({self.degree} nodes; {self.degree_2d}x{self.degree_2d} in 2-D)"

    def _rule1(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.rule == "hermite":
            x, w = hermite_rule(self.degree)
            return np.broadcast_to(x, (r.size, x.size)), np.broadcast_to(w, (r.size, w.size))
        breaks = np.concatenate([np.zeros((r.size, 1)), self.kinks / r[:, None]], axis=1)
        return piecewise_rule(breaks, self.degree)

    def moments(self, q):
        q = _qc(q)
        flat = q.reshape(-1)
        m2, slope, g2 = (np.empty(flat.shape) for _ in range(3))
        per = self.degree * (2 + self.kinks.size)
        with np.errstate(over="ignore", under="ignore"):
            for s in _blocks(flat.size, per):
                r = np.sqrt(flat[s])
                z, w = self._rule1(r)
                a, d = self.act.fn_grad(r[:, None] * z)
                m2[s] = np.einsum("ij,ij->i", a * a, w)
                g2[s] = np.einsum("ij,ij->i", d * d, w)
                slope[s] = np.einsum("ij,ij->i", a * d, w * z) / r
        return m2.reshape(q.shape), slope.reshape(q.shape), g2.reshape(q.shape)

    def cross_grad(self, q, c):
        q, c = _qc(q, c)
        shape = q.shape
        qf, cf = q.reshape(-1), c.reshape(-1)
        k, kg = np.empty(qf.shape), np.empty(qf.shape)
        m = self.kinks.size
        per = self.degree_2d**2 * ((4 + 2 * m * m) * (1 + 2 * m) if self.rule == "split" else 1)
        fill = self._cross_split if self.rule == "split" else self._cross_hermite
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            for s in _blocks(qf.size, per):
                k[s], kg[s] = fill(qf[s], cf[s])
        return k.reshape(shape), kg.reshape(shape)

    def _cross_hermite(self, q, c):
        x, w = hermite_rule(self.degree_2d)
        r = np.sqrt(q)
        b, d = r * c, r * np.sqrt(1.0 - c * c)
        a1, d1 = self.act.fn_grad(r[:, None] * x)
        a2, d2 = self.act.fn_grad((b[:, None] * x)[:, :, None] + (d[:, None] * x)[:, None, :])
        return (a1 * (a2 @ w)) @ w, (d1 * (d2 @ w)) @ w

    def _cross_split(self, q, c):
        n, m = self.degree_2d, self.kinks.size
        th = np.arccos(c)[:, None]
        t, v = _legendre01(n)
        # arcs between the rays where u_a = 0, u_b = 0, or where the kink lines u_a = p_i, u_b = p_j cross
        rays = [np.pi / 2 + np.zeros_like(th), 1.5 * np.pi + np.zeros_like(th), th + np.pi / 2, th + 1.5 * np.pi]
        for pi in self.kinks:
            for pj in self.kinks:
                base = np.arctan2(pj - pi * np.cos(th), pi * np.sin(th))
                rays += [base, base + np.pi]
        ang = np.sort(np.mod(np.concatenate(rays, axis=1) - np.pi / 2, 2 * np.pi), axis=1)
        ang = np.concatenate([ang, np.full_like(th, 2 * np.pi)], axis=1)
        lengths = np.diff(ang, axis=1)
        psi = (np.pi / 2 + ang[:, :-1, None] + lengths[:, :, None] * t).reshape(len(q), -1)  # (M, A)
        wpsi = (lengths[:, :, None] * v).reshape(len(q), -1) / (2 * np.pi)
        ca, cb = np.cos(psi)[:, :, None], np.cos(psi - th)[:, :, None]
        r = np.sqrt(q)[:, None, None]
        if m:
            pr = self.kinks / r  # (M, 1, m)
            breaks = np.concatenate([pr / ca, pr / cb], axis=2)  # radii where u_a or u_b meets a kink
            rho, wrho = _radial_rule(np.where(breaks > 0, breaks, 0.0), n)
        else:
            rho, wrho = half_line_rule(n, 1)
        a1, d1 = self.act.fn_grad(r * rho * ca)
        a2, d2 = self.act.fn_grad(r * rho * cb)
        wt = wpsi[:, :, None] * wrho
        k = np.einsum("ijk,ijk->i", a1 * a2, np.broadcast_to(wt, a1.shape))
        kg = np.einsum("ijk,ijk->i", d1 * d2, np.broadcast_to(wt, d1.shape))
        return k, kg


@functools.lru_cache(maxsize=8)
def _legendre01(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [0, 1]."""
    t, v = np.polynomial.legendre.leggauss(n)
    return (t + 1) / 2, v / 2


def _radial_rule(breaks: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A rule for :math:`\\int_0^\\infty \\rho e^{-\\rho^2/2} F(\\rho)\\,d\\rho` split at ``breaks`` (..., B).

    Breakpoints outside (0, 10] are replaced by 0 (empty pieces). Pieces :math:`[b_{k-1}, b_k]` get ``n``
    Gauss–Legendre nodes; the tail :math:`[a, \\infty)` gets the shifted half-normal rule,
    :math:`e^{-a^2/2}\\sqrt{\\pi/2}\\,\\sum_i w_i (a + t_i) e^{-a t_i} F(a + t_i)`.
    """
    b = np.where(np.isfinite(breaks) & (breaks > 0) & (breaks <= _FAR), breaks, 0.0)
    b = np.sort(np.concatenate([np.zeros(b.shape[:-1] + (1,)), b], axis=-1), axis=-1)
    t, w = half_line_rule(n, 0)
    xi, v = _legendre01(n)
    width = b[..., 1:] - b[..., :-1]
    fz = b[..., :-1, None] + width[..., None] * xi
    fw = width[..., None] * v * fz * np.exp(-0.5 * fz * fz)
    a = b[..., -1:]
    tz = a + t
    tw = math.sqrt(math.pi / 2) * w * tz * np.exp(-a * t - 0.5 * a * a)
    lead = b.shape[:-1]
    return (np.concatenate([fz.reshape(*lead, -1), tz], axis=-1),
            np.concatenate([fw.reshape(*lead, -1), tw], axis=-1))


class ReLUFamilyKernel(Kernel):
    """Closed forms for :math:`\\phi(x) = \\max(x, 0) + \\alpha \\min(x, 0)` (ReLU α=0, leaky ReLU, linear α=1).

    With :math:`\\theta = \\arccos c` and the arc-cosine kernel (Cho & Saul 2009)
    :math:`J(c) = \\frac{q}{2\\pi}\\left(\\sqrt{1-c^2} + (\\pi - \\theta)\\,c\\right)
    = \\mathbb{E}[\\mathrm{relu}(u_a)\\,\\mathrm{relu}(u_b)]`:

    .. math::

        K = (1+\\alpha^2)\\,J(c) - 2\\alpha\\,J(-c), \\qquad
        K' = \\frac{(1+\\alpha^2)(\\pi - \\theta) + 2\\alpha\\theta}{2\\pi}, \\qquad
        m_2 = \\frac{1+\\alpha^2}{2} q, \\quad m_2' = g_2 = \\frac{1+\\alpha^2}{2}.
    """

    method = "closed form (arc-cosine kernel)"

    def __init__(self, act: Activation, alpha: float):
        super().__init__(act)
        self.alpha = float(alpha)

    def moments(self, q):
        q = _qc(q)
        h = 0.5 * (1.0 + self.alpha**2)
        return h * q, np.full_like(q, h), np.full_like(q, h)

    def cross_grad(self, q, c):
        q, c = _qc(q, c)
        al = self.alpha
        th = np.arccos(c)
        s = np.sqrt(np.maximum(1.0 - c * c, 0.0))
        j_pos = s + (np.pi - th) * c
        j_neg = s - th * c  # J(-c): arccos(-c) = pi - theta
        k = q / (2 * np.pi) * ((1 + al * al) * j_pos - 2 * al * j_neg)
        kg = ((1 + al * al) * (np.pi - th) + 2 * al * th) / (2 * np.pi)
        return k, kg


class ErfKernel(Kernel):
    """Closed forms for :math:`\\phi = \\mathrm{erf}` (Williams 1997, the arcsine kernel).

    .. math::

        K = \\frac{2}{\\pi} \\arcsin \\frac{2qc}{1 + 2q}, \\quad
        K' = \\frac{4}{\\pi \\sqrt{(1+2q)^2 - 4q^2c^2}}, \\quad
        m_2' = \\frac{4}{\\pi (1+2q)\\sqrt{1+4q}}, \\quad g_2 = \\frac{4}{\\pi\\sqrt{1+4q}}.
    """

    method = "closed form (arcsine kernel)"

    def moments(self, q):
        q = _qc(q)
        m2 = 2 / np.pi * np.arcsin(2 * q / (1 + 2 * q))
        root = np.sqrt(1 + 4 * q)
        return m2, 4 / (np.pi * (1 + 2 * q) * root), 4 / (np.pi * root)

    def cross_grad(self, q, c):
        q, c = _qc(q, c)
        k = 2 / np.pi * np.arcsin(2 * q * c / (1 + 2 * q))
        kg = 4 / (np.pi * np.sqrt((1 + 2 * q) ** 2 - 4 * q * q * c * c))
        return k, kg


class MaxoutKernel(Kernel):
    """Monte Carlo for maxout (max over ``k`` pieces; positively homogeneous of degree 1).

    With :math:`Z_1, Z_2 \\in \\mathbb{R}^{n \\times k}` standard normal (``n`` = :data:`MAXOUT_SAMPLES`,
    seed :data:`MAXOUT_SEED`) and :math:`U_b(\\theta) = Z_1 \\cos\\theta + Z_2 \\sin\\theta`:

    .. math::

        m_2 = q\\,\\overline{\\phi(Z_1)^2}, \\quad g_2 = \\overline{\\textstyle\\sum_j (\\partial_j \\phi(Z_1))^2}, \\quad
        K = q\\,\\overline{\\phi(Z_1)\\phi(U_b)}, \\quad K' = \\overline{\\textstyle\\sum_j \\partial_j\\phi(Z_1)\\,\\partial_j\\phi(U_b)},

    the last two tabulated on 129 angles in :math:`[0, \\pi]` and interpolated by a cubic spline in
    :math:`\\theta`. The derivative is the layer view's ``backward`` (routing to the arg-max piece), so
    :math:`g_2 = 1` exactly.
    """

    def __init__(self, act: Activation, samples: int = MAXOUT_SAMPLES, seed: int = MAXOUT_SEED, angles: int = 129):
        from scipy.interpolate import CubicSpline

        super().__init__(act)
        k = int(getattr(act, "k", act.pieces))
        self.samples, self.seed = int(samples), int(seed)
        self.method = f"Monte Carlo ({self.samples} samples, seed {self.seed})"
        rng = np.random.default_rng(self.seed)
        z1 = rng.standard_normal((self.samples, k))
        z2 = rng.standard_normal((self.samples, k))
        a1, d1 = self._fn_dz(z1)
        sq = a1 * a1
        self._m2 = float(sq.mean())
        self.m2_stderr = float(sq.std() / math.sqrt(self.samples))
        self._g2 = float((d1 * d1).sum(axis=1).mean())
        theta = np.linspace(0.0, np.pi, angles)
        kap, kapg = np.empty(angles), np.empty(angles)
        for i, t in enumerate(theta):
            a2, d2 = self._fn_dz(z1 * math.cos(t) + z2 * math.sin(t))
            kap[i] = float((a1 * a2).mean())
            kapg[i] = float((d1 * d2).sum(axis=1).mean())
        self._kappa = CubicSpline(theta, kap)
        self._kappa_g = CubicSpline(theta, kapg)

    def _fn_dz(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, ctx = self.act.forward(z)
        dz = self.act.backward(ctx, np.ones_like(a))
        return a[:, 0], dz

    def moments(self, q):
        q = _qc(q)
        return self._m2 * q, np.full_like(q, self._m2), np.full_like(q, self._g2)

    def cross_grad(self, q, c):
        q, c = _qc(q, c)
        th = np.arccos(c)
        return q * self._kappa(th), self._kappa_g(th)


@functools.lru_cache(maxsize=128)
def _kernel(act: Activation, degree: int, degree_2d: int, closed_form: bool, rule: str) -> Kernel:
    name = act.name
    if name == "maxout":
        return MaxoutKernel(act)
    if closed_form:
        if name == "linear":
            return ReLUFamilyKernel(act, 1.0)
        if name == "relu":
            return ReLUFamilyKernel(act, 0.0)
        if name == "leaky_relu":
            return ReLUFamilyKernel(act, float(act.alpha))  # type: ignore[attr-defined]
        if name == "erf":
            return ErfKernel(act)
    return QuadratureKernel(act, degree, degree_2d, rule)


def gaussian_kernel(
    act: Activation | str, degree: int = DEFAULT_DEGREE, degree_2d: int = DEFAULT_DEGREE_2D, closed_form: bool = True,
    rule: str = "split",
) -> Kernel:
    """The :class:`Kernel` for an activation: a closed form where one exists, else quadrature (or Monte Carlo).

    Parameters
    ----------
    act : Activation or spec string
    degree, degree_2d : int
        Gauss–Hermite nodes (1-D; per axis in 2-D) for the quadrature kernel.
    closed_form : bool
        ``False`` forces quadrature (used by the tests that check the closed forms).
    rule : {"split", "hermite"}
        Quadrature rule, see :class:`QuadratureKernel`.
    """
    return _kernel(get_activation(act), int(degree), int(degree_2d), bool(closed_form), str(rule))
