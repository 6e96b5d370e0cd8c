"""How well does :math:`L < 6\\xi_c` tell trainable from untrainable, against rules that ignore the theory?

A grid point (:math:`\\sigma_w^2`, depth :math:`L`, seed, steps) is *trainable* when its training accuracy is
above ``threshold``. Per number of steps and seed, :func:`trainability_scores` reports:

- ``max_depth_r`` and ``max_depth_slope``: the log–log Pearson correlation and least-squares slope of the
  maximum trainable depth per :math:`\\sigma_w^2` (the largest grid depth that trains) against
  :math:`6\\xi_c`, over the :math:`\\sigma_w^2` where some depth trains and :math:`\\xi_c` is finite. The paper's
  claim is a slope of 1 and a correlation near 1; ``censored`` counts the :math:`\\sigma_w^2` where even the
  deepest grid depth trains (its maximum trainable depth is only a lower bound) and ``none_train`` those
  where no depth does (left out of the fit).
- ``bacc_rule`` / ``acc_rule``: the balanced accuracy (the mean of the true-positive and true-negative
  rates) and the plain accuracy of the rule "trainable iff :math:`L < 6\\xi_c`".
- the baselines, scored the same way: ``*_always`` predicts every point trainable (balanced accuracy 0.5 by
  definition; its plain accuracy is the fraction that trains), and ``*_cutoff`` the best constant depth
  cutoff "trainable iff :math:`L < D`", with :math:`D` chosen **on the same data** to maximise the balanced
  accuracy (an optimistic, in-sample baseline: the rule gets no such fit). ``cutoff`` is that :math:`D`.

``beats_baselines`` is True when the rule's balanced accuracy is above both baselines'.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["trainability_scores", "balanced_accuracy", "max_trainable_depth", "SCORE_COLUMNS"]

SCORE_COLUMNS = ("steps", "seed", "points", "trainable", "max_depth_r", "max_depth_slope", "fit_sigma_w2",
                 "censored", "none_train", "bacc_rule", "acc_rule", "bacc_always", "acc_always", "cutoff",
                 "bacc_cutoff", "acc_cutoff", "beats_baselines")


def balanced_accuracy(truth: np.ndarray, pred: np.ndarray) -> float:
    """Mean of the true-positive rate and the true-negative rate (a class that is absent counts as its other
    rate alone)."""
    truth, pred = np.asarray(truth, bool), np.asarray(pred, bool)
    rates = [float((pred[truth]).mean())] if truth.any() else []
    if (~truth).any():
        rates.append(float((~pred[~truth]).mean()))
    return float(np.mean(rates)) if rates else math.nan


def max_trainable_depth(part: pd.DataFrame, trainable: pd.Series) -> pd.DataFrame:
    """Per ``sigma_w2``: ``max_depth`` (largest grid depth that trains; 0 if none), ``deepest`` (the grid's
    largest depth) and ``xi_c``."""
    g = part.groupby("sigma_w2")
    deepest = g["depth"].max().astype(float)
    trained = part[trainable.to_numpy()].groupby("sigma_w2")["depth"].max().astype(float)
    return pd.DataFrame({"max_depth": trained.reindex(deepest.index, fill_value=0.0), "deepest": deepest,
                         "xi_c": g["xi_c"].first()}).reset_index()


def _score(part: pd.DataFrame, threshold: float, factor: float) -> dict[str, Any]:
    trainable = part["train_acc"] > threshold
    t = trainable.to_numpy()
    depth = part["depth"].to_numpy(float)
    rule = depth < factor * part["xi_c"].to_numpy(float)
    best = (math.nan, -1.0, math.nan)
    for cut in np.unique(np.concatenate([depth, [depth.max() + 1]])):  # L < cut; the largest cut is "always"
        pred = depth < cut
        b = balanced_accuracy(t, pred)
        if b > best[1]:
            best = (float(cut), b, float((pred == t).mean()))
    md = max_trainable_depth(part, trainable)
    fit = md[(md["max_depth"] > 0) & np.isfinite(md["xi_c"]) & (md["xi_c"] > 0)]
    r = slope = math.nan
    if len(fit) >= 3:
        x, y = np.log(factor * fit["xi_c"].to_numpy()), np.log(fit["max_depth"].to_numpy())
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            r = float(np.corrcoef(x, y)[0, 1])
            slope = float(np.polyfit(x, y, 1)[0])
    out = {"points": int(t.size), "trainable": float(t.mean()), "max_depth_r": r, "max_depth_slope": slope,
           "fit_sigma_w2": int(len(fit)), "censored": int((md["max_depth"] >= md["deepest"]).sum()),
           "none_train": int((md["max_depth"] == 0).sum()),
           "bacc_rule": balanced_accuracy(t, rule), "acc_rule": float((rule == t).mean()),
           "bacc_always": balanced_accuracy(t, np.ones_like(t)), "acc_always": float(t.mean()),
           "cutoff": best[0], "bacc_cutoff": best[1], "acc_cutoff": best[2]}
    out["beats_baselines"] = bool(out["bacc_rule"] > max(out["bacc_always"], out["bacc_cutoff"]))
    return out


def trainability_scores(frame: pd.DataFrame, threshold: float, factor: float = 6.0) -> pd.DataFrame:
    """The scores of the module docstring, one row per (``steps``, ``seed``) (:data:`SCORE_COLUMNS`).

    ``frame`` has ``steps``, ``seed``, ``sigma_w2``, ``depth``, ``train_acc`` and the theory's ``xi_c``.
    """
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    rows = [{"steps": int(s), "seed": int(seed), **_score(part, threshold, factor)}
            for (s, seed), part in frame.groupby(["steps", "seed"], sort=True)]
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
