"""Train a lab under several initializers and seeds; put the results beside the simulation at init.

:func:`compare_inits` trains the lab once per initializer × seed (the data loaded once), collects the
per-epoch histories into one long frame (``init``, ``seed``, ``epoch``, metrics), and, for each
initializer, runs the simulation engine (:func:`initlab.simulate`) on the lab's hidden stack — the
same widths and activation, fed with a batch of the lab's real training inputs — so the final metrics
sit beside the per-layer activation std and gradient-norm ratio at init.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import atomic_write, staged_dir
from .._repr import ShowsItself
from ..initializers import get_initializer
from .data import load_lab_data
from .config import LabConfig
from .registry import get_lab
from .result import notes_table
from .runs import run_lab
from .training import check_settings
from .._spec import ConfigError
from ..sim.engine import simulate

__all__ = ["Comparison", "compare_inits", "simulate_at_init", "SIM_BATCH", "INIT_THEORY"]

#: Real inputs fed to the simulation of the lab's stack.
SIM_BATCH = 512
#: Mean-field quantities of each initializer's stack shown beside the statistics at init
#: (:func:`initlab.sim.predict.config_summary`: hidden-layer σ_w², χ₁, ξ_c, phase).
INIT_THEORY = ("sigma_w2", "chi1", "xi_c", "phase")


@dataclass(repr=False)
class Comparison(ShowsItself):
    """Results of :func:`compare_inits`.

    Attributes
    ----------
    config : LabConfig
        The lab's settings (its ``init`` is replaced by each of :attr:`inits` in turn).
    inits : list of str
        Initializer specs as given.
    seeds : list of int
    history : DataFrame
        ``init``, ``seed``, ``epoch`` and the trainer's history columns.
    final : DataFrame
        One row per initializer × seed: ``init``, ``seed``, ``seconds`` and the final metrics.
    init_layers : DataFrame or None
        The simulation's per-layer frame at init (schema of :data:`initlab.schema.LAYER_COLUMNS`)
        with an ``init`` column; ``None`` when the engine is unavailable.
    source : str
    seconds : float
    started : datetime
        When the comparison started (UTC): the date of its report unless ``SOURCE_DATE_EPOCH`` is set.
    """

    config: LabConfig
    inits: list[str]
    seeds: list[int]
    history: pd.DataFrame
    final: pd.DataFrame
    init_layers: pd.DataFrame | None
    source: str
    seconds: float
    started: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0))

    #: The files of its run folder (:meth:`to_dir`).
    RUN_FILES = ("history.csv", "final.csv", "init_layers.csv", "notes.csv", "layers_at_init.csv", "frames.json",
                 "comparison.json")

    @property
    def points(self) -> pd.DataFrame:
        """The tidy points: one row per initializer × seed (:attr:`final`)."""
        return self.final

    def to_dir(self, out_dir: str | os.PathLike) -> Path:
        """Write the run folder as a unit (:func:`initlab._io.staged_dir`): ``history.csv``, ``final.csv`` and
        ``layers_at_init.csv`` (full precision, dtypes in ``frames.json``), ``comparison.json`` (the settings),
        and the tables ``init_layers.csv`` (per initializer and layer at init) and ``notes.csv``.
        :meth:`from_dir` reads it back bit for bit. Returns the folder."""
        import json

        from .._result import write_frames

        base = Path(out_dir)
        frames = {"history": self.history, "final": self.final}
        if self.init_layers is not None:
            frames["layers_at_init"] = self.init_layers
        with staged_dir(base) as tmp:
            write_frames(tmp, frames)
            for name, df in (("init_layers", self.init_layer_table()), ("notes", self.notes_table())):
                with atomic_write(tmp / f"{name}.csv", "w") as fh:
                    df.to_csv(fh, index=False)
            meta = {"config": self.config.to_dict(), "inits": list(self.inits), "seeds": list(self.seeds),
                    "source": self.source, "seconds": self.seconds, "started": self.started.isoformat()}
            (tmp / "comparison.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return base

    def _repr_facts(self) -> str:
        return (f"{self.config.name}, {len(self.inits)} initializer(s) × {len(self.seeds)} seed(s), "
                f"{self.config.epochs} epochs, {self.seconds:.1f} s")

    def _repr_table(self) -> pd.DataFrame:
        return self.metrics_summary()

    def _repr_figure(self):
        from ..plots.training import learning_curves

        return learning_curves(self.history, group="init", title=self.config.name)

    save = to_dir

    @classmethod
    def from_dir(cls, path: str | os.PathLike) -> "Comparison":
        """The comparison :meth:`to_dir` wrote into ``path``."""
        import json

        from .._result import read_frames

        f = read_frames(path)
        m = json.loads((Path(path) / "comparison.json").read_text(encoding="utf-8"))
        return cls(LabConfig.from_dict(m["config"]), m["inits"], m["seeds"], f["history"], f["final"],
                   f.get("layers_at_init"), m["source"], float(m["seconds"]), _dt.datetime.fromisoformat(m["started"]))

    def summary(self) -> str:
        """The final-metric table beside the statistics at init (:meth:`table`), as text."""
        return self.table().to_string(index=False)

    def figures(self):
        """``learning_curves`` and, with the simulation at init, ``init_profile`` (:mod:`initlab.plots.training`),
        built lazily. (Its PDF is :func:`initlab.report.labs.write_compare_report`: the report wing sits above
        the labs.)"""
        from .._result import LazyFigures
        from ..plots import training as lp

        make = {"learning_curves": lambda: lp.learning_curves(self.history, group="init",
                                                              title=f"{self.config.name}: initializers")}
        if self.init_layers is not None and not self.init_layers.empty:
            make["init_profile"] = lambda: lp.init_profile(self.init_layers, group="init")
        return LazyFigures(make)

    def metric_names(self) -> list[str]:
        """Final-metric columns, the notes' metrics first."""
        cols = [c for c in self.final.columns if c not in ("init", "seed", "seconds")]
        first = [n.metric for n in self.config.notes if n.metric in cols]
        rest = sorted(cols, key=lambda c: (not c.startswith("test_"), not c.startswith("train_"), c))
        return list(dict.fromkeys(first + rest))

    def metrics_summary(self) -> pd.DataFrame:
        """Per initializer: mean and sample std over seeds of every final metric (``<m>_mean``, ``<m>_std``)."""
        rows = []
        for init in self.inits:
            part = self.final[self.final["init"] == init]
            row: dict[str, Any] = {"init": init, "seeds": len(part)}
            for m in self.metric_names():
                v = part[m].to_numpy(dtype=np.float64)
                row[f"{m}_mean"] = float(np.mean(v)) if v.size else np.nan
                row[f"{m}_std"] = float(np.std(v, ddof=1)) if v.size > 1 else 0.0
            rows.append(row)
        return pd.DataFrame(rows)

    def init_stats(self) -> pd.DataFrame:
        """Per initializer, from the simulation at init: ``std_first``/``std_last`` (layer output std of the
        first and last simulated layer), ``grad_ratio_first`` (gradient norm at the first layer's
        pre-activation over the last's: ≪ 1 vanishing, ≫ 1 exploding) and the mean-field theory of the stack
        (:data:`INIT_THEORY`: σ_w², χ₁, ξ_c and the phase), so "trains worse" reads against "ordered, ξ_c = 4"."""
        if self.init_layers is None or self.init_layers.empty:
            return pd.DataFrame({"init": self.inits})
        rows = []
        for init in self.inits:
            part = self.init_layers[self.init_layers["init"] == init].groupby("layer")[
                ["act_std", "grad_pre_ratio"]].mean()
            first = self.init_layers[self.init_layers["init"] == init].iloc[0]
            rows.append({"init": init, "std_first": float(part["act_std"].iloc[0]),
                         "std_last": float(part["act_std"].iloc[-1]),
                         "grad_ratio_first": float(part["grad_pre_ratio"].iloc[0]),
                         **{k: first[k] for k in INIT_THEORY if k in first.index}})
        return pd.DataFrame(rows)

    def table(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """The final-metric table (``mean ± std`` strings for the main metrics) beside :meth:`init_stats`."""
        metrics = metrics or self.metric_names()[:3]
        s = self.metrics_summary()
        out = pd.DataFrame({"init": s["init"], "seeds": s["seeds"]})
        for m in metrics:
            out[m] = [f"{a:.4f} ± {b:.4f}" for a, b in zip(s[f"{m}_mean"], s[f"{m}_std"])]
        stats = self.init_stats()
        return out.merge(stats, on="init", how="left")

    def init_layer_table(self) -> pd.DataFrame:
        """Per initializer and layer: ``width``, ``act_std``, ``grad_pre_ratio`` at init (mean over trials)."""
        if self.init_layers is None or self.init_layers.empty:
            return pd.DataFrame()
        g = self.init_layers.groupby(["init", "layer"], sort=False)[["width", "act_std", "grad_pre_ratio"]].mean()
        return g.reset_index()

    def notes_table(self) -> pd.DataFrame:
        """The notes' numbers beside ours (mean and spread over seeds) for every initializer: a note with a
        condition (``init=he``) where it matches; an unconditional note beside every initializer, marked not
        comparable (``comparable``, ``settings``) for an initializer other than the notes'."""
        frames = []
        for init in self.inits:
            part = self.final[self.final["init"] == init]
            t = notes_table(self.config.replace(init=init), part.to_dict(orient="records"))
            t.insert(0, "init", init)
            frames.append(t)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def simulate_at_init(cfg: LabConfig, init: str, x: np.ndarray | None, seed: int = 0,
                     n_outputs: int = 1, progress: bool = False) -> pd.DataFrame:
    """The engine's per-layer frame for the lab's hidden stack (or its output layer, with a linear
    activation, when there are no hidden layers) under ``init``, fed with ``x`` (real inputs) or, when
    ``x`` is None, a Gaussian batch of the input dimension."""
    widths = list(cfg.hidden) or [int(n_outputs)]
    act = cfg.act if cfg.hidden else "linear"
    kw: dict[str, Any] = dict(init=init, act=act, depth=len(widths), width=widths, seed=seed, bias_init=cfg.bias_init)
    if x is not None:
        kw["x"] = np.asarray(x, dtype=np.float32)
    res = simulate(progress=progress, **kw)
    df = res.layers.copy()
    df["init"] = init
    # the init-time theory of the stack (issue 12 §3): chi1, xi_c and the phase, one value per initializer
    from ..sim.predict import config_summary

    summary = config_summary(res.config).iloc[0]
    for key in INIT_THEORY:
        df[key] = summary[key]
    return df


def compare_inits(cfg: LabConfig | str, inits: list[str], seeds: int | list[int] = 3, *,
                  data_path: str | None = None, progress: bool = True, simulate: bool = True,
                  log: Any = None, **overrides: Any) -> Comparison:
    """Train ``cfg`` under each initializer in ``inits`` and each seed.

    Parameters
    ----------
    cfg : LabConfig or str
        A training lab.
    inits : list of str
        Initializer specs (``"xavier"``, ``"he"``, ``"normal:0.01"``...); validated before anything runs.
    seeds : int or list of int
        ``3`` means seeds ``cfg.seed, cfg.seed + 1, cfg.seed + 2``.
    simulate : bool
        Also run the simulation at init for each initializer.
    log : callable, optional
        Called with one line per finished run.
    """
    cfg = get_lab(cfg, **overrides)
    if cfg.kind != "train":
        raise ConfigError(f"lab '{cfg.name}' is a study with no model to compare initializers on; "
                          "use a training lab (initlab labs)")
    check_settings(cfg)
    for spec in inits:
        get_initializer(spec)
    seed_list = list(range(cfg.seed, cfg.seed + int(seeds))) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list or not inits:
        raise ConfigError("need at least one initializer and one seed")
    t0 = time.perf_counter()
    started = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    data = load_lab_data(cfg, data_path)
    histories, finals, sims = [], [], []
    for init in inits:
        for seed in seed_list:
            res = run_lab(cfg.replace(init=init, seed=seed), data=data, progress=progress)
            h = res.history.copy()
            h.insert(0, "seed", seed)
            h.insert(0, "init", init)
            histories.append(h)
            finals.append({"init": init, "seed": seed, "seconds": res.seconds, **res.metrics})
            if log is not None:
                main = ", ".join(f"{k} {v:.4f}" for k, v in res.metrics.items() if k.startswith(cfg.eval_on))
                log(f"{init:>16} seed {seed}: {main} ({res.seconds:.1f} s)")
        if simulate:
            x = data.x_train[:SIM_BATCH]
            sims.append(simulate_at_init(cfg, init, x, seed=seed_list[0], n_outputs=data.n_outputs))
    return Comparison(cfg, list(inits), seed_list, pd.concat(histories, ignore_index=True), pd.DataFrame(finals),
                      pd.concat(sims, ignore_index=True) if sims else None, data.source, time.perf_counter() - t0,
                      started)
