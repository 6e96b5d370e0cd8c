"""Callbacks that write files, always atomically: :class:`ModelCheckpoint` and :class:`CSVLogger` (Keras').

Every write goes to a temporary name in the target folder and is renamed into place
(:func:`initlab._io.atomic_write`), so a crash or a full disk never leaves a half-written checkpoint or
log: the file holds either the previous complete version or the new one.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any

from .._io import atomic_write_text, clean_stale_files
from .._spec import ConfigError
from .callbacks import Callback, _monitor_op, _monitored

__all__ = ["ModelCheckpoint", "CSVLogger"]


class ModelCheckpoint(Callback):
    """Save the weights (``.npz``, :meth:`~initlab.nn.Sequential.save_weights`) at the end of an epoch.

    Parameters
    ----------
    filepath : str or Path
        May hold ``str.format`` fields filled from the epoch (1-based) and its logs:
        ``"ckpt/w-{epoch:02d}-{val_loss:.3f}.npz"``.
    monitor : str
        The log compared between epochs when ``save_best_only``.
    save_best_only : bool
        Save only when ``monitor`` improved on the best value so far (Keras' rule; ``mode="auto"`` maximises
        accuracies and minimises everything else).
    save_freq : int
        Save every ``save_freq`` epochs (when not ``save_best_only``).

    Attributes
    ----------
    best : float
        The best monitored value seen.
    saved : list of Path
        Every file written, in order.
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto", save_freq: int = 1, verbose: int = 0):
        super().__init__()
        if isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1:
            raise ConfigError(f"save_freq must be a positive integer (epochs), got {save_freq!r}")
        self.filepath, self.monitor, self.save_best_only = str(filepath), monitor, bool(save_best_only)
        self.mode, self.save_freq, self.verbose = mode, save_freq, verbose
        _monitor_op(None, monitor, mode)
        self.best = math.nan
        self.saved: list[Path] = []

    def on_train_begin(self, logs=None):
        # what a killed earlier write left (its name may have held another epoch than the next one)
        clean_stale_files(Path(self.filepath).parent if str(Path(self.filepath).parent) else ".")
        self._better = _monitor_op(self.model, self.monitor, self.mode)
        self.best = -math.inf if self._better(1.0, 0.0) else math.inf

    def _path(self, epoch: int, logs: dict) -> Path:
        try:
            return Path(self.filepath.format(epoch=epoch + 1, **logs))
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"checkpoint path '{self.filepath}' cannot be filled from epoch and logs "
                              f"{', '.join(logs)}: {exc}") from None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not self._better(current, self.best):
                return
            self.best = current
        elif (epoch + 1) % self.save_freq:
            return
        path = self._path(epoch, logs)
        self.model.save_weights(path)
        self.saved.append(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved weights to {path}")


class CSVLogger(Callback):
    """Write the epoch logs to a CSV file, one row per epoch (``epoch`` from 0, as Keras), rewritten
    atomically after every epoch.

    Parameters
    ----------
    filename : str or Path
    separator : str
    append : bool
        Keep the rows already in the file (a resumed run) instead of starting a new file.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        if len(separator) != 1:
            raise ConfigError(f"separator must be one character, got {separator!r}")
        self.filename, self.sep, self.append = Path(filename), separator, bool(append)
        self._head = ""
        self._keys: list[str] | None = None
        self._rows: list[dict[str, Any]] = []

    def on_train_begin(self, logs=None):
        self._head = self.filename.read_text(encoding="utf-8") if self.append and self.filename.exists() else ""
        self._keys = None
        self._rows = []

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self._keys is None:
            self._keys = ["epoch"] + list(logs)
        self._rows.append({"epoch": epoch, **logs})
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self._keys, delimiter=self.sep, lineterminator="\n",
                                extrasaction="ignore", restval="")
        if not self._head:
            writer.writeheader()
        writer.writerows(self._rows)
        atomic_write_text(self.filename, self._head + buf.getvalue())
