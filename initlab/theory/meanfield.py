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
    :math:`q^* = \\mathcal{V}(q^*)` is the limit of the iteration of the q-map from the first layer's
    :math:`q^1 = \\sigma_w^2 q_0 + \\sigma_b^2` (:func:`first_layer_q`), where ``q0`` (default 1, a
    unit-variance input) is the input's second moment as the engine sees it: the one meaning of ``q0`` in
    initlab. The limit is the nearest fixed point in the direction of :math:`\\mathcal{V}(q^1) - q^1`, found
    by one solver for every consumer (:func:`initlab.theory.fixedpoints.solve_q`; :func:`fixed_points` lists
    all of them, stable and unstable). Where the iteration grows without bound (ReLU with
    :math:`\\sigma_w^2 > 2`) :math:`q^* = \\infty` and the phase is ``"divergent"``. At :math:`q^*`:

    - :math:`\\chi_1 = \\sigma_w^2\\,\\mathbb{E}[\\phi'(\\sqrt{q^*} z)^2]`, the slope of the c-map at
      :math:`c = 1` and the mean growth of a squared gradient norm per layer;
      *ordered* :math:`\\chi_1 < 1`, *critical* :math:`\\chi_1 = 1`, *chaotic* :math:`\\chi_1 > 1`.
    - :math:`c^*`: 1 in the ordered phase; the stable fixed point :math:`c^* < 1` of the c-map in the
      chaotic one (found by Newton's method from :math:`c = 0`, :mod:`initlab.theory.correlations`; the
      c-map is convex on [0, 1]).
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

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import Activation, get_activation
from .correlations import solve_c
from .fixedpoints import Q_MAX, Q_MIN, FixedPointBranch, all_fixed_points, basin_of, solve_q
from .gaussian import DEFAULT_DEGREE, DEFAULT_DEGREE_2D, Kernel, gaussian_kernel

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
    "first_layer_q",
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
def _xi(slope: np.ndarray) -> np.ndarray:
    """:math:`-1/\\ln|s|`; ∞ where :math:`|s| \\ge 1 -` :data:`CRITICAL_TOL` (critical within the tolerance)."""
    s = np.abs(np.asarray(slope, dtype=np.float64))
    out = np.full(s.shape, np.inf)
    ok = s < 1.0 - CRITICAL_TOL
    with np.errstate(divide="ignore"):
        out[ok] = -1.0 / np.log(s[ok])  # s = 0 gives 0
    return out


def first_layer_q(sigma_w2: Any, sigma_b2: Any = 0.0, q0: Any = 1.0):
    """The first layer's pre-activation second moment :math:`q^1 = \\sigma_w^2 q_0 + \\sigma_b^2`.

    ``q0`` is the *input's* second moment, the mean squared entry of :math:`x` as the engine sees it
    (:func:`initlab.sim.predict.input_moments`): the input enters the first layer without an activation,
    :math:`z^1 = x W^1 + b^1`. This is the one meaning of ``q0`` in initlab: :func:`solve`,
    :func:`fixed_point`, the critical line, the phase grid, :func:`~initlab.theory.propagation.propagate`,
    the simulation, the sweep, the trainability study and ``initlab theory --q0`` all start the q-map at this
    :math:`q^1`. Broadcasts; a float for scalar input.
    """
    val = np.asarray(sigma_w2, float) * np.asarray(q0, float) + np.asarray(sigma_b2, float)
    return _out(val, _scalar(sigma_w2, sigma_b2, q0))


def solve(
    act: Activation | str | Kernel,
    sigma_w2: Any,
    sigma_b2: Any = 0.0,
    *,
    q0: Any = 1.0,
    q1: Any = None,
    dropout: float = 0.0,
    correlations: bool = True,
    degree: int = DEFAULT_DEGREE,
    degree_2d: int = DEFAULT_DEGREE_2D,
) -> dict:
    """Fixed points, slopes, depth scales and phases for arrays of :math:`(\\sigma_w^2, \\sigma_b^2)`.

    The vectorised engine behind :func:`fixed_point`, :func:`~initlab.theory.phase.phase_grid`, the critical
    line, the recommender, the simulation summary, the sweep and the trainability study: :math:`q^*` is the
    limit of the q-map iterated from :math:`q^1` (:func:`first_layer_q` of the input's second moment ``q0``,
    or ``q1`` itself when the first layer differs from the others;
    :func:`~initlab.theory.fixedpoints.solve_q`: scan for the nearest sign change, then safeguarded Newton),
    all cells at once; :math:`c^*` by Newton on the c-map from 0.

    Dropout (inverted, rate :math:`p`, keep rate :math:`\\rho = 1 - p`, after every hidden layer; Schoenholz
    et al. 2017 §4) scales the second moment but not the cross moment:

    .. math:: q^* = \\frac{\\sigma_w^2}{\\rho}\\,\\mathbb{E}[\\phi(\\sqrt{q^*}z)^2] + \\sigma_b^2, \\qquad
              c^* = \\frac{\\sigma_w^2 K(q^*, c^*) + \\sigma_b^2}{q^*}, \\qquad
              \\chi_1 = \\frac{\\sigma_w^2}{\\rho}\\,\\mathbb{E}[\\phi'(\\sqrt{q^*}z)^2], \\qquad
              \\chi_c = \\sigma_w^2\\,\\mathbb{E}[\\phi'(u_a)\\phi'(u_b)].

    :math:`c = 1` is then no fixed point (the right-hand side is below 1 there), so :math:`c^* < 1` and
    :math:`\\xi_c = -1/\\ln\\chi_c` is finite everywhere; the same Newton iteration finds :math:`c^*` (the
    c-map is still convex and above the diagonal at 0). :math:`\\chi_1` is the growth of a squared gradient
    norm per layer (the masks enter it squared, :func:`~initlab.theory.propagation.propagate`).

    Parameters
    ----------
    act : Activation, spec string or Kernel
    sigma_w2, sigma_b2, q0 : array_like
        Broadcast together (``sigma_w2 >= 0``, ``sigma_b2 >= 0``, ``q0 >= 0``, the input's second moment).
    q1 : array_like, optional
        The start of the q-map iteration, if not :math:`\\sigma_w^2 q_0 + \\sigma_b^2` (a stack whose first
        layer has another :math:`\\sigma_w^2`).
    dropout : float
        Inverted dropout rate :math:`0 \\le p < 1` after every hidden layer.
    correlations : bool
        Also solve for :math:`c^*` and :math:`\\chi_c` (the 2-D part); if False they are NaN except where
        :math:`c^* = 1`.

    Returns
    -------
    dict of ndarray (broadcast shape)
        ``q1`` (the start), ``q_star`` (inf where divergent), ``divergent`` (bool), ``chi1`` (the
        :math:`q \\to \\infty` limit where divergent,
        :meth:`~initlab.activations.Activation.grad_square_at_infinity`), ``q_slope``
        (:math:`\\mathcal{V}'(q^*)`), ``c_star``, ``chi_c``, ``xi_q``, ``xi_c`` (NaN where divergent) and
        ``phase`` (str: ordered, critical, chaotic, divergent).
    """
    k = _kernel(act, degree, degree_2d)
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    keep = 1.0 - float(dropout)
    arrays = [np.asarray(v, dtype=np.float64) for v in (sigma_w2, sigma_b2, q0)]
    arrays.append(np.asarray(np.nan if q1 is None else q1, dtype=np.float64))
    sw2, sb2, q0, start = np.broadcast_arrays(*arrays)
    shape = sw2.shape
    sw2, sb2, q0, start = (np.ascontiguousarray(v).reshape(-1) for v in (sw2, sb2, q0, start))
    if (sw2 < 0).any() or (sb2 < 0).any() or (q0 < 0).any() or not np.isfinite(sw2 + sb2 + q0).all():
        raise ValueError("sigma_w2, sigma_b2 and q0 must be finite and >= 0")
    if q1 is None:
        start = sw2 * q0 + sb2
    elif (start < 0).any() or not np.isfinite(start).all():
        raise ValueError("q1 must be finite and >= 0")
    sw2_q = sw2 / keep  # the q-map's effective sigma_w2 under dropout
    qs, div = solve_q(k, sw2_q, sb2, start)
    _, slope, g2 = k.moments(np.where(div, 1.0, qs))
    if (qs == 0).any():  # the q -> 0+ limits
        slope[qs == 0], g2[qs == 0] = k.at_zero()
    g2 = np.where(div, k.act.grad_square_at_infinity(), g2)
    chi1_ = sw2_q * g2
    qslope = np.where(div, np.nan, sw2_q * slope)
    phase = np.where(
        div,
        "divergent",
        np.where(np.abs(chi1_ - 1) <= CRITICAL_TOL, "critical", np.where(chi1_ < 1, "ordered", "chaotic")),
    )
    if keep < 1.0:  # c* < 1 everywhere
        cs, chic = np.full(sw2.size, np.nan), np.full(sw2.size, np.nan)
        todo = np.flatnonzero(~div)
    else:
        cs = np.where(div, np.nan, np.where(phase == "chaotic", np.nan, 1.0))
        chic = np.where(cs == 1.0, chi1_, np.nan)
        todo = np.flatnonzero(phase == "chaotic")
    if correlations and todo.size:
        cs[todo], chic[todo] = solve_c(k, sw2[todo], sb2[todo], qs[todo])
        cs[todo] = np.where(np.abs(cs[todo]) < 1e-13, 0.0, cs[todo])  # odd phi, no bias: c* = 0, not 2.5e-15
    out = {
        "sigma_w2": sw2,
        "sigma_b2": sb2,
        "q1": start,
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

    ``q0`` is the input's second moment and ``q1`` the first layer's (:func:`first_layer_q`), where the
    q-map iteration starts. ``q_star`` is ``inf`` (and ``finite`` False, ``reason`` set) where the q-map has
    no finite fixed point reachable from ``q1``; ``chi1`` is then its :math:`q \\to \\infty` limit and the
    other quantities NaN. ``reason`` also flags an unstable :math:`q^*` (``q1`` itself a fixed point with
    slope > 1). ``basin`` is '' where the q-map has one attractor; where it has several (SiLU, GELU and Mish
    near :math:`\\sigma_w^2 = 2`: a stable fixed point and the escape to infinity, or two stable fixed points)
    it says which basin ``q1`` lies in, between which unstable fixed points, and what the others are.
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
    q1: float = math.nan
    dropout: float = 0.0
    basin: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (floats may be inf/NaN)."""
        return dict(self.__dict__)


def fixed_point(
    act: Activation | str,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    q0: float = 1.0,
    q1: float | None = None,
    dropout: float = 0.0,
    degree: int = DEFAULT_DEGREE,
    degree_2d: int = DEFAULT_DEGREE_2D,
) -> FixedPoint:
    """Everything about one point of the phase diagram as a :class:`FixedPoint` (never raises for divergence).

    ``q0`` is the input's second moment (the q-map starts at :math:`q^1 = \\sigma_w^2 q_0 + \\sigma_b^2`, or at
    ``q1`` if given); ``dropout`` as in :func:`solve`.
    """
    a = get_activation(act)
    k = _kernel(a, degree, degree_2d)
    r = solve(k, float(sigma_w2), float(sigma_b2), q0=float(q0), q1=q1, dropout=dropout)
    f = {key: (v.item() if isinstance(v, np.ndarray) else v) for key, v in r.items()}
    div = bool(f["divergent"])
    start = float(f["q1"])
    sw2_q = float(sigma_w2) / (1.0 - float(dropout))
    reason = ""
    if div:
        reason = (
            f"no finite fixed point: the q-map iterated from q1 = {start:g} passes {Q_MAX:g} "
            f"(growth per layer sigma_w2 E[phi(sqrt(q) z)^2] / q -> {_growth(k, sw2_q):.4g})"
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
        start,
        float(dropout),
        basin_of(all_fixed_points(k, sw2_q, float(sigma_b2), q1=start), start),
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
    q1: float | None = None,
    degree: int = DEFAULT_DEGREE,
) -> list[FixedPointBranch]:
    """Every fixed point of the q-map in :math:`[0, Q_{\\max}]`, stable and unstable, in increasing order.

    See :func:`initlab.theory.fixedpoints.all_fixed_points`; the entry with ``reached`` is the one
    :func:`fixed_point` reports (the limit of the iteration from :math:`q^1`, :func:`first_layer_q`, or ``q1``).
    ``initlab theory --all-fixed-points``
    prints this list.
    """
    start = first_layer_q(float(sigma_w2), float(sigma_b2), float(q0)) if q1 is None else float(q1)
    return all_fixed_points(_kernel(act, degree, DEFAULT_DEGREE_2D), float(sigma_w2), float(sigma_b2), q1=start)
