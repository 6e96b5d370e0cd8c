"""What a sweep measures at one point, beside what the mean-field theory predicts there.

:func:`measure_point` runs :func:`initlab.simulate` on the point's config with the point's own seed
(:func:`~initlab.sweep.axes.point_seed`, from its key, so any executor gives the same bits) and reduces the
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
import os
import time
from typing import Any, Sequence

import numpy as np

from ..schema import LAYER_COLUMNS, POINT_SUMMARY_COLUMNS
from ..sim.config import SimConfig
from .axes import point_seed

__all__ = ["measure_point", "run_batch", "fit_xi_c", "empirical_chi1", "theory_at", "blas_threads"]

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


def measure_point(config: SimConfig, key: str, keep: str = "summary") -> dict[str, Any]:
    """Simulate one point and summarise it (see the module docstring).

    Returns
    -------
    dict
        ``key``, ``status`` (``'done'``), ``summary`` (the :data:`POINT_SUMMARY_COLUMNS` values), ``layers``
        (``{column: ndarray}`` in :data:`~initlab.schema.LAYER_COLUMNS` when ``keep == 'layers'``, else None),
        ``seconds`` (compute time; not part of the measured row).
    """
    from ..sim.engine import simulate

    t0 = time.perf_counter()
    cfg = config.replace(seed=point_seed(key))
    res = simulate(cfg, progress=False)
    df = res.layers
    L, T = cfg.depth, cfg.trials
    th = theory_at(cfg)
    col = lambda c: df[c].to_numpy(dtype=np.float64).reshape(T, L)  # noqa: E731 (rows are trial-major)
    q, c, g = col("pre_q"), col("pre_corr"), col("grad_pre_norm")
    div = df["diverged"].to_numpy().reshape(T, L)
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
    layers = {k: df[k].to_numpy() for k in LAYER_COLUMNS} if keep == "layers" else None
    return {"key": key, "status": "done", "summary": summary, "layers": layers,
            "seconds": time.perf_counter() - t0, "error": ""}


def blas_threads(spec: Any) -> int | None:
    """BLAS threads for this worker: an int as it is; ``{host: workers on that host}`` gives
    cores ÷ workers for the host this process runs on (at least 1); None leaves BLAS alone."""
    if spec is None or isinstance(spec, int):
        return spec
    host = None
    try:
        from distributed import get_worker

        host = get_worker().address.rsplit(":", 1)[0].split("//")[-1]
    except (ImportError, ValueError):
        pass
    n = spec.get(host, 1) if host is not None else 1
    return max(1, (os.cpu_count() or 1) // max(1, n))


def run_batch(items: Sequence[tuple[str, str]], keep: str = "summary", blas: Any = None) -> list[dict[str, Any]]:
    """Measure a batch of points ``[(key, config JSON), ...]`` (the unit of work every executor sends).

    A point that raises is returned with ``status='failed'`` and the error's one line, so one bad point does
    not lose its batch. ``blas`` limits the BLAS threads while the batch runs (:func:`blas_threads`).
    """
    n = blas_threads(blas)
    if n is None:
        return [_one(k, j, keep) for k, j in items]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        return [_one(k, j, keep) for k, j in items]


def _one(key: str, config_json: str, keep: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        return measure_point(SimConfig.from_json(config_json), key, keep)
    except Exception as exc:  # noqa: BLE001 - a point's failure is data, reported in the store
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return {"key": key, "status": "failed", "summary": None, "layers": None,
                "seconds": time.perf_counter() - t0, "error": msg}
