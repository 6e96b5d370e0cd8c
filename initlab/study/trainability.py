"""Does the edge of chaos decide what trains? (Schoenholz, Gilmer, Ganguli & Sohl-Dickstein 2017, Fig. 5–6).

Fully connected networks of ``depth`` hidden layers of ``width`` units are trained on MNIST over a grid of
:math:`\\sigma_w^2 \\times` depth at fixed :math:`\\sigma_b^2`; each grid point is one seeded training run
(:func:`train_point`). Weights :math:`N(0, \\sigma_w^2/\\text{fan\\_in})` (the readout too), biases
:math:`N(0, \\sigma_b^2)`, inputs scaled to [0, 1]. Beside each point: the mean-field :math:`\\chi_1` and
correlation depth :math:`\\xi_c` (:func:`theory_at`). The paper's claim: a network trains when
:math:`L \\lesssim 6\\,\\xi_c`. The study scores it (:mod:`initlab.study.scores`) by the maximum trainable
depth per :math:`\\sigma_w^2` against :math:`6\\xi_c` (log–log correlation and slope) and by the balanced accuracy
of "trainable iff :math:`L < 6\\xi_c`", always beside two baselines that ignore the theory: "always
trainable" and the best constant depth cutoff (fitted on the same data).

The theory is :func:`initlab.theory.solve` with the engine's :math:`q^0` (the training images' mean square,
so :math:`q^1 = \\sigma_w^2 q^0 + \\sigma_b^2`) and, with dropout (``dropout = p`` after every hidden layer),
dropout's own maps, under which :math:`c = 1` is no fixed point and :math:`\\xi_c` stays finite everywhere
(Schoenholz et al. §4).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Sequence

import numpy as np

from .._repr import ShowsItself
from .._spec import ConfigError
from ..schema import TRAIN_ROW_DTYPES
from ..sweep.task import JsonConfig, Measured, Task

__all__ = ["TrainPoint", "TrainJob", "TrainTask", "StudyData", "PRESETS", "theory_at", "train_point", "trainability",
           "agreement", "score_table", "load_study_data", "data_name", "TrainabilityResult"]

#: Presets. ``quick`` (minutes on 2 cores): both phases of tanh at σ_b² 0.05 (critical σ_w² 1.76), depths to 100,
#: width 100, 3 seeds, 300 steps of SGD at learning rate 0.01 (RMSProp at 1e-3 trains no depth-50 network in 1,000
#: steps even at criticality). ``paper``: the setting of Schoenholz et al. Fig. 5 scaled to hours on a laptop
#: (depths to 300, width 256, 10 σ_w², 3 seeds, 3,000 steps).
PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(sigma_w2=(1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0), depth=(6, 12, 25, 50, 100),
                  width=100, steps=(300,), batch_size=64, subset=2000, test_subset=500, lr=0.01,
                  optimizer="sgd", seeds=(0, 1, 2)),
    "paper": dict(sigma_w2=tuple(np.round(np.linspace(1.0, 4.0, 10), 4)),
                  depth=(10, 20, 40, 60, 100, 150, 200, 300), width=256, steps=(1000, 3000), batch_size=128,
                  subset=10000, test_subset=2000, lr=0.01, optimizer="sgd", seeds=(0, 1, 2)),
}


@dataclass(frozen=True)
class TrainPoint:
    """One seeded training run of the grid (everything that decides its result)."""

    sigma_w2: float
    depth: int
    seed: int = 0
    act: str = "tanh"
    sigma_b2: float = 0.05
    width: int = 48
    optimizer: str = "rmsprop"
    lr: float = 1e-3
    steps: tuple[int, ...] = (100, 300)
    batch_size: int = 64
    dropout: float = 0.0

    def __post_init__(self):
        if not (math.isfinite(self.sigma_w2) and self.sigma_w2 > 0):
            raise ConfigError(f"sigma_w2 must be finite and > 0, got {self.sigma_w2}")
        if self.depth < 1 or self.width < 1 or self.batch_size < 1:
            raise ConfigError("depth, width and batch_size must be >= 1")
        if not self.steps or min(self.steps) < 1:
            raise ConfigError("steps must be a non-empty list of integers >= 1")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.optimizer not in ("sgd", "rmsprop"):
            raise ConfigError(f"optimizer must be sgd or rmsprop (the paper's), got '{self.optimizer}'")
        object.__setattr__(self, "steps", tuple(sorted(set(int(s) for s in self.steps))))


@dataclass(frozen=True)
class StudyData:
    """Flattened float32 inputs in [0, 1] and integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""


def load_study_data(subset: int, test_subset: int, path: str | None = None) -> StudyData:
    """The first ``subset`` MNIST training images and the first ``test_subset`` test images, flattened, /255."""
    from ..datasets import load_mnist

    d = load_mnist(path)
    flat = lambda a, n: np.ascontiguousarray(a[:n].reshape(min(n, len(a)), -1), dtype=np.float32) / 255.0  # noqa: E731
    return StudyData(flat(d.x_train, subset), np.asarray(d.y_train[:subset], np.int64), flat(d.x_test, test_subset),
                     np.asarray(d.y_test[:test_subset], np.int64), ", ".join(str(f) for f in d.files) or "mnist")


def theory_at(act: str, sigma_w2: Any, sigma_b2: float, dropout: float = 0.0, q0: float = 1.0) -> dict[str, np.ndarray]:
    """Mean-field ``chi1``, ``xi_c``, ``q_star``, ``c_star`` and ``phase`` at each ``sigma_w2`` (vectorised):
    :func:`initlab.theory.solve` from the input's second moment ``q0``, with dropout in the maps."""
    from ..theory.meanfield import solve

    r = solve(act, np.atleast_1d(np.asarray(sigma_w2, dtype=np.float64)), sigma_b2, q0=q0, dropout=dropout)
    return {k: r[k] for k in ("chi1", "xi_c", "q_star", "c_star", "phase")}


def _build(point: TrainPoint, n_in: int):
    from .. import nn

    std = math.sqrt(point.sigma_b2)
    bias = f"normal:{std!r}" if std > 0 else "zeros"
    init = f"variance_scaling:scale={point.sigma_w2!r},mode=fan_in,distribution=untruncated_normal"
    layers: list = [nn.Input((n_in,))]
    for _ in range(point.depth):
        layers.append(nn.Dense(point.width, act=point.act, init=init, bias_init=bias))
        if point.dropout:
            layers.append(nn.Dropout(point.dropout))
    layers.append(nn.Dense(10, act="softmax", init=init, bias_init=bias))
    model = nn.Sequential(layers, seed=point.seed)
    opt = f"{point.optimizer}:learning_rate={point.lr!r}"
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_point(point: TrainPoint, data: StudyData) -> list[dict[str, Any]]:
    """Train one network for exactly ``point.steps`` mini-batch steps and evaluate it at every checkpoint.

    Steps run as whole epochs over ``data.x_train`` (mini-batches of ``batch_size``, reshuffled by a
    generator seeded from ``point.seed``) and, for the remainder short of an epoch, one pass over a random
    subset of ``remainder × batch_size`` images: ``steps_done`` equals the checkpoint. Returns one row per
    checkpoint: the point's fields, ``steps_done``, ``train_loss``, ``train_acc`` (on the whole training subset,
    inference mode), ``test_loss``, ``test_acc``, ``diverged`` (a non-finite loss: accuracies are then those of
    the non-finite outputs, i.e. counted as wrong) and ``seconds``.
    """
    t0 = time.perf_counter()
    n = data.x_train.shape[0]
    bs = min(point.batch_size, n)
    per_epoch = -(-n // bs)
    model = _build(point, data.x_train.shape[1])
    rows, done, epochs = [], 0, 0
    seeds = np.random.SeedSequence(point.seed).spawn(len(point.steps))
    with np.errstate(all="ignore"):
        for target, ss in zip(point.steps, seeds):
            full, rem = divmod(target - done, per_epoch)
            s1, s2 = (int(v) for v in ss.generate_state(2))
            if full:
                model.fit(data.x_train, data.y_train, batch_size=bs, epochs=epochs + full, initial_epoch=epochs,
                          verbose=0, seed=s1)
                epochs += full
            if rem:  # rem * bs < n images: exactly rem steps
                idx = np.sort(np.random.default_rng(s2).permutation(n)[: rem * bs])
                model.fit(data.x_train[idx], data.y_train[idx], batch_size=bs, epochs=epochs + 1,
                          initial_epoch=epochs, verbose=0, seed=s2)
                epochs += 1
            done = int(model.optimizer.iterations)  # the optimizer's own count: equals target
            tr = model.evaluate(data.x_train, data.y_train)
            te = model.evaluate(data.x_test, data.y_test)
            rows.append({**asdict(point), "steps": target, "steps_done": done, "train_loss": float(tr.iloc[0]),
                         "train_acc": float(tr.iloc[1]), "test_loss": float(te.iloc[0]), "test_acc": float(te.iloc[1]),
                         "diverged": not math.isfinite(float(tr.iloc[0])), "seconds": time.perf_counter() - t0})
    return rows


@dataclass(frozen=True)
class TrainJob(JsonConfig):
    """One point of the study as a task of the experiment engine: a :class:`TrainPoint` and the name of the
    data it trains on (part of the point's key, so a store never mixes data sets)."""

    point: TrainPoint
    data: str

    @property
    def seed(self) -> int:
        return self.point.seed

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self.point), "data": self.data}

    @classmethod
    def from_dict(cls, d: Any) -> "TrainJob":
        d = dict(d)
        data = d.pop("data")
        return cls(TrainPoint(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}), data)


class TrainTask(Task):
    """The training point (:func:`train_point`) as a task: its rows are the checkpoints
    (:data:`~initlab.schema.TRAIN_ROW_DTYPES`); it holds the :class:`StudyData` its points train on."""

    schema_name = "train"
    config_type = TrainJob
    preload = ("initlab.study.trainability", "initlab.nn")

    def __init__(self, data: StudyData):
        self.data = data

    def measure(self, config: TrainJob, seed: int, rows: bool = True) -> Measured:
        rows = train_point(replace(config.point, seed=seed), self.data)
        return Measured({}, {c: np.array([r[c] for r in rows]) for c in TRAIN_ROW_DTYPES})


def data_name(data: StudyData) -> str:
    """What a point records about its data: the source and the numbers of training and test samples."""
    return f"{data.source} [{data.x_train.shape[0]} train, {data.x_test.shape[0]} test]"


def agreement(frame, threshold: float, factor: float = 6.0):
    """Per ``steps``: the fraction of points where ``train_acc > threshold`` equals ``depth < factor · xi_c``
    (plain accuracy of the rule, all seeds pooled; see :mod:`initlab.study.scores` for the scores that matter)."""
    trainable = frame["train_acc"] > threshold
    predicted = frame["depth"] < factor * frame["xi_c"]
    return (trainable == predicted).groupby(frame["steps"]).mean()


@dataclass(repr=False)
class TrainabilityResult(ShowsItself):
    """``points``: one row per grid point × seed × checkpoint (the fields of :class:`TrainPoint`, the metrics
    of :func:`train_point`, and the theory's ``chi1``, ``xi_c``, ``phase``); ``curves``: the theory on a fine
    σ_w² grid (``sigma_w2``, ``chi1``, ``xi_c``); ``critical_sigma_w2`` (χ₁ = 1 without dropout; NaN if none);
    ``settings``; ``threshold``; ``agreement`` (per steps, :func:`agreement`); ``seconds``; ``scores`` (per
    steps and seed, :func:`~initlab.study.scores.trainability_scores`: the rule against the baselines)."""

    points: Any
    curves: Any
    critical_sigma_w2: float
    settings: dict
    threshold: float
    agreement: Any
    seconds: float
    scores: Any = None

    #: The files of its run folder (:meth:`to_dir`).
    RUN_FILES = ("points.csv", "curves.csv", "agreement.csv", "scores.csv", "frames.json", "settings.json",
                 "trainability.png")

    def figures(self):
        """``{"trainability": heatmap}`` (:func:`initlab.plots.trainability.trainability_heatmap`), built lazily."""
        from .._result import LazyFigures

        def heatmap():
            from ..plots.trainability import trainability_heatmap

            return trainability_heatmap(self.points, self.curves, critical_sigma_w2=self.critical_sigma_w2,
                                        scores=self.scores, threshold=self.threshold)

        if "_figures" not in self.__dict__:
            self.__dict__["_figures"] = LazyFigures({"trainability": heatmap})
        return self.__dict__["_figures"]

    def report(self, path: Any) -> Any:
        """Write the PDF report (:func:`initlab.report.study.write_trainability_report`)."""
        from ..report.study import write_trainability_report

        return write_trainability_report(self, path)

    def to_dir(self, path: Any) -> Any:
        """Write the run folder as a unit (:func:`initlab._io.staged_dir`): the frames (``points.csv``,
        ``curves.csv``, ``agreement.csv``, ``scores.csv``, full precision, dtypes in ``frames.json``), ``settings.json`` and the
        figure ``trainability.png``. :meth:`from_dir` reads it back bit for bit."""
        import json
        from pathlib import Path

        import pandas as pd

        from .._io import staged_dir
        from .._result import write_frames
        from ..report.pdf import write_png

        agree = pd.DataFrame({"steps": self.agreement.index.to_numpy(), "agreement": self.agreement.to_numpy()})
        with staged_dir(path) as tmp:
            frames = {"points": self.points, "curves": self.curves, "agreement": agree}
            if self.scores is not None:
                frames["scores"] = self.scores
            write_frames(tmp, frames)
            meta = {"settings": self.settings, "threshold": self.threshold,
                    "critical_sigma_w2": self.critical_sigma_w2, "seconds": self.seconds}
            (tmp / "settings.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            write_png(tmp / "trainability.png", self.figures()["trainability"])
        return Path(path)

    @classmethod
    def from_dir(cls, path: Any) -> "TrainabilityResult":
        """The result :meth:`to_dir` wrote into ``path``."""
        import json
        from pathlib import Path

        from .._result import read_frames

        f = read_frames(path)
        meta = json.loads((Path(path) / "settings.json").read_text(encoding="utf-8"))
        agree = f["agreement"].set_index("steps")["agreement"].rename(None)
        return cls(f["points"], f["curves"], float(meta["critical_sigma_w2"]), meta["settings"],
                   float(meta["threshold"]), agree, float(meta["seconds"]), f.get("scores"))

    def _repr_facts(self) -> str:
        p = self.points
        return (f"{p['sigma_w2'].nunique()} σ_w² × {p['depth'].nunique()} depths, steps "
                f"{', '.join(str(s) for s in sorted(p['steps'].unique()))}, critical σ_w² "
                f"{self.critical_sigma_w2:.4g}, {self.seconds:.1f} s")

    def _repr_table(self):
        """Training accuracy at the last checkpoint, mean over seeds (rows: depth, columns: σ_w²)."""
        last = self.points[self.points["steps"] == self.points["steps"].max()]
        table = last.pivot_table(index="depth", columns="sigma_w2", values="train_acc")
        table.columns = [f"σ_w²={c:g}" for c in table.columns]
        return table.reset_index()

    def _repr_figure(self):

        return self.figures()["trainability"]

    def summary(self) -> str:
        lines = []
        for steps, part in self.points.groupby("steps"):
            table = part.pivot_table(index="depth", columns="sigma_w2", values="train_acc")
            seeds = sorted(part["seed"].unique())
            lines.append(f"training accuracy after {steps} steps, mean over seeds {', '.join(map(str, seeds))} "
                         "(rows: depth, columns: sigma_w2):")
            lines.append(table.to_string(float_format=lambda v: f"{v:.2f}"))
            if self.scores is not None:
                lines.append(score_table(self.scores[self.scores["steps"] == steps], self.threshold))
            lines.append("")
        return "\n".join(lines)


def score_table(scores, threshold: float) -> str:
    """The scores of one ``steps`` as text: the rule beside the baselines, per seed and their mean."""
    head = (f"trainable: train_acc > {threshold:g}.  balanced accuracy (plain accuracy) of 'depth < 6 xi_c' vs "
            "'always trainable' vs the best constant cutoff 'depth < D' (D fitted on these data);\n"
            "max trainable depth per sigma_w2 vs 6 xi_c: log-log correlation r and slope")
    rows = ["seed   6 xi_c rule    always        cutoff D  cutoff        r       slope   beats both"]
    for _, r in scores.iterrows():
        rows.append(f"{int(r['seed']):<6} {r['bacc_rule']:.3f} ({r['acc_rule']:.3f})  {r['bacc_always']:.3f} "
                    f"({r['acc_always']:.3f})  {r['cutoff']:<8g}  {r['bacc_cutoff']:.3f} ({r['acc_cutoff']:.3f})  "
                    f"{r['max_depth_r']:+.3f}  {r['max_depth_slope']:+.3f}  {'yes' if r['beats_baselines'] else 'no'}")
    m = scores.mean(numeric_only=True)
    rows.append(f"mean   {m['bacc_rule']:.3f} ({m['acc_rule']:.3f})  {m['bacc_always']:.3f} ({m['acc_always']:.3f})  "
                f"{'':<8}  {m['bacc_cutoff']:.3f} ({m['acc_cutoff']:.3f})  {m['max_depth_r']:+.3f}  "
                f"{m['max_depth_slope']:+.3f}  {int(scores['beats_baselines'].sum())}/{len(scores)}")
    return head + "\n" + "\n".join(rows)


def trainability(sigma_w2: Sequence[float], depth: Sequence[int], *, data: StudyData, threshold: float = 0.5,
                 seed: int | Sequence[int] = 0, workers: int | None = None, scheduler: Any = None,
                 dask_local: int | None = None, threads: int | None = None, store: Any = None,
                 progress: bool = False,
                 **point_kw: Any) -> TrainabilityResult:
    """Train the grid ``sigma_w2 × depth`` once per seed (``seed``: one or several) and join the theory.

    ``point_kw`` are the other fields of :class:`TrainPoint` (act, sigma_b2, width, optimizer, lr, steps,
    batch_size, dropout). The points run on the experiment engine (:func:`initlab.sweep.run.run_task`):
    ``workers`` local processes (default one per core; 1 runs here), a Dask ``scheduler`` or a ``dask_local``
    cluster, ``threads`` BLAS threads per worker; with a ``store`` (SQLite file) a rerun skips every stored
    point. Every point seeds itself, so the rows do not depend on where it ran (given the BLAS threads). The
    theory starts from the training images' mean square (the engine's :math:`q^0`).
    """
    import pandas as pd

    from ..sweep.run import run_task
    from .scores import trainability_scores

    if not math.isfinite(threshold):
        raise ConfigError(f"threshold must be a finite number, got {threshold}")
    t0 = time.perf_counter()
    seeds = [int(seed)] if np.ndim(seed) == 0 else [int(s) for s in seed]
    base = TrainPoint(1.0, 1, seed=seeds[0], **point_kw)
    pts = [replace(base, sigma_w2=float(s), depth=int(d), seed=k) for k in seeds for d in depth for s in sigma_w2]
    name = data_name(data)
    q0 = float(np.mean(np.square(data.x_train, dtype=np.float64)))
    settings = {**{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(base).items()
                   if k not in ("sigma_w2", "depth", "seed")},
                "seeds": seeds, "sigma_w2": [float(s) for s in sigma_w2], "depth": [int(d) for d in depth],
                "train_samples": int(data.x_train.shape[0]), "test_samples": int(data.x_test.shape[0]),
                "q0": q0, "threshold": threshold, "data": data.source}
    _, rows = run_task(TrainTask(data), [TrainJob(p, name) for p in pts], store=store, workers=workers,
                       scheduler=scheduler, dask_local=dask_local, threads=threads, progress=progress,
                       definition=settings)
    df = rows.drop(columns="point").reset_index(drop=True)
    th = theory_at(base.act, df["sigma_w2"].to_numpy(), base.sigma_b2, base.dropout, q0=q0)
    for k in ("chi1", "xi_c", "phase"):
        df[k] = th[k]
    from ..theory.critical import critical_point

    fine = np.linspace(min(sigma_w2), max(sigma_w2), 200)
    tc = theory_at(base.act, fine, base.sigma_b2, base.dropout, q0=q0)
    curves = pd.DataFrame({"sigma_w2": fine, "chi1": tc["chi1"], "xi_c": tc["xi_c"]})
    crit = critical_point(base.act, base.sigma_b2, q0=q0).sigma_w2 if base.dropout == 0 else math.nan
    return TrainabilityResult(df, curves, float(crit), settings, float(threshold), agreement(df, threshold),
                              time.perf_counter() - t0, trainability_scores(df, threshold))
