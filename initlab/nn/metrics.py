"""Metrics reported per epoch: accuracy (binary, categorical, sparse), MAE, MSE.

Each metric is a frozen dataclass registered in :data:`METRICS`. :meth:`Metric.batch_total`
returns the *sum* over the batch of the per-sample metric, so the model averages exactly over an
epoch whatever the batch sizes. ``"accuracy"`` (``"acc"``) is resolved like Keras from the loss:
binary for binary cross-entropy (or a single output), sparse for integer labels, categorical otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._spec import Registry, RegistryEntry

__all__ = [
    "Metric",
    "METRICS",
    "get_metric",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "MeanAbsoluteErrorMetric",
    "MeanSquaredErrorMetric",
]

METRICS: Registry["Metric"] = Registry("metric")


@dataclass(frozen=True)
class Metric(RegistryEntry):
    """Base class: ``batch_total(y_true, y_pred) -> float``, the sum of the per-sample metric over a batch."""

    name: ClassVar[str] = "metric"
    #: Whether larger is better (EarlyStopping's ``mode="auto"``).
    higher_is_better: ClassVar[bool] = False


    def batch_total(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        raise NotImplementedError

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        """The mean of the metric over the samples."""
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true)
        if y_true.ndim == 1 and y_pred.ndim == 2 and y_pred.shape[1] == 1:
            y_true = y_true.reshape(-1, 1)
        return self.batch_total(y_true, y_pred) / max(len(y_pred), 1)

    def resolve(self, loss: Any, units: int) -> "Metric":
        """The concrete metric for a model with this loss and output width (itself, except for ``accuracy``)."""
        return self


@METRICS.register("accuracy", "acc")
@dataclass(frozen=True)
class Accuracy(Metric):
    """Accuracy, binary or categorical as the loss implies (Keras' "accuracy")."""

    higher_is_better: ClassVar[bool] = True

    def resolve(self, loss, units):
        if getattr(loss, "sparse", False):
            return SparseCategoricalAccuracy()
        if getattr(loss, "fuses_with", None) == "sigmoid" or units == 1:
            return BinaryAccuracy()
        return CategoricalAccuracy()

    def batch_total(self, y_true, y_pred):
        raise TypeError("'accuracy' must be resolved against a loss first (Metric.resolve)")


@METRICS.register("binary_accuracy")
@dataclass(frozen=True)
class BinaryAccuracy(Metric):
    """Fraction of outputs with (p > threshold) equal to the 0/1 target (threshold 0.5)."""

    threshold: float = 0.5
    higher_is_better: ClassVar[bool] = True

    def batch_total(self, y_true, y_pred):
        hit = (y_pred > self.threshold) == (y_true > 0.5)
        return float(hit.mean(axis=-1, dtype=np.float64).sum())


@METRICS.register("categorical_accuracy")
@dataclass(frozen=True)
class CategoricalAccuracy(Metric):
    """Fraction of samples whose arg-max prediction is the arg-max of the one-hot target."""

    higher_is_better: ClassVar[bool] = True

    def batch_total(self, y_true, y_pred):
        return float(np.count_nonzero(y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)))


@METRICS.register("sparse_categorical_accuracy")
@dataclass(frozen=True)
class SparseCategoricalAccuracy(Metric):
    """Fraction of samples whose arg-max prediction equals the integer label."""

    higher_is_better: ClassVar[bool] = True

    def batch_total(self, y_true, y_pred):
        return float(np.count_nonzero(y_pred.argmax(axis=-1) == np.asarray(y_true).reshape(-1)))


@METRICS.register("mae", "mean_absolute_error")
@dataclass(frozen=True)
class MeanAbsoluteErrorMetric(Metric):
    """Mean absolute error |p − y| (mean over outputs, then samples)."""

    def batch_total(self, y_true, y_pred):
        return float(np.abs(y_pred - y_true).mean(axis=-1, dtype=np.float64).sum())


@METRICS.register("mse", "mean_squared_error")
@dataclass(frozen=True)
class MeanSquaredErrorMetric(Metric):
    """Mean squared error (p − y)² (mean over outputs, then samples)."""

    def batch_total(self, y_true, y_pred):
        d = (y_pred - y_true).astype(np.float64)
        return float((d * d).mean(axis=-1).sum())


def get_metric(spec: Any) -> Metric:
    """A metric from a spec string (``"accuracy"``, ``"mae"``) or a :class:`Metric`."""
    return METRICS.get(spec)
