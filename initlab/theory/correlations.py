"""The stable fixed point :math:`c^*` of the correlation map and its slope :math:`\\chi_c`, for arrays of cells.

:func:`solve_c` is the one solver behind :func:`initlab.theory.solve` (chaotic cells, and every cell under
dropout, where :math:`c = 1` is no fixed point): Newton's method on
:math:`h(c) = (\\sigma_w^2 K(q^*, c) + \\sigma_b^2)/q^* - c` from :math:`c = 0`, vectorised over cells.
"""

from __future__ import annotations

import numpy as np

from .gaussian import Kernel, QuadratureKernel

__all__ = ["solve_c"]


def _newton_c(cross_grad, sw2, sb2, qs, c, tol: float, steps: int):
    """Vectorised safeguarded Newton on :math:`h(c) = (\\sigma_w^2 K(q^*, c) + \\sigma_b^2)/q^* - c` from ``c``.

    Returns ``(c, chi_c)`` with :math:`\\chi_c = \\sigma_w^2 K'` at the final iterate. Left of the root
    (:math:`h > 0`) the iterates of a convex :math:`h` increase monotonically to it; right of it a step with
    :math:`h' < 0` lands left of the root, and a start where :math:`h < 0 \\le h'` (past the minimum, towards
    the unstable root 1) restarts from 0.
    """
    c = c.copy()
    act_ = np.arange(qs.size)
    restarted = np.zeros(qs.size, bool)
    for _ in range(steps):
        if not act_.size:
            break
        cc = c[act_]
        kk, kg = cross_grad(qs[act_], cc)
        h = (sw2[act_] * kk + sb2[act_]) / qs[act_] - cc
        hp = sw2[act_] * kg - 1.0  # dK/dc = q K'
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(hp < 0, -h / hp, 0.0)
        c_new = np.clip(cc + step, 0.0, 1.0)
        reset = (h < 0) & (hp >= 0) & ~restarted[act_] & (cc > 0)
        c_new[reset] = 0.0
        restarted[act_[reset]] = True
        conv = ~reset & ((np.abs(c_new - cc) <= tol) | (hp >= 0))
        c[act_] = c_new
        act_ = act_[~conv]
    _, kg = cross_grad(qs, c)  # the slope at the final iterate (not at the one before: issue 20 §3)
    return c, sw2 * kg


def solve_c(k: Kernel, sw2: np.ndarray, sb2: np.ndarray, qs: np.ndarray):
    """Stable c* < 1 of the chaotic cells; returns (c_star, chi_c).

    Newton on :math:`h(c) = \\mathcal{C}(c; q^*) - c` from :math:`c = 0`: on [0, 1] the c-map is convex
    (its Mehler series :math:`K = \\sum_n a_n^2 c^n`, :math:`a_n = \\mathbb{E}[\\phi(\\sqrt{q^*} z)\\,He_n(z)]/\\sqrt{n!}`,
    has non-negative coefficients), :math:`h(0) \\ge 0`, :math:`h(1) = 0` and :math:`h'(1) = \\chi_1 - 1 > 0`,
    so the iterates increase monotonically to the root below 1. For quadrature kernels the first iterations
    run on the first 24 terms of that series (1-D quadrature only), then the 2-D quadrature polishes
    (usually two steps) and :math:`\\chi_c` is the slope at the final iterate.

    The polish is skipped where the series is already exact to rounding: the terms left out weigh
    :math:`T = m_2(q^*) - \\sum_{n<24} a_n^2` in all (:math:`\\sum_n a_n^2 = \\mathbb{E}[\\phi^2]`), so at
    :math:`c \\le 1/2` they change :math:`K` by at most :math:`T c^{24}` and :math:`\\partial_c K` by at most
    :math:`24\\,T c^{23}`; where :math:`\\sigma_w^2` times that over :math:`q^*` is below 1e-14 the series' root and
    slope are the answer. This is the common case under heavy dropout, whose :math:`c^*` is small while
    :math:`q^*` is large and the 2-D rule expensive (issue 19 §10: ``--dropout 0.9`` spent most of a minute here).
    """
    qs = np.maximum(qs, 1e-300)
    c = np.zeros(qs.size)
    if not isinstance(k, QuadratureKernel):
        return _newton_c(k.cross_grad, sw2, sb2, qs, c, 1e-7, 100)
    a2 = k.hermite_coefficients(qs, 24) ** 2
    c = _newton_series(a2, sw2, sb2, qs, 1e-10, 60)
    n = np.arange(a2.shape[1])
    tail = np.maximum(np.asarray(k.m2(qs), dtype=np.float64) - a2.sum(axis=1), 0.0)
    exact = (c <= 0.5) & (sw2 * 24.0 * tail * c ** 23 / qs <= 1e-14)
    chic = np.empty(qs.size)
    if exact.any():
        ce = c[exact]
        chic[exact] = sw2[exact] * (a2[exact, 1:] * n[1:] * ce[:, None] ** n[:-1]).sum(axis=1) / qs[exact]
    rest = ~exact
    if rest.any():
        c[rest], chic[rest] = _newton_c(k.cross_grad, sw2[rest], sb2[rest], qs[rest], c[rest], 1e-7, 100)
    return c, chic


def _newton_series(a2: np.ndarray, sw2, sb2, qs, tol: float, steps: int):
    """:func:`_newton_c` on the truncated Mehler series :math:`K \\approx \\sum_n a_n^2 c^n` (rows of ``a2``)."""
    n = np.arange(a2.shape[1])
    c = np.zeros(qs.size)
    act_ = np.arange(qs.size)
    for _ in range(steps):
        if not act_.size:
            break
        cc = c[act_]
        pw = cc[:, None] ** n
        kk = (a2[act_] * pw).sum(1)
        kq = (a2[act_, 1:] * n[1:] * pw[:, :-1]).sum(1)  # dK/dc
        h = (sw2[act_] * kk + sb2[act_]) / qs[act_] - cc
        hp = sw2[act_] * kq / qs[act_] - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(hp < 0, -h / hp, 0.0)
        c_new = np.clip(cc + step, 0.0, 1.0)
        conv = (np.abs(c_new - cc) <= tol) | (hp >= 0)
        c[act_] = c_new
        act_ = act_[~conv]
    return c
