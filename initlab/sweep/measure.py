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
- ``xi_c``: :math:`-1/s`, with :math:`s` the least-squares slope of :math:`\\log|c^l - c^*|` against
  :math:`l` (:func:`fit_xi_c`); :math:`c^*` is the theory's (1 in the ordered phase, where it is exact;
  the c-map's fixed point in the chaotic one) or, outside the theory, the mean :math:`c^l` of the last quarter.
  Needs input pairs of a chosen correlation (``input='pairs:c0=0.5'``, the sweep's default input).

Each is reported as the mean over trials and, ``*_sd``, their standard deviation (ddof 1; NaN for one trial).
``phase`` is ``ordered`` where the measured :math:`\\chi_1 < 1`, ``chaotic`` where it is above 1 and
``divergent`` where a trial diverged (``diverged``, ``diverged_layer``: the first diverged layer over the
trials). ``theory_*`` come from :func:`initlab.theory.fixed_point` at the point's :math:`(\\sigma_w^2,
\\sigma_b^2)` (those of its hidden layers, :func:`initlab.sim.predict.stack_variances`; NaN and a ``note``
for a config outside the theory).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..schema import LAYER_COLUMNS, POINT_SUMMARY_COLUMNS
from ..sim.config import SimConfig
from .axes import point_key, point_seed
from .task import Measured, Task

__all__ = ["measure_point", "fit_xi_c", "empirical_chi1", "theory_at", "SimulateTask", "SIMULATE"]

_STATS = ("q_last", "q_tail", "c_last", "chi1", "xi_c")
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


def fit_xi_c(c: np.ndarray, c_star: float, floor: float) -> float:
    """:math:`\\xi_c = -1/s` from one trial's correlations :math:`c^1 \\dots c^L`.

    The fit uses the layers from 1 until :math:`|c^l - c^*|` first falls to ``floor`` (rounding or the
    finite-width noise), leaving out layer 1 when at least five remain (the transient from :math:`c^0`);
    NaN with fewer than three layers, :math:`\\infty` when the distance does not shrink (:math:`s \\ge 0`).
    """
    c = np.asarray(c, dtype=np.float64)
    if not math.isfinite(c_star):
        return math.nan
    d = np.abs(c - c_star)
    ok = np.isfinite(d) & (d > floor)
    n = d.size if ok.all() else int(np.argmin(ok))
    layers = np.arange(1, n + 1, dtype=np.float64)
    y = np.log(d[:n]) if n else d[:0]
    if n >= 5:
        layers, y = layers[1:], y[1:]
    if layers.size < 3:
        return math.nan
    x = layers - layers.mean()
    s = float(np.dot(x, y - y.mean()) / np.dot(x, x))
    return -1.0 / s if s < 0 else math.inf


def theory_at(config: SimConfig) -> dict[str, Any]:
    """``sigma_w2``, ``sigma_b2`` (hidden layers) and the ``theory_*`` columns of a single-run config."""
    from ..sim.predict import out_of_theory, stack_variances
    from ..theory import fixed_point

    init, act = config.initializers()[0], config.activations()[0]
    sw2, sb2 = stack_variances(init, act, (config.in_dim,) + config.widths, config.bias_init)
    hidden = slice(1, None) if config.depth > 1 else slice(0, 1)
    out: dict[str, Any] = {"sigma_w2": float(np.mean(sw2[hidden])), "sigma_b2": float(np.mean(sb2[hidden]))}
    why = out_of_theory(config)
    nan = {k: math.nan for k in ("theory_q_star", "theory_chi1", "theory_c_star", "theory_xi_q", "theory_xi_c")}
    if why:
        return {**out, **nan, "theory_phase": "", "note": why}
    fp = fixed_point(act, out["sigma_w2"], out["sigma_b2"], q0=1.0)
    notes = [fp.reason] if fp.reason else []
    if config.residual_layers() or config.dropout > 0:
        notes.append("residual/dropout are not in the fixed point")
    return {**out, "theory_q_star": fp.q_star, "theory_chi1": fp.chi1, "theory_c_star": fp.c_star,
            "theory_xi_q": fp.xi_q, "theory_xi_c": fp.xi_c, "theory_phase": fp.phase, "note": "; ".join(notes)}


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
    c_star = th["theory_c_star"]
    floor = _FLOOR[cfg.dtype]
    if not math.isfinite(c_star):
        c_star = float(np.nanmean(c[:, tail])) if np.isfinite(c[:, tail]).any() else math.nan
    else:
        pairs = max(1, cfg.batch // 2)
        floor = max(floor, 3.0 * (1.0 - c_star * c_star) / math.sqrt(cfg.widths[-1] * pairs))
    per = {
        "q_last": q[:, -1], "q_tail": q[:, tail].mean(axis=1), "c_last": c[:, -1],
        "chi1": [empirical_chi1(g[t]) for t in range(T)],
        "xi_c": [fit_xi_c(c[t], c_star, floor) for t in range(T)],
    }
    summary: dict[str, Any] = {}
    for k in _STATS:
        summary[k], summary[f"{k}_sd"] = _mean_sd(per[k])
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
