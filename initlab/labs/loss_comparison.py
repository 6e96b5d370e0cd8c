"""The notes' example: two classifiers with the same 33% error but very different losses.

Three samples, three classes. Both models get exactly one sample wrong, so classification error
cannot tell them apart; model B is confident where it is right and only mildly wrong where it is
wrong, model A is barely right and badly wrong. (This is the classic example of J. McCaffrey,
"Why you should use cross-entropy error instead of classification error or mean squared error".)

================  ===============  =========  ===============  =========
sample (target)   model A          correct?   model B          correct?
================  ===============  =========  ===============  =========
1: (0, 0, 1)      (0.3, 0.3, 0.4)  yes        (0.1, 0.2, 0.7)  yes
2: (0, 1, 0)      (0.3, 0.4, 0.3)  yes        (0.1, 0.7, 0.2)  yes
3: (1, 0, 0)      (0.1, 0.2, 0.7)  no         (0.3, 0.4, 0.3)  no
================  ===============  =========  ===============  =========

Average cross-entropy :math:`-\\frac{1}{n}\\sum_i \\log p_{i, y_i}`:
A: :math:`-(\\ln 0.4 + \\ln 0.4 + \\ln 0.1)/3 = 1.3805`, B: :math:`-(\\ln 0.7 + \\ln 0.7 + \\ln 0.3)/3 = 0.6391`.

Squared error summed over classes, averaged over samples :math:`\\frac{1}{n}\\sum_i \\|p_i - t_i\\|^2`
(the notes' convention): A: :math:`(0.54 + 0.54 + 1.34)/3 = 0.8067`, B: :math:`(0.14 + 0.14 + 0.74)/3 = 0.34`.
Keras' ``mse`` also averages over the classes, i.e. divides these by 3 (0.2689 and 0.1133).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["EXAMPLE_TARGETS", "EXAMPLE_MODELS", "cross_entropy", "squared_error", "classification_error",
           "loss_table"]

#: One-hot targets of the three samples.
EXAMPLE_TARGETS = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=np.float64)
#: Predicted probabilities of the two models (rows: samples).
EXAMPLE_MODELS = {
    "A": np.array([[0.3, 0.3, 0.4], [0.3, 0.4, 0.3], [0.1, 0.2, 0.7]]),
    "B": np.array([[0.1, 0.2, 0.7], [0.1, 0.7, 0.2], [0.3, 0.4, 0.3]]),
}


def cross_entropy(probs: np.ndarray, targets: np.ndarray) -> float:
    """Average categorical cross-entropy :math:`-\\frac1n \\sum_i \\sum_k t_{ik} \\ln p_{ik}` (natural log)."""
    probs = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore"):
        logp = np.where(targets > 0, np.log(probs), 0.0)
    return float(-(targets * logp).sum(axis=1).mean())


def squared_error(probs: np.ndarray, targets: np.ndarray, *, per_class: bool = False) -> float:
    """Squared error :math:`\\frac1n\\sum_i \\|p_i - t_i\\|^2`; ``per_class=True`` also divides by the
    number of classes (Keras' ``mse``)."""
    se = ((np.asarray(probs, dtype=np.float64) - targets) ** 2).sum(axis=1).mean()
    return float(se / targets.shape[1] if per_class else se)


def classification_error(probs: np.ndarray, targets: np.ndarray) -> float:
    """Fraction of samples whose arg-max prediction is not the target class."""
    return float(np.mean(np.argmax(probs, axis=1) != np.argmax(targets, axis=1)))


def loss_table(models: dict[str, np.ndarray] | None = None, targets: np.ndarray | None = None) -> pd.DataFrame:
    """One row per model: ``model``, ``error``, ``cross_entropy``, ``squared_error`` (notes' convention),
    ``mse_keras`` (also averaged over classes)."""
    models = EXAMPLE_MODELS if models is None else models
    targets = EXAMPLE_TARGETS if targets is None else np.asarray(targets, dtype=np.float64)
    rows = [
        {
            "model": name,
            "error": classification_error(p, targets),
            "cross_entropy": cross_entropy(p, targets),
            "squared_error": squared_error(p, targets),
            "mse_keras": squared_error(p, targets, per_class=True),
        }
        for name, p in models.items()
    ]
    return pd.DataFrame(rows, columns=["model", "error", "cross_entropy", "squared_error", "mse_keras"])
