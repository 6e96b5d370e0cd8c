"""``ActivationStats``: per-layer activation, weight and gradient statistics while a model trains.

The rows follow :data:`initlab.schema.LAYER_COLUMNS` with ``epoch`` and ``step`` after ``trial`` and the
weight columns ``w_norm`` and ``update_ratio`` at the end (:data:`TRAINING_COLUMNS`), so a training run and
an init-time simulation (``SimResult.layers``) concatenate and plot together. Every statistic comes from
the simulation engine's kernels (:mod:`initlab.sim.stats`), so both define mean, std, pair correlation,
dead units and norms the same way.

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
``w_norm``, ``update_ratio``
    :math:`\\|W\\|_F` of the kernel before the step, and the relative size of the step's update
    :math:`\\|W_{t+1} - W_t\\|_F / \\|W_t\\|_F` (cs231n's rule of thumb: around :math:`10^{-3}`; much smaller
    learns slowly, much larger is unstable).

The statistics are those of the training batch at the recorded step: its forward pass (training mode,
before that step's update) and the gradients of the update. Step 0 is therefore the network at
initialization. Theory columns are NaN.

With ``histograms=True`` the callback also counts, per record and layer, the block's output and the
kernel's entries in ``bins`` equal bins on a symmetric range fixed at the first record (twice the largest
magnitude seen then, rounded up to 1, 2, 2.5 or 5 × 10^k; values beyond go to the edge bins): the frame
:attr:`ActivationStats.histograms` (:data:`HISTOGRAM_COLUMNS`) draws fastai's "colorful dimension" plot
and the weight histograms over training (:mod:`initlab.plots.watch`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .._spec import ConfigError
from ..schema import LAYER_COLUMNS
from ..sim.stats import Scratch, dead_fraction, frobenius, hist_counts, minmax, moments, nice_ceil, pair_corr
from .callbacks import Callback
from .layers import Activation, BatchNorm, Dense
from .softmax import Softmax

__all__ = ["ActivationStats", "TRAINING_COLUMNS", "HISTOGRAM_COLUMNS", "block_structure"]

_cols = list(LAYER_COLUMNS)
_cols[_cols.index("trial") + 1:_cols.index("trial") + 1] = ["epoch", "step"]
#: Columns of a training-time frame: :data:`initlab.schema.LAYER_COLUMNS` with ``epoch`` and ``step`` after
#: ``trial``, then the kernel's norm and the relative size of the step's update.
TRAINING_COLUMNS: tuple[str, ...] = tuple(_cols) + ("w_norm", "update_ratio")
#: Columns of :attr:`ActivationStats.histograms`: one row per record × layer × kind (``act``, ``weight``) × bin.
HISTOGRAM_COLUMNS: tuple[str, ...] = ("epoch", "step", "layer", "kind", "bin", "lo", "hi", "count")
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


def _stack(a: np.ndarray) -> np.ndarray:
    """``a`` as a one-layer stack (1, n, c), C-contiguous, as the kernels of :mod:`initlab.sim.stats` take."""
    a = np.ascontiguousarray(a)
    return a.reshape(1, a.shape[0], -1)


def _forward_stats(prefix: str, a: np.ndarray, scratch: Scratch, corr: bool = False) -> dict[str, float]:
    x = _stack(a)
    m = moments(x, scratch)
    lo, hi = minmax(x)
    row = {f"{prefix}_mean": float(m.mean[0]), f"{prefix}_std": float(m.std[0]), f"{prefix}_q": float(m.q[0]),
           f"{prefix}_min": float(lo[0]), f"{prefix}_max": float(hi[0])}
    if corr:
        row[f"{prefix}_corr"] = float(pair_corr(x, m.rownorm2)[0])
    return row


def _norm(a: np.ndarray | None) -> float:
    return math.nan if a is None else float(frobenius(_stack(a))[0])


class ActivationStats(Callback):
    """Record per-layer activation statistics, weight norms, update ratios and gradient norms during ``fit``.

    Parameters
    ----------
    every : int, optional
        Record every ``every`` optimizer steps (steps 0, every, 2·every, …); by default the first batch
        of every epoch. A record costs about one extra pass over the activations (no extra forward pass)
        and a copy of the kernels before the step.
    label : str, optional
        The ``label`` column; default ``"<init> / <act>"`` of the first Dense, the simulation engine's label
        for the same initializer and activation. ``config`` and ``trial`` fill their columns, so several
        runs concatenate into one frame.
    histograms : bool
        Also count each layer's output and kernel entries per record (:attr:`histograms`).
    bins : int
        Bins of those histograms.

    Attributes
    ----------
    layers : pandas.DataFrame
        One row per record × layer, columns :data:`TRAINING_COLUMNS`.
    histograms : pandas.DataFrame
        One row per record × layer × kind × bin, columns :data:`HISTOGRAM_COLUMNS` (empty unless asked for).
    """

    def __init__(self, every: int | None = None, label: str | None = None, config: int = 0, trial: int = 0,
                 histograms: bool = False, bins: int = 40):
        super().__init__()
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ConfigError(f"every must be a positive integer or None, got {every!r}")
        if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= 1000:
            raise ConfigError(f"bins must be an integer in [2, 1000], got {bins!r}")
        self.every, self.label, self.config, self.trial = every, label, int(config), int(trial)
        self.want_histograms, self.bins = bool(histograms), int(bins)
        self.rows: list[dict[str, Any]] = []
        self._hist_rows: list[tuple[int, int, int, str, np.ndarray, float]] = []
        self._ranges: dict[tuple[int, str], float] = {}
        self._epoch = 0
        self._before: list[np.ndarray] | None = None
        self._scratch = Scratch()

    def on_train_begin(self, logs=None):
        self._blocks = block_structure(self.model.layers)
        if not self._blocks:
            raise ConfigError("ActivationStats needs at least one Dense layer")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def _records(self, batch: int, step: int) -> bool:
        return (self.every is None and batch == 0) or (self.every is not None and step % self.every == 0)

    def on_train_batch_begin(self, batch, logs=None):
        step = self.model.optimizer.iterations
        if self._records(batch, step):  # the kernels before the step, for the update ratio
            self._before = [self.model.layers[b["dense"]].kernel.copy() for b in self._blocks]
        else:
            self._before = None

    def on_train_batch_end(self, batch, logs=None):
        step = self.model.optimizer.iterations - 1
        if self._records(batch, step):
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
        before = self._before
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
                "config": self.config, "label": label, "init_spec": d.init_spec, "init": d.init.spec,
                "act_spec": act.spec, "act": act.spec,
                "trial": self.trial, "epoch": epoch, "step": step, "layer": k + 1, "width": d.units,
            }
            if diverged:
                row.update({c: math.nan for c in TRAINING_COLUMNS if c.startswith(("pre_", "act_"))})
                row["saturated"] = row["dead"] = math.nan
            else:
                row.update(_forward_stats("pre", pre, self._scratch, corr=True))
                row.update(_forward_stats("act", out, self._scratch))
                row["saturated"] = (math.nan if isinstance(act, Softmax)
                                    else float(np.mean(act.saturated(pre))))
                p = _stack(post)
                row["dead"] = float(dead_fraction(p, p.sum(axis=1))[0])
                if self.want_histograms:
                    self._count(epoch, step, k + 1, "act", out)
            row["grad_pre_norm"] = _norm(gpre)
            row["grad_w_norm"] = _norm(d.kernel_grad)
            row["diverged"] = diverged
            row["grad_diverged"] = not diverged and not (math.isfinite(row["grad_pre_norm"])
                                                         and math.isfinite(row["grad_w_norm"]))
            row["lsuv_passes"] = int(d.lsuv_passes)
            w0 = before[k] if before is not None else None
            row["w_norm"] = _norm(w0 if w0 is not None else d.kernel)
            row["update_ratio"] = (_norm(d.kernel - w0) / row["w_norm"]
                                   if w0 is not None and row["w_norm"] > 0 else math.nan)
            if self.want_histograms and np.isfinite(d.kernel).all():
                self._count(epoch, step, k + 1, "weight", d.kernel)
            rows.append(row)
        last_pre, last_w = rows[-1]["grad_pre_norm"], rows[-1]["grad_w_norm"]
        for row in rows:
            row["grad_pre_ratio"] = row["grad_pre_norm"] / last_pre if last_pre > 0 else math.nan
            row["grad_w_ratio"] = row["grad_w_norm"] / last_w if last_w > 0 else math.nan
            for c in ("theory_pre_q", "theory_pre_std", "theory_pre_corr", "theory_grad_ratio"):
                row[c] = math.nan
        self.rows.extend(rows)

    def _count(self, epoch: int, step: int, layer: int, kind: str, a: np.ndarray) -> None:
        x = _stack(a)
        key = (layer, kind)
        if key not in self._ranges:
            self._ranges[key] = nice_ceil(2.0 * float(np.max(np.abs(x))))
        R = self._ranges[key]
        counts = hist_counts(x, R, self.bins, self._scratch)[0]
        self._hist_rows.append((epoch, step, layer, kind, counts, R))

    @property
    def layers(self) -> pd.DataFrame:
        """The recorded rows as a DataFrame with columns :data:`TRAINING_COLUMNS`."""
        df = pd.DataFrame(self.rows, columns=list(TRAINING_COLUMNS))
        for c in _INT_COLUMNS:
            df[c] = df[c].astype(np.int64)
        df["diverged"] = df["diverged"].astype(bool)
        df["grad_diverged"] = df["grad_diverged"].astype(bool)
        return df

    @property
    def histograms(self) -> pd.DataFrame:
        """The histograms as a tidy frame (:data:`HISTOGRAM_COLUMNS`): bin ``b`` of a layer whose range is
        :math:`[-R, R]` covers ``[lo, hi) = [-R + 2Rb/B, -R + 2R(b+1)/B)``."""
        B = self.bins
        b = np.arange(B)
        parts = []
        for epoch, step, layer, kind, counts, R in self._hist_rows:
            edges = np.linspace(-R, R, B + 1)
            parts.append(pd.DataFrame({"epoch": epoch, "step": step, "layer": layer, "kind": kind, "bin": b,
                                       "lo": edges[:-1], "hi": edges[1:], "count": counts}))
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("epoch", "step", "layer", "bin", "count")
                                              else "str" if c == "kind" else "float64") for c in HISTOGRAM_COLUMNS})
        return pd.concat(parts, ignore_index=True)[list(HISTOGRAM_COLUMNS)]

    def to_frame(self) -> pd.DataFrame:
        """Same as :attr:`layers`."""
        return self.layers
