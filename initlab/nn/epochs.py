"""What ``Sequential.fit`` iterates over and returns: the mini-batches of an epoch and the :class:`History`.

:class:`Batches` yields the mini-batches of one epoch, in order or in a fresh permutation drawn from the
fit's generator (so the same seed gives the same order); :class:`History` is the per-epoch record.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._spec import ConfigError

__all__ = ["Batches", "History", "check_fit_numbers"]


class History(pd.DataFrame):
    """Per-epoch training record: one row per epoch (index ``epoch`` from 1), one column per log.

    Columns: ``loss``, each metric, ``val_loss`` and ``val_<metric>`` when there is validation data, and
    ``learning_rate``. ``history.history`` is Keras' dict of lists.
    """

    @property
    def _constructor(self):
        return History

    @property
    def history(self) -> dict[str, list[float]]:
        """Keras' form: ``{"loss": [...], "val_loss": [...], ...}``."""
        return {str(c): [float(v) for v in self[c]] for c in self.columns}


def check_fit_numbers(batch_size: Any, epochs: Any, validation_split: float) -> None:
    """One-line :class:`~initlab.ConfigError` for a batch size, epoch count or validation fraction ``fit``
    cannot use."""
    if isinstance(batch_size, bool) or (batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1)):
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(epochs, int) or epochs < 0:
        raise ConfigError(f"epochs must be an integer >= 0, got {epochs!r}")
    if not 0 <= validation_split < 1:
        raise ConfigError(f"validation_split must be in [0, 1), got {validation_split}")


class Batches:
    """The mini-batches of one epoch: in order, or gathered in a fresh permutation into reused buffers
    (``np.take(..., out=)``: no allocation per batch). A yielded batch is valid until the next one."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool):
        self.x, self.y, self.bs, self.shuffle = x, y, int(batch_size), bool(shuffle)
        self.n = x.shape[0]
        self.steps = -(-self.n // self.bs)
        self.xbuf = np.empty((self.bs, *x.shape[1:]), dtype=x.dtype) if shuffle else None
        self.ybuf = np.empty((self.bs, *y.shape[1:]), dtype=y.dtype) if shuffle else None

    def epoch(self, rng: np.random.Generator):
        order = rng.permutation(self.n) if self.shuffle else None
        for b in range(self.steps):
            lo, hi = b * self.bs, min((b + 1) * self.bs, self.n)
            if order is None:
                yield self.x[lo:hi], self.y[lo:hi]
                continue
            m = hi - lo
            xb, yb = self.xbuf[:m], self.ybuf[:m]
            np.take(self.x, order[lo:hi], axis=0, out=xb)
            np.take(self.y, order[lo:hi], axis=0, out=yb)
            yield xb, yb
