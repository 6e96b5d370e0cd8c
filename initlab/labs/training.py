"""Build, check, draw and fit the model of a training lab (the pieces :func:`~initlab.labs.runs.run_lab` and
the studies share).

:func:`check_settings` validates every name of a configuration (optimizer, loss, activations,
initializers, metrics) before any data is loaded; :func:`build_model` draws the Keras-like model;
:func:`draw_live_model` redraws a network whose ReLU output is dead at init with the next seed (the
notes' boston lesson); :func:`fit_model` trains it with the lab's epochs, batch and validation;
:func:`final_metrics` evaluates it where the notes do.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import nn
from ..activations import ACTIVATIONS, get_activation
from ..initializers import get_initializer
from ..nn.losses import get_loss
from ..nn.metrics import get_metric
from ..nn.optimizers import get_optimizer
from ..nn.softmax import resolve_activation
from .config import LabConfig
from .data import LabData

__all__ = ["check_settings", "build_model", "make_optimizer", "fit_model", "history_frame", "output_can_die",
           "output_dead_at_init", "draw_live_model", "final_metrics", "curve_metrics"]


def check_settings(cfg: LabConfig) -> None:
    """Raise a one-line :class:`~initlab.SpecError` for any unknown or malformed name in ``cfg``
    (optimizer, loss, hidden and output activations, kernel and bias initializers, metrics); cheap, and
    done before any data is loaded."""
    if cfg.kind != "train":
        return
    get_optimizer(cfg.optimizer)
    get_loss(cfg.loss)
    resolve_activation(cfg.act)
    resolve_activation(cfg.out_act)
    get_initializer(cfg.init)
    get_initializer(cfg.bias_init)
    for m in cfg.metrics:
        get_metric(m)


def make_optimizer(cfg: LabConfig, lr: Any = None):
    """The optimizer of ``cfg`` with learning rate ``lr`` (a number or a schedule), else ``cfg.lr``, else the
    optimizer's Keras default."""
    opt = get_optimizer(cfg.optimizer)
    rate = cfg.lr if lr is None else lr
    if rate is None:
        return opt
    return dataclasses.replace(opt, learning_rate=rate if callable(rate) else float(rate))


def build_model(cfg: LabConfig, n_inputs: int, n_outputs: int, *, extra_layers: dict[int, list] | None = None,
                kernel_regularizer: Any = None, learning_rate: Any = None):
    """The Keras-like model of ``cfg``: ``Dense(h, act, init, bias_init)`` per hidden width, then the output
    layer; ``extra_layers[i]`` are inserted after hidden layer ``i`` (dropout, batch norm); compiled with the
    lab's loss, optimizer (``learning_rate`` — a number or a per-step schedule — else ``cfg.lr``, else the
    optimizer's default) and metrics. The weights are drawn from ``cfg.seed``."""
    layers: list = []
    for i, h in enumerate(cfg.hidden):
        layers.append(nn.Dense(h, act=cfg.act, init=cfg.init, bias_init=cfg.bias_init,
                               kernel_regularizer=kernel_regularizer, **({"input_dim": n_inputs} if i == 0 else {})))
        layers.extend((extra_layers or {}).get(i, []))
    layers.append(nn.Dense(n_outputs, act=cfg.out_act, init=cfg.init, bias_init=cfg.bias_init,
                           kernel_regularizer=kernel_regularizer,
                           **({} if cfg.hidden else {"input_dim": n_inputs})))
    model = nn.Sequential(layers, seed=cfg.seed)
    model.compile(loss=cfg.loss, optimizer=make_optimizer(cfg, learning_rate), metrics=list(cfg.metrics))
    return model


def fit_model(model, cfg: LabConfig, data: LabData, *, progress: bool = True, callbacks: list | None = None,
              epochs: int | None = None) -> pd.DataFrame:
    """Fit ``model`` on ``data`` with the lab's epochs, batch size and validation; returns the history frame
    with an ``epoch`` column (1-based)."""
    batch = len(data.x_train) if cfg.batch_size is None else int(cfg.batch_size)
    val = (data.x_val, data.y_val) if data.x_val is not None else None
    hist = model.fit(data.x_train, data.y_train, epochs=int(epochs or cfg.epochs), batch_size=batch,
                     validation_data=val, shuffle=True, seed=cfg.seed, callbacks=list(callbacks or []),
                     verbose=1 if progress else 0)
    return history_frame(hist)


def history_frame(hist: Any) -> pd.DataFrame:
    """The trainer's History as a DataFrame with a 1-based ``epoch`` column first."""
    if isinstance(hist, pd.DataFrame):
        df = pd.DataFrame(hist).reset_index(drop="epoch" not in (hist.index.names or []))
    else:
        df = pd.DataFrame(getattr(hist, "history", hist))
    if "epoch" not in df.columns:
        df.insert(0, "epoch", np.arange(1, len(df) + 1))
    else:
        df = df[["epoch"] + [c for c in df.columns if c != "epoch"]]
    return df


def output_can_die(cfg: LabConfig) -> bool:
    """Whether the output activation can be zero with zero derivative for every input (ReLU as in boston)."""
    name = cfg.out_act.partition(":")[0]
    return name in ACTIVATIONS and bool(get_activation(cfg.out_act).can_die)


def _all_zero(model, x: np.ndarray) -> bool:
    return bool(np.all(model.predict(x, batch_size=4096) == 0))


def output_dead_at_init(cfg: LabConfig, data: LabData) -> bool:
    """True when the freshly initialised model of ``cfg`` outputs exactly 0 for every training input.

    With a ReLU output (``boston-regression``, as in the notes) and raw features, the output unit's
    pre-activation can be negative for every sample at init: no gradient then reaches any weight and the
    model predicts 0 forever (test MSE = mean(y²)). This draws only the weights (cheap)."""
    if not output_can_die(cfg):
        return False
    return _all_zero(build_model(cfg, data.n_inputs, data.n_outputs), data.x_train)


def draw_live_model(cfg: LabConfig, data: LabData, log: Callable[[str], Any] | None = None):
    """Draw the model of ``cfg``; while its output is dead at init and ``cfg.redraw_dead`` allows, draw again
    with the next seed.

    Returns ``(cfg, model, draws)``: the configuration of the network kept (its seed is the one drawn last),
    the model, and one row per draw (``seed``, ``dead``). Each dead draw is said in one line through ``log``.
    A network still dead after ``redraw_dead`` draws is kept (and trains to nothing, as in the notes).
    """
    tries = max(1, int(cfg.redraw_dead)) if output_can_die(cfg) else 1
    rows = []
    for k in range(tries):
        c = cfg.replace(seed=cfg.seed + k)
        model = build_model(c, data.n_inputs, data.n_outputs)
        dead = output_can_die(c) and _all_zero(model, data.x_train)
        rows.append({"seed": c.seed, "dead": bool(dead)})
        if not dead:
            break
        if log is not None:
            more = (f"drawing again with seed {c.seed + 1} (draw {k + 2} of at most {tries})" if k + 1 < tries
                    else f"no live draw in {tries}: keeping it (it cannot learn)" if tries > 1
                    else "it cannot learn (--set redraw_dead=10 redraws it)")
            log(f"seed {c.seed}: dead output at init — the {c.out_act} output is 0 for all {len(data.x_train)} "
                f"training inputs, so no gradient reaches any weight; {more}")
    return c, model, pd.DataFrame(rows, columns=["seed", "dead"])


def final_metrics(model, cfg: LabConfig, data: LabData) -> dict[str, float]:
    """``train_<m>`` and (when the lab evaluates on its test set) ``test_<m>`` for the loss and every metric,
    in inference mode; ``<part>_mse`` too for an MSE loss."""
    out: dict[str, float] = {}
    parts = [("train", data.x_train, data.y_train)]
    if cfg.eval_on == "test":
        parts.append(("test", data.x_test, data.y_test))
    for part, x, y in parts:
        for k, v in dict(model.evaluate(x, y, batch_size=4096).items()).items():
            out[f"{part}_{k}"] = float(v)
        if cfg.loss == "mse":
            out[f"{part}_mse"] = out[f"{part}_loss"]
    return out


def curve_metrics(cfg: LabConfig, history: pd.DataFrame) -> dict[str, float]:
    """The history values the notes quote at a given epoch: a note ``loss@10`` gives ``history.loss`` of
    epoch 10 (when the run got that far)."""
    out = {}
    for note in cfg.notes:
        col, sep, epoch = note.metric.partition("@")
        if not sep or col not in history.columns:
            continue
        row = history[history["epoch"] == int(epoch)]
        if len(row):
            out[note.metric] = float(row[col].iloc[0])
    return out
