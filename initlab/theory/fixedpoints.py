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
    "basin_of",
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
        # a root needs F >= 0 beyond rounding: where V(q) - q cancels to a few ulps (hard_tanh near 0, whose
        # V(q) = q - O(exp(-1/2q))) the iteration still decreases, down to q* = 0 (issue 20 §6)
        ulps = 8 * np.finfo(np.float64).eps * (sw2[sl, None] * m2g + sb2[sl, None] + qg)
        hit_d = (qg < qq) & ((F > ulps) | ((qg == 0) & (F >= 0)))
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
        _dips(k, sw2[sl], sb2[sl], F, qq[:, 0], up, np.where(found, j, qg.size), np.where(found_d, jd, -1),
              lo[sl], hi[sl], f_lo[sl], f_hi[sl], status[sl])
    return lo, hi, f_lo, f_hi, status


def _dips(k: Kernel, sw2, sb2, F, q0, up, j_up, j_dn, lo, hi, f_lo, f_hi, status) -> None:
    """Roots between two grid points: where :math:`F` has a local extremum on the grid on its way from ``q0``
    to the first sign change (a local minimum with :math:`F > 0` going up, a maximum with :math:`F < 0` going
    down), the extremum is located by golden-section search in :math:`\\log q` between its grid neighbours;
    if :math:`F` changes sign there, the root nearest ``q0`` lies between the grid point and that extremum and
    the bracket is replaced (updated in place). This finds the pair of roots a saddle-node leaves just before
    it vanishes (issue 20 §4: SiLU at :math:`\\sigma_b^2 = 0.3` dips below zero over less than a grid step).
    """
    qg = scan_table(k)[0]
    G = qg.size
    idx = np.arange(1, G - 1)
    mid = F[:, 1:-1]
    ulps = 8 * np.finfo(np.float64).eps * (sw2[:, None] * scan_table(k)[1][idx] + sb2[:, None] + qg[idx])
    up_c = up[:, None] & (mid <= F[:, :-2]) & (mid <= F[:, 2:]) & (mid > ulps) & (qg[idx] > q0[:, None]) \
        & (idx < j_up[:, None])
    dn_c = ~up[:, None] & (mid >= F[:, :-2]) & (mid >= F[:, 2:]) & (mid < -ulps) & (qg[idx] < q0[:, None]) \
        & (idx > j_dn[:, None])
    rows, cols = np.nonzero(up_c | dn_c)
    if not rows.size:
        return
    cols = cols + 1
    sign = np.where(up[rows], 1.0, -1.0)  # minimise sign * F
    a, b = np.log(np.maximum(qg[cols - 1], 1e-300)), np.log(qg[cols + 1])
    g = (math.sqrt(5.0) - 1.0) / 2.0
    f = lambda x: sign * (sw2[rows] * np.asarray(k.m2(np.exp(x))) + sb2[rows] - np.exp(x))  # noqa: E731
    x1, x2 = b - g * (b - a), a + g * (b - a)
    f1, f2 = f(x1), f(x2)
    for _ in range(60):
        if (np.minimum(f1, f2) < 0).all() or np.all(b - a <= 1e-13):
            break
        left = f1 < f2
        b = np.where(left, x2, b)
        a = np.where(left, a, x1)
        x2n = np.where(left, x1, a + g * (b - a))
        x1n = np.where(left, b - g * (b - a), x2)
        f2n, f1n = np.where(left, f1, np.nan), np.where(left, np.nan, f2)
        new = np.where(left, x1n, x2n)
        fn = f(new)
        x1, x2 = x1n, x2n
        f1, f2 = np.where(left, fn, f1n), np.where(left, f2n, fn)
    best_x = np.where(f1 <= f2, x1, x2)
    best_f = np.minimum(f1, f2)
    qb = np.exp(best_x)
    dip = best_f < -8 * np.finfo(np.float64).eps * (sw2[rows] * np.asarray(k.m2(qb)) + sb2[rows] + qb)  # not rounding
    order = np.argsort(np.where(up[rows], cols, -cols), kind="stable")  # nearest to q0 first
    seen: set[int] = set()
    for i in order:
        r = int(rows[i])
        if not dip[i] or r in seen:
            continue
        seen.add(r)
        qm, fm = math.exp(float(best_x[i])), float(sign[i] * best_f[i])
        if up[r]:  # F(grid point before the dip) > 0 >= F(qm)
            c = int(cols[i]) - 1
            left_q = max(float(qg[c]), float(q0[r]))
            lo[r], hi[r] = left_q, qm
            f_lo[r] = float(F[r, c]) if qg[c] > q0[r] else float(sw2[r] * k.m2(q0[r]) + sb2[r] - q0[r])
            f_hi[r] = fm
        else:  # F(qm) >= 0 > F(grid point after the dip)
            c = int(cols[i]) + 1
            right_q = min(float(qg[c]), float(q0[r]))
            lo[r], hi[r] = qm, right_q
            f_lo[r] = fm
            f_hi[r] = float(F[r, c]) if qg[c] < q0[r] else float(sw2[r] * k.m2(q0[r]) + sb2[r] - q0[r])
        status[r] = 0


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


def _dip_roots(k: Kernel, sw2: float, sb2: float, F: np.ndarray, brentq) -> list[float]:
    """The pairs of roots inside one grid interval pair: a local minimum of F > 0 (or maximum of F < 0) on
    the grid whose refined extremum (bounded Brent search in log q) crosses zero beyond rounding."""
    from scipy.optimize import minimize_scalar

    qg = scan_table(k)[0]
    f = lambda q: sw2 * float(k.m2(q)) + sb2 - q  # noqa: E731
    mid = F[1:-1]
    ulps = 8 * np.finfo(np.float64).eps * (sw2 * scan_table(k)[1][1:-1] + sb2 + qg[1:-1])
    out: list[float] = []
    for sgn, cand in ((1.0, (mid <= F[:-2]) & (mid <= F[2:]) & (mid > ulps)),
                      (-1.0, (mid >= F[:-2]) & (mid >= F[2:]) & (mid < -ulps))):
        for i in np.flatnonzero(cand) + 1:
            a, b = math.log(max(float(qg[i - 1]), 1e-300)), math.log(float(qg[i + 1]))
            r = minimize_scalar(lambda x: sgn * f(math.exp(x)), bounds=(a, b), method="bounded",
                                options={"xatol": 1e-14})
            qm = math.exp(float(r.x))
            if sgn * f(qm) < -8 * np.finfo(np.float64).eps * (sw2 * float(k.m2(qm)) + sb2 + qm):
                out += [brentq(f, float(qg[i - 1]), qm, xtol=1e-300, rtol=1e-15, maxiter=200),
                        brentq(f, qm, float(qg[i + 1]), xtol=1e-300, rtol=1e-15, maxiter=200)]
    return out


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


def all_fixed_points(k: Kernel, sigma_w2: float, sigma_b2: float, q1: float = 1.0) -> list[FixedPointBranch]:
    """Every fixed point of the q-map in :math:`[0, Q_{\\max}]`, in increasing order, stable and unstable.

    Each sign change of :math:`F` on the scan grid is refined by Brent's method on the kernel; :math:`q = 0`
    is included when :math:`F(0) = 0` (no bias and :math:`\\phi(0) = 0`). When :math:`F > 0` above the largest
    root (the iteration from there grows without bound) a last entry with ``q_star = inf`` and stability
    ``divergent`` is added. The entry the iteration from ``q1`` (the first layer's second moment, where the
    iteration starts) reaches (:func:`solve_q`) has ``reached``.
    """
    from scipy.optimize import brentq

    sw2, sb2 = float(sigma_w2), float(sigma_b2)
    qg, m2g = scan_table(k)
    F = sw2 * m2g + sb2 - qg
    roots: list[float] = []
    if F[0] <= 0:
        roots.append(0.0)
    # signs beyond rounding only (a plateau where V(q) - q cancels to a few ulps, hard_tanh near 0, is no root)
    ulps = 8 * np.finfo(np.float64).eps * (sw2 * m2g + sb2 + qg)
    nz = np.flatnonzero(np.abs(F) > ulps)
    sign = np.sign(F[nz])
    for i in np.flatnonzero(sign[1:] * sign[:-1] < 0):
        a, b = float(qg[nz[i]]), float(qg[nz[i + 1]])
        if nz[i + 1] - nz[i] == 2 and F[nz[i] + 1] == 0:  # an exact root on the grid
            roots.append(float(qg[nz[i] + 1]))
            continue
        roots.append(brentq(lambda q: sw2 * float(k.m2(q)) + sb2 - q, a, b, xtol=1e-300, rtol=1e-15, maxiter=200))
    roots += _dip_roots(k, sw2, sb2, F, brentq)
    roots = sorted(set(roots))
    reached_q = float(solve_q(k, np.array([sw2]), np.array([sb2]), np.array([float(q1)]))[0][0])
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


def basin_of(branches: list[FixedPointBranch], q1: float) -> str:
    """Which basin of attraction of the q-map the start ``q1`` lies in ('' when there is only one).

    The attractors are the stable fixed points and the escape to infinity; the unstable fixed points
    separate their basins (the q-map is monotone, so the iteration never crosses one).
    """
    attractors = [b for b in branches if b.stability in ("stable", "divergent")]
    if len(attractors) < 2:
        return ""
    reached = next((b for b in branches if b.reached), None)
    if reached is None:
        return ""
    walls = [b.q_star for b in branches if b.stability in ("unstable", "marginal") and b.q_star != reached.q_star]
    below = [w for w in walls if w < q1]
    above = [w for w in walls if w > q1]
    where = []
    if below:
        where.append(f"above the unstable fixed point {max(below):.6g}")
    if above:
        where.append(f"below the unstable fixed point {min(above):.6g}")
    others = ", ".join(_fmt_q(b.q_star) for b in attractors if b is not reached)
    return (f"{len(attractors)} basins: q1 = {q1:.6g} lies {' and '.join(where) or 'on a fixed point'}, "
            f"so q^l goes to q* = {_fmt_q(reached.q_star)} (other attractors: q* = {others})")


def _fmt_q(q: float) -> str:
    return "inf" if math.isinf(q) else f"{q:.6g}"
