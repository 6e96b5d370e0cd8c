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
- *Quadrature split at the kinks* (:class:`QuadratureKernel`, rules in :mod:`initlab.theory.quadrature`) on the
  activation's own ``fn``/``fn_grad``: Gauss rules for the normal density on each piece between 0 and
  the points where :math:`\\phi'` jumps (found from ``grad``); in 2-D the Cholesky coordinates
  :math:`(z_1, z_2)` are integrated in polar form, split on the rays and radii where :math:`u_a` or
  :math:`u_b` meets a kink. Spectrally accurate for every registered activation (about 1e-8 or better at
  the default degrees; see the tests). The textbook tensor Gauss–Hermite rule
  (:func:`numpy.polynomial.hermite_e.hermegauss`, ``rule="hermite"``) is kept for comparison: it converges
  only algebraically across a kink (errors of 1e-4 to 1e-2 for ReLU's :math:`K'`, SELU, hard_tanh).
- *Closed forms* where they exist: linear; ReLU and leaky ReLU through the arc-cosine kernel of
  Cho & Saul (2009); erf through the arcsine kernel of Williams (1997). They are tested against
  quadrature.
- *Quasi-Monte Carlo* for maxout (its ``fn`` is not elementwise): :data:`MAXOUT_SAMPLES` points of a
  scrambled Sobol sequence seeded with :data:`MAXOUT_SEED`. Maxout is positively homogeneous, so
  :math:`m_2 = q\\,M_2`, :math:`K = q\\,\\kappa(c)`; :math:`\\kappa` and :math:`K'` are tabulated on
  33 angles :math:`\\theta = \\arccos c` with common random numbers and interpolated by a cubic spline
  (errors about 1e-5 in :math:`m_2`, 2e-4 in :math:`K`, 1e-3 in :math:`K'` against exact ``maxout:2``).

Everything is float64 and vectorised over arrays of ``q`` and ``c`` (broadcast together), in blocks of
about a million nodes so memory stays small.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ..activations import Activation, get_activation
from .quadrature import (
    _blocks, _split0, half_line_rule, hermite_rule, kinks, legendre01, piecewise_rule, radial_rule,
)

__all__ = [
    "DEFAULT_DEGREE",
    "DEFAULT_DEGREE_2D",
    "MAXOUT_SAMPLES",
    "MAXOUT_SEED",
    "Q_FLOOR",
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
#: Quasi-Monte Carlo points for maxout.
MAXOUT_SAMPLES = 1 << 16
#: Seed of the maxout Sobol scrambling.
MAXOUT_SEED = 20160614
#: Variances below this are evaluated at ``Q_FLOOR`` (the q → 0⁺ limit, to about 1e-12; this also gives
#: the one-sided limits at a kink, e.g. :math:`g_2(0^+) = 1/2` for ReLU).
Q_FLOOR = 1e-12

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
        """``(m2, m2_slope, g2)`` at ``q``: :math:`\\mathbb{E}[\\phi^2]`, its q-derivative, :math:`\\mathbb{E}[\\phi'^2]`.

        Below :data:`Q_FLOOR` the second moment continues linearly to its :math:`q \\to 0` value,
        :math:`m_2(q) = \\phi(0)^2 + (q / q_f)\\,(m_2(q_f) - \\phi(0)^2)` with :math:`q_f` = ``Q_FLOOR``
        (exact for the ReLU family, relative error :math:`O(q_f)` for smooth activations), so vanishing
        signals keep shrinking in the prediction instead of stopping at the floor.
        """
        q = np.asarray(q, dtype=np.float64)
        m2, slope, g2 = self._moments(q)
        return self._below_floor(q, m2), slope, g2

    def cross_grad(self, q: Any, c: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(K, K')``: :math:`\\mathbb{E}[\\phi(u_a)\\phi(u_b)]` and :math:`\\mathbb{E}[\\phi'(u_a)\\phi'(u_b)]`.

        ``K`` continues below :data:`Q_FLOOR` like :meth:`moments`' second moment.
        """
        q = np.asarray(q, dtype=np.float64)
        k, kg = self._cross_grad(q, c)
        return self._below_floor(q, k), kg

    def _below_floor(self, q: np.ndarray, at_floor: np.ndarray) -> np.ndarray:
        tiny = q < Q_FLOOR
        if not np.any(tiny):
            return at_floor
        phi0_sq = float(self.act.fn(np.zeros(self.act.pieces))[0]) ** 2
        scaled = phi0_sq + (np.maximum(q, 0.0) / Q_FLOOR) * (at_floor - phi0_sq)
        return np.where(tiny, scaled, at_floor)

    def _moments(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Subclasses: the moments with ``q`` clamped at :data:`Q_FLOOR`."""
        raise NotImplementedError

    def _cross_grad(self, q: np.ndarray, c: Any) -> tuple[np.ndarray, np.ndarray]:
        """Subclasses: the cross moments with ``q`` clamped at :data:`Q_FLOOR`."""
        raise NotImplementedError

    def at_zero(self) -> tuple[float, float]:
        """The :math:`q \\to 0^+` limits of ``(m2_slope, g2)``.

        Richardson extrapolation from :math:`q = 10^{-12}` and :math:`4 \\cdot 10^{-12}`, which cancels the
        :math:`\\sqrt q` term of an activation with a kink at 0 (ELU, SELU, softsign) as well as the
        linear term of a smooth one: error about 1e-12.
        """
        _, s1, g1 = self.moments(np.array([Q_FLOOR, 4 * Q_FLOOR]))
        return float(2 * s1[0] - s1[1]), float(2 * g1[0] - g1[1])

    def m1(self, q: Any) -> np.ndarray:
        """:math:`\\mathbb{E}[\\phi(\\sqrt q z)]` (the mean a residual stack accumulates)."""
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
            self._abs_kinks = np.unique(np.abs(self.kinks))
            self._ratios = np.unique(np.round(np.divide.outer(self.kinks, self.kinks).ravel(), 12))
            self.method = f"quadrature split at kinks ({self.degree} nodes per piece; {self.degree_2d} in 2-D)"
        else:
            hermite_rule(self.degree), hermite_rule(self.degree_2d)
            self.kinks = np.zeros(0)
            self.method = f"Gauss-Hermite quadrature ({self.degree} nodes; {self.degree_2d}x{self.degree_2d} in 2-D)"

    def _rule1(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.rule == "hermite" or not self.kinks.size:  # the same rule for every q
            x, w = hermite_rule(self.degree) if self.rule == "hermite" else _split0(self.degree)
            return x[None, :], w[None, :]
        breaks = np.concatenate([np.zeros((r.size, 1)), self.kinks / r[:, None]], axis=1)
        return piecewise_rule(breaks, self.degree)

    def _moments(self, q):
        q = _qc(q)
        flat = q.reshape(-1)
        m2, slope, g2 = (np.empty(flat.shape) for _ in range(3))
        per = self.degree * (2 + self.kinks.size)
        with np.errstate(over="ignore", under="ignore"):
            for s in _blocks(flat.size, per):
                r = np.sqrt(flat[s])
                z, w = self._rule1(r)
                a, d = self.act.fn_grad(r[:, None] * z)
                w = np.broadcast_to(w, a.shape)
                m2[s] = np.einsum("ij,ij->i", a * a, w)
                g2[s] = np.einsum("ij,ij->i", d * d, w)
                slope[s] = np.einsum("ij,ij->i", a * d, w * z) / r
        return m2.reshape(q.shape), slope.reshape(q.shape), g2.reshape(q.shape)

    def m1(self, q):
        q = _qc(q)
        flat = q.reshape(-1)
        out = np.empty(flat.shape)
        with np.errstate(over="ignore", under="ignore"):
            for s in _blocks(flat.size, self.degree * (2 + self.kinks.size)):
                r = np.sqrt(flat[s])
                z, w = self._rule1(r)
                a = self.act.fn(r[:, None] * z)
                out[s] = np.einsum("ij,ij->i", a, np.broadcast_to(w, a.shape))
        return out.reshape(q.shape)

    def hermite_coefficients(self, q: Any, n: int) -> np.ndarray:
        """:math:`a_k = \\mathbb{E}[\\phi(\\sqrt q z)\\,He_k(z)]/\\sqrt{k!}` for :math:`k < n`, shape ``q.shape + (n,)``.

        Mehler's formula gives :math:`K(q, c) = \\sum_k a_k^2 c^k`; the theory uses the truncated series as a
        cheap model of the c-map before polishing with the 2-D rule.
        """
        q = _qc(q)
        flat = q.reshape(-1)
        out = np.empty((flat.size, n))
        with np.errstate(over="ignore", under="ignore"):
            for s in _blocks(flat.size, self.degree * (2 + self.kinks.size) * n):
                r = np.sqrt(flat[s])
                z, w = self._rule1(r)
                aw = self.act.fn(r[:, None] * z) * w
                z = np.broadcast_to(z, aw.shape)
                h_prev, h = np.zeros_like(z), np.ones_like(z)
                for k in range(n):  # orthonormal recurrence h_{k+1} = (z h_k - sqrt(k) h_{k-1}) / sqrt(k+1)
                    out[s, k] = np.einsum("ij,ij->i", aw, h)
                    h_prev, h = h, (z * h - math.sqrt(k) * h_prev) / math.sqrt(k + 1)
        return out.reshape(q.shape + (n,))

    def _cross_grad(self, q, c):
        q, c = _qc(q, c)
        shape = q.shape
        qf, cf = q.reshape(-1), c.reshape(-1)
        k, kg = np.empty(qf.shape), np.empty(qf.shape)
        m = self.kinks.size
        per = self.degree_2d**2 * ((4 + 2 * m * m) * (1 + 2 * m) if self.rule == "split" else 1)  # upper bound
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
        t, v = legendre01(n)
        # arcs between the rays where u_a = 0, u_b = 0, or where the kink lines u_a = p_i, u_b = p_j cross
        rays = [np.pi / 2 + np.zeros_like(th), 1.5 * np.pi + np.zeros_like(th), th + np.pi / 2, th + 1.5 * np.pi]
        for ratio in self._ratios:  # cos(psi) / cos(psi - theta) = p_i / p_j
            base = np.arctan2(1.0 / ratio - np.cos(th), np.sin(th))
            rays += [base, base + np.pi]
        ang = np.sort(np.mod(np.concatenate(rays, axis=1) - np.pi / 2, 2 * np.pi), axis=1)
        ang = np.concatenate([ang, np.full_like(th, 2 * np.pi)], axis=1)
        lengths = np.diff(ang, axis=1)
        psi = (np.pi / 2 + ang[:, :-1, None] + lengths[:, :, None] * t).reshape(len(q), -1)  # (M, A)
        wpsi = (lengths[:, :, None] * v).reshape(len(q), -1) / (2 * np.pi)
        ca, cb = np.cos(psi)[:, :, None], np.cos(psi - th)[:, :, None]
        r = np.sqrt(q)[:, None, None]
        if m:
            pr = self._abs_kinks / r  # (M, 1, m'): a split where |u| meets |p| (harmless if only one sign kinks)
            breaks = np.concatenate([pr / np.abs(ca), pr / np.abs(cb)], axis=2)
            rho, wrho = radial_rule(breaks, n)
        else:
            rho, wrho = half_line_rule(n, 1)
        a1, d1 = self.act.fn_grad(r * rho * ca)
        a2, d2 = self.act.fn_grad(r * rho * cb)
        wt = wpsi[:, :, None] * wrho
        k = np.einsum("ijk,ijk->i", a1 * a2, np.broadcast_to(wt, a1.shape))
        kg = np.einsum("ijk,ijk->i", d1 * d2, np.broadcast_to(wt, d1.shape))
        return k, kg


class ReLUFamilyKernel(Kernel):
    """Closed forms for :math:`\\phi(x) = \\max(x, 0) + \\alpha \\min(x, 0)` (ReLU α=0, leaky ReLU, linear α=1).

    With :math:`\\theta = \\arccos c` and the arc-cosine kernel (Cho & Saul 2009)
    :math:`J(c) = \\frac{q}{2\\pi}\\left(\\sqrt{1-c^2} + (\\pi - \\theta)\\,c\\right)
    = \\mathbb{E}[\\mathrm{relu}(u_a)\\,\\mathrm{relu}(u_b)]`:

    .. math::

        K = (1+\\alpha^2)\\,J(c) - 2\\alpha\\,J(-c), \\qquad
        K' = \\frac{(1+\\alpha^2)(\\pi - \\theta) + 2\\alpha\\theta}{2\\pi}, \\qquad
        m_2 = \\frac{1+\\alpha^2}{2} q, \\quad m_2' = g_2 = \\frac{1+\\alpha^2}{2}, \\quad
        m_1 = (1 - \\alpha)\\sqrt{q / 2\\pi}.
    """

    method = "closed form (arc-cosine kernel)"

    def __init__(self, act: Activation, alpha: float):
        super().__init__(act)
        self.alpha = float(alpha)

    def _moments(self, q):
        q = _qc(q)
        h = 0.5 * (1.0 + self.alpha**2)
        return h * q, np.full_like(q, h), np.full_like(q, h)

    def m1(self, q):
        return (1.0 - self.alpha) * np.sqrt(_qc(q) / (2 * np.pi))

    def _cross_grad(self, q, c):
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

    def _moments(self, q):
        q = _qc(q)
        m2 = 2 / np.pi * np.arcsin(2 * q / (1 + 2 * q))
        root = np.sqrt(1 + 4 * q)
        return m2, 4 / (np.pi * (1 + 2 * q) * root), 4 / (np.pi * root)

    def m1(self, q):
        return np.zeros_like(_qc(q))  # erf is odd

    def _cross_grad(self, q, c):
        q, c = _qc(q, c)
        k = 2 / np.pi * np.arcsin(2 * q * c / (1 + 2 * q))
        kg = 4 / (np.pi * np.sqrt((1 + 2 * q) ** 2 - 4 * q * q * c * c))
        return k, kg


class MaxoutKernel(Kernel):
    """Quasi-Monte Carlo for maxout (max over ``k`` pieces; positively homogeneous of degree 1).

    :math:`Z_1, Z_2 \\in \\mathbb{R}^{n \\times k}` are standard normal, from the inverse normal CDF of a
    scrambled Sobol sequence in :math:`2k` dimensions (``n`` = :data:`MAXOUT_SAMPLES`, seed
    :data:`MAXOUT_SEED`; error about :math:`1/n` instead of plain Monte Carlo's :math:`1/\\sqrt n`).
    With :math:`U_b(\\theta) = Z_1 \\cos\\theta + Z_2 \\sin\\theta`, :math:`c = \\cos\\theta`:

    .. math::

        m_2 = q\\,\\overline{\\phi(Z_1)^2}, \\quad g_2 = \\overline{\\textstyle\\sum_j (\\partial_j \\phi(Z_1))^2}, \\quad
        K = q\\,\\overline{\\phi(Z_1)\\phi(U_b)}, \\quad K' = \\overline{\\textstyle\\sum_j \\partial_j\\phi(Z_1)\\,\\partial_j\\phi(U_b)},

    the last two tabulated on 33 angles in :math:`[0, \\pi]` (common random numbers) and interpolated by a
    cubic spline in :math:`\\theta`. The derivative is the activation's routing mask, so :math:`g_2 = 1`.
    Measured against the exact ``maxout:2`` values (:math:`m_2 = q`,
    :math:`K = \\tfrac q2 (c + \\tfrac2\\pi(\\sqrt{1-c^2} + c \\arcsin c))`, :math:`K' = 1 - \\theta/\\pi`)
    the errors are about 1e-5 in :math:`m_2`, 2e-4 in :math:`K/q` and 1e-3 in :math:`K'` (an indicator,
    the hardest case for QMC).
    """

    def __init__(self, act: Activation, samples: int = MAXOUT_SAMPLES, seed: int = MAXOUT_SEED, angles: int = 33):
        from scipy.interpolate import CubicSpline
        from scipy.special import ndtri
        from scipy.stats import qmc

        super().__init__(act)
        k = int(act.pieces)
        self.samples, self.seed = int(samples), int(seed)
        self.method = f"quasi-Monte Carlo (scrambled Sobol, {self.samples} samples, seed {self.seed})"
        u = qmc.Sobol(d=2 * k, scramble=True, seed=self.seed).random(self.samples)
        z = ndtri(np.clip(u, 1e-16, 1 - 1e-16))
        z1, z2 = z[:, :k], z[:, k:]
        a1, d1 = self.act.fn_grad(z1)
        a1 = a1[:, 0]
        self._m1 = float(np.mean(a1))
        self._m2 = float(np.mean(a1 * a1))
        self._g2 = float(np.mean((d1 * d1).sum(axis=1)))
        theta = np.linspace(0.0, np.pi, angles)
        kap, kapg = np.empty(angles), np.empty(angles)
        for i, t in enumerate(theta):
            a2, d2 = self.act.fn_grad(z1 * math.cos(t) + z2 * math.sin(t))
            kap[i] = float(np.mean(a1 * a2[:, 0]))
            kapg[i] = float(np.mean((d1 * d2).sum(axis=1)))
        self._kappa = CubicSpline(theta, kap)
        self._kappa_g = CubicSpline(theta, kapg)

    def _moments(self, q):
        q = _qc(q)
        return self._m2 * q, np.full_like(q, self._m2), np.full_like(q, self._g2)

    def m1(self, q):
        return self._m1 * np.sqrt(_qc(q))

    def _cross_grad(self, q, c):
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
    """The :class:`Kernel` for an activation: a closed form where one exists, else quadrature (QMC for maxout).

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
