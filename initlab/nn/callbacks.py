"""Callbacks with Keras' hooks: early stopping, learning-rate schedules, reduce-on-plateau, progress output.

A callback overrides any of ``on_train_begin/end(logs)``, ``on_epoch_begin/end(epoch, logs)`` and
``on_train_batch_begin/end(batch, logs)``; ``epoch`` and ``batch`` count from 0 as in Keras.
``self.model`` is the model being trained and ``self.params`` holds ``epochs``, ``steps``,
``batch_size`` and ``samples``. Setting ``model.stop_training = True`` ends training after the
current epoch. Epoch logs hold ``loss``, the metrics, their ``val_`` versions and ``learning_rate``;
batch logs hold the running means over the epoch so far.
"""

from __future__ import annotations

import inspect
import math
import sys
import time
from typing import IO, Any, Callable

from .._spec import ConfigError
from ..progress import Progress

__all__ = [
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "ProgressBar",
    "EpochLogger",
    "TerminateOnNaN",
    "TrainingDiverged",
]


class Callback:
    """Base class: every hook does nothing."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = dict(params)

    def on_train_begin(self, logs: dict | None = None) -> None: ...

    def on_train_end(self, logs: dict | None = None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None: ...


def _overrides(cb: Callback, hook: str) -> bool:
    return getattr(type(cb), hook) is not getattr(Callback, hook)


class CallbackList:
    """Dispatch hooks to callbacks; per-batch hooks go only to callbacks that define them."""

    def __init__(self, callbacks: list[Callback], model: Any, params: dict[str, Any]):
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise ConfigError(f"callbacks must be Callback instances, got {type(cb).__name__}")
            cb.set_model(model)
            cb.set_params(params)
        self.callbacks = list(callbacks)
        self.batch_begin = [cb for cb in callbacks if _overrides(cb, "on_train_batch_begin")]
        self.batch_end = [cb for cb in callbacks if _overrides(cb, "on_train_batch_end")]

    def on_train_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)


def _monitor_op(model: Any, monitor: str, mode: str) -> Callable[[float, float], bool]:
    if mode not in ("auto", "min", "max"):
        raise ConfigError(f"mode must be auto, min or max, got '{mode}'")
    if mode == "auto":
        mode = "max" if model is not None and model.higher_is_better(monitor) else "min"
    return (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b)


def _monitored(logs: dict | None, monitor: str, who: str) -> float:
    logs = logs or {}
    if monitor not in logs:
        have = ", ".join(logs) or "nothing"
        hint = " (pass validation_data or validation_split)" if monitor.startswith("val_") else ""
        raise ConfigError(f"{who} monitors '{monitor}' but the epoch logs have {have}{hint}")
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs (Keras 3).

    With ``restore_best_weights`` the weights (and BatchNorm statistics) of the best epoch are put back
    at the end of training. ``mode="auto"`` maximises accuracies and minimises everything else.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        super().__init__()
        if patience < 0:
            raise ConfigError(f"patience must be >= 0, got {patience}")
        self.monitor, self.min_delta, self.patience = monitor, abs(float(min_delta)), int(patience)
        self.verbose, self.mode, self.baseline = verbose, mode, baseline
        self.restore_best_weights, self.start_from_epoch = bool(restore_best_weights), int(start_from_epoch)
        _monitor_op(None, monitor, mode)  # validate mode now
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best = math.nan
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self._better = _monitor_op(self.model, self.monitor, self.mode)
        self._sign = 1.0 if self._better(1.0, 0.0) else -1.0
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best = -math.inf if self._sign > 0 else math.inf
        self.best_weights = None

    def _improved(self, value: float, reference: float) -> bool:
        return self._better(value - self._sign * self.min_delta, reference)

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", file=sys.stderr)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.",
                      file=sys.stderr)
            self.model.set_weights(self.best_weights)


def _arity(fn: Callable) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty for p in params)


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate from ``schedule(t)`` or ``schedule(t, current_lr)`` (Keras' signature).

    Parameters
    ----------
    schedule : callable
        A :class:`initlab.nn.schedules.Schedule` or any function of the count ``t`` (and the current rate).
    per : {"epoch", "batch"}
        ``t`` is the epoch (from 0, set at each epoch's start, as Keras) or the optimizer step.
    """

    def __init__(self, schedule: Callable, per: str = "epoch", verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise ConfigError("LearningRateScheduler needs a callable schedule")
        if per not in ("epoch", "batch"):
            raise ConfigError(f"per must be 'epoch' or 'batch', got '{per}'")
        self.schedule, self.per, self.verbose = schedule, per, verbose
        self._two = _arity(schedule) >= 2

    def _set(self, t: int) -> None:
        opt = self.model.optimizer
        lr = self.schedule(t, opt.current_lr()) if self._two else self.schedule(t)
        lr = float(lr)
        if not math.isfinite(lr) or lr < 0:
            raise ConfigError(f"the schedule returned an invalid learning rate {lr} at t={t}")
        opt.learning_rate = lr

    def on_epoch_begin(self, epoch, logs=None):
        if self.per == "epoch":
            self._set(epoch)
            if self.verbose:
                print(f"Epoch {epoch + 1}: learning rate {self.model.optimizer.learning_rate:.6g}", file=sys.stderr)

    def on_train_batch_begin(self, batch, logs=None):
        if self.per == "batch":
            self._set(self.model.optimizer.iterations)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs (Keras' rule).

    An epoch improves when it beats the best value by more than ``min_delta``; after a reduction,
    ``cooldown`` epochs pass before counting again; the rate never goes below ``min_lr``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0):
        super().__init__()
        if not 0 < factor < 1:
            raise ConfigError(f"ReduceLROnPlateau factor must be in (0, 1), got {factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, float(factor), int(patience), verbose
        self.mode, self.min_delta, self.cooldown, self.min_lr = mode, float(min_delta), int(cooldown), float(min_lr)
        _monitor_op(None, monitor, mode)

    def on_train_begin(self, logs=None):
        better = _monitor_op(self.model, self.monitor, self.mode)
        sign = 1.0 if better(1.0, 0.0) else -1.0
        self._improved = lambda a, b: better(a - sign * self.min_delta, b)
        self.best = -math.inf if sign > 0 else math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                opt = self.model.optimizer
                old = opt.current_lr()
                if old > self.min_lr:
                    opt.learning_rate = max(old * self.factor, self.min_lr)
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                              f"{opt.learning_rate:.6g}.", file=sys.stderr)
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


def _fmt_logs(logs: dict | None) -> str:
    return " - ".join(f"{k}: {v:.4g}" if k == "learning_rate" else f"{k}: {v:.4f}" for k, v in (logs or {}).items())


class ProgressBar(Callback):
    """A per-epoch progress bar with the running loss (:class:`initlab.progress.Progress`, shown after 1 s)."""

    def __init__(self, stream: IO[str] | None = None, delay: float = 1.0):
        super().__init__()
        self.stream, self.delay = stream, delay
        self._bar: Progress | None = None

    def on_epoch_begin(self, epoch, logs=None):
        desc = f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}"
        self._bar = Progress(self.params.get("steps", 1), desc, delay=self.delay, stream=self.stream)
        self._bar.__enter__()

    def on_train_batch_end(self, batch, logs=None):
        self._bar.update(1, postfix=f"loss {logs['loss']:.4f}" if logs and "loss" in logs else None)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.update(0, postfix=_fmt_logs(logs))
            self._bar.close()
            self._bar = None


class EpochLogger(Callback):
    """One line per epoch on ``stream`` (stderr): the epoch, its time and every log value (``verbose=2``)."""

    def __init__(self, stream: IO[str] | None = None):
        super().__init__()
        self.stream = stream

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        stream = self.stream if self.stream is not None else sys.stderr
        dt = time.perf_counter() - self._t0
        stream.write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')} - {dt:.1f}s - {_fmt_logs(logs)}\n")
        stream.flush()


class TrainingDiverged(RuntimeError):
    """Raised by :class:`TerminateOnNaN`: the training loss became inf or NaN (one-line message)."""

    def __init__(self, message: str, epoch: int, step: int, loss: float):
        super().__init__(message)
        self.epoch, self.step, self.loss = epoch, step, loss


class TerminateOnNaN(Callback):
    """Stop training at the first step whose loss is inf or NaN (Keras' ``TerminateOnNaN``).

    The running loss of an epoch is finite exactly while every step's loss so far is, so the first
    non-finite running loss names the step that overflowed. ``model.stop_training`` is set and, with
    ``raise_error`` (the default), :class:`TrainingDiverged` is raised at once, naming the epoch and
    step (both 1-based), instead of training on to ``loss nan``. ``initlab train`` uses it by default.
    """

    def __init__(self, raise_error: bool = True):
        super().__init__()
        self.raise_error = raise_error
        self.epoch = 0
        self.stopped: tuple[int, int] | None = None  # (epoch, step), 1-based

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or self.stopped is not None or math.isfinite(float(loss)):
            return
        self.stopped = (self.epoch + 1, batch + 1)
        if self.model is not None:
            self.model.stop_training = True
        if self.raise_error:
            e, b = self.stopped
            raise TrainingDiverged(f"the training loss became {float(loss)} at epoch {e}, step {b}: training "
                                   f"stopped (try a smaller learning rate or initial weights)", e, b, float(loss))

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if self.stopped is None and loss is not None and not math.isfinite(float(loss)):
            self.stopped = (epoch + 1, int(self.params.get("steps", 1)))
            if self.model is not None:
                self.model.stop_training = True
