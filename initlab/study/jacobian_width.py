"""The finite-width deviation of the Jacobian spectrum's variance from its N → ∞ (free-probability) value.

:mod:`initlab.study.freeprob` predicts the moments of the eigenvalues :math:`\\sigma^2` of :math:`JJ^\\top` at
infinite width; at width :math:`N` and depth :math:`L` the measured variance differs by a relative amount that
grows like :math:`L/N` (issue 21 §3). :func:`jacobian_deviation` measures it over a width × depth grid with the
exact Jacobians of :func:`initlab.study.jacobian.measure_jacobian` (float64; the depths of one network are
prefixes of it) and :func:`deviation_slope` fits :math:`\\mathrm{var}/\\mathrm{var}_\\infty - 1 = a\\,L/N` through
the origin, weighted by the standard errors. No closed form for :math:`a` is claimed: this is a measurement.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._spec import ConfigError

__all__ = ["jacobian_deviation", "deviation_slope"]


def jacobian_deviation(act: str = "tanh", weights: str = "orthogonal", widths: Sequence[int] = (50, 100, 200, 400),
                       depths: Sequence[int] = (4, 8, 16, 32), *, samples: int = 4, sigma_w2: Any = "critical",
                       sigma_b2: float | None = None, q_star: float | None = None, seed: int = 0,
                       store: Any = None, workers: int | None = None, progress: bool = False) -> Any:
    """Per width × depth: ``var`` (mean over samples of each sample's variance of :math:`\\sigma^2`), ``var_se``,
    ``var_pred`` (N → ∞), ``rel_dev`` = ``var / var_pred - 1`` with ``rel_dev_se``, and ``l_over_n``.

    ``act``, ``weights``, ``sigma_w2``, ``sigma_b2`` and ``q_star`` are as in :func:`initlab.study.spectrum.spectrum`
    (one activation and one ensemble). Every network is a spectrum sample on the experiment engine
    (:class:`~initlab.study.jacobian.SpectrumSample`: width ``i`` of the list, sample ``s`` draws from the child
    ``(i, s)`` of ``SeedSequence(seed)``), so ``store`` resumes it and ``workers`` spreads it.
    """
    import pandas as pd

    from ..sweep.run import run_task
    from .freeprob import jacobian_theory
    from .jacobian import SpectrumSample, SpectrumTask
    from .spectrum import _configs

    ws = sorted({int(w) for w in widths})
    ds = sorted({int(d) for d in depths})
    if not ws or ws[0] < 2 or not ds or ds[0] < 1 or int(samples) < 2:
        raise ConfigError("widths must be >= 2, depths >= 1 and samples >= 2")
    cfgs = _configs(act, weights, sigma_w2, sigma_b2, q_star)
    if len(cfgs) != 1:
        raise ConfigError("give one activation and one weight ensemble")
    cfg = cfgs[0]
    th = jacobian_theory(cfg.act, cfg.weights, cfg.sigma_w2, cfg.sigma_b2, cfg.q_star)
    jobs = [SpectrumSample(cfg.act, cfg.weights, cfg.sigma_w2, cfg.sigma_b2, cfg.q_star, n, tuple(ds), int(seed),
                           wi, s) for wi, n in enumerate(ws) for s in range(int(samples))]
    points, svs = run_task(SpectrumTask(), jobs, store=store, workers=workers, progress=progress)
    by_key = {k: part for k, part in svs.groupby("point", sort=False)}
    rows = []
    for wi, n in enumerate(ws):
        per: dict[int, list[float]] = {d: [] for d in ds}
        for job, key in zip(jobs, points["key"]):
            if job.config != wi:
                continue
            part = by_key[key]
            for d in ds:
                per[d].append(float(np.var(part["sv"].to_numpy()[part["depth"].to_numpy() == d] ** 2)))
        for d in ds:
            v = np.array(per[d])
            var, se, pred = float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)), th.variance(d)
            rows.append({"act": cfg.act, "weights": cfg.weights, "sigma_w2": cfg.sigma_w2, "width": n, "depth": d,
                         "l_over_n": d / n, "samples": int(v.size), "var": var, "var_se": se, "var_pred": pred,
                         "rel_dev": var / pred - 1.0, "rel_dev_se": se / pred})
    return pd.DataFrame(rows)


def deviation_slope(frame: Any) -> tuple[float, float]:
    """Weighted least-squares :math:`a` (and its standard error) in ``rel_dev = a * l_over_n``."""
    x, y, se = (frame[c].to_numpy(np.float64) for c in ("l_over_n", "rel_dev", "rel_dev_se"))
    ok = np.isfinite(y) & np.isfinite(se) & (se > 0)
    if ok.sum() < 1:
        return math.nan, math.nan
    w = 1.0 / se[ok] ** 2
    sxx = float(np.sum(w * x[ok] ** 2))
    return float(np.sum(w * x[ok] * y[ok]) / sxx), 1.0 / math.sqrt(sxx)
