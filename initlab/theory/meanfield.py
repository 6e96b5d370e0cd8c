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
    :math:`q^* = \\mathcal{V}(q^*)` is the limit of the iteration of the q-map from ``q0`` (default 1, a
    unit-variance input): the nearest fixed point in the direction of :math:`\\mathcal{V}(q_0) - q_0`, found
    by one solver for every consumer (:func:`initlab.theory.fixedpoints.solve_q`; :func:`fixed_points` lists
    all of them, stable and unstable). Where the iteration grows without bound (ReLU with
    :math:`\\sigma_w^2 > 2`) :math:`q^* = \\infty` and the phase is ``"divergent"``. At :math:`q^*`:

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

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import Activation, get_activation
from .fixedpoints import Q_MAX, Q_MIN, FixedPointBranch, all_fixed_points, solve_q
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
    "fixed_points",
    "FixedPointBranch",
]

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


def c_map(
    c: Any, q: Any, act: Activation | str, sigma_w2: Any, sigma_b2: Any = 0.0, *, degree_2d: int = DEFAULT_DEGREE_2D
):
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


def solve(
    act: Activation | str | Kernel,
    sigma_w2: Any,
    sigma_b2: Any = 0.0,
    *,
    q0: Any = 1.0,
    correlations: bool = True,
    degree: int = DEFAULT_DEGREE,
    degree_2d: int = DEFAULT_DEGREE_2D,
) -> dict:
    """Fixed points, slopes, depth scales and phases for arrays of :math:`(\\sigma_w^2, \\sigma_b^2)`.

    The vectorised engine behind :func:`fixed_point`, :func:`~initlab.theory.phase.phase_grid`, the critical
    line, the recommender and the simulation summary: :math:`q^*` is the limit of the q-map iterated from
    ``q0`` (:func:`~initlab.theory.fixedpoints.solve_q`: scan for the nearest sign change, then safeguarded
    Newton), all cells at once; the chaotic cells' :math:`c^*` by Newton on the c-map from 0.

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
    qs, div = solve_q(k, sw2, sb2, q0)
    _, slope, g2 = k.moments(np.where(div, Q_MAX, qs))
    if (qs == 0).any():  # the q -> 0+ limits
        slope[qs == 0], g2[qs == 0] = k.at_zero()
    chi1_ = sw2 * g2
    qslope = np.where(div, np.nan, sw2 * slope)
    phase = np.where(
        div,
        "divergent",
        np.where(np.abs(chi1_ - 1) <= CRITICAL_TOL, "critical", np.where(chi1_ < 1, "ordered", "chaotic")),
    )
    cs = np.where(div, np.nan, np.where(phase == "chaotic", np.nan, 1.0))
    chic = np.where(cs == 1.0, chi1_, np.nan)
    chaos = np.flatnonzero(phase == "chaotic")
    if correlations and chaos.size:
        cs[chaos], chic[chaos] = _solve_c(k, sw2[chaos], sb2[chaos], qs[chaos])
    out = {
        "sigma_w2": sw2,
        "sigma_b2": sb2,
        "q_star": qs,
        "divergent": div,
        "chi1": chi1_,
        "q_slope": qslope,
        "c_star": cs,
        "chi_c": chic,
        "xi_q": np.where(div, np.nan, _xi(qslope)),
        "xi_c": np.where(np.isnan(chic), np.nan, _xi(chic)),
        "phase": phase,
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


def fixed_point(
    act: Activation | str,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    q0: float = 1.0,
    degree: int = DEFAULT_DEGREE,
    degree_2d: int = DEFAULT_DEGREE_2D,
) -> FixedPoint:
    """Everything about one point of the phase diagram as a :class:`FixedPoint` (never raises for divergence)."""
    a = get_activation(act)
    k = _kernel(a, degree, degree_2d)
    r = solve(k, float(sigma_w2), float(sigma_b2), q0=float(q0))
    f = {key: (v.item() if isinstance(v, np.ndarray) else v) for key, v in r.items()}
    div = bool(f["divergent"])
    reason = ""
    if div:
        reason = (
            f"no finite fixed point: the q-map iterated from q0 = {q0:g} passes {Q_MAX:g} "
            f"(growth per layer sigma_w2 E[phi(sqrt(q) z)^2] / q -> {_growth(k, sigma_w2):.4g})"
        )
    elif abs(f["q_slope"]) > 1 + 1e-9:
        reason = (
            f"q* = {f['q_star']:.6g} is an unstable fixed point (q-map slope {f['q_slope']:.4g} > 1): "
            f"q^l leaves it in either direction"
        )
    return FixedPoint(
        a.spec,
        float(sigma_w2),
        float(sigma_b2),
        float(q0),
        float(f["q_star"]),
        not div,
        float(f["chi1"]),
        float(f["q_slope"]),
        float(f["c_star"]),
        float(f["chi_c"]),
        float(f["xi_q"]),
        float(f["xi_c"]),
        str(f["phase"]),
        reason,
        k.method,
    )


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
    return _out(
        solve(act, sigma_w2, sigma_b2, q0=q0, correlations=False, **kw)["xi_q"], _scalar(sigma_w2, sigma_b2, q0)
    )


def xi_c(act: Activation | str, sigma_w2: Any, sigma_b2: Any = 0.0, *, q0: Any = 1.0, **kw: Any):
    """:math:`\\xi_c = -1/\\ln \\chi_c` (layers over which correlations are forgotten; inf at criticality)."""
    return _out(solve(act, sigma_w2, sigma_b2, q0=q0, **kw)["xi_c"], _scalar(sigma_w2, sigma_b2, q0))


def fixed_points(
    act: Activation | str | Kernel,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    q0: float = 1.0,
    degree: int = DEFAULT_DEGREE,
) -> list[FixedPointBranch]:
    """Every fixed point of the q-map in :math:`[0, Q_{\\max}]`, stable and unstable, in increasing order.

    See :func:`initlab.theory.fixedpoints.all_fixed_points`; the entry with ``reached`` is the one
    :func:`fixed_point` reports (the limit of the iteration from ``q0``). ``initlab theory --all-fixed-points``
    prints this list.
    """
    return all_fixed_points(_kernel(act, degree, DEFAULT_DEGREE_2D), float(sigma_w2), float(sigma_b2), float(q0))
