"""Mean-field theory of signal propagation at initialization (Poole et al. 2016; Schoenholz et al. 2017).

A fully-connected layer computes :math:`z^l = h^{l-1} W^l + b^l`, :math:`h^l = \\phi(z^l)`, with weights of
variance :math:`\\sigma_w^2 / n_{l-1}` and biases of variance :math:`\\sigma_b^2`. At large width the
pre-activations are Gaussian over the random weights, and two inputs :math:`a, b` are described by the
second moment :math:`q^l = \\mathbb{E}[(z^l_i)^2]` and the correlation :math:`c^l = q^l_{ab} / q^l`:

.. math::

    q^{l+1} &= \\mathcal{V}(q^l) = \\sigma_w^2\\,\\mathbb{E}[\\phi(\\sqrt{q^l} z)^2] + \\sigma_b^2
        \\qquad (\\text{the } q\\text{-map}) \\\\
    c^{l+1} &= \\mathcal{C}(c^l; q^l) = \\frac{\\sigma_w^2\\,\\mathbb{E}[\\phi(u_a)\\phi(u_b)] + \\sigma_b^2}{\\mathcal{V}(q^l)}
        \\qquad (\\text{the } c\\text{-map; } u_a, u_b \\text{ of variance } q^l, \\text{ correlation } c^l)

Fixed points and their stability
    :math:`q^* = \\mathcal{V}(q^*)` is the fixed point reached by iterating the q-map from ``q0`` (default 1,
    a unit-variance input); where the iteration grows without bound (ReLU with :math:`\\sigma_w^2 > 2`)
    :math:`q^* = \\infty` and the phase is ``"divergent"``. At :math:`q^*`:

    - :math:`\\chi_1 = \\sigma_w^2\\,\\mathbb{E}[\\phi'(\\sqrt{q^*} z)^2]`, the slope of the c-map at
      :math:`c = 1` and the mean growth of a squared gradient norm per layer;
      *ordered* :math:`\\chi_1 < 1`, *critical* :math:`\\chi_1 = 1`, *chaotic* :math:`\\chi_1 > 1`.
    - :math:`c^*`: 1 in the ordered phase; the stable fixed point :math:`c^* < 1` of the c-map in the
      chaotic one (found by Newton's method from :math:`c = 0`; the c-map is convex on [0, 1]).
    - :math:`\\chi_c = \\sigma_w^2\\,\\mathbb{E}[\\phi'(u_a)\\phi'(u_b)]` at :math:`(q^*, c^*)`, the c-map's slope
      at its fixed point (:math:`= \\chi_1` when :math:`c^* = 1`).
    - Depth scales: :math:`|q^l - q^*| \\sim e^{-l/\\xi_q}` with
      :math:`\\xi_q = -1/\\ln \\mathcal{V}'(q^*)`, where
      :math:`\\mathcal{V}'(q^*) = \\chi_1 + \\sigma_w^2\\,\\mathbb{E}[\\phi''\\phi] = \\sigma_w^2\\,\\mathbb{E}[z\\phi\\phi']/\\sqrt{q^*}`
      (Schoenholz et al., eq. 5, computed without :math:`\\phi''`), and :math:`|c^l - c^*| \\sim e^{-l/\\xi_c}`
      with :math:`\\xi_c = -1/\\ln \\chi_c`; both are :math:`\\infty` where the slope is within
      :data:`CRITICAL_TOL` of 1 (at criticality :math:`\\xi_c = \\infty`).

    With :math:`\\sigma_b^2 = 0` and :math:`\\phi(0) = 0` the ordered fixed point is :math:`q^* = 0`; the
    quantities there are the :math:`q \\to 0^+` limits (the continuous extension from :math:`\\sigma_b^2 > 0`).

The expectations come from :mod:`initlab.theory.gaussian` (closed forms for linear, the ReLU family and erf;
quadrature split at the activation's kinks otherwise; quasi-Monte Carlo for maxout). Everything here is
vectorised over arrays of :math:`(\\sigma_w^2, \\sigma_b^2)`: :func:`phase_grid` solves a whole grid at once.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import Activation, get_activation
from .gaussian import DEFAULT_DEGREE, DEFAULT_DEGREE_2D, Kernel, QuadratureKernel, gaussian_kernel

__all__ = [
    "Q_MAX",
    "Q_MIN",
    "CRITICAL_TOL",
    "PHASES",
    "q_map",
    "c_map",
    "q_star",
    "c_star",
    "chi1",
    "chi_c",
    "xi_q",
    "xi_c",
    "FixedPoint",
    "fixed_point",
    "solve",
    "critical_sigma_w2",
    "CriticalPoint",
    "critical_point",
]

#: A q-map iteration that passes this is reported as divergent (:math:`q^* = \\infty`).
Q_MAX = 1e10
#: Below this the walk towards :math:`q^* = 0` stops (with :math:`\\sigma_b^2 = 0`, :math:`\\phi(0) = 0`).
Q_MIN = 1e-10
#: :math:`|\\chi_1 - 1|` at or below this counts as critical.
CRITICAL_TOL = 1e-6
#: Phase labels.
PHASES = ("ordered", "critical", "chaotic", "divergent")


def _kernel(act: Activation | str | Kernel, degree: int, degree_2d: int) -> Kernel:
    if isinstance(act, Kernel):
        return act
    return gaussian_kernel(act, degree, degree_2d)


def _out(x: np.ndarray, scalar: bool):
    return float(x) if scalar else x


def _scalar(*values: Any) -> bool:
    return all(np.ndim(v) == 0 for v in values)


# -- the maps -------------------------------------------------------------------------------------------
def q_map(q: Any, act: Activation | str, sigma_w2: Any, sigma_b2: Any = 0.0, *, degree: int = DEFAULT_DEGREE):
    """The variance map :math:`\\mathcal{V}(q) = \\sigma_w^2\\,\\mathbb{E}[\\phi(\\sqrt q z)^2] + \\sigma_b^2`.

    All numeric arguments broadcast; a float for scalar input, else an ndarray.
    """
    k = _kernel(act, degree, DEFAULT_DEGREE_2D)
    val = np.asarray(sigma_w2, float) * k.m2(q) + np.asarray(sigma_b2, float)
    return _out(val, _scalar(q, sigma_w2, sigma_b2))


def c_map(c: Any, q: Any, act: Activation | str, sigma_w2: Any, sigma_b2: Any = 0.0, *,
          degree_2d: int = DEFAULT_DEGREE_2D):
    """The correlation map for two inputs of equal second moment ``q`` and correlation ``c``.

    .. math:: \\mathcal{C}(c; q) = \\frac{\\sigma_w^2 K(q, c) + \\sigma_b^2}{\\sigma_w^2 K(q, 1) + \\sigma_b^2},
              \\qquad K(q, c) = \\mathbb{E}[\\phi(u_a)\\phi(u_b)]

    (the denominator is :math:`\\mathcal{V}(q)` computed with the same 2-D rule, so
    :math:`\\mathcal{C}(1; q) = 1` exactly). 0/0 (everything zero) gives 1.
    """
    k = _kernel(act, DEFAULT_DEGREE, degree_2d)
    sw2, sb2 = np.asarray(sigma_w2, float), np.asarray(sigma_b2, float)
    num = sw2 * k.cross(q, c) + sb2
    den = sw2 * k.cross(q, 1.0) + sb2
    val = np.divide(num, den, out=np.ones(np.broadcast(num, den).shape), where=den > 0)
    return _out(val, _scalar(c, q, sigma_w2, sigma_b2))


# -- solving for the fixed points -------------------------------------------------------------------------
def _solve_q(k: Kernel, sw2: np.ndarray, sb2: np.ndarray, q0: np.ndarray):
    """q* for flat arrays; returns (q_star, divergent)."""
    n = sw2.size
    F = lambda q, i: sw2[i] * k.m2(q) + sb2[i] - q  # noqa: E731
    qs = np.full(n, np.nan)
    div = np.zeros(n, bool)
    idx = np.arange(n)
    f0 = F(q0, idx)
    done = np.abs(f0) <= 1e-13 * (1.0 + q0)
    qs[done] = q0[done]
    lo, hi = np.zeros(n), np.zeros(n)  # bracket with F(lo) >= 0 >= F(hi)
    # walk up from q0 (F > 0) until F < 0, or past Q_MAX (divergent)
    up = idx[~done & (f0 > 0)]
    a = q0[up].copy()
    while up.size:
        b = np.maximum(4.0 * a, 1e-3)
        fb = F(b, up)
        hit, over = fb <= 0, (fb > 0) & (b > Q_MAX)
        lo[up[hit]], hi[up[hit]] = a[hit], b[hit]
        div[up[over]] = True
        keep = ~hit & ~over
        up, a = up[keep], b[keep]
    # walk down from q0 (F < 0) until F > 0, or below Q_MIN (then q* = 0)
    down = idx[~done & (f0 < 0)]
    b = q0[down].copy()
    while down.size:
        a = b / 4.0
        fa = F(a, down)
        hit, under = fa >= 0, (fa < 0) & (a < Q_MIN)
        lo[down[hit]], hi[down[hit]] = a[hit], b[hit]
        qs[down[under]] = 0.0  # 0 <= q* < Q_MIN: report the limit q* = 0
        keep = ~hit & ~under
        down, b = down[keep], a[keep]
    # safeguarded Newton inside the brackets
    act_ = idx[np.isnan(qs) & ~div]
    q = 0.5 * (lo[act_] + hi[act_])
    for _ in range(200):
        if not act_.size:
            break
        m2, slope, _ = k.moments(q)
        f = sw2[act_] * m2 + sb2[act_] - q
        fp = sw2[act_] * slope - 1.0
        pos = f > 0
        lo[act_[pos]] = q[pos]
        hi[act_[~pos]] = q[~pos]
        l_, h_ = lo[act_], hi[act_]
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = q - f / fp
        bis = np.where((l_ > 0) & (h_ > 4 * l_), np.sqrt(l_ * h_), 0.5 * (l_ + h_))
        ok = np.isfinite(newton) & (newton > l_) & (newton < h_)
        q_new = np.where(ok, newton, bis)
        conv = (f == 0) | (np.abs(q_new - q) <= 1e-15 * q) | (h_ - l_ <= 4e-16 * h_)
        qs[act_[conv]] = np.where(f[conv] == 0, q[conv], q_new[conv])
        act_, q = act_[~conv], q_new[~conv]
    qs[act_] = q  # not converged in 200 steps (does not happen in practice); keep the last iterate
    qs[div] = np.inf
    return qs, div


def _newton_c(cross_grad, sw2, sb2, qs, c, tol: float, steps: int):
    """Vectorised safeguarded Newton on :math:`h(c) = (\\sigma_w^2 K(q^*, c) + \\sigma_b^2)/q^* - c` from ``c``.

    Returns ``(c, chi_c)`` with :math:`\\chi_c = \\sigma_w^2 K'` at the last iterate but one. Left of the root
    (:math:`h > 0`) the iterates of a convex :math:`h` increase monotonically to it; right of it a step with
    :math:`h' < 0` lands left of the root, and a start where :math:`h < 0 \\le h'` (past the minimum, towards
    the unstable root 1) restarts from 0.
    """
    c = c.copy()
    chic = np.full(qs.size, np.nan)
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
        chic[act_] = sw2[act_] * kg
        act_ = act_[~conv]
    return c, chic


def _solve_c(k: Kernel, sw2: np.ndarray, sb2: np.ndarray, qs: np.ndarray):
    """Stable c* < 1 of the chaotic cells; returns (c_star, chi_c).

    Newton on :math:`h(c) = \\mathcal{C}(c; q^*) - c` from :math:`c = 0`: on [0, 1] the c-map is convex
    (its Mehler series :math:`K = \\sum_n a_n^2 c^n`, :math:`a_n = \\mathbb{E}[\\phi(\\sqrt{q^*} z)\\,He_n(z)]/\\sqrt{n!}`,
    has non-negative coefficients), :math:`h(0) \\ge 0`, :math:`h(1) = 0` and :math:`h'(1) = \\chi_1 - 1 > 0`,
    so the iterates increase monotonically to the root below 1. For quadrature kernels the first iterations
    run on the first 24 terms of that series (1-D quadrature only), then the 2-D quadrature polishes
    (usually two steps; :math:`\\chi_c` is taken at the last iterate but one, off by ~1e-7).
    """
    qs = np.maximum(qs, 1e-300)
    c = np.zeros(qs.size)
    if isinstance(k, QuadratureKernel):
        c = _newton_series(k.hermite_coefficients(qs, 24) ** 2, sw2, sb2, qs, 1e-10, 60)
    return _newton_c(k.cross_grad, sw2, sb2, qs, c, 1e-7, 100)


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


def _xi(slope: np.ndarray) -> np.ndarray:
    """:math:`-1/\\ln|s|`; ∞ where :math:`|s| \\ge 1 -` :data:`CRITICAL_TOL` (critical within the tolerance)."""
    s = np.abs(np.asarray(slope, dtype=np.float64))
    out = np.full(s.shape, np.inf)
    ok = s < 1.0 - CRITICAL_TOL
    with np.errstate(divide="ignore"):
        out[ok] = -1.0 / np.log(s[ok])  # s = 0 gives 0
    return out


def solve(act: Activation | str | Kernel, sigma_w2: Any, sigma_b2: Any = 0.0, *, q0: Any = 1.0,
          correlations: bool = True, degree: int = DEFAULT_DEGREE, degree_2d: int = DEFAULT_DEGREE_2D) -> dict:
    """Fixed points, slopes, depth scales and phases for arrays of :math:`(\\sigma_w^2, \\sigma_b^2)`.

    The vectorised engine behind :func:`fixed_point` and :func:`~initlab.theory.phase.phase_grid`: the
    q-map is solved by walking from ``q0`` by factors of 4 to a bracket and then safeguarded Newton, all
    cells at once; the chaotic cells' :math:`c^*` by Newton on the c-map from 0.

    Parameters
    ----------
    act : Activation, spec string or Kernel
    sigma_w2, sigma_b2, q0 : array_like
        Broadcast together (``sigma_w2 >= 0``, ``sigma_b2 >= 0``, ``q0 >= 0``).
    correlations : bool
        Also solve for :math:`c^*` and :math:`\\chi_c` (the 2-D part); if False they are NaN except where
        :math:`c^* = 1`.

    Returns
    -------
    dict of ndarray (broadcast shape)
        ``q_star`` (inf where divergent), ``divergent`` (bool), ``chi1`` (the :math:`q \\to \\infty` limit
        where divergent), ``q_slope`` (:math:`\\mathcal{V}'(q^*)`), ``c_star``, ``chi_c``, ``xi_q``, ``xi_c``
        (NaN where divergent) and ``phase`` (str: ordered, critical, chaotic, divergent).
    """
    k = _kernel(act, degree, degree_2d)
    sw2, sb2, q0 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (sigma_w2, sigma_b2, q0)))
    shape = sw2.shape
    sw2, sb2, q0 = (np.ascontiguousarray(v).reshape(-1) for v in (sw2, sb2, q0))
    if (sw2 < 0).any() or (sb2 < 0).any() or (q0 < 0).any() or not np.isfinite(sw2 + sb2 + q0).all():
        raise ValueError("sigma_w2, sigma_b2 and q0 must be finite and >= 0")
    qs, div = _solve_q(k, sw2, sb2, q0)
    _, slope, g2 = k.moments(np.where(div, Q_MAX, qs))
    if (qs == 0).any():  # the q -> 0+ limits
        slope[qs == 0], g2[qs == 0] = k.at_zero()
    chi1_ = sw2 * g2
    qslope = np.where(div, np.nan, sw2 * slope)
    phase = np.where(div, "divergent", np.where(np.abs(chi1_ - 1) <= CRITICAL_TOL, "critical",
                                                np.where(chi1_ < 1, "ordered", "chaotic")))
    cs = np.where(div, np.nan, np.where(phase == "chaotic", np.nan, 1.0))
    chic = np.where(cs == 1.0, chi1_, np.nan)
    chaos = np.flatnonzero(phase == "chaotic")
    if correlations and chaos.size:
        cs[chaos], chic[chaos] = _solve_c(k, sw2[chaos], sb2[chaos], qs[chaos])
    out = {
        "sigma_w2": sw2, "sigma_b2": sb2, "q_star": qs, "divergent": div, "chi1": chi1_, "q_slope": qslope,
        "c_star": cs, "chi_c": chic, "xi_q": np.where(div, np.nan, _xi(qslope)),
        "xi_c": np.where(np.isnan(chic), np.nan, _xi(chic)), "phase": phase,
    }
    return {key: v.reshape(shape) for key, v in out.items()}


@dataclass(frozen=True)
class FixedPoint:
    """The mean-field summary of one :math:`(\\phi, \\sigma_w^2, \\sigma_b^2)`; see the module docstring.

    ``q_star`` is ``inf`` (and ``finite`` False, ``reason`` set) where the q-map has no finite fixed point
    reachable from ``q0``; ``chi1`` is then its :math:`q \\to \\infty` limit and the other quantities NaN.
    ``reason`` also flags an unstable :math:`q^*` (``q0`` itself a fixed point with slope > 1, e.g. GELU at
    its second-moment gain).
    """

    act: str
    sigma_w2: float
    sigma_b2: float
    q0: float
    q_star: float
    finite: bool
    chi1: float
    q_slope: float
    c_star: float
    chi_c: float
    xi_q: float
    xi_c: float
    phase: str
    reason: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (floats may be inf/NaN)."""
        return dict(self.__dict__)


def fixed_point(act: Activation | str, sigma_w2: float, sigma_b2: float = 0.0, *, q0: float = 1.0,
                degree: int = DEFAULT_DEGREE, degree_2d: int = DEFAULT_DEGREE_2D) -> FixedPoint:
    """Everything about one point of the phase diagram as a :class:`FixedPoint` (never raises for divergence)."""
    a = get_activation(act)
    k = _kernel(a, degree, degree_2d)
    r = solve(k, float(sigma_w2), float(sigma_b2), q0=float(q0))
    f = {key: (v.item() if isinstance(v, np.ndarray) else v) for key, v in r.items()}
    div = bool(f["divergent"])
    reason = ""
    if div:
        reason = (f"no finite fixed point: the q-map iterated from q0 = {q0:g} passes {Q_MAX:g} "
                  f"(growth per layer sigma_w2 E[phi(sqrt(q) z)^2] / q -> {_growth(k, sigma_w2):.4g})")
    elif abs(f["q_slope"]) > 1 + 1e-9:
        reason = (f"q* = {f['q_star']:.6g} is an unstable fixed point (q-map slope {f['q_slope']:.4g} > 1): "
                  f"q^l leaves it in either direction")
    return FixedPoint(a.spec, float(sigma_w2), float(sigma_b2), float(q0), float(f["q_star"]), not div, float(f["chi1"]),
                      float(f["q_slope"]), float(f["c_star"]), float(f["chi_c"]), float(f["xi_q"]), float(f["xi_c"]),
                      str(f["phase"]), reason, k.method)


def _growth(k: Kernel, sigma_w2: float) -> float:
    return float(sigma_w2 * k.m2(Q_MAX) / Q_MAX)


# -- convenience accessors ---------------------------------------------------------------------------------
def q_star(act: Activation | str, sigma_w2: Any, sigma_b2: Any = 0.0, *, q0: Any = 1.0, degree: int = DEFAULT_DEGREE):
    """:math:`q^*` reached from ``q0`` (``inf`` where the q-map diverges: no exception)."""
    r = solve(act, sigma_w2, sigma_b2, q0=q0, correlations=False, degree=degree)
    return _out(r["q_star"], _scalar(sigma_w2, sigma_b2, q0))


def chi1(act: Activation | str, sigma_w2: Any, sigma_b2: Any = 0.0, *, q0: Any = 1.0, degree: int = DEFAULT_DEGREE):
    """:math:`\\chi_1 = \\sigma_w^2\\,\\mathbb{E}[\\phi'(\\sqrt{q^*} z)^2]` (the :math:`q \\to \\infty` limit where divergent)."""
    r = solve(act, sigma_w2, sigma_b2, q0=q0, correlations=False, degree=degree)
    return _out(r["chi1"], _scalar(sigma_w2, sigma_b2, q0))


def c_star(act: Activation | str, sigma_w2: Any, sigma_b2: Any = 0.0, *, q0: Any = 1.0, **kw: Any):
    """The stable fixed point of the c-map at :math:`q^*` (1 in the ordered phase; NaN where divergent)."""
    return _out(solve(act, sigma_w2, sigma_b2, q0=q0, **kw)["c_star"], _scalar(sigma_w2, sigma_b2, q0))


def chi_c(act: Activation | str, sigma_w2: Any, sigma_b2: Any = 0.0, *, q0: Any = 1.0, **kw: Any):
    """:math:`\\chi_c = \\sigma_w^2\\,\\mathbb{E}[\\phi'(u_a)\\phi'(u_b)]` at :math:`(q^*, c^*)`."""
    return _out(solve(act, sigma_w2, sigma_b2, q0=q0, **kw)["chi_c"], _scalar(sigma_w2, sigma_b2, q0))


def xi_q(act: Activation | str, sigma_w2: Any, sigma_b2: Any = 0.0, *, q0: Any = 1.0, **kw: Any):
    """:math:`\\xi_q = -1/\\ln|\\mathcal{V}'(q^*)|` (layers for :math:`q^l` to reach :math:`q^*`; inf at slope 1)."""
    return _out(solve(act, sigma_w2, sigma_b2, q0=q0, correlations=False, **kw)["xi_q"], _scalar(sigma_w2, sigma_b2, q0))


def xi_c(act: Activation | str, sigma_w2: Any, sigma_b2: Any = 0.0, *, q0: Any = 1.0, **kw: Any):
    """:math:`\\xi_c = -1/\\ln \\chi_c` (layers over which correlations are forgotten; inf at criticality)."""
    return _out(solve(act, sigma_w2, sigma_b2, q0=q0, **kw)["xi_c"], _scalar(sigma_w2, sigma_b2, q0))


# -- the critical line --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CriticalPoint:
    """Where :math:`\\chi_1 = 1` at a given :math:`\\sigma_b^2` (``sigma_w2`` NaN and ``reason`` set if nowhere)."""

    act: str
    sigma_b2: float
    sigma_w2: float
    q_star: float
    chi1: float
    reason: str


def critical_point(act: Activation | str, sigma_b2: float = 0.0, *, q0: float = 1.0, degree: int = DEFAULT_DEGREE,
                   sigma_w2_max: float = 1e4) -> CriticalPoint:
    """The smallest :math:`\\sigma_w^2` where :math:`\\chi_1 = 1` at ``sigma_b2`` (the order-to-chaos transition).

    :math:`\\chi_1` is evaluated at the :math:`q^*` reached from ``q0`` (its :math:`q \\to \\infty` limit where
    :math:`q^*` diverges).

    - With :math:`\\sigma_b^2 = 0` and :math:`\\phi(0) = 0` the ordered fixed point is :math:`q^* = 0`, where
      :math:`\\chi_1 = \\sigma_w^2\\,\\mathbb{E}[\\phi'(\\sqrt q z)^2]|_{q \\to 0^+}` (:math:`\\phi'(0)^2` for a
      smooth :math:`\\phi`); it loses stability exactly where that reaches 1, which is returned when the
      :math:`q^* = 0` branch is the one reached from ``q0`` just below it (tanh 1, erf :math:`\\pi/4`, ReLU 2,
      ELU 1, SELU :math:`2/(\\lambda^2(1+\\alpha^2))`).
    - Otherwise :math:`\\chi_1 - 1` is scanned on 160 log-spaced :math:`\\sigma_w^2` in [1e-3, ``sigma_w2_max``]
      and the first sign change refined by Brent's method.

    If :math:`\\chi_1` never reaches 1, or jumps across 1 (the reachable fixed point switches branch, e.g.
    from :math:`q^* = 0` to :math:`q^* = \\infty` for GELU at :math:`\\sigma_b^2 = 0`), ``sigma_w2`` is NaN and
    ``reason`` says why.
    """
    return _critical_point(get_activation(act), float(sigma_b2), float(q0), int(degree), float(sigma_w2_max))


@functools.lru_cache(maxsize=512)
def _critical_point(a: Activation, sb2: float, q0: float, degree: int, sigma_w2_max: float) -> CriticalPoint:
    from scipy.optimize import brentq

    k = _kernel(a, degree, DEFAULT_DEGREE_2D)

    def at(s: Any) -> dict:
        return solve(k, s, sb2, q0=q0, correlations=False)

    if sb2 == 0.0 and float(k.m2(0.0)) <= 1e-11:
        s0 = 1.0 / k.at_zero()[1]
        if s0 <= sigma_w2_max and float(at(s0 * (1 - 1e-6))["q_star"]) == 0.0:
            r0 = at(s0)
            return CriticalPoint(a.spec, sb2, s0, float(r0["q_star"]), float(r0["chi1"]), "")
    grid = np.geomspace(1e-3, sigma_w2_max, 160)
    f = at(grid)["chi1"] - 1.0
    above = np.flatnonzero(f >= 0)
    if not above.size:
        return CriticalPoint(a.spec, sb2, math.nan, math.nan, math.nan, f"chi1 < 1 for every sigma_w2 <= {sigma_w2_max:g}")
    i = int(above[0])
    if i == 0:
        return CriticalPoint(a.spec, sb2, math.nan, math.nan, float(f[0] + 1), "chi1 >= 1 already at sigma_w2 = 1e-3")
    root = brentq(lambda s: float(at(s)["chi1"]) - 1.0, grid[i - 1], grid[i], xtol=1e-14, rtol=1e-15, maxiter=200)
    r = at(root)
    c1 = float(r["chi1"])
    if abs(c1 - 1.0) > 1e-6:
        below, above = (float(at(root * f)["chi1"]) for f in (1 - 1e-9, 1 + 1e-9))
        return CriticalPoint(a.spec, sb2, math.nan, math.nan, c1,
                             f"chi1 jumps from {below:.4g} to {above:.4g} at sigma_w2 = {root:.6g}, where the fixed "
                             f"point reached from q0 = {q0:g} changes branch: no critical point")
    return CriticalPoint(a.spec, sb2, float(root), float(r["q_star"]), c1, "")


def critical_sigma_w2(act: Activation | str, sigma_b2: Any = 0.0, *, q0: float = 1.0, degree: int = DEFAULT_DEGREE):
    """The critical :math:`\\sigma_w^2` (:math:`\\chi_1 = 1`) at each ``sigma_b2``; NaN where there is none.

    tanh and erf give 1 and :math:`\\pi/4` at :math:`\\sigma_b^2 = 0`, the ReLU 2 at every :math:`\\sigma_b^2`.
    See :func:`critical_point` for the reason when there is none.
    """
    vals = np.vectorize(lambda b: critical_point(act, float(b), q0=q0, degree=degree).sigma_w2, otypes=[float])(
        np.asarray(sigma_b2, dtype=np.float64))
    return _out(vals, _scalar(sigma_b2))
