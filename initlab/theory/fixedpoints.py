"""Fixed points of the q-map: the one the iteration from ``q0`` reaches, and all of them.

The variance map :math:`\\mathcal{V}(q) = \\sigma_w^2\\,m_2(q) + \\sigma_b^2`, :math:`m_2(q) = \\mathbb{E}[\\phi(\\sqrt q z)^2]`,
is non-decreasing in :math:`q` for every registered activation (:math:`m_2' = \\mathbb{E}[z\\phi\\phi']/\\sqrt q \\ge 0`;
checked on the whole scan grid by the tests). The iteration :math:`q^{l+1} = \\mathcal{V}(q^l)` from ``q0`` is
therefore monotone, and its limit is the *nearest fixed point in the direction of*
:math:`F(q_0) = \\mathcal{V}(q_0) - q_0`: the smallest root of :math:`F` above ``q0`` when :math:`F(q_0) > 0`, the
largest below it when :math:`F(q_0) < 0`. That root is stable from the side ``q0`` is on. A q-map with three
fixed points (stable, unstable, stable: SiLU, GELU and Mish near :math:`\\sigma_w^2 = 2`) is solved correctly
only by looking for the *nearest* root, not for any sign change.

:func:`solve_q` does exactly that, for arrays of cells at once:

1. :math:`F` is evaluated on a fixed scan grid of :data:`SCAN_POINTS` log-spaced :math:`q` in
   [:data:`Q_SCAN_MIN`, :data:`Q_MAX`] (plus 0). :math:`m_2` is tabulated once per activation, so the scan of
   every cell is one multiply-add per grid point (cells × grid in blocks).
2. The first grid point past ``q0`` (in the direction of :math:`F(q_0)`) where :math:`F` changes sign gives a
   bracket; safeguarded Newton (bisection in :math:`\\log q` when Newton leaves the bracket) refines it to
   rounding on the kernel itself.
3. No sign change above ``q0`` up to :data:`Q_MAX`: the iteration grows without bound ("divergent",
   :math:`q^* = \\infty`). Below ``q0``, :math:`F(0) = \\sigma_w^2 \\phi(0)^2 + \\sigma_b^2 \\ge 0`; when it is 0 and
   :math:`F < 0` on the whole grid below ``q0``, :math:`q^* = 0`.

Two roots closer together than a grid step (a factor :math:`10^{22/\\text{SCAN\\_POINTS}} \\approx 1.017`) are
seen only when :math:`F` changes sign on the grid between them; that is the tangency (saddle-node) case, where
the iteration itself takes arbitrarily long to pass.

:func:`all_fixed_points` lists every root in :math:`[0, Q_{\\max}]` (each sign change of the scan, refined by
Brent's method), with its slope :math:`\\mathcal{V}'(q^*)`, :math:`\\chi_1` and stability, and marks the one
reached from ``q0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .gaussian import Kernel

__all__ = [
    "Q_MAX",
    "Q_MIN",
    "Q_SCAN_MIN",
    "SCAN_POINTS",
    "FixedPointBranch",
    "solve_q",
    "all_fixed_points",
    "scan_table",
]

#: A q-map iteration that passes this is reported as divergent (:math:`q^* = \\infty`).
Q_MAX = 1e10
#: Below this the walk towards :math:`q^* = 0` stops (with :math:`\\sigma_b^2 = 0`, :math:`\\phi(0) = 0`).
Q_MIN = 1e-10
#: Smallest positive q of the scan grid.
Q_SCAN_MIN = 1e-12
#: Log-spaced points of the scan grid on [Q_SCAN_MIN, Q_MAX] (successive ratio about 1.017).
SCAN_POINTS = 3000
_CELLS_PER_BLOCK = 256


def scan_table(k: Kernel) -> tuple[np.ndarray, np.ndarray]:
    """The scan grid :math:`(0, q_1, \\dots, Q_{\\max})` and :math:`m_2` on it, computed once per kernel."""
    table = getattr(k, "_scan_table", None)
    if table is None:
        qg = np.concatenate([[0.0], np.geomspace(Q_SCAN_MIN, Q_MAX, SCAN_POINTS)])
        m2 = np.asarray(k.m2(qg), dtype=np.float64)
        qg.flags.writeable = False
        m2.flags.writeable = False
        table = (qg, m2)
        k._scan_table = table  # type: ignore[attr-defined]
    return table


def _brackets(k: Kernel, sw2: np.ndarray, sb2: np.ndarray, q0: np.ndarray, f0: np.ndarray):
    """Per cell: ``(lo, hi, f_lo, f_hi, status)`` with F(lo) > 0 > F(hi) around the root nearest to q0 in the
    direction of F(q0).

    ``status`` 0: bracketed; 1: divergent (F > 0 on the whole grid above q0); 2: q* = 0 (F(0) = 0 and F < 0
    on the grid below q0).
    """
    qg, m2g = scan_table(k)
    n = sw2.size
    lo, hi, f_lo, f_hi = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    status = np.zeros(n, dtype=np.int8)
    for s in range(0, n, _CELLS_PER_BLOCK):
        sl = slice(s, min(n, s + _CELLS_PER_BLOCK))
        F = sw2[sl, None] * m2g + sb2[sl, None] - qg
        qq, up = q0[sl, None], f0[sl] > 0
        # upward: the first grid point above q0 with F <= 0
        hit = (qg > qq) & (F <= 0)
        j = np.argmax(hit, axis=1)
        found = hit[np.arange(hit.shape[0]), j]
        prev = qg[np.maximum(j - 1, 0)]
        lo_up = np.maximum(prev, q0[sl])
        # downward: the last grid point below q0 with F >= 0
        hit_d = (qg < qq) & (F >= 0)
        jd = hit_d.shape[1] - 1 - np.argmax(hit_d[:, ::-1], axis=1)
        found_d = hit_d[np.arange(hit_d.shape[0]), jd]
        nxt = qg[np.minimum(jd + 1, qg.size - 1)]
        hi_dn = np.minimum(nxt, q0[sl])
        rows = np.arange(F.shape[0])
        at_zero = found_d & (F[rows, jd] <= 0)  # F = 0 exactly at that grid point: a root there
        lo[sl] = np.where(up, lo_up, qg[jd])
        hi[sl] = np.where(up, qg[j], np.where(at_zero, qg[jd], hi_dn))
        Fj, Fjm, Fjd, Fjdp = (F[rows, np.clip(i, 0, qg.size - 1)] for i in (j, j - 1, jd, jd + 1))
        f_lo[sl] = np.where(up, np.where(prev > q0[sl], Fjm, f0[sl]), Fjd)
        f_hi[sl] = np.where(up, Fj, np.where(nxt < q0[sl], Fjdp, f0[sl]))
        status[sl] = np.where(up, np.where(found, 0, 1), np.where(found_d & ~(at_zero & (jd == 0)), 0, 2))
        # a grid point that is an exact root: q* is that point (lo == hi)
        exact = up & found & (F[rows, j] == 0)
        lo[sl] = np.where(exact, qg[j], lo[sl])
    return lo, hi, f_lo, f_hi, status


def solve_q(k: Kernel, sw2: np.ndarray, sb2: np.ndarray, q0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:math:`q^*` reached by iterating the q-map from ``q0``, for flat arrays of cells; returns ``(q_star, divergent)``.

    See the module docstring. ``q_star`` is ``inf`` where divergent and 0 where the iteration decays to 0.
    A ``q0`` that is itself a fixed point (to 1e-13) is returned as is, stable or not.
    """
    sw2, sb2, q0 = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (sw2, sb2, q0))
    n = sw2.size
    uq, inv = np.unique(q0, return_inverse=True)  # usually one q0 for every cell
    f0 = sw2 * np.asarray(k.m2(uq))[inv.reshape(-1)] + sb2 - q0
    done = np.abs(f0) <= 1e-13 * (1.0 + q0)
    qs = np.full(n, np.nan)
    qs[done] = q0[done]
    lo, hi, f_lo, f_hi, status = _brackets(k, sw2, sb2, q0, f0)
    div = ~done & (status == 1)
    qs[~done & (status == 2)] = 0.0
    act_ = np.flatnonzero(np.isnan(qs) & ~div)
    exact = lo[act_] == hi[act_]
    qs[act_[exact]] = lo[act_[exact]]
    act_ = act_[~exact]
    l_, h_ = lo[act_].copy(), hi[act_].copy()  # F(l_) > 0 > F(h_)
    fl, fh = f_lo[act_], f_hi[act_]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = l_ + (h_ - l_) * fl / (fl - fh)  # regula falsi on the scan: Newton then needs 2-3 steps
    q = np.where(np.isfinite(q) & (q > l_) & (q < h_), q, 0.5 * (l_ + h_))
    for _ in range(200):
        if not act_.size:
            break
        m2, slope, _ = k.moments(q)
        f = sw2[act_] * m2 + sb2[act_] - q
        fp = sw2[act_] * slope - 1.0
        pos = f > 0
        l_ = np.where(pos, q, l_)
        h_ = np.where(pos, h_, q)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = q - f / fp
        bis = np.where((l_ > 0) & (h_ > 4 * l_), np.sqrt(l_ * h_), 0.5 * (l_ + h_))
        ok = np.isfinite(newton) & (newton > l_) & (newton < h_)
        q_new = np.where(ok, newton, bis)
        conv = (f == 0) | (np.abs(q_new - q) <= 1e-12 * q) | (h_ - l_ <= 4e-16 * h_)  # the last step squares it
        qs[act_[conv]] = np.where(f[conv] == 0, q[conv], q_new[conv])
        keep = ~conv
        act_, q, l_, h_ = act_[keep], q_new[keep], l_[keep], h_[keep]
    qs[act_] = q  # not converged in 200 steps (does not happen in practice); keep the last iterate
    qs[div] = np.inf
    return qs, div


@dataclass(frozen=True)
class FixedPointBranch:
    """One root of :math:`F(q) = \\mathcal{V}(q) - q` (see :func:`all_fixed_points`).

    Attributes
    ----------
    q_star : float
        The fixed point (``inf`` for the escape to infinity above the largest root).
    q_slope : float
        :math:`\\mathcal{V}'(q^*)` (NaN for the escape).
    chi1 : float
        :math:`\\sigma_w^2\\,\\mathbb{E}[\\phi'(\\sqrt{q^*} z)^2]` (the :math:`q \\to \\infty` limit for the escape).
    stability : str
        ``stable`` (:math:`\\mathcal{V}' < 1`), ``unstable`` (:math:`> 1`), ``marginal`` (within 1e-9 of 1),
        or ``divergent`` for the escape to infinity.
    reached : bool
        Whether the iteration from ``q0`` ends here.
    """

    q_star: float
    q_slope: float
    chi1: float
    stability: str
    reached: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def all_fixed_points(k: Kernel, sigma_w2: float, sigma_b2: float, q0: float = 1.0) -> list[FixedPointBranch]:
    """Every fixed point of the q-map in :math:`[0, Q_{\\max}]`, in increasing order, stable and unstable.

    Each sign change of :math:`F` on the scan grid is refined by Brent's method on the kernel; :math:`q = 0`
    is included when :math:`F(0) = 0` (no bias and :math:`\\phi(0) = 0`). When :math:`F > 0` above the largest
    root (the iteration from there grows without bound) a last entry with ``q_star = inf`` and stability
    ``divergent`` is added. The entry the iteration from ``q0`` reaches (:func:`solve_q`) has ``reached``.
    """
    from scipy.optimize import brentq

    sw2, sb2 = float(sigma_w2), float(sigma_b2)
    qg, m2g = scan_table(k)
    F = sw2 * m2g + sb2 - qg
    roots: list[float] = []
    if F[0] <= 0:
        roots.append(0.0)
    sign = np.sign(F)
    for i in np.flatnonzero(sign[1:] * sign[:-1] < 0):
        a, b = float(qg[i]), float(qg[i + 1])
        roots.append(brentq(lambda q: sw2 * float(k.m2(q)) + sb2 - q, a, b, xtol=1e-300, rtol=1e-15, maxiter=200))
    for i in np.flatnonzero(sign[1:] == 0):
        roots.append(float(qg[i + 1]))
    roots = sorted(set(roots))
    reached_q = float(solve_q(k, np.array([sw2]), np.array([sb2]), np.array([float(q0)]))[0][0])
    out = []
    if roots:
        _, slope, g2 = k.moments(np.array(roots))
        if roots[0] == 0.0:
            slope[0], g2[0] = k.at_zero()
        for q, s, g in zip(roots, slope, g2):
            v = sw2 * float(s)
            stab = "marginal" if abs(v - 1) <= 1e-9 else ("stable" if v < 1 else "unstable")
            hit = math.isfinite(reached_q) and abs(q - reached_q) <= 1e-9 * max(q, 1e-300) + 1e-300
            out.append(FixedPointBranch(q, v, sw2 * float(g), stab, bool(hit)))
    if F[-1] > 0:
        out.append(
            FixedPointBranch(math.inf, math.nan, sw2 * float(k.g2(Q_MAX)), "divergent", not math.isfinite(reached_q))
        )
    return out
