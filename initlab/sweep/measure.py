"""What a sweep measures at one point, beside what the mean-field theory predicts there.

:func:`measure_point` runs the simulation engine on the point's config with the point's own seed
(:func:`~initlab.sweep.axes.point_seed`, from its key, so any executor gives the same bits; the point is the
:data:`SIMULATE` task of :mod:`initlab.sweep.task`) and reduces the
per-layer rows of its trials to one row of :data:`~initlab.schema.POINT_SUMMARY_COLUMNS`. For each trial
:math:`t` (layers :math:`l = 1 \\dots L`):

- ``q_last`` :math:`= q^L`, ``q_tail`` = the mean of :math:`q^l` over the last quarter of the layers
  (``pre_q``, the second moment of the pre-activations);
- ``c_last`` :math:`= c^L`, the mean correlation of the input pairs at the last layer (``pre_corr``);
- ``chi1``: the geometric mean over the middle layers
  :math:`a = \\lfloor L/4 \\rfloor \\dots b = \\lfloor 3L/4 \\rfloor` of the per-layer ratio of squared gradient norms,
  :math:`\\chi_1 = \\bigl(\\|\\partial L/\\partial z^a\\|^2 / \\|\\partial L/\\partial z^b\\|^2\\bigr)^{1/(b-a)}`
  (mean-field: :math:`\\mathbb{E}\\|\\delta^l\\|^2 = \\chi_1 \\mathbb{E}\\|\\delta^{l+1}\\|^2`);
- ``xi_c`` and ``c_star``: the asymptotic rate at which :math:`c^l` approaches its fixed point, as the theory
  defines it (:math:`\\xi_c = -1/\\ln\\chi_c`, :math:`\\chi_c` the c-map's slope at :math:`c^*`), and that fixed
  point, both estimated from the measured curve alone (:func:`fit_correlation_tail`: a quadratic fit of the
  map :math:`c^l \\mapsto c^{l+1}` over the second half of the layers whose step :math:`|c^{l+1} - c^l|` is above
  the dtype's rounding floor, its fixed point and its slope there; finite-width fluctuations are kept, as they
  propagate through the c-map like an AR(1) process around :math:`c^*` whose coefficient is :math:`\\chi_c`).
  Needs input pairs of a chosen correlation (``input='pairs:c0=0.5'``, the sweep's default input) and a depth
  of several :math:`\\xi_c`: on the exact mean-field curve it is within 1% of the theory from a depth of
  :math:`\\max(4\\xi_c + 20, 60)` (the tests check it), while a fit over all layers from :math:`c^0 = 0.5`
  measures the early, nonlinear approach instead. Near :math:`\\chi_c = 1` an autoregressive slope from a few
  dozen noisy layers is biased low (of order :math:`(1 + 3\\chi_c)/n`), so a measured :math:`\\xi_c` of tens of
  layers needs both depth and width.

Each is reported as the mean over trials and, ``*_sd``, their standard deviation (ddof 1; NaN for one trial):
the trial-to-trial spread of a measurement, whose standard error is ``*_sd`` / :math:`\\sqrt{\\text{trials}}`.
``xi_c`` and ``c_star`` are fitted once on the trials pooled, and their ``*_sd`` is already a standard error:
the jackknife over trials (:func:`jackknife`), from the trial-to-trial spread.
``phase`` is ``ordered`` where the measured :math:`\\chi_1 < 1`, ``chaotic`` where it is above 1 and
``divergent`` where a trial diverged (``diverged``, ``diverged_layer``: the first diverged layer over the
trials). ``theory_*`` come from :func:`initlab.sim.predict.config_theory`, the simulation's own fixed point
(the hidden layers' :math:`(\\sigma_w^2, \\sigma_b^2)`, the q-map started at the engine's first-layer
:math:`q^1`, dropout in the maps; NaN and a ``note`` for a config outside the theory; the ``note`` also names
the basin where the q-map has several attractors).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..schema import LAYER_COLUMNS, POINT_SUMMARY_COLUMNS
from ..sim.config import SimConfig
from .axes import point_key, point_seed
from .task import Measured, Task

__all__ = ["measure_point", "fit_correlation_tail", "jackknife", "empirical_chi1", "theory_at", "SimulateTask",
           "SIMULATE"]

_STATS = ("q_last", "q_tail", "c_last", "chi1")
#: Below this |c^l - c*| a correlation is at the rounding floor of the dtype.
_FLOOR = {"float32": 1e-5, "float64": 1e-11}


def empirical_chi1(grad_pre_norm: np.ndarray) -> float:
    """:math:`\\chi_1` from one trial's ``grad_pre_norm`` (layers 1 … L): see the module docstring."""
    g = np.asarray(grad_pre_norm, dtype=np.float64)
    L = g.size
    a, b = max(1, L // 4), max(2, (3 * L) // 4)
    if L < 2 or b <= a:
        return math.nan
    ga, gb = g[a - 1], g[b - 1]
    if not (np.isfinite(ga) and np.isfinite(gb)) or ga <= 0 or gb <= 0:
        return math.nan
    return float(math.exp(2.0 * (math.log(ga) - math.log(gb)) / (b - a)))


def _tail(c: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray, float]:
    """One trial's tail pairs :math:`(c^l, c^{l+1})` (see :func:`fit_correlation_tail`) and its last usable c."""
    d = np.diff(c)
    ok = np.isfinite(d) & (np.abs(d) > floor)
    n = d.size if ok.all() else int(np.argmin(ok))
    start = n // 2
    return c[start:n], c[start + 1:n + 1], float(c[n]) if n < c.size else math.nan


def fit_correlation_tail(c: np.ndarray, floor: float) -> tuple[float, float]:
    """``(c_star, xi_c)`` from correlations :math:`c^1 \\dots c^L` (one trial, or trials × layers pooled), without
    the theory's help.

    In each trial the layers count while the step :math:`|c^{l+1} - c^l|` stays above ``floor`` (the dtype's
    rounding): :math:`n` steps. The first half of them is the transient (the nonlinear approach
    from :math:`c^0`, and :math:`q^l` still moving) and is left out. Over the second half, pooled over the
    trials, the map :math:`c^{l+1} = a + b\\,c^l + g\\,(c^l)^2` is fitted by least squares (the c-map to second
    order around its fixed point, which removes the first-order bias of the remaining distance);
    :math:`\\hat c^*` is its fixed point nearest the trials' last usable :math:`c`, and :math:`\\hat\\chi_c` its
    slope there, :math:`\\hat\\xi_c = -1/\\ln\\hat\\chi_c` (:math:`\\infty` for a slope :math:`\\ge 1`, where
    :math:`\\hat c^*` is NaN). With fewer than 4 tail points, or no real fixed point within reach of the data,
    a straight line is fitted instead; with fewer than 3, NaN.
    """
    rows = np.atleast_2d(np.asarray(c, dtype=np.float64))
    parts = [_tail(r, floor) for r in rows]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    ends = [p[2] for p in parts if math.isfinite(p[2])]
    if x.size < 3 or not ends:
        return math.nan, math.nan
    end = float(np.mean(ends))
    m, sc = float(x.mean()), float(np.ptp(x)) or 1.0
    u = (x - m) / sc
    fit = None
    if x.size >= 4:
        a2, a1, a0 = np.linalg.lstsq(np.stack([u * u, u, np.ones_like(u)], 1), y, rcond=None)[0]
        roots = np.roots([a2, a1 - sc, a0 - m])  # a2 u² + a1 u + a0 = m + sc u
        roots = roots[np.abs(roots.imag) <= 1e-12 * (1 + np.abs(roots.real))].real
        if roots.size:
            u0 = float(roots[np.argmin(np.abs(m + sc * roots - end))])
            if abs(u0) <= 3.0:  # within the data's reach (the data span 1 in u)
                fit = (m + sc * u0, (2 * a2 * u0 + a1) / sc)
    if fit is None:
        a1, a0 = np.linalg.lstsq(np.stack([u, np.ones_like(u)], 1), y, rcond=None)[0]
        fit = (m + sc * (a0 - m) / (sc - a1) if a1 != sc else math.nan, a1 / sc)
    c_star, slope = float(fit[0]), float(fit[1])
    if not 0 < slope < 1:
        return (math.nan, math.inf) if slope >= 1 else (c_star, math.nan)
    return c_star, -1.0 / math.log(slope)


def jackknife(fit: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``fit(rows)`` (a tuple of floats) and its jackknife standard error over the rows (the trials): the
    spread of the leave-one-trial-out estimates, :math:`\\sqrt{(T-1)/T\\,\\sum_t (\\hat\\theta_{-t} - \\bar\\theta)^2}`
    (NaN for one trial, or where a leave-one-out estimate is not finite)."""
    est = np.asarray(fit(rows), dtype=np.float64)
    T = rows.shape[0]
    if T < 2:
        return est, np.full(est.shape, math.nan)
    loo = np.array([fit(np.delete(rows, t, axis=0)) for t in range(T)], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        se = np.sqrt((T - 1) / T * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))
    return est, np.where(np.isfinite(loo).all(axis=0), se, math.nan)


def theory_at(config: SimConfig) -> dict[str, Any]:
    """``sigma_w2``, ``sigma_b2`` (hidden layers) and the ``theory_*`` columns of a single-run config: the
    simulation's own fixed point, :func:`initlab.sim.predict.config_theory` (one function for both)."""
    from ..sim.predict import config_theory

    th = config_theory(config)
    out = {"sigma_w2": th["sigma_w2"], "sigma_b2": th["sigma_b2"]}
    out.update({f"theory_{k}": th[k] for k in ("q_star", "chi1", "c_star", "xi_q", "xi_c", "phase")})
    return {**out, "note": th["note"]}


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or np.isnan(v).any():
        return math.nan, math.nan
    if np.isinf(v).any():
        return math.inf, math.nan
    return float(v.mean()), (float(v.std(ddof=1)) if v.size > 1 else math.nan)


def measure_point(config: SimConfig, rows: bool = True) -> Measured:
    """Simulate one point (``config`` with the seed it runs with) and summarise it (see the module docstring).

    The trials run through the engine's own per-trial function (:func:`initlab.sim.engine.run_trial`, the same
    draws and bits as :func:`initlab.simulate`), and the summary is computed from their per-layer arrays: no
    frame is built unless ``rows`` asks for the per-layer rows, and no per-layer theory is propagated then.

    Returns
    -------
    Measured
        ``summary``: the :data:`POINT_SUMMARY_COLUMNS` values; ``rows``: ``{column: ndarray}`` in
        :data:`~initlab.schema.LAYER_COLUMNS` (the per-layer rows of every trial), or None without ``rows``.
    """
    from ..sim.draws import make_input
    from ..sim.engine import run_trial
    from ..sim.memory import keep_weights
    from ..sim.trial import Workspace

    cfg = config
    x = make_input(cfg)
    ws = Workspace()
    keep = keep_weights(cfg, None)
    outs = [run_trial(cfg, 0, x, workspace=ws, keep=keep)]
    for t in range(1, cfg.trials):
        outs.append(run_trial(cfg, t, x, workspace=ws, keep=keep, pre_range=outs[0].pre_range,
                              act_range=outs[0].act_range))
    L, T = cfg.depth, cfg.trials
    th = theory_at(cfg)
    col = lambda c: np.stack([np.asarray(o.columns[c], dtype=np.float64) for o in outs])  # noqa: E731 (T, L)
    q, c, g = col("pre_q"), col("pre_corr"), col("grad_pre_norm")
    div = np.stack([np.asarray(o.columns["diverged"], dtype=bool) for o in outs])
    tail = slice(L - max(1, L // 4), L)
    floor = _FLOOR[cfg.dtype]  # rounding only: finite-width fluctuations propagate through the c-map (an AR(1)
    # process around c* with slope chi_c), so the tail's noisy steps still carry the rate; rounding does not
    per = {
        "q_last": q[:, -1], "q_tail": q[:, tail].mean(axis=1), "c_last": c[:, -1],
        "chi1": [empirical_chi1(g[t]) for t in range(T)],
    }
    summary: dict[str, Any] = {}
    for k in _STATS:
        summary[k], summary[f"{k}_sd"] = _mean_sd(per[k])
    (summary["c_star"], summary["xi_c"]), (summary["c_star_sd"], summary["xi_c_sd"]) = jackknife(
        lambda rows: fit_correlation_tail(rows, floor), c)
    summary.update({k: float(summary[k]) for k in ("c_star", "xi_c", "c_star_sd", "xi_c_sd")})
    diverged = bool(div.any())
    first = int(np.flatnonzero(div.any(axis=0))[0]) + 1 if diverged else None
    chi = summary["chi1"]
    summary["phase"] = ("divergent" if diverged else "" if not math.isfinite(chi)
                        else "ordered" if chi < 1 else "chaotic")
    summary["diverged"] = diverged
    summary["diverged_layer"] = first
    summary.update(th)
    summary = {k: summary[k] for k in POINT_SUMMARY_COLUMNS}
    if not rows:
        return Measured(summary, None)
    from ..sim.predict import predict_layers
    from ..sim.result import build_frame

    df = build_frame(cfg, [outs], predict_layers(cfg))
    return Measured(summary, {k: df[k].to_numpy() for k in LAYER_COLUMNS})


class SimulateTask(Task):
    """The simulation point of a sweep: a single-run :class:`~initlab.sim.config.SimConfig` measured by
    :func:`measure_point` (summary: :data:`~initlab.schema.POINT_SUMMARY_COLUMNS`; rows: the per-layer rows,
    :data:`~initlab.schema.LAYER_COLUMNS`). It runs with the seed of its key (:func:`point_seed`)."""

    schema_name = "simulate"
    config_type = SimConfig
    preload = ("initlab.sweep.measure", "initlab.sim.engine", "initlab.sim.predict")

    def key(self, config: SimConfig) -> str:
        return point_key(config)

    def seed_of(self, config: SimConfig, key: str) -> int:
        return point_seed(key)

    def measure(self, config: SimConfig, seed: int, rows: bool = True) -> Measured:
        return measure_point(config.replace(seed=seed), rows)


#: The simulation task (what :func:`initlab.sweep` runs).
SIMULATE = SimulateTask()
