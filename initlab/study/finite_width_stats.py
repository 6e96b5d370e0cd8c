"""Statistics of the finite-width study (:mod:`initlab.study.finite_width`): per point and layer, and per activation.

:func:`summarise` turns the rows of :func:`~initlab.study.finite_width.measure` into measured variances of the logs
with standard errors beside the predictions (columns :data:`initlab.schema.FINITE_WIDTH_POINT_COLUMNS`);
:func:`agreement` condenses them per activation, with bootstrap standard errors of the slopes (networks resampled
within each width: the layers of one network are correlated, so a regression's own error would be too small).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..activations import get_activation
from ..schema import FINITE_WIDTH_POINT_COLUMNS

__all__ = ["summarise", "agreement", "PERTURBATIVE", "SLOPE_BOOTSTRAP"]

#: Bootstrap resamples of the networks for the slopes' standard errors.
SLOPE_BOOTSTRAP = 200


def _var_se(y: np.ndarray) -> tuple[float, float]:
    """Sample variance of the finite entries and its standard error :math:`\\sqrt{(\\hat\\mu_4 - v^2)/T}`."""
    y = y[np.isfinite(y)]
    if y.size < 3:
        return math.nan, math.nan
    c = y - y.mean()
    v = float(c @ c) / (y.size - 1)
    return v, math.sqrt(max(float(np.mean(c ** 4)) - v * v, 0.0) / y.size)


def _exact_relu(point: Any, layers: np.ndarray) -> np.ndarray:
    """Exact Var log q_hat^l for an exactly-ReLU activation without bias (NaN otherwise): the Hanin–Nica law of
    the l - 1 layers below with the readout :math:`\\hat q^l = \\hat G^l\\chi^2_n/n`."""
    if get_activation(point.act).engine_path != "relu" or point.sigma_b2 != 0:
        return np.full(layers.shape, math.nan)
    from ..theory.relu_law import ReLULaw

    n = point.width
    return np.array([ReLULaw((n,) * int(l), readout=n).var for l in layers])


def summarise(rows: Any, points: Sequence[Any]) -> Any:
    """Per point × layer: measured variances of the logs with standard errors, the predictions, ``l/n``."""
    import pandas as pd

    from ..theory.finite_width import finite_width

    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    groups = {k: g for k, g in frame.groupby(["act", "sigma_w2", "sigma_b2", "width", "layer"], sort=False)}
    empty = frame.iloc[:0]
    out = []
    for p in points:
        th = finite_width(p.act, p.sigma_w2, p.sigma_b2, width=p.width, depth=p.depth, q_in=p.q_in)
        layers = np.arange(1, p.depth + 1)
        exact = _exact_relu(p, layers)
        for l in layers:
            sel = groups.get((p.act, p.sigma_w2, p.sigma_b2, p.width, int(l)), empty)
            with np.errstate(divide="ignore"):
                vq, sq = _var_se(np.log(sel["q_hat"].to_numpy()))
                vg, sg = _var_se(np.log(sel["grad_sq"].to_numpy()))
            out.append({"act": p.act, "sigma_w2": p.sigma_w2, "sigma_b2": p.sigma_b2, "width": p.width,
                        "layer": int(l), "l_over_n": l / p.width, "trials": int(len(sel)),
                        "var_log_q": vq, "var_log_q_se": sq, "pred_q": float(th.nvar_q[l - 1]),
                        "exact_q": float(exact[l - 1]), "var_log_grad": vg, "var_log_grad_se": sg,
                        "pred_grad": float(th.nvar_grad[l - 1]), "mean_field": 0.0})
    return pd.DataFrame(out, columns=list(FINITE_WIDTH_POINT_COLUMNS))


#: The 1/n expansion needs the predicted variance of the log to be small: :func:`agreement` also reports the
#: share within 3 s.e. among the points predicted at or below this (``within3_*_small``).
PERTURBATIVE = 0.5


def _slope(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted least-squares slope of ``y`` on ``x`` (intercept free)."""
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    return float(np.sum(w * (x - xm) * (y - ym)) / np.sum(w * (x - xm) ** 2))


def _boot_slopes(rows: Any, part: Any, key: str, boots: int, rng: np.random.Generator) -> float:
    """Standard deviation over ``boots`` resamples (networks drawn with replacement within each width) of the
    weighted slope of the measured variance against l/n, the weights held at the full sample's."""
    col = {"q": "q_hat", "grad": "grad_sq"}[key]
    blocks = []
    for n, pw in part.groupby("width", sort=True):
        sel = rows[(rows["act"] == pw["act"].iloc[0]) & (rows["width"] == n)
                   & (rows["sigma_w2"] == pw["sigma_w2"].iloc[0]) & (rows["sigma_b2"] == pw["sigma_b2"].iloc[0])]
        with np.errstate(divide="ignore"):
            y = np.log(sel.pivot(index="seed", columns="layer", values=col).to_numpy(np.float64))
        y[~np.isfinite(y)] = np.nan
        layers = pw["layer"].to_numpy()
        blocks.append((y[:, layers - 1], pw["l_over_n"].to_numpy(), 1.0 / pw[f"var_log_{key}_se"].to_numpy() ** 2))
    out = []
    for _ in range(int(boots)):
        xs, vs, ws = [], [], []
        for y, x, w in blocks:
            v = np.nanvar(y[rng.integers(0, y.shape[0], y.shape[0])], axis=0, ddof=1)
            ok = np.isfinite(v) & np.isfinite(w)
            xs.append(x[ok]), vs.append(v[ok]), ws.append(w[ok])
        out.append(_slope(np.concatenate(xs), np.concatenate(vs), np.concatenate(ws)))
    return float(np.std(out, ddof=1))


def agreement(summary: Any, rows: Any = None, *, boots: int = SLOPE_BOOTSTRAP, seed: int = 0) -> Any:
    """Per activation: share within 3 s.e. (q, grad; all points and those predicted at most :data:`PERTURBATIVE`),
    weighted mean of measured/predicted, measured and predicted slopes against l/n (weighted least squares,
    intercept free; ``slope_exact_q`` of the exact ReLU law where it applies, else NaN) and, given the ``rows``,
    the measured slopes' bootstrap standard errors ``slope_q_se``, ``slope_grad_se`` (else NaN)."""
    import pandas as pd

    rng = np.random.default_rng(int(seed))
    out = []
    for act, part in summary.groupby("act", sort=False):
        row: dict[str, Any] = {"act": act}
        for key in ("q", "grad"):
            m, se, pr = (part[c].to_numpy() for c in (f"var_log_{key}", f"var_log_{key}_se", f"pred_{key}"))
            ok = np.isfinite(m) & np.isfinite(se) & (se > 0)
            m, se, pr, x = m[ok], se[ok], pr[ok], part["l_over_n"].to_numpy()[ok]
            w = 1.0 / se ** 2
            hit = np.abs(m - pr) <= 3 * se
            row[f"within3_{key}"] = float(np.mean(hit))
            small = pr <= PERTURBATIVE
            row[f"within3_{key}_small"] = float(np.mean(hit[small])) if small.any() else math.nan
            row[f"ratio_{key}"] = float(np.sum(w * m * pr) / np.sum(w * pr * pr))
            row[f"slope_{key}"] = _slope(x, m, w)
            row[f"slope_{key}_se"] = (_boot_slopes(rows, part[ok], key, boots, rng)
                                      if rows is not None and boots > 1 else math.nan)
            row[f"slope_pred_{key}"] = _slope(x, pr, w)
        ex = part["exact_q"].to_numpy()
        se_q = part["var_log_q_se"].to_numpy()
        fin = np.isfinite(ex) & np.isfinite(se_q) & (se_q > 0)  # a zero spread (too few networks) has no weight
        row["slope_exact_q"] = (_slope(part["l_over_n"].to_numpy()[fin], ex[fin],
                                       1.0 / part["var_log_q_se"].to_numpy()[fin] ** 2) if fin.sum() > 1 else math.nan)
        out.append(row)
    return pd.DataFrame(out)
