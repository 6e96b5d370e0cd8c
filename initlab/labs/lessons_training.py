"""The notes' lessons that need training, each a study: ``initlab train <study>``.

* ``preprocessing`` — zero-centring, normalisation, PCA and whitening on Pima and MNIST: the first layer's
  pre-activation distribution at init and how fast the same network then trains.
* ``dead-relu-lr`` — large learning rates kill ReLUs: the fraction of hidden units that are zero for every
  probe input, after every epoch, for a few SGD learning rates.
* ``batchnorm-batch`` — batch norm with small batches: the noise of the batch mean and variance against the
  batch size (beside :math:`1/\\sqrt{B}` and :math:`\\sqrt{2/(B-1)}`, exact for Gaussian columns), and test
  accuracy against batch size with and without BatchNorm.
* ``model-size`` — the generalisation gap (training minus validation accuracy) against the hidden width.

Each returns a :class:`~initlab.labs.result.RunResult`: ``metrics`` (the headline numbers), ``tables``,
``history`` (``variant`` column) and ``extras["figures"]``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from .. import nn
from .config import LabConfig
from .data import LabData, load_lab_data
from .result import RunResult
from .training import build_model, fit_model

__all__ = ["preprocessing", "dead_relu_lr", "batchnorm_batch", "model_size", "dead_units", "batch_stat_noise",
           "LESSON_STUDIES"]


def _evaluate(model, x, y) -> dict[str, float]:
    return {k: float(v) for k, v in model.evaluate(x, y, batch_size=4096).items()}


def _fit(cfg: LabConfig, data: LabData, progress: bool, callbacks=(), **build) -> tuple[Any, pd.DataFrame]:
    model = build_model(cfg, data.n_inputs, data.n_outputs, **build)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        h = fit_model(model, cfg, data, progress=progress, callbacks=list(callbacks))
    return model, h


# ------------------------------------------------------------------------------------------------ preprocessing
def preprocessing(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    """For each dataset of ``cfg.param("datasets")`` and each preprocessing of ``cfg.variants``: the first
    layer's pre-activation :math:`z = xW + b` at init (mean, std, the fraction with :math:`|z| > 3`, a
    histogram), then training (loss after the first epoch and at the end, final validation accuracy)."""
    from ..plots import studies as ps

    t0 = time.perf_counter()
    bins = int(cfg.param("bins", 40))
    rows, hists, histories = [], [], []
    for name in str(cfg.param("datasets", "pima,mnist")).split(","):
        base = cfg.replace(dataset=name, preprocess="none", hidden=(int(cfg.param(f"{name}_hidden", 32)),),
                           subset=cfg.param(f"{name}_subset"), validation=str(cfg.param(f"{name}_validation", "test")),
                           task="binary" if name == "pima" else "multiclass",
                           out_act="sigmoid" if name == "pima" else "softmax",
                           loss="binary_crossentropy" if name == "pima" else "categorical_crossentropy")
        zs = {}
        for v in cfg.variants:
            c = base.replace(preprocess=v)
            data = load_lab_data(c, data_path)
            model = build_model(c, data.n_inputs, data.n_outputs)
            d = model.layers[0]
            z = data.x_train.astype(np.float64) @ d.kernel + d.bias
            zs[v] = z
            model, h = _fit(c, data, progress)
            h.insert(0, "variant", f"{name}: {v}")
            histories.append(h)
            rows.append({"dataset": name, "preprocess": v, "z_mean": float(z.mean()), "z_std": float(z.std()),
                         "z_beyond_3": float(np.mean(np.abs(z) > 3)), "loss_epoch1": float(h["loss"].iloc[0]),
                         "loss_final": float(h["loss"].iloc[-1]),
                         "val_accuracy": float(h["val_accuracy"].iloc[-1]) if "val_accuracy" in h else np.nan})
        R = max(float(np.quantile(np.abs(z), 0.99)) for z in zs.values())
        edges = np.linspace(-R, R, bins + 1)
        for v, z in zs.items():
            counts = np.histogram(np.clip(z, -R, R), bins=edges)[0]
            hists.append(pd.DataFrame({"dataset": name, "preprocess": v, "lo": edges[:-1], "hi": edges[1:],
                                       "fraction": counts / counts.sum()}))
    table = pd.DataFrame(rows)
    hist = pd.concat(hists, ignore_index=True)
    history = pd.concat(histories, ignore_index=True)
    figures = {"first_layer_at_init": ps.histogram_panels(hist, "dataset", "preprocess", xlabel="z = xW + b at init",
                                                          title="first-layer pre-activations at init"),
               "loss_by_preprocessing": ps.line_panels(history, "epoch", [("loss", "training loss")], "variant",
                                                      title="training loss by preprocessing", logy=("loss",))}
    metrics = {f"{k}[{r.dataset}/{r.preprocess}]": getattr(r, k) for r in table.itertuples()
               for k in ("z_std", "loss_epoch1", "val_accuracy")}
    return RunResult(cfg, history, metrics, source="Pima and MNIST", seconds=time.perf_counter() - t0,
                     tables={"preprocessing": table, "first_layer_histograms": hist},
                     extras={"figures": figures, "headline": [k for k in metrics if k.startswith("loss_epoch1")]})


# ------------------------------------------------------------------------------------------------ dead ReLUs
def dead_units(model, x: np.ndarray) -> list[float]:
    """Per hidden Dense layer, the fraction of its units whose output is 0 for every row of ``x`` (inference);
    NaN for a layer whose outputs are not all finite (a diverged network is not "alive")."""
    out, h = [], x
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in model.layers[:-1]:
            h = layer.forward(h, False)
            if isinstance(layer, nn.Dense):
                out.append(float(np.mean(~np.any(h != 0, axis=0))) if np.isfinite(h).all() else np.nan)
    return out


class _DeadProbe(nn.Callback):
    """Dead units on a fixed probe set at init and after every epoch."""

    def __init__(self, x: np.ndarray):
        super().__init__()
        self.x, self.rows = x, []

    def on_train_begin(self, logs=None):
        self.rows.append(dead_units(self.model, self.x))

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append(dead_units(self.model, self.x))


def dead_relu_lr(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    """Train ``cfg`` (ReLU, SGD) once per learning rate ``lr=X`` of ``cfg.variants``; after every epoch count
    the hidden units that are zero for all of ``probe`` training inputs."""
    from ..plots import studies as ps

    t0 = time.perf_counter()
    data = load_lab_data(cfg, data_path)
    probe = data.x_train[: int(cfg.param("probe", 1000))]
    rows, histories = [], []
    for v in cfg.variants:
        lr = float(v.partition("=")[2])
        c = cfg.replace(lr=lr)
        cb = _DeadProbe(probe)
        model, h = _fit(c, data, progress, [cb])
        h.insert(0, "variant", v)
        histories.append(h)
        for epoch, dead in enumerate(cb.rows):
            for k, f in enumerate(dead):
                rows.append({"lr": lr, "epoch": epoch, "layer": k + 1, "dead": f})
    table = pd.DataFrame(rows)
    mean = table.groupby(["lr", "epoch"], as_index=False)["dead"].agg(lambda d: d.mean(skipna=False))
    figures = {"dead_units": ps.line_panels(mean.assign(lr=mean["lr"].map(lambda r: f"lr={r:g}")), "epoch",
                                           [("dead", "dead hidden units (fraction)")], "lr",
                                           title="large learning rates kill ReLUs (SGD)")}
    final = mean[mean["epoch"] == mean["epoch"].max()]
    metrics = {f"dead_final[lr={r.lr:g}]": r.dead for r in final.itertuples()}
    metrics.update({f"diverged[lr={lr:g}]": float(part["dead"].isna().any()) for lr, part in table.groupby("lr")})
    metrics.update({f"dead_init[lr={r.lr:g}]": r.dead for r in mean[mean["epoch"] == 0].itertuples()})
    history = pd.concat(histories, ignore_index=True)
    return RunResult(cfg, history, metrics, source=data.source, seconds=time.perf_counter() - t0,
                     tables={"dead_units": table}, extras={"figures": figures,
                                                          "headline": [k for k in metrics if "final" in k]})


# ------------------------------------------------------------------------------------------------ batch norm
def batch_stat_noise(z: np.ndarray, sizes: list[int], draws: int, rng: np.random.Generator) -> pd.DataFrame:
    """For each batch size B: over ``draws`` random batches of rows of ``z`` (n, units), the spread of the
    batch mean around the full mean in units of the column std,
    ``mean_noise`` :math:`=\\mathrm{sd}(\\mu_B - \\mu)/\\sigma`, and of the batch variance,
    ``var_noise`` :math:`= \\mathrm{sd}(\\sigma_B^2/\\sigma^2)` (averaged over columns),
    beside :math:`1/\\sqrt B` and :math:`\\sqrt{2/(B-1)}\\,(B-1)/B` (Gaussian columns, biased variance)."""
    mu, sd = z.mean(axis=0), z.std(axis=0)
    keep = sd > 0
    z, mu, sd = z[:, keep], mu[keep], sd[keep]
    rows = []
    for B in sizes:
        idx = np.stack([rng.choice(len(z), size=B, replace=False) for _ in range(draws)])
        zb = z[idx]  # (draws, B, units)
        m = (zb.mean(axis=1) - mu) / sd
        v = zb.var(axis=1) / sd ** 2
        rows.append({"batch": B, "mean_noise": float(m.std(axis=0).mean()), "mean_noise_gauss": 1 / np.sqrt(B),
                     "var_noise": float(v.std(axis=0).mean()),
                     "var_noise_gauss": float(np.sqrt(2 / (B - 1)) * (B - 1) / B) if B > 1 else np.nan})
    return pd.DataFrame(rows)


def batchnorm_batch(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    """The noise of batch statistics of the first layer's pre-activations at init, then test accuracy against
    batch size (``cfg.param("batches")``) for the network with BatchNorm after every hidden Dense and without."""
    from ..plots import studies as ps

    t0 = time.perf_counter()
    data = load_lab_data(cfg, data_path)
    sizes = [int(b) for b in str(cfg.param("batches", "2,4,16,64")).split(",")]
    model = build_model(cfg, data.n_inputs, data.n_outputs)
    d = model.layers[0]
    z = data.x_train.astype(np.float64) @ d.kernel + d.bias
    noise = batch_stat_noise(z, sorted(set(sizes + [8, 32, 128]) & set(range(2, len(z)))),
                             int(cfg.param("draws", 200)), np.random.default_rng(cfg.seed))
    rows, histories = [], []
    hidden = range(len(cfg.hidden))
    for variant in cfg.variants:
        for B in sizes:
            c = cfg.replace(batch_size=B)
            build = {}
            if variant == "batchnorm":  # Dense (linear) -> BatchNorm -> activation
                c = c.replace(act="linear")
                build = {"extra_layers": {i: [nn.BatchNorm(), nn.Activation(cfg.act)] for i in hidden}}
            m, h = _fit(c, data, progress, **build)
            h.insert(0, "variant", f"{variant}, batch {B}")
            histories.append(h)
            rows.append({"variant": variant, "batch": B, **{f"test_{k}": v for k, v in
                                                          _evaluate(m, data.x_test, data.y_test).items()}})
    table = pd.DataFrame(rows)
    figures = {"batch_statistics_noise": ps.line_panels(
        noise.melt(id_vars="batch", value_vars=["mean_noise", "var_noise"], var_name="statistic", value_name="sd"),
        "batch", [("sd", "spread of the batch statistic")], "statistic", logx=True, logy=("sd",),
        title="batch mean and variance are noisy for small batches (first layer at init)"),
        "accuracy_by_batch": ps.line_panels(table, "batch", [("test_accuracy", "test accuracy")], "variant", logx=True,
                                           title="test accuracy against batch size, with and without BatchNorm")}
    metrics = {f"test_accuracy[{r.variant}, batch {r.batch}]": r.test_accuracy for r in table.itertuples()}
    metrics.update({f"var_noise[batch {r.batch}]": r.var_noise for r in noise.itertuples()})
    return RunResult(cfg, pd.concat(histories, ignore_index=True), metrics, source=data.source,
                     seconds=time.perf_counter() - t0, tables={"batch_noise": noise, "accuracy_by_batch": table},
                     extras={"figures": figures, "headline": [k for k in metrics if k.startswith("test_")]})


# ------------------------------------------------------------------------------------------------ model size
def model_size(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    """One hidden layer of each width in ``cfg.variants``: training and validation accuracy of the final model
    (inference mode), their gap, and the number of parameters."""
    from ..plots import studies as ps

    t0 = time.perf_counter()
    data = load_lab_data(cfg, data_path)
    rows, histories = [], []
    for v in cfg.variants:
        c = cfg.replace(hidden=tuple(int(w) for w in v.split("-")))
        m, h = _fit(c, data, progress)
        h.insert(0, "variant", v)
        histories.append(h)
        tr, va = _evaluate(m, data.x_train, data.y_train), _evaluate(m, data.x_val, data.y_val)
        rows.append({"hidden": v, "params": m.count_params(), "train_accuracy": tr["accuracy"],
                     "val_accuracy": va["accuracy"], "gap": tr["accuracy"] - va["accuracy"],
                     "train_loss": tr["loss"], "val_loss": va["loss"]})
    table = pd.DataFrame(rows)
    figures = {"gap_by_size": ps.line_panels(table.assign(model="MLP"), "params",
                                            [("train_accuracy", "training accuracy"), ("val_accuracy",
                                             "validation accuracy"), ("gap", "generalisation gap")], "model",
                                            logx=True, title="model size against the generalisation gap")}
    metrics = {f"gap[{r.hidden}]": r.gap for r in table.itertuples()}
    metrics.update({f"val_accuracy[{r.hidden}]": r.val_accuracy for r in table.itertuples()})
    return RunResult(cfg, pd.concat(histories, ignore_index=True), metrics, source=data.source,
                     seconds=time.perf_counter() - t0, tables={"model_size": table},
                     extras={"figures": figures, "headline": [k for k in metrics if k.startswith("gap")]})


LESSON_STUDIES = {"preprocessing": preprocessing, "dead-relu-lr": dead_relu_lr, "batchnorm-batch": batchnorm_batch,
                  "model-size": model_size}
