"""The critical line: where :math:`\\chi_1 = 1` along the fixed point reached from ``q0``, and where it jumps instead.

At fixed :math:`\\sigma_b^2`, follow :math:`\\chi_1(\\sigma_w^2) = \\sigma_w^2\\,\\mathbb{E}[\\phi'(\\sqrt{q^*} z)^2]` with
:math:`q^*(\\sigma_w^2)` the limit of the q-map iterated from ``q0`` (:func:`initlab.theory.meanfield.solve`).
Three things can happen at the first :math:`\\sigma_w^2` where :math:`\\chi_1` reaches 1:

- *a crossing*: :math:`q^*` and :math:`\\chi_1` are continuous there; that :math:`\\sigma_w^2` is the critical point
  (tanh, erf, sigmoid, …; GELU, SiLU and Mish at :math:`\\sigma_b^2 \\gtrsim 0.2`, e.g. GELU at
  :math:`\\sigma_b^2 = 0.2`: :math:`\\sigma_w^2 = 1.9707`, :math:`q^* = 4.47`);
- *a jump*: the fixed point reached from ``q0`` disappears (it merges with an unstable one, a saddle-node)
  and :math:`q^*` jumps to a higher branch or to :math:`\\infty`, so :math:`\\chi_1` jumps across 1 (GELU at
  :math:`\\sigma_b^2 = 0` from :math:`q_0 = 1`, SiLU at :math:`\\sigma_b^2 = 0.5`); there is no critical point and
  the jump is reported;
- *the degenerate* :math:`q^* = 0` *point*: with :math:`\\sigma_b^2 = 0` and :math:`\\phi(0) = 0`, :math:`q^* = 0` is a
  fixed point whose :math:`\\chi_1 = \\sigma_w^2\\,\\mathbb{E}[\\phi'(\\sqrt q z)^2]|_{q \\to 0^+}` reaches 1 at
  :math:`\\sigma_w^2 = 1/\\phi'(0)^2` (tanh 1, erf :math:`\\pi/4`, ReLU 2, GELU and SiLU 4, Mish 2.778). It is the
  critical point when the :math:`q^* = 0` branch is the one reached from ``q0`` just below it (tanh, erf); for
  GELU, SiLU and Mish from :math:`q_0 = 1` it is not (the iteration leaves for :math:`\\infty` first), and the
  reason says so.

Algorithm: :math:`\\chi_1 - 1` on :data:`SCAN_POINTS` log-spaced :math:`\\sigma_w^2` in [1e-3, ``sigma_w2_max``] (one
vectorised :func:`~initlab.theory.meanfield.solve`), the first interval where it becomes :math:`\\ge 0` rescanned
on :data:`RESCAN_POINTS` points, then multisection on the sign (:data:`MULTISECTION` points a round) to a
relative width of 1e-14. A gap in
:math:`\\chi_1` of more than :data:`JUMP_TOL` across the final interval is a jump.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import Activation, get_activation
from .gaussian import DEFAULT_DEGREE, DEFAULT_DEGREE_2D, gaussian_kernel
from .meanfield import solve

__all__ = ["CriticalPoint", "critical_point", "critical_sigma_w2", "SCAN_POINTS", "RESCAN_POINTS", "JUMP_TOL"]

#: Log-spaced σ_w² of the first scan (ratio about 1.02 between neighbours on [1e-3, 1e4]).
SCAN_POINTS = 800
#: Points of the second scan inside the first bracketing interval.
RESCAN_POINTS = 64
#: Points per round of the final multisection (a bisection that splits into 17 pieces a round).
MULTISECTION = 16
#: A gap in χ₁ larger than this across the final bisection interval is a jump, not a crossing.
JUMP_TOL = 1e-6


@dataclass(frozen=True)
class CriticalPoint:
    """Where :math:`\\chi_1 = 1` at a given :math:`\\sigma_b^2` (``sigma_w2`` NaN and ``reason`` set if nowhere).

    Attributes
    ----------
    act, sigma_b2 : str, float
    sigma_w2, q_star, chi1 : float
        The critical point, its :math:`q^*` and :math:`\\chi_1` (NaN where there is none).
    reason : str
        Why there is none ('' otherwise); also names the degenerate :math:`q^* = 0` point where it exists
        but is not reached.
    kind : str
        ``crossing``, ``degenerate`` (the :math:`q^* = 0` point, reached from ``q0``), ``jump`` or ``none``.
    jump_sigma_w2, chi1_below, chi1_above, q_below, q_above : float
        For a jump: where it happens, :math:`\\chi_1` and :math:`q^*` on both sides (NaN otherwise).
    degenerate_sigma_w2 : float
        :math:`1/\\phi'(0)^2`-type :math:`q^* = 0` critical point (with :math:`\\sigma_b^2 = 0`, :math:`\\phi(0) = 0`), else NaN.
    """

    act: str
    sigma_b2: float
    sigma_w2: float
    q_star: float
    chi1: float
    reason: str
    kind: str = "crossing"
    jump_sigma_w2: float = math.nan
    chi1_below: float = math.nan
    chi1_above: float = math.nan
    q_below: float = math.nan
    q_above: float = math.nan
    degenerate_sigma_w2: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def critical_point(
    act: Activation | str,
    sigma_b2: float = 0.0,
    *,
    q0: float = 1.0,
    degree: int = DEFAULT_DEGREE,
    sigma_w2_max: float = 1e4,
) -> CriticalPoint:
    """The smallest :math:`\\sigma_w^2` where :math:`\\chi_1 = 1` at ``sigma_b2`` along the fixed point reached from ``q0``.

    See the module docstring for the three cases (crossing, jump, degenerate :math:`q^* = 0` point) and the
    algorithm. Never raises for a missing critical point: ``sigma_w2`` is NaN and ``reason`` says why.
    """
    return _critical_point(get_activation(act), float(sigma_b2), float(q0), int(degree), float(sigma_w2_max))


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.6g}"


@functools.lru_cache(maxsize=512)
def _critical_point(a: Activation, sb2: float, q0: float, degree: int, sigma_w2_max: float) -> CriticalPoint:
    k = gaussian_kernel(a, degree, DEFAULT_DEGREE_2D)

    def at(s: Any) -> dict:
        return solve(k, s, sb2, q0=q0, correlations=False)

    degenerate = math.nan
    note = ""
    if sb2 == 0.0 and float(k.m2(0.0)) <= 1e-11:
        s0 = 1.0 / k.at_zero()[1]
        degenerate = s0
        if s0 <= sigma_w2_max and float(at(s0 * (1 - 1e-6))["q_star"]) == 0.0:
            r0 = at(s0)
            return CriticalPoint(
                a.spec, sb2, s0, float(r0["q_star"]), float(r0["chi1"]), "", "degenerate", degenerate_sigma_w2=s0
            )
        note = (
            f"; with sigma_b2 = 0 there is a degenerate critical point at q* = 0, sigma_w2 = 1/phi'(0)^2 = "
            f"{s0:.6g}, which the iteration from q0 = {q0:g} does not reach"
        )
    grid = np.geomspace(1e-3, sigma_w2_max, SCAN_POINTS)
    f = at(grid)["chi1"] - 1.0
    above = np.flatnonzero(f >= 0)
    if not above.size:
        return CriticalPoint(
            a.spec,
            sb2,
            math.nan,
            math.nan,
            math.nan,
            f"chi1 < 1 for every sigma_w2 <= {sigma_w2_max:g}" + note,
            "none",
            degenerate_sigma_w2=degenerate,
        )
    i = int(above[0])
    if i == 0:
        return CriticalPoint(
            a.spec,
            sb2,
            math.nan,
            math.nan,
            float(f[0] + 1),
            "chi1 >= 1 already at sigma_w2 = 1e-3" + note,
            "none",
            degenerate_sigma_w2=degenerate,
        )
    fine = np.geomspace(grid[i - 1], grid[i], RESCAN_POINTS)
    ff = at(fine)["chi1"] - 1.0
    j = int(np.flatnonzero(ff >= 0)[0]) if (ff >= 0).any() else RESCAN_POINTS - 1
    lo, hi = (float(fine[j - 1]), float(fine[j])) if j > 0 else (float(grid[i - 1]), float(fine[0]))
    for _ in range(60):  # multisection on the sign of chi1 - 1 (chi1 may be discontinuous): 16 points a round
        if hi - lo <= 1e-14 * hi:
            break
        pts = np.geomspace(lo, hi, MULTISECTION + 2)[1:-1]
        up = np.flatnonzero(at(pts)["chi1"] >= 1.0)
        m = int(up[0]) if up.size else MULTISECTION
        lo, hi = (float(pts[m - 1]) if m > 0 else lo), (float(pts[m]) if m < MULTISECTION else hi)
    r_lo, r_hi = at(lo), at(hi)
    # the two sides a hair away from the final interval (at a jump from q0 = a fixed point, hi may sit on it)
    side = at(np.array([lo * (1 - 1e-9), hi * (1 + 1e-9)]))
    c_lo, c_hi = (float(v) for v in side["chi1"])
    q_lo, q_hi = (float(v) for v in side["q_star"])
    if c_hi - c_lo > JUMP_TOL:
        where = "grows without bound" if math.isinf(q_hi) else f"jumps to the branch q* = {_fmt(q_hi)}"
        reason = (
            f"chi1 jumps from {c_lo:.4g} to {c_hi:.4g} at sigma_w2 = {hi:.6g}: the fixed point reached from "
            f"q0 = {q0:g} (q* = {_fmt(q_lo)}) disappears there and q^l {where}; no critical point" + note
        )
        if math.isinf(q_hi) and abs(c_hi - 1.0) <= JUMP_TOL:  # softplus: the edge of the divergent phase
            reason += ("; chi1 < 1 wherever q* is finite and reaches 1 only as q* -> inf: the edge of the divergent "
                       "phase, not a critical point")
        return CriticalPoint(
            a.spec, sb2, math.nan, math.nan, c_hi, reason, "jump", hi, c_lo, c_hi, q_lo, q_hi, degenerate
        )
    c_lo, c_hi = float(r_lo["chi1"]), float(r_hi["chi1"])
    root = lo if abs(c_lo - 1.0) <= abs(c_hi - 1.0) else hi
    r = r_lo if root == lo else r_hi
    return CriticalPoint(
        a.spec, sb2, root, float(r["q_star"]), float(r["chi1"]), "", "crossing", degenerate_sigma_w2=degenerate
    )


def critical_sigma_w2(act: Activation | str, sigma_b2: Any = 0.0, *, q0: float = 1.0, degree: int = DEFAULT_DEGREE):
    """The critical :math:`\\sigma_w^2` (:math:`\\chi_1 = 1`) at each ``sigma_b2``; NaN where there is none.

    tanh and erf give 1 and :math:`\\pi/4` at :math:`\\sigma_b^2 = 0`, the ReLU 2 at every :math:`\\sigma_b^2`.
    See :func:`critical_point` for the reason when there is none.
    """
    vals = np.vectorize(lambda b: critical_point(act, float(b), q0=q0, degree=degree).sigma_w2, otypes=[float])(
        np.asarray(sigma_b2, dtype=np.float64)
    )
    return float(vals) if np.ndim(sigma_b2) == 0 else vals
