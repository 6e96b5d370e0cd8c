"""Mistake analysis of a classifier, as in the notes: which examples are wrong and what they were taken for.

All functions take integer label arrays ``y_true`` and ``y_pred`` of shape ``(n,)`` and return tidy
tables or arrays; :mod:`initlab.plots.training` draws them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "predicted_labels",
    "mistake_table",
    "mistake_pairs",
    "wrong_prediction_counts",
    "confusion_matrix",
    "misclassified_indices",
    "per_class_accuracy",
]


def predicted_labels(proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Class labels from predicted probabilities: arg-max over columns, or ``p > threshold`` for
    one column (a sigmoid output)."""
    proba = np.asarray(proba)
    if proba.ndim == 1 or proba.shape[1] == 1:
        return (proba.reshape(-1) > threshold).astype(np.int64)
    return np.argmax(proba, axis=1).astype(np.int64)


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).reshape(-1).astype(np.int64)
    y_pred = np.asarray(y_pred).reshape(-1).astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.shape[0]} vs {y_pred.shape[0]}")
    return y_true, y_pred


def mistake_table(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """The wrong answers, one row each: ``index`` (position in the evaluated set), ``label``, ``predicted``."""
    y_true, y_pred = _check(y_true, y_pred)
    wrong = np.flatnonzero(y_true != y_pred)
    return pd.DataFrame({"index": wrong, "label": y_true[wrong], "predicted": y_pred[wrong]})


def mistake_pairs(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """``(label, predicted, count)`` for every confusion that occurs, most frequent first
    (ties by label then prediction)."""
    t = mistake_table(y_true, y_pred)
    if t.empty:
        return pd.DataFrame({"label": pd.Series(dtype=np.int64), "predicted": pd.Series(dtype=np.int64),
                             "count": pd.Series(dtype=np.int64)})
    c = t.groupby(["label", "predicted"]).size().rename("count").reset_index()
    c = c.sort_values(["count", "label", "predicted"], ascending=[False, True, True], kind="stable")
    return c.reset_index(drop=True)


def wrong_prediction_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """How often each class was *predicted wrongly*: shape ``(n_classes,)``, int64 (the notes' histogram)."""
    y_true, y_pred = _check(y_true, y_pred)
    return np.bincount(y_pred[y_true != y_pred], minlength=n_classes).astype(np.int64)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``C[i, j]`` = number of samples with label ``i`` predicted as ``j``; shape ``(n_classes, n_classes)``."""
    y_true, y_pred = _check(y_true, y_pred)
    if y_true.size and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes).astype(np.int64)


def misclassified_indices(y_true: np.ndarray, y_pred: np.ndarray, label: int) -> np.ndarray:
    """Positions of the samples of class ``label`` that were predicted as something else."""
    y_true, y_pred = _check(y_true, y_pred)
    return np.flatnonzero((y_true == label) & (y_pred != label))


def per_class_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Recall of each class (NaN for a class with no samples)."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    support = cm.sum(axis=1)
    out = np.full(n_classes, np.nan)
    np.divide(np.diag(cm), support, out=out, where=support > 0)
    return out
