"""Train one lab under one seed and return a tidy result; save it as a run directory.

:func:`run_lab` is the single entry point: a training lab checks its settings, loads its data, draws its
model from the :class:`~initlab.labs.config.LabConfig` (redrawing a network whose ReLU output is dead at
init when the lab asks for it), fits it with the numpy trainer (:mod:`initlab.nn`) and evaluates it where
the notes do; a study lab is dispatched to :mod:`initlab.labs.studies`. The result
(:class:`~initlab.labs.result.RunResult`) holds the per-epoch history, the final metrics, the predictions
on the evaluated set, and the notes' numbers beside ours. :func:`save_run` writes it as a directory.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import nn
from .._io import atomic_write, atomic_write_text, staged_dir
from .config import LabConfig
from .data import LabData, load_lab_data
from .mistakes import predicted_labels
from .registry import get_lab
from .result import RunResult, notes_table
from .studies import run_study
from .training import (build_model, check_settings, curve_metrics, draw_live_model, final_metrics, fit_model,
                       output_can_die, output_dead_at_init)

__all__ = ["RunResult", "run_lab", "build_model", "notes_table", "save_run", "predictions_frame",
           "output_dead_at_init", "output_can_die", "stats_every"]


def stats_every(cfg: LabConfig, n_train: int, records: int = 200) -> int:
    """Record :class:`~initlab.nn.ActivationStats` every this many steps: about ``records`` records a run."""
    bs = n_train if cfg.batch_size is None else min(int(cfg.batch_size), n_train)
    steps = -(-n_train // max(bs, 1)) * int(cfg.epochs)
    return max(1, steps // records)


def run_lab(cfg: LabConfig | str, *, seed: int | None = None, data: LabData | None = None,
            data_path: str | None = None, progress: bool = True, callbacks: list | None = None,
            watch: bool = False, log: Callable[[str], Any] | None = None, **overrides: Any) -> RunResult:
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
    callbacks : list of Callback, optional
        Passed to ``fit``.
    watch : bool
        Also record :class:`~initlab.nn.ActivationStats` (about 200 records: per-layer statistics, weight
        and activation histograms, update/weight ratios) into ``extras["stats"]``.
    log : callable, optional
        Called with one line per event worth saying (a dead output at init and its redraw).
    **overrides
        Any :class:`LabConfig` field.
    """
    cfg = get_lab(cfg, **overrides)
    if seed is not None:
        cfg = cfg.replace(seed=int(seed))
    if cfg.kind == "study":
        return run_study(cfg, data_path=data_path, progress=progress)
    check_settings(cfg)
    t0 = time.perf_counter()
    data = data if data is not None else load_lab_data(cfg, data_path)
    cfg, model, draws = draw_live_model(cfg, data, log)
    cbs = list(callbacks or [])
    stats = None
    if watch:
        stats = nn.ActivationStats(every=stats_every(cfg, len(data.x_train)), histograms=True)
        cbs.append(stats)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = fit_model(model, cfg, data, progress=progress, callbacks=cbs)
        metrics = final_metrics(model, cfg, data)
        proba = np.asarray(model.predict(data.x_test, batch_size=4096))
    metrics.update(curve_metrics(cfg, history))
    tables = {}
    if output_can_die(cfg):
        metrics["output_dead_at_init"] = float(draws["dead"].iloc[-1])
        metrics["dead_draws"] = float(draws["dead"].sum())
        if draws["dead"].any():
            tables["init_draws"] = draws
    extras: dict[str, Any] = {"model": model}
    if stats is not None:
        extras["stats"] = stats
    return RunResult(cfg, history, metrics, proba=proba, labels=data.labels_test, images=data.images_test,
                     y_true=data.y_test, class_names=list(data.class_names), source=data.source,
                     seconds=time.perf_counter() - t0, tables=tables, extras=extras)


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
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def save_run(result: RunResult, out_dir: str | os.PathLike, *, figures: dict | None = None) -> Path:
    """Write ``history.csv``, ``metrics.json`` (ours, the notes', the data source), ``config.json``,
    ``predictions.csv`` (classifiers and regression), ``layers.csv`` (the per-layer training statistics of
    a watched run), ``tables/*.csv`` and ``figures/*.png`` into ``out_dir``.

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
            "notes": [{k: _clean(v) for k, v in r.items()} for r in result.notes_table()[
                ["metric", "notes", "ours", "difference", "comparable", "settings"]].to_dict(orient="records")],
        }
        atomic_write_text(tmp / "metrics.json", json.dumps(meta, indent=2, default=_json_default) + "\n")
        atomic_write_text(tmp / "config.json", result.config.to_json() + "\n")
        if result.proba is not None:
            with atomic_write(tmp / "predictions.csv", "w") as fh:
                predictions_frame(result).to_csv(fh, index=False)
        stats = result.extras.get("stats")
        if stats is not None:
            with atomic_write(tmp / "layers.csv", "w") as fh:
                stats.layers.to_csv(fh, index=False)
        for name, table in result.tables.items():
            with atomic_write(tmp / "tables" / f"{name}.csv", "w") as fh:
                table.to_csv(fh, index=False)
        for name, fig in (figures or {}).items():
            from ..plots.common import save_figure

            save_figure(fig, tmp / "figures" / f"{name}.png", dpi=110)
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
