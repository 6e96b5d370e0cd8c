"""Losses with Keras' definitions, each value beside its gradient.

Every loss is a frozen dataclass registered in :data:`LOSSES` (``"binary_crossentropy"``,
``"categorical_crossentropy:from_logits=true"``, ``"mse"``). Keras' argument order is kept:
``loss(y_true, y_pred)``.

Reduction (Keras' ``sum_over_batch_size``): the per-sample loss is the mean over the last axis
(binary cross-entropy, MSE, MAE) or the sum over classes (categorical cross-entropies), and the
batch loss is the mean of the per-sample losses. :meth:`Loss.value_and_grad` returns that mean and
its gradient with respect to ``y_pred``.

From probabilities, as Keras: predictions are clipped to :math:`[\\epsilon, 1-\\epsilon]`,
:math:`\\epsilon = 10^{-7}` (categorical: rows are first renormalised to sum to 1); the clip's
gradient is zero outside the range. From logits (``from_logits=True``), the cross-entropies are
computed stably with the log-sum-exp (no clipping) and the gradient is
:math:`(\\sigma(z) - y)/N` or :math:`(\\operatorname{softmax}(z) - y)/n`. The model fuses a final
sigmoid (softmax) with binary (categorical) cross-entropy into the from-logits form, as Keras' TensorFlow
backend does, so training never takes the log of a rounded probability.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from .._spec import ConfigError, Registry, RegistryEntry
from ..activations import get_activation
from .softmax import softmax_and_log

__all__ = [
    "Loss",
    "LOSSES",
    "get_loss",
    "EPSILON",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "to_categorical",
]

#: Keras' ``backend.epsilon()``: the clip applied to probabilities.
EPSILON = 1e-7

LOSSES: Registry["Loss"] = Registry("loss")

_SIGMOID = get_activation("sigmoid")


def to_categorical(y: Any, num_classes: int | None = None, dtype: Any = np.float32) -> np.ndarray:
    """One-hot encode integer labels: ndarray of shape (n, num_classes) (Keras' ``to_categorical``)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or (y.size and (y.dtype.kind not in "iu" and not np.all(np.mod(y, 1) == 0))):
        raise ConfigError(f"to_categorical needs a 1-D array of integer labels, got shape {y.shape} dtype {y.dtype}")
    y = y.astype(np.int64)
    k = int(y.max()) + 1 if num_classes is None and y.size else int(num_classes or 0)
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ConfigError(f"labels must be in [0, {k}), got range [{y.min()}, {y.max()}]")
    out = np.zeros((y.shape[0], k), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


@dataclass(frozen=True)
class Loss(RegistryEntry):
    """Base class: a mean batch loss and its gradient with respect to the predictions."""

    name: ClassVar[str] = "loss"
    #: The output activation this loss fuses with (``"sigmoid"``, ``"softmax"``) or None.
    fuses_with: ClassVar[str | None] = None
    #: Whether targets are integer class labels (sparse) rather than arrays shaped like the output.
    sparse: ClassVar[bool] = False


    def __call__(self, y_true: Any, y_pred: Any) -> float:
        """The mean loss (Keras order: targets first)."""
        y_pred = np.asarray(y_pred)
        if y_pred.dtype.kind != "f":
            y_pred = y_pred.astype(np.float64)
        y = self.prepare_targets(y_true, y_pred.shape, y_pred.dtype)
        return self.value_and_grad(y, y_pred)[0]

    def value_and_grad(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, np.ndarray]:
        """``(mean loss, ∂loss/∂y_pred)`` for prepared targets (see :meth:`prepare_targets`)."""
        raise NotImplementedError

    def logits_form(self) -> "Loss":
        """The same loss computed from the pre-activation (only for losses with :attr:`fuses_with`)."""
        raise TypeError(f"{self.spec} does not fuse with an output activation")

    def prepare_targets(self, y: Any, out_shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Targets as an array of the output's shape and dtype (a 1-D ``y`` for one output column is reshaped).

        Raises
        ------
        ConfigError
            One line, when the shapes cannot match.
        """
        y = np.asarray(y)
        units = out_shape[-1]
        if y.ndim == 1 and units == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[1] != units or y.shape[0] != out_shape[0]:
            hint = ""
            if self.name == "categorical_crossentropy" and y.ndim == 1:
                hint = " (integer labels: use sparse_categorical_crossentropy or to_categorical)"
            raise ConfigError(f"targets of shape {y.shape} do not match the model output {(None, units)}{hint}")
        return np.ascontiguousarray(y, dtype=dtype)


def _clip_probs(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = p.dtype.type(EPSILON), p.dtype.type(1) - p.dtype.type(EPSILON)
    inside = (p >= lo) & (p <= hi)
    return np.clip(p, lo, hi), inside


@LOSSES.register("binary_crossentropy", "bce", "binary_cross_entropy")
@dataclass(frozen=True)
class BinaryCrossentropy(Loss):
    """Binary cross-entropy −[y log p + (1−y) log(1−p)], mean over outputs and samples.

    .. math:: \\ell = \\frac{1}{N}\\sum -\\big[y \\log \\hat p + (1-y)\\log(1-\\hat p)\\big],\\quad
              \\hat p = \\operatorname{clip}(p, \\epsilon, 1-\\epsilon)

    From logits :math:`z`: :math:`\\ell = \\frac1N\\sum \\max(z,0) - zy + \\log(1+e^{-|z|})`, gradient
    :math:`(\\sigma(z) - y)/N` (``N`` = samples × outputs).
    """

    from_logits: bool = False
    fuses_with: ClassVar[str | None] = "sigmoid"

    def logits_form(self):
        return replace(self, from_logits=True)

    def value_and_grad(self, y_true, y_pred):
        size = y_pred.size
        if self.from_logits:
            z = y_pred
            with np.errstate(over="ignore"):
                terms = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
            g = _SIGMOID.fn(z)
            g -= y_true
            g /= size
            return float(terms.mean(dtype=np.float64)), g
        p, inside = _clip_probs(y_pred)
        terms = y_true * np.log(p) + (1 - y_true) * np.log(1 - p)
        g = (p - y_true) / (p * (1 - p))
        g *= inside
        g /= size
        return -float(terms.mean(dtype=np.float64)), g


@LOSSES.register("categorical_crossentropy", "cce", "categorical_cross_entropy")
@dataclass(frozen=True)
class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy −Σ_k y_k log p_k over one-hot (or soft) targets, mean over samples.

    .. math:: \\ell = \\frac1n \\sum_i -\\sum_k y_{ik} \\log \\hat q_{ik},\\quad
              \\hat q = \\operatorname{clip}\\Big(\\frac{p}{\\sum_k p_k}, \\epsilon, 1-\\epsilon\\Big)

    From logits: :math:`\\ell = \\frac1n\\sum_i \\sum_k y_{ik}(\\operatorname{lse}(z_i) - z_{ik})`, gradient
    :math:`(\\operatorname{softmax}(z)\\sum_k y_{ik} - y)/n`.
    """

    from_logits: bool = False
    fuses_with: ClassVar[str | None] = "softmax"

    def logits_form(self):
        return replace(self, from_logits=True)

    def value_and_grad(self, y_true, y_pred):
        n = y_pred.shape[0]
        if self.from_logits:
            g, logp = softmax_and_log(y_pred)
            value = -float((y_true * logp).sum(dtype=np.float64)) / n
            g *= y_true.sum(axis=-1, keepdims=True)
            g -= y_true
            g /= n
            return value, g
        s = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / s
        qc, inside = _clip_probs(q)
        value = -float((y_true * np.log(qc)).sum(dtype=np.float64)) / n
        dq = -(y_true / qc) * inside
        g = dq - (dq * q).sum(axis=-1, keepdims=True)
        g /= s
        g /= n
        return value, g


@LOSSES.register("sparse_categorical_crossentropy", "scce", "sparse_cce")
@dataclass(frozen=True)
class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy −log p_y with integer class labels y, mean over samples."""

    from_logits: bool = False
    fuses_with: ClassVar[str | None] = "softmax"
    sparse: ClassVar[bool] = True

    def logits_form(self):
        return replace(self, from_logits=True)

    def prepare_targets(self, y, out_shape, dtype):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        k = out_shape[-1]
        if y.ndim != 1 or y.shape[0] != out_shape[0]:
            raise ConfigError(f"sparse_categorical_crossentropy needs integer labels of shape (n,), got {y.shape}")
        if y.dtype.kind not in "iu":
            if y.dtype.kind != "f" or not np.all(np.mod(y, 1) == 0):
                raise ConfigError("sparse_categorical_crossentropy needs integer class labels")
        y = y.astype(np.intp)
        if y.size and (y.min() < 0 or y.max() >= k):
            raise ConfigError(f"labels must be in [0, {k}) for {k} outputs, got range [{y.min()}, {y.max()}]")
        return y

    def value_and_grad(self, y_true, y_pred):
        n = y_pred.shape[0]
        rows = np.arange(n)
        if self.from_logits:  # -log softmax(z)_y; gradient softmax(z) - onehot(y)
            g, logp = softmax_and_log(y_pred)
            value = -float(logp[rows, y_true].sum(dtype=np.float64)) / n
            g[rows, y_true] -= 1
            g /= n
            return value, g
        onehot = np.zeros_like(y_pred)
        onehot[rows, y_true] = 1
        return CategoricalCrossentropy().value_and_grad(onehot, y_pred)


@LOSSES.register("mean_squared_error", "mse")
@dataclass(frozen=True)
class MeanSquaredError(Loss):
    """Mean squared error (p − y)², mean over outputs and samples; gradient 2(p − y)/N."""

    def value_and_grad(self, y_true, y_pred):
        d = y_pred - y_true
        value = float(np.dot(d.reshape(-1).astype(np.float64), d.reshape(-1).astype(np.float64))) / d.size
        d *= 2.0 / d.size
        return value, d


@LOSSES.register("mean_absolute_error", "mae")
@dataclass(frozen=True)
class MeanAbsoluteError(Loss):
    """Mean absolute error |p − y|, mean over outputs and samples; gradient sign(p − y)/N."""

    def value_and_grad(self, y_true, y_pred):
        d = y_pred - y_true
        value = float(np.abs(d).mean(dtype=np.float64))
        g = np.sign(d)
        g /= d.size
        return value, g


def get_loss(spec: Any) -> Loss:
    """A loss from a spec string (``"mse"``, ``"categorical_crossentropy:from_logits=true"``) or a :class:`Loss`."""
    return LOSSES.get(spec)
