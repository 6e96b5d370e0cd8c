"""``ActivationStats``: per-layer activation and gradient statistics while a model trains.

The rows follow :data:`initlab.schema.LAYER_COLUMNS` with ``epoch`` and ``step`` after ``trial``,
so a training run and an init-time simulation (``SimResult.layers``) concatenate and plot together.

A *layer* here is a ``Dense`` and the layers after it up to the next ``Dense`` (BatchNorm,
Activation, Dropout), which is the simulation engine's layer:

``pre_*``
    The input of the block's activation function: the Dense pre-activation :math:`z = xW + b` when the
    Dense has its own activation, else the input of the block's ``Activation`` layer (after BatchNorm
    when there is one), else the Dense output.
``act_*``
    The block's output (after activation and dropout), i.e. what the next Dense reads.
``saturated``, ``dead``
    As in the engine: the fraction of pre-activation entries with :math:`|\\phi'(z)| < 0.05 \\max|\\phi'|`
    (NaN for softmax), and the fraction of units whose activation :math:`\\phi(z)` (before dropout) is zero
    for every sample of the batch.
``grad_pre_norm``, ``grad_w_norm``
    :math:`\\|\\partial L/\\partial z\\|_F` at the same pre-activation and :math:`\\|\\partial L/\\partial W\\|_F`
    of the Dense kernel (the regularizer's gradient included), on the same batch; ratios are to the last layer.

The statistics are those of the training batch at the recorded step: its forward pass (training mode,
before that step's update) and the gradients of the update. Step 0 is therefore the network at
initialization. Theory columns are NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .._spec import ConfigError
from ..schema import LAYER_COLUMNS
from .callbacks import Callback
from .layers import Activation, BatchNorm, Dense
from .softmax import Softmax

__all__ = ["ActivationStats", "TRAINING_COLUMNS", "block_structure"]

_cols = list(LAYER_COLUMNS)
_cols[_cols.index("trial") + 1:_cols.index("trial") + 1] = ["epoch", "step"]
#: Columns of a training-time frame: :data:`initlab.schema.LAYER_COLUMNS` with ``epoch`` and ``step`` after ``trial``.
TRAINING_COLUMNS: tuple[str, ...] = tuple(_cols)
_INT_COLUMNS = ("config", "trial", "epoch", "step", "layer", "width", "lsuv_passes")


def block_structure(layers: list[Any]) -> list[dict[str, Any]]:
    """For each Dense: its index, the block's last layer, where the pre-activation is read and the activation.

    Returns a list of dicts with ``dense`` (index), ``end`` (index of the block's last layer),
    ``pre`` (``("dense", i)`` for the Dense's own pre-activation, ``("out", j)`` for the output of layer ``j``),
    ``post`` (where the activation's output is read: ``("dense_act", i)``, ``("out", j)`` or the same as
    ``pre`` for a linear block) and ``act`` (the activation function).
    """
    dense = [i for i, layer in enumerate(layers) if isinstance(layer, Dense)]
    blocks = []
    for k, i in enumerate(dense):
        end = dense[k + 1] - 1 if k + 1 < len(dense) else len(layers) - 1
        d = layers[i]
        pre, post, act = ("dense", i), ("dense_act", i), d.act
        if d.act.name == "linear":
            j = next((j for j in range(i + 1, end + 1) if isinstance(layers[j], Activation)), None)
            if j is not None:
                pre, post, act = ("out", j - 1), ("out", j), layers[j].act
            else:
                bn = [j for j in range(i + 1, end + 1) if isinstance(layers[j], BatchNorm)]
                if bn:
                    pre = ("out", bn[-1])
                post = pre
        blocks.append({"dense": i, "end": end, "pre": pre, "post": post, "act": act})
    return blocks


def _moments(a: np.ndarray) -> tuple[float, float, float, float, float]:
    a = a.astype(np.float64, copy=False).reshape(-1)
    mean = float(a.mean())
    q = float(np.dot(a, a) / a.size)
    return mean, math.sqrt(max(q - mean * mean, 0.0)), q, float(a.min()), float(a.max())


def _pair_corr(a: np.ndarray) -> float:
    """Mean cosine similarity of disjoint sample pairs (0, 1), (2, 3), …."""
    a = a.reshape(a.shape[0], -1).astype(np.float64, copy=False)
    m = a.shape[0] // 2 * 2
    if m == 0:
        return math.nan
    u, v = a[0:m:2], a[1:m:2]
    num = np.einsum("ij,ij->i", u, v)
    den = np.sqrt(np.einsum("ij,ij->i", u, u) * np.einsum("ij,ij->i", v, v))
    ok = den > 0
    return float((num[ok] / den[ok]).mean()) if ok.any() else math.nan


def _norm(a: np.ndarray | None) -> float:
    if a is None:
        return math.nan
    flat = a.reshape(-1).astype(np.float64, copy=False)
    return math.sqrt(float(np.dot(flat, flat)))


class ActivationStats(Callback):
    """Record per-layer activation statistics and gradient norms during ``fit`` into a tidy DataFrame.

    Parameters
    ----------
    every : int, optional
        Record every ``every`` optimizer steps (steps 0, every, 2·every, …); by default the first batch
        of every epoch. A record costs about one extra pass over the activations (no extra forward pass).
    label : str, optional
        The ``label`` column; default ``"<init> / <act>"`` of the first Dense, the simulation engine's label
        for the same initializer and activation. ``config`` and ``trial`` fill their columns, so several
        runs concatenate into one frame.

    Attributes
    ----------
    layers : pandas.DataFrame
        One row per record × layer, columns :data:`TRAINING_COLUMNS`.
    """

    def __init__(self, every: int | None = None, label: str | None = None, config: int = 0, trial: int = 0):
        super().__init__()
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ConfigError(f"every must be a positive integer or None, got {every!r}")
        self.every, self.label, self.config, self.trial = every, label, int(config), int(trial)
        self.rows: list[dict[str, Any]] = []
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self._blocks = block_structure(self.model.layers)
        if not self._blocks:
            raise ConfigError("ActivationStats needs at least one Dense layer")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        step = self.model.optimizer.iterations - 1
        if (self.every is None and batch == 0) or (self.every is not None and step % self.every == 0):
            self.record(self._epoch, step)

    def record(self, epoch: int, step: int) -> None:
        """Append one row per layer from the model's last training step."""
        model = self.model
        layers, outs, gouts = model.layers, model._outs, model._gouts
        if self.label is not None:
            label = self.label
        else:
            first = layers[self._blocks[0]["dense"]]
            label = f"{first.init.spec} / {self._blocks[0]['act'].spec}"
        rows = []
        diverged = False
        for k, blk in enumerate(self._blocks):
            d = layers[blk["dense"]]
            kind, j = blk["pre"]
            pre, gpre = (d._z, d._gz) if kind == "dense" else (outs[j], gouts[j])
            kind, j = blk["post"]
            post = d._a if kind == "dense_act" else (d._z if kind == "dense" else outs[j])
            out = outs[blk["end"]]
            act = blk["act"]
            diverged = diverged or not (np.isfinite(pre).all() and np.isfinite(out).all())
            row: dict[str, Any] = {
                "config": self.config, "label": label, "init": d.init.spec, "act": act.spec,
                "trial": self.trial, "epoch": epoch, "step": step, "layer": k + 1, "width": d.units,
            }
            if diverged:
                row.update({c: math.nan for c in TRAINING_COLUMNS if c.startswith(("pre_", "act_"))})
                row["saturated"] = row["dead"] = math.nan
            else:
                for prefix, a in (("pre", pre), ("act", out)):
                    row[f"{prefix}_mean"], row[f"{prefix}_std"], row[f"{prefix}_q"], row[f"{prefix}_min"], \
                        row[f"{prefix}_max"] = _moments(a)
                row["pre_corr"] = _pair_corr(pre)
                row["saturated"] = (math.nan if isinstance(act, Softmax)
                                    else float(np.mean(act.saturated(pre))))
                o = post.reshape(post.shape[0], -1)
                row["dead"] = float(np.mean(~np.any(o != 0, axis=0)))
            row["grad_pre_norm"] = _norm(gpre)
            row["grad_w_norm"] = _norm(d.kernel_grad)
            row["diverged"] = diverged
            row["grad_diverged"] = not diverged and not (math.isfinite(row["grad_pre_norm"])
                                                         and math.isfinite(row["grad_w_norm"]))
            row["lsuv_passes"] = int(d.lsuv_passes)
            rows.append(row)
        last_pre, last_w = rows[-1]["grad_pre_norm"], rows[-1]["grad_w_norm"]
        for row in rows:
            row["grad_pre_ratio"] = row["grad_pre_norm"] / last_pre if last_pre > 0 else math.nan
            row["grad_w_ratio"] = row["grad_w_norm"] / last_w if last_w > 0 else math.nan
            for c in ("theory_pre_q", "theory_pre_std", "theory_pre_corr", "theory_grad_ratio"):
                row[c] = math.nan
        self.rows.extend(rows)

    @property
    def layers(self) -> pd.DataFrame:
        """The recorded rows as a DataFrame with columns :data:`TRAINING_COLUMNS`."""
        df = pd.DataFrame(self.rows, columns=list(TRAINING_COLUMNS))
        for c in _INT_COLUMNS:
            df[c] = df[c].astype(np.int64)
        df["diverged"] = df["diverged"].astype(bool)
        df["grad_diverged"] = df["grad_diverged"].astype(bool)
        return df

    def to_frame(self) -> pd.DataFrame:
        """Same as :attr:`layers`."""
        return self.layers
