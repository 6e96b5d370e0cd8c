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
- *Quadrature split at the kinks and graded towards 0* (:class:`QuadratureKernel`, rules in
  :mod:`initlab.theory.quadrature`) on the activation's own ``fn``/``fn_grad``: Gauss rules for the normal
  density on each piece between 0, the points where :math:`\\phi'` jumps (found from ``grad``) and, at large
  ``q``, the graded points :math:`\\pm 4^j/\\sqrt q` (:math:`j = 0, 1, \\dots` while :math:`4^j/\\sqrt q < 2`):
  :math:`\\phi(\\sqrt q z)` changes on the scale :math:`1/\\sqrt q` near 0 and :math:`\\phi'` lives there, so the
  nodes follow it to :math:`q = 10^8` and beyond. In 2-D the Cholesky coordinates :math:`(z_1, z_2)` are
  integrated in polar form, split on the rays and radii where :math:`u_a` or :math:`u_b` meets a kink and
  graded likewise around the rays :math:`u_a = 0`, :math:`u_b = 0`. Relative errors below 1e-8 for every
  registered activation and :math:`10^{-12} \\le q \\le 10^8` (``tests/test_quadrature_accuracy.py``,
  against adaptive :func:`scipy.integrate.quad` and mpmath). The textbook tensor Gauss–Hermite rule
  (:func:`numpy.polynomial.hermite_e.hermegauss`, ``rule="hermite"``) is kept for comparison: it converges
  only algebraically across a kink (errors of 1e-4 to 1e-2 for ReLU's :math:`K'`, SELU, hard_tanh) and
  loses the layer at large ``q``.
- *The activation's own closed form* where it has one (:class:`ClosedFormKernel`; ``act.kernel_method``):
  linear, ReLU and leaky ReLU through the arc-cosine kernel of Cho & Saul (2009); erf through the
  arcsine kernel of Williams (1997); maxout through exact 1-D integrals over the order-statistic density
  of the maximum of ``k`` normals (:func:`initlab.activations.maxout.max_moments`; closed-form cross kernel
  for ``k = 2``, quasi-Monte Carlo cross kernel for ``k >= 3``). They are tested against quadrature.

Everything is float64 and vectorised over arrays of ``q`` and ``c`` (broadcast together), in blocks of
about a million nodes so memory stays small.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ..activations import Activation, get_activation
from ..activations.maxout import MAXOUT_SAMPLES, MAXOUT_SEED
from .quadrature import (
    _blocks, _split0, half_line_rule, hermite_rule, kinks, legendre01, piecewise_rule, radial_rule,
)

__all__ = [
    "DEFAULT_DEGREE",
    "DEFAULT_DEGREE_2D",
    "MAXOUT_SAMPLES",
    "MAXOUT_SEED",
    "Q_FLOOR",
    "GRADE_LIMIT",
    "grade_levels",
    "Kernel",
    "QuadratureKernel",
    "ClosedFormKernel",
    "gaussian_kernel",
]

#: Quadrature nodes per piece for 1-D expectations (see :class:`QuadratureKernel`).
DEFAULT_DEGREE = 32
#: Quadrature nodes per piece for 2-D expectations (see :class:`QuadratureKernel`).
DEFAULT_DEGREE_2D = 20
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


#: Angles (radians, up to 2π) closer than this are one angle in float64 (a few ulps of 2π).
_ANGLE_EPS = 4 * np.spacing(2 * np.pi)

#: The 1-D rules add breakpoints at :math:`\\pm 4^j/\\sqrt q` while these are below this (in units of z).
GRADE_LIMIT = 2.0


def grade_levels(r: np.ndarray) -> np.ndarray:
    """How many graded breakpoints :math:`4^j / r < 2` (:data:`GRADE_LIMIT`) a rule for :math:`\\sqrt q = r` gets."""
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore"):
        lv = np.ceil(np.log(np.maximum(r * GRADE_LIMIT, 1.0)) / math.log(4.0))
    return np.where(r * GRADE_LIMIT > 1.0, lv, 0).astype(int)


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

    def __init__(
        self,
        act: Activation,
        degree: int = DEFAULT_DEGREE,
        degree_2d: int = DEFAULT_DEGREE_2D,
        rule: str = "split",
        grade_2d: float = GRADE_LIMIT,
    ):
        super().__init__(act)
        self.grade_2d = float(grade_2d)
        if rule not in ("split", "hermite"):
            raise ValueError(f"rule must be 'split' or 'hermite', got {rule!r}")
        self.degree, self.degree_2d, self.rule = int(degree), int(degree_2d), rule
        if rule == "split":
            half_line_rule(self.degree), half_line_rule(self.degree_2d)  # validate sizes
            self.kinks = np.array(kinks(act))
            self._abs_kinks = np.unique(np.abs(self.kinks))
            self._ratios = np.unique(np.round(np.divide.outer(self.kinks, self.kinks).ravel(), 12))
            self.method = (
                f"quadrature split at kinks, graded towards 0 at large q ({self.degree} nodes per piece; "
                f"{self.degree_2d} in 2-D)"
            )
        else:
            hermite_rule(self.degree), hermite_rule(self.degree_2d)
            self.kinks = np.zeros(0)
            self.method = f"Gauss-Hermite quadrature ({self.degree} nodes; {self.degree_2d}x{self.degree_2d} in 2-D)"

    def _rule1(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The 1-D rule for rows of standard deviation ``r`` that share one grading level (see :func:`grade_levels`)."""
        levels = int(grade_levels(r[:1])[0]) if r.size else 0
        if self.rule == "hermite" or (not self.kinks.size and not levels):  # the same rule for every q
            x, w = hermite_rule(self.degree) if self.rule == "hermite" else _split0(self.degree)
            return x[None, :], w[None, :]
        graded = (4.0 ** np.arange(levels))[None, :] / r[:, None]
        graded = np.where(graded < GRADE_LIMIT, graded, 0.0)  # rows of one level share it; guard anyway
        breaks = np.concatenate([np.zeros((r.size, 1)), self.kinks / r[:, None], graded, -graded], axis=1)
        return piecewise_rule(breaks, self.degree)

    def quadrature_rule(self, q: float) -> tuple[np.ndarray, np.ndarray]:
        """The 1-D rule this kernel integrates with at variance ``q``: nodes ``z`` and weights ``w`` (shape (m,))
        with :math:`\\mathbb{E}[f(\\phi(\\sqrt q Z))] \\approx \\sum_i w_i f(\\phi(\\sqrt q z_i))` for smooth ``f``
        (for moments this kernel does not offer, e.g. :math:`\\mathbb{E}[\\phi^4]`)."""
        r = np.sqrt(np.maximum(np.array([float(q)]), Q_FLOOR))
        z, w = self._rule1(r)
        return np.array(z[0]), np.array(w[0])

    def _grouped(self, flat: np.ndarray, per_piece: int, fill) -> None:
        """Call ``fill(rows, r, z, w)`` on blocks of rows that share a grading level (``r = sqrt(flat[rows])``)."""
        r_all = np.sqrt(flat)
        lv = grade_levels(r_all) if self.rule == "split" else np.zeros(flat.size, int)
        for level in np.unique(lv):
            rows = np.flatnonzero(lv == level)
            per = per_piece * (2 + self.kinks.size + 2 * int(level))
            for s in _blocks(rows.size, per):
                sel = rows[s]
                r = r_all[sel]
                z, w = self._rule1(r)
                fill(sel, r, z, w)

    def _moments(self, q):
        q = _qc(q)
        flat = q.reshape(-1)
        m2, slope, g2 = (np.empty(flat.shape) for _ in range(3))

        def fill(s, r, z, w):
            a, d = self.act.fn_grad(r[:, None] * z)
            w = np.broadcast_to(w, a.shape)
            m2[s] = np.einsum("ij,ij->i", a * a, w)
            g2[s] = np.einsum("ij,ij->i", d * d, w)
            slope[s] = np.einsum("ij,ij->i", a * d, w * z) / r

        with np.errstate(over="ignore", under="ignore"):
            self._grouped(flat, self.degree, fill)
        return m2.reshape(q.shape), slope.reshape(q.shape), g2.reshape(q.shape)

    def m1(self, q):
        q = _qc(q)
        flat = q.reshape(-1)
        out = np.empty(flat.shape)

        def fill(s, r, z, w):
            a = self.act.fn(r[:, None] * z)
            out[s] = np.einsum("ij,ij->i", a, np.broadcast_to(w, a.shape))

        with np.errstate(over="ignore", under="ignore"):
            self._grouped(flat, self.degree, fill)
        return out.reshape(q.shape)

    def hermite_coefficients(self, q: Any, n: int) -> np.ndarray:
        """:math:`a_k = \\mathbb{E}[\\phi(\\sqrt q z)\\,He_k(z)]/\\sqrt{k!}` for :math:`k < n`, shape ``q.shape + (n,)``.

        Mehler's formula gives :math:`K(q, c) = \\sum_k a_k^2 c^k`; the theory uses the truncated series as a
        cheap model of the c-map before polishing with the 2-D rule.
        """
        q = _qc(q)
        flat = q.reshape(-1)
        out = np.empty((flat.size, n))

        def fill(s, r, z, w):
            aw = self.act.fn(r[:, None] * z) * w
            z = np.broadcast_to(z, aw.shape)
            h_prev, h = np.zeros_like(z), np.ones_like(z)
            for k in range(n):  # orthonormal recurrence h_{k+1} = (z h_k - sqrt(k) h_{k-1}) / sqrt(k+1)
                out[s, k] = np.einsum("ij,ij->i", aw, h)
                h_prev, h = h, (z * h - math.sqrt(k) * h_prev) / math.sqrt(k + 1)

        with np.errstate(over="ignore", under="ignore"):
            self._grouped(flat, self.degree * n, fill)
        return out.reshape(q.shape + (n,))

    def _cross_grad(self, q, c):
        q, c = _qc(q, c)
        shape = q.shape
        qf, cf = q.reshape(-1), c.reshape(-1)
        k, kg = np.empty(qf.shape), np.empty(qf.shape)
        m = self.kinks.size
        lv = (
            grade_levels(np.sqrt(qf) * (self.grade_2d / GRADE_LIMIT))
            if self.rule == "split"
            else np.zeros(qf.size, int)
        )
        fill = self._cross_split if self.rule == "split" else self._cross_hermite
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            for level in np.unique(lv):
                rows = np.flatnonzero(lv == level)
                arcs = (4 + 2 * m * m) * (3 + 2 * int(level))
                per = self.degree_2d**2 * (arcs * (1 + 2 * m + 2 * int(level)) if self.rule == "split" else 1)
                for s in _blocks(rows.size, per):  # per: an upper bound on the nodes of one (q, c)
                    sel = rows[s]
                    k[sel], kg[sel] = fill(qf[sel], cf[sel], int(level))
        return k.reshape(shape), kg.reshape(shape)

    def _cross_hermite(self, q, c, level=0):
        x, w = hermite_rule(self.degree_2d)
        r = np.sqrt(q)
        b, d = r * c, r * np.sqrt(1.0 - c * c)
        a1, d1 = self.act.fn_grad(r[:, None] * x)
        a2, d2 = self.act.fn_grad((b[:, None] * x)[:, :, None] + (d[:, None] * x)[:, None, :])
        return (a1 * (a2 @ w)) @ w, (d1 * (d2 @ w)) @ w

    def _cross_split(self, q, c, level=0):
        n = self.degree_2d
        th = np.arccos(c)[:, None]
        t, v = legendre01(n)
        r1 = np.sqrt(q)[:, None]
        # arcs between the rays where u_a = 0, u_b = 0, or where the kink lines u_a = p_i, u_b = p_j cross
        base = [np.pi / 2 + np.zeros_like(th), 1.5 * np.pi + np.zeros_like(th), th + np.pi / 2, th + 1.5 * np.pi]
        rays = list(base)
        # large q: rays graded towards each u = 0 ray at 4^j / (4 sqrt q) radians (the layer's width); offsets below
        # float64's resolution of an angle (j < j0) would only repeat the ray, and are left out
        j0 = max(0, int(math.floor(math.log(4 * float(r1.min()) * _ANGLE_EPS) / math.log(4.0)))) if level else 0
        if level:
            delta = (4.0 ** np.arange(min(j0, level), level + 1))[None, :] / (4 * r1)
            for b in base:
                rays += [b - delta, b + delta]
        for ratio in self._ratios:  # cos(psi) / cos(psi - theta) = p_i / p_j
            ray = np.arctan2(1.0 / ratio - np.cos(th), np.sin(th))
            rays += [ray, ray + np.pi]
        ang = np.sort(np.mod(np.concatenate(rays, axis=1) - np.pi / 2, 2 * np.pi), axis=1)
        ang = np.concatenate([ang, np.full_like(th, 2 * np.pi)], axis=1)
        lengths = np.diff(ang, axis=1)
        psi = (np.pi / 2 + ang[:, :-1, None] + lengths[:, :, None] * t).reshape(len(q), -1)  # (M, A)
        wpsi = (lengths[:, :, None] * v).reshape(len(q), -1) / (2 * np.pi)
        ca, cb = np.cos(psi)[:, :, None], np.cos(psi - th)[:, :, None]
        r = np.sqrt(q)[:, None, None]
        scales = np.concatenate([self._abs_kinks, 4.0 ** np.arange(level)]) if self.rule == "split" else self._abs_kinks
        if scales.size:
            # (M, 1, s): a split where |u| meets |p| (harmless if only one sign kinks) and, at large q, where
            # |u| = 4^j: the radial layer of width 1/(sqrt(q) |cos|) near the origin
            pr = scales / r
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


class ClosedFormKernel(Kernel):
    """The activation's own Gaussian kernel (``act.gaussian_moments``, ``gaussian_cross``, ``gaussian_mean``).

    Activations carry their closed forms beside ``fn`` (see :mod:`initlab.activations.base`): linear, ReLU and
    leaky ReLU (arc-cosine kernel), erf (arcsine kernel), maxout (exact order-statistic moments). This class
    only clamps ``q`` at :data:`Q_FLOOR` and ``c`` to [-1, 1] and applies the :class:`Kernel` conventions.
    """

    def __init__(self, act: Activation):
        super().__init__(act)
        self.method = str(act.kernel_method)

    def _moments(self, q):
        return self.act.gaussian_moments(_qc(q))

    def m1(self, q):
        return self.act.gaussian_mean(_qc(q))

    def _cross_grad(self, q, c):
        q, c = _qc(q, c)
        return self.act.gaussian_cross(q, c)


@functools.lru_cache(maxsize=128)
def _kernel(act: Activation, degree: int, degree_2d: int, closed_form: bool, rule: str, grade_2d: float) -> Kernel:
    if act.pieces > 1 or (closed_form and act.kernel_method):  # maxout's fn is not elementwise: always its own
        return ClosedFormKernel(act)
    return QuadratureKernel(act, degree, degree_2d, rule, grade_2d)


def gaussian_kernel(
    act: Activation | str,
    degree: int = DEFAULT_DEGREE,
    degree_2d: int = DEFAULT_DEGREE_2D,
    closed_form: bool = True,
    rule: str = "split",
    grade_2d: float = GRADE_LIMIT,
) -> Kernel:
    """The :class:`Kernel` for an activation: the activation's own closed form where it has one
    (``act.kernel_method``), else quadrature on its ``fn``/``grad``.

    Parameters
    ----------
    act : Activation or spec string
    degree, degree_2d : int
        Gauss–Hermite nodes (1-D; per axis in 2-D) for the quadrature kernel.
    closed_form : bool
        ``False`` forces quadrature (used by the tests that check the closed forms).
    rule : {"split", "hermite"}
        Quadrature rule, see :class:`QuadratureKernel`.
    grade_2d : float
        The 2-D rule grades towards the rays :math:`u = 0` while :math:`4^j/\\sqrt q` is below this
        (default :data:`GRADE_LIMIT`, errors below 1e-9; the phase grid uses 0.5, errors below about 1e-5
        for :math:`q \\le 30`, three times faster).
    """
    return _kernel(get_activation(act), int(degree), int(degree_2d), bool(closed_form), str(rule), float(grade_2d))
