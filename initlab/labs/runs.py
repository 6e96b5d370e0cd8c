"""Train one lab under one seed and return a tidy result; save it as a run directory.

:func:`run_lab` is the single entry point: a training lab builds its model from the
:class:`~initlab.labs.registry.LabConfig` (hidden Dense layers, output layer, initializers, optimizer),
fits it with the numpy trainer (:mod:`initlab.nn`), and evaluates it where the notes do; a study lab
is dispatched to :mod:`initlab.labs.studies`. The result (:class:`RunResult`) holds the per-epoch
history, the final metrics, the predictions on the evaluated set, and the notes' numbers beside ours.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import atomic_write, atomic_write_text, staged_dir
from .data import LabData, load_lab_data
from .registry import LabConfig, get_lab
from .. import nn
from ..activations import ACTIVATIONS, get_activation
from ..nn.optimizers import get_optimizer
from .mistakes import predicted_labels

__all__ = ["RunResult", "run_lab", "build_model", "notes_table", "save_run", "output_dead_at_init", "output_can_die"]


@dataclass
class RunResult:
    """The outcome of one lab run.

    Attributes
    ----------
    config : LabConfig
        The settings used (``config.seed`` is the seed of this run).
    history : DataFrame
        One row per epoch: ``epoch``, ``loss``, metrics, and ``val_`` columns when monitored.
        Study labs that train several variants add a ``variant`` column.
    metrics : dict of str to float
        Final numbers: ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy`` (or ``test_mse``,
        ``test_mae``) — the keys the notes' numbers use.
    proba, labels, images : ndarray or None
        Predictions (probabilities, or values for regression) on the evaluated set, the true integer labels
        (classifiers), and the evaluated inputs as images (image classifiers).
    class_names : list of str
    source : str
        Which data was used (said in output and report).
    seconds : float
        Wall time of the run.
    tables : dict of str to DataFrame
        Extra tables (studies: the activation problems, the generalization gap, the loss comparison...).
    extras : dict
        Non-tabular results of studies (e.g. the simulation result of ``init-histograms``).
    """

    config: LabConfig
    history: pd.DataFrame
    metrics: dict[str, float]
    proba: np.ndarray | None = None
    labels: np.ndarray | None = None
    images: np.ndarray | None = None
    y_true: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    source: str = ""
    seconds: float = 0.0
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return int(self.config.seed)

    def notes_table(self) -> pd.DataFrame:
        """The notes' numbers with ours beside them (``metric``, ``notes``, ``ours``, ``difference``)."""
        return notes_table(self.config, [self.metrics])


def notes_table(cfg: LabConfig, metrics: list[dict[str, float]]) -> pd.DataFrame:
    """Notes' number vs ours, as mean and sample std over the given runs (one dict of metrics each).

    Columns: ``metric``, ``notes``, ``ours`` (mean), ``spread`` (sample std; 0 for one run), ``min``, ``max``,
    ``runs``, ``difference`` (ours − notes).
    """
    rows = []
    for note in cfg.applicable_notes():
        vals = np.array([m[note.metric] for m in metrics if note.metric in m], dtype=np.float64)
        if vals.size == 0:
            continue
        mean = float(np.mean(vals))
        rows.append({
            "metric": note.metric, "notes": note.value, "ours": mean,
            "spread": float(np.std(vals, ddof=1)) if vals.size > 1 else 0.0,
            "min": float(np.min(vals)), "max": float(np.max(vals)), "runs": int(vals.size),
            "difference": mean - note.value,
        })
    return pd.DataFrame(rows, columns=["metric", "notes", "ours", "spread", "min", "max", "runs", "difference"])


# ------------------------------------------------------------------------------------------------
# Model and training
# ------------------------------------------------------------------------------------------------
def build_model(cfg: LabConfig, n_inputs: int, n_outputs: int, *, extra_layers: dict[int, list] | None = None,
                kernel_regularizer: Any = None, learning_rate: Any = None):
    """The Keras-like model of ``cfg``: ``Dense(h, act, init, bias_init)`` per hidden width, then the output
    layer; ``extra_layers[i]`` are inserted after hidden layer ``i`` (dropout, batch norm); compiled with the
    lab's loss, optimizer (``learning_rate`` — a number or a per-step schedule — else ``cfg.lr``, else the
    optimizer's default) and metrics."""

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


def make_optimizer(cfg: LabConfig, lr: Any = None):
    """The optimizer of ``cfg`` with learning rate ``lr`` (a number or a schedule), else ``cfg.lr``, else the
    optimizer's Keras default."""
    import dataclasses


    opt = get_optimizer(cfg.optimizer)
    rate = cfg.lr if lr is None else lr
    if rate is None:
        return opt
    return dataclasses.replace(opt, learning_rate=rate if callable(rate) else float(rate))


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


def _final_metrics(model, cfg: LabConfig, data: LabData) -> dict[str, float]:
    out: dict[str, float] = {}
    parts = [("train", data.x_train, data.y_train)]
    if cfg.eval_on == "test":
        parts.append(("test", data.x_test, data.y_test))
    for part, x, y in parts:
        vals = model.evaluate(x, y, batch_size=4096)
        if hasattr(vals, "items"):
            vals = dict(vals.items())
        else:
            names = ["loss"] + list(cfg.metrics)
            vals = dict(zip(names, np.atleast_1d(vals)))
        for k, v in vals.items():
            out[f"{part}_{k}"] = float(v)
        if cfg.loss == "mse":
            out[f"{part}_mse"] = out[f"{part}_loss"]
    return out


def run_lab(cfg: LabConfig | str, *, seed: int | None = None, data: LabData | None = None,
            data_path: str | None = None, progress: bool = True, callbacks: list | None = None,
            **overrides: Any) -> RunResult:
    """Run one lab once.

    Parameters
    ----------
    cfg : LabConfig or str
        The lab (a name gives its notes' settings).
    seed : int, optional
        Overrides ``cfg.seed`` (weights, shuffling, dropout).
    data : LabData, optional
        Already loaded data (reused across seeds by :mod:`initlab.labs.compare`).
    data_path : str, optional
        Explicit dataset location (else ``$INITLAB_DATA``, the cache, a download).
    progress : bool
        Show the per-epoch progress bar on stderr.
    **overrides
        Any :class:`LabConfig` field.
    """
    cfg = get_lab(cfg, **overrides)
    if seed is not None:
        cfg = cfg.replace(seed=int(seed))
    if cfg.kind == "study":
        from .studies import run_study  # studies builds on this module: imported where used

        return run_study(cfg, data_path=data_path, progress=progress)
    t0 = time.perf_counter()
    data = data if data is not None else load_lab_data(cfg, data_path)
    model = build_model(cfg, data.n_inputs, data.n_outputs)
    dead = output_can_die(cfg) and _all_zero(model, data.x_train)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = fit_model(model, cfg, data, progress=progress, callbacks=callbacks)
        metrics = _final_metrics(model, cfg, data)
        proba = np.asarray(model.predict(data.x_test, batch_size=4096))
    if output_can_die(cfg):
        metrics["output_dead_at_init"] = float(dead)
    return RunResult(cfg, history, metrics, proba=proba, labels=data.labels_test, images=data.images_test,
                     y_true=data.y_test, class_names=list(data.class_names), source=data.source,
                     seconds=time.perf_counter() - t0, extras={"model": model})


# ------------------------------------------------------------------------------------------------
# Run directory
# ------------------------------------------------------------------------------------------------
def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if not math.isfinite(float(o)) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def save_run(result: RunResult, out_dir: str | os.PathLike, *, figures: dict | None = None) -> Path:
    """Write ``history.csv``, ``metrics.json`` (ours, the notes', the data source), ``config.json``,
    ``predictions.csv`` (classifiers and regression), ``tables/*.csv`` and ``figures/*.png`` into ``out_dir``.

    The directory is assembled under a temporary name beside ``out_dir`` and swapped into place as a unit
    (:func:`initlab._io.staged_dir`), so a reader never sees a half-written run; an existing ``out_dir``
    is replaced.
    """
    out = Path(out_dir)
    with staged_dir(out) as tmp:
        with atomic_write(tmp / "history.csv", "w") as fh:
            result.history.to_csv(fh, index=False)
        meta = {
            "lab": result.config.name, "seed": result.seed, "seconds": round(result.seconds, 3),
            "source": result.source,
            "metrics": {k: _clean(float(v)) for k, v in result.metrics.items()},
            "notes": result.notes_table()[["metric", "notes", "ours", "difference"]].to_dict(orient="records"),
        }
        atomic_write_text(tmp / "metrics.json", json.dumps(meta, indent=2, default=_json_default) + "\n")
        atomic_write_text(tmp / "config.json", result.config.to_json() + "\n")
        if result.proba is not None:
            with atomic_write(tmp / "predictions.csv", "w") as fh:
                predictions_frame(result).to_csv(fh, index=False)
        for name, table in result.tables.items():
            with atomic_write(tmp / "tables" / f"{name}.csv", "w") as fh:
                table.to_csv(fh, index=False)
        for name, fig in (figures or {}).items():
            with atomic_write(tmp / "figures" / f"{name}.png", "wb") as fh:
                fig.savefig(fh, format="png", dpi=110)
    return out


def predictions_frame(result: RunResult) -> pd.DataFrame:
    """One row per evaluated sample: ``label`` and ``predicted`` (+ ``p_<class>`` columns) for classifiers,
    ``target`` and ``predicted`` for regression."""
    proba = np.asarray(result.proba)
    if result.config.task == "regression":
        return pd.DataFrame({"target": np.ravel(result.y_true), "predicted": np.ravel(proba)})

    df = pd.DataFrame({"label": result.labels, "predicted": predicted_labels(proba)})
    if proba.ndim == 2 and proba.shape[1] > 1:
        for j in range(proba.shape[1]):
            df[f"p_{j}"] = proba[:, j]
    else:
        df["p_1"] = proba.reshape(-1)
    return df
