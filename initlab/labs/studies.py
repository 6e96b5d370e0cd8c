"""The study labs: experiments that are not one model trained once.

* ``init-histograms``: the classic simulation (tanh with N(0, 0.01), N(0, 1), Xavier; ReLU with Xavier, He)
  through the engine, with its histogram grid and the std of every layer.
* ``activations``: every activation and its derivative, and the problems the notes list measured:
  saturation, non-zero-centred output, dead units.
* ``learning-rate``: an MNIST subset under a too-small, a good and a too-large rate, and step, exponential
  and cyclic schedules.
* ``regularization``: none vs L2 vs dropout vs BatchNorm vs early stopping; train/validation curves and
  the generalization gap (training minus validation accuracy of the final model in inference mode).
* ``loss-comparison``: the notes' two models with the same 33% error (:mod:`.loss_comparison`).
* ``mse-vs-ce`` and ``zero-centred``: the output gradient of MSE and cross-entropy far from the answer; the
  same-sign weight gradients after a sigmoid and the zig-zag they cause (:mod:`.lessons`).
* ``preprocessing``, ``dead-relu-lr``, ``batchnorm-batch``, ``model-size``: the lessons that need
  training (:mod:`.lessons_training`).

Each returns a :class:`~initlab.labs.runs.RunResult` whose ``metrics`` carry the numbers the lab reports,
``tables`` its tables and ``extras["figures"]`` its figures.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import pandas as pd

from .._spec import ConfigError
from ..activations import ACTIVATIONS, SATURATION_FRACTION, get_activation
from .data import load_lab_data
from .lessons import W_STAR, output_gradients, same_sign_fraction, zigzag
from .lessons_training import LESSON_STUDIES
from .loss_comparison import loss_table
from .config import LabConfig
from .result import RunResult
from .training import build_model, fit_model
from .. import nn
from ..sim.engine import simulate
from ..nn.schedules import CyclicLR, ExponentialDecay, StepDecay

__all__ = ["run_study", "STUDIES", "activation_problems", "parse_variant"]


def parse_variant(v: str) -> tuple[str, str]:
    """``"tanh/normal:0.01"`` → ``("tanh", "normal:0.01")`` (activation, initializer)."""
    act, sep, init = v.partition("/")
    if not sep or not act or not init:
        raise ConfigError(f"init-histograms variants look like 'act/init', got '{v}'")
    return act.strip(), init.strip()


# ------------------------------------------------------------------------------------------------
def _init_histograms(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    from .. import plots  # matplotlib only when a figure is made

    t0 = time.perf_counter()
    depth, width, batch = int(cfg.param("depth", 10)), int(cfg.param("width", 500)), int(cfg.param("batch", 1000))
    frames, figures, tables = [], {}, {}
    groups: dict[str, list[str]] = {}
    for v in cfg.variants:
        act, init = parse_variant(v)
        groups.setdefault(act, []).append(init)
    results = {}
    for act, inits in groups.items():
        res = simulate(init=inits, act=act, depth=depth, width=width, batch=batch, seed=cfg.seed, progress=progress)
        results[act] = res
        df = res.layers.copy()
        frames.append(df)
        if res.histograms is not None:
            figures[f"histograms_{act}"] = plots.histogram_grid(res.histograms, df=df)
    layers = pd.concat(frames, ignore_index=True)
    layers["variant"] = layers["act"].astype(str) + " / " + layers["init"].astype(str)
    std = layers.groupby(["variant", "layer"], sort=False)["act_std"].mean().unstack("layer")
    std.columns = [f"L{c}" for c in std.columns]
    tables["act_std_per_layer"] = std.reset_index()
    figures["std_per_layer"] = plots.moments_vs_layer(layers)
    metrics = {}
    for variant, part in layers.groupby("variant", sort=False):
        last = part[part["layer"] == depth]
        metrics[f"std_last[{variant}]"] = float(last["act_std"].mean())
        metrics[f"saturated_last[{variant}]"] = float(last["saturated"].mean())
    return RunResult(cfg, pd.DataFrame(), metrics, source=f"Gaussian inputs, {batch} x {width}, depth {depth}",
                     seconds=time.perf_counter() - t0, tables=tables,
                     extras={"figures": figures, "layers": layers, "sim": results,
                             "headline": [k for k in metrics if k.startswith("std_last")]})


# ------------------------------------------------------------------------------------------------
def activation_problems(names: list[str] | None = None, *, n: int = 200_000, batch: int = 512, units: int = 256,
                        shift: float = 3.0, seed: int = 0) -> pd.DataFrame:
    """Measure the problems the notes list, for each elementwise activation.

    With :math:`z \\sim N(0, 1)` (``n`` draws from a seeded Generator):

    * ``mean_out`` :math:`= E[\\phi(z)]`, ``std_out``; ``zero_centred`` when
      :math:`|E\\phi| < 0.1\\,\\mathrm{sd}\\,\\phi`
      (sigmoid's 0.5 is the notes' non-zero-centred output: every gradient on the next layer's weights of
      one unit then has the same sign);
    * ``saturated_n01`` / ``saturated_n3``: fraction of inputs with :math:`|\\phi'(z)| < 0.05 \\max|\\phi'|`
      for :math:`z \\sim N(0, 1)` and :math:`N(0, 3^2)` (large pre-activations, as after a bad init);
      ``saturates_both_tails``: that holds at :math:`z = \\pm 10` (sigmoid, tanh: the notes' saturation;
      ReLU's flat negative side is the dead-unit problem instead);
    * ``mean_grad`` :math:`= E|\\phi'(z)|` — how much gradient a layer lets through;
    * ``dead_after_shift``: a ``batch × units`` layer whose pre-activations are :math:`z - 3` (a large
      negative bias, as after one too-large update): the fraction of units whose derivative is exactly 0 for
      every sample (dead; ReLU: :math:`P(\\max z < 3)\\approx 0.5` of units; leaky ReLU, ELU: none).
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    zb = rng.standard_normal((batch, units)) - shift
    rows = []
    for name in names or ACTIVATIONS.names():
        act = get_activation(name)
        if act.pieces != 1:
            continue
        f, g = act.fn_grad(z)
        g3 = act.grad(3.0 * z)
        thr = SATURATION_FRACTION * act.max_grad
        dead = float(np.mean(np.all(act.grad(zb) == 0, axis=0)))
        mean, sd = float(np.mean(f)), float(np.std(f))
        sat1, sat3 = float(np.mean(np.abs(g) < thr)), float(np.mean(np.abs(g3) < thr))
        tails = act.grad(np.array([-10.0, 10.0]))
        saturates = bool(np.all(np.abs(tails) < thr))
        problems = [p for p, bad in (("saturates", saturates), ("not zero-centred", abs(mean) > 0.1 * sd),
                                     ("dead units", dead > 0.05)) if bad]
        rows.append({"act": act.spec, "max_grad": float(act.max_grad), "mean_out": mean, "std_out": sd,
                     "zero_centred": abs(mean) < 0.1 * sd, "saturates_both_tails": saturates,
                     "saturated_n01": sat1, "saturated_n3": sat3,
                     "mean_grad": float(np.mean(np.abs(g))), "dead_after_shift": dead, "can_die": bool(act.can_die),
                     "problems": ", ".join(problems) or "-"})
    return pd.DataFrame(rows)


def _activations(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    from .. import plots  # matplotlib only when a figure is made

    t0 = time.perf_counter()
    names = list(cfg.variants) or None
    table = activation_problems(names, seed=cfg.seed)
    figures = {"gallery": plots.activation_gallery(names, xlim=float(cfg.param("range", 6.0)))}
    table = table.merge(_deep_stack(cfg, table["act"].tolist(), progress), on="act", how="left")
    metrics = {}
    for r in table.itertuples():
        metrics[f"saturated_n3[{r.act}]"] = r.saturated_n3
        metrics[f"mean_out[{r.act}]"] = r.mean_out
        metrics[f"dead_after_shift[{r.act}]"] = r.dead_after_shift
    headline = [k for k in ("mean_out[sigmoid]", "saturated_n3[sigmoid]", "saturated_n3[tanh]",
                            "dead_after_shift[relu]", "dead_after_shift[leaky_relu]") if k in metrics]
    return RunResult(cfg, pd.DataFrame(), metrics, source="Gaussian inputs", seconds=time.perf_counter() - t0,
                     tables={"activation_problems": table}, extras={"figures": figures, "headline": headline})


def _deep_stack(cfg: LabConfig, acts: list[str], progress: bool = False) -> pd.DataFrame:
    """Per activation, a Xavier-initialised stack through the engine: last-layer std, saturated and dead
    fractions, and the first layer's gradient ratio (vanishing when ≪ 1)."""
    depth, width, batch = int(cfg.param("depth", 10)), int(cfg.param("width", 256)), int(cfg.param("batch", 512))
    rows = []
    for a in acts:
        df = simulate(init="xavier", act=a, depth=depth, width=width, batch=batch, seed=cfg.seed,
                      progress=progress).layers
        last, first = df[df["layer"] == depth], df[df["layer"] == 1]
        rows.append({"act": a, f"std_L{depth}": float(last["act_std"].mean()),
                     f"saturated_L{depth}": float(last["saturated"].mean()),
                     f"dead_L{depth}": float(last["dead"].mean()),
                     "grad_ratio_L1": float(first["grad_pre_ratio"].mean())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
def _variant_runs(cfg: LabConfig, data_path: str | None, progress: bool,
                  make: Callable[[str, Any], tuple[LabConfig, dict, list]]) -> tuple[pd.DataFrame, list[dict], str]:
    """Train one model per variant; ``make(variant, data)`` gives its config, ``build_model`` keywords and
    callbacks."""
    data = load_lab_data(cfg, data_path)
    histories, finals = [], []
    for v in cfg.variants:
        vcfg, build_kw, callbacks = make(v, data)
        model = build_model(vcfg, data.n_inputs, data.n_outputs, **build_kw)
        t0 = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            h = fit_model(model, vcfg, data, progress=progress, callbacks=callbacks)
            final = _final(model, data, h)
        h.insert(0, "variant", v)
        histories.append(h)
        finals.append({"variant": v, "seconds": time.perf_counter() - t0, **final,
                       **_train_mode_accuracy(model, data)})
    return pd.concat(histories, ignore_index=True), finals, data.source


def _train_mode_accuracy(model, data) -> dict[str, float]:
    """For a model with dropout: training accuracy with dropout on (as during training: the mask drawn anew
    for every batch, survivors scaled by 1/(1-p)) beside inference mode's, and the mean output of the first
    dropout layer in both modes (inverted dropout keeps the expectation)."""
    drops = [i for i, layer in enumerate(model.layers) if isinstance(layer, nn.Dropout)]
    if not drops:
        return {}
    x, labels = data.x_train, np.argmax(data.y_train, axis=1)
    out: dict[str, float] = {}
    for mode, training in (("train_mode", True), ("test_mode", False)):
        h, first = x, None
        for i, layer in enumerate(model.layers):
            h = np.array(layer.forward(h, training))
            if i == drops[0]:
                first = float(h.mean())
        out[f"{mode}_accuracy"] = float(np.mean(np.argmax(h, axis=1) == labels))
        out[f"{mode}_dropout_mean"] = first
    return out


def _final(model, data, h: pd.DataFrame) -> dict[str, float]:
    """The trained model evaluated in inference mode (no dropout; early stopping's restored weights) on the
    training and validation sets: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``; plus the epochs
    run and the best validation accuracy seen during training."""
    out: dict[str, float] = {}
    parts = [("", data.x_train, data.y_train)]
    if data.x_val is not None:
        parts.append(("val_", data.x_val, data.y_val))
    for prefix, x, y in parts:
        for k, v in dict(model.evaluate(x, y, batch_size=4096).items()).items():
            out[f"{prefix}{k}"] = float(v)
    out["epochs_run"] = int(h["epoch"].iloc[-1])
    if "val_accuracy" in h:
        out["best_val_accuracy"] = float(h["val_accuracy"].max())
    return out


def _schedule(cfg: LabConfig, v: str, steps_per_epoch: int):
    """The per-step learning-rate schedule of variant ``v``, its periods given in epochs in ``cfg.params``:
    ``step`` halves the rate every ``step_every`` epochs, ``exponential`` multiplies it by ``exp_rate`` per
    epoch (smoothly), ``cyclic`` is Smith's triangle between ``cyc_low`` and ``cyc_high`` with a half
    cycle of ``cyc_half`` epochs."""
    lr0, spe = float(cfg.lr), int(steps_per_epoch)
    if v == "step":
        return StepDecay(initial_learning_rate=lr0, drop=float(cfg.param("step_factor", 0.5)),
                         every=int(cfg.param("step_every", 3)) * spe)
    if v == "exponential":
        return ExponentialDecay(initial_learning_rate=lr0, decay_rate=float(cfg.param("exp_rate", 0.8)),
                                decay_steps=spe)
    if v == "cyclic":
        return CyclicLR(base_lr=float(cfg.param("cyc_low", 0.01)), max_lr=float(cfg.param("cyc_high", 0.3)),
                        step_size=int(cfg.param("cyc_half", 2)) * spe)
    raise ConfigError(f"learning-rate variants are 'lr=X', 'step', 'exponential' or 'cyclic', got '{v}'")


def _learning_rate(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    t0 = time.perf_counter()

    def make(v: str, data):
        if v.startswith("lr="):
            try:
                return cfg.replace(lr=float(v[3:])), {}, []
            except ValueError:
                raise ConfigError(f"bad learning-rate variant '{v}'") from None
        n_train = len(data.x_train)
        spe = -(-n_train // (cfg.batch_size or n_train))
        return cfg, {"learning_rate": _schedule(cfg, v, spe)}, []

    hist, finals, source = _variant_runs(cfg, data_path, progress, make)
    table = pd.DataFrame(finals)
    metrics = {f"val_accuracy[{r['variant']}]": r.get("val_accuracy", np.nan) for r in finals}
    return RunResult(cfg, hist, metrics, source=source, seconds=time.perf_counter() - t0,
                     tables={"learning_rates": table}, extras={"headline": list(metrics)})


def _regularization(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    t0 = time.perf_counter()

    def make(v: str, data):
        hidden = range(len(cfg.hidden))
        if v == "none":
            return cfg, {}, []
        if v == "l2":
            return cfg, {"kernel_regularizer": nn.L2(float(cfg.param("l2", 1e-3)))}, []
        if v == "l1":
            return cfg, {"kernel_regularizer": nn.L1(float(cfg.param("l1", 1e-4)))}, []
        if v == "elastic_net":
            return cfg, {"kernel_regularizer": nn.L1L2(float(cfg.param("l1", 1e-4)), float(cfg.param("l2", 1e-3)))}, []
        if v == "dropout":
            return cfg, {"extra_layers": {i: [nn.Dropout(float(cfg.param("dropout", 0.5)))] for i in hidden}}, []
        if v == "batchnorm":  # Dense (linear) -> BatchNorm -> activation, as in Ioffe & Szegedy
            return cfg.replace(act="linear"), {"extra_layers": {i: [nn.BatchNorm(), nn.Activation(cfg.act)]
                                                                for i in hidden}}, []
        if v == "early_stopping":
            return cfg, {}, [nn.EarlyStopping(monitor="val_loss", patience=int(cfg.param("patience", 3)),
                                              restore_best_weights=True)]
        raise ConfigError("regularization variants are none, l1, l2, elastic_net, dropout, batchnorm, "
                          f"early_stopping; got '{v}'")

    hist, finals, source = _variant_runs(cfg, data_path, progress, make)
    table = pd.DataFrame(finals)
    if {"accuracy", "val_accuracy"} <= set(table.columns):
        table["gap"] = table["accuracy"] - table["val_accuracy"]
    if {"loss", "val_loss"} <= set(table.columns):
        table["loss_gap"] = table["val_loss"] - table["loss"]
    metrics = {f"gap[{r.variant}]": float(getattr(r, "gap", np.nan)) for r in table.itertuples()}
    metrics.update({f"loss_gap[{r.variant}]": float(getattr(r, "loss_gap", np.nan)) for r in table.itertuples()})
    metrics.update({f"val_accuracy[{r['variant']}]": r.get("val_accuracy", np.nan) for r in finals})
    return RunResult(cfg, hist, metrics, source=source, seconds=time.perf_counter() - t0,
                     tables={"generalization_gap": table}, extras={"headline": list(metrics)})


# ------------------------------------------------------------------------------------------------
def _loss_comparison(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    t0 = time.perf_counter()
    table = loss_table()
    metrics = {}
    for r in table.itertuples():
        m = r.model.lower()
        metrics[f"error_model_{m}"] = r.error
        metrics[f"ce_model_{m}"] = r.cross_entropy
        metrics[f"mse_model_{m}"] = r.squared_error
    return RunResult(cfg, pd.DataFrame(), metrics, source="the notes' three samples",
                     seconds=time.perf_counter() - t0, tables={"loss_comparison": table})


def _mse_vs_ce(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    from ..plots import studies as ps

    t0 = time.perf_counter()
    table = output_gradients(classes=int(cfg.param("classes", 10)))
    at = output_gradients(np.array([0.01, 0.1, 0.5, 0.9]), classes=int(cfg.param("classes", 10)))
    metrics = {f"{c}[p={r.p:g}]": getattr(r, c) for r in at.itertuples()
               for c in ("sigmoid_ce", "sigmoid_mse", "softmax_ce", "softmax_mse")}
    return RunResult(cfg, pd.DataFrame(), metrics, source="the trainer's backward pass on set logits",
                     seconds=time.perf_counter() - t0, tables={"output_gradients": at},
                     extras={"figures": {"output_gradients": ps.output_gradient_figure(table)},
                             "headline": [k for k in metrics if "p=0.01" in k]})


def _zero_centred(cfg: LabConfig, data_path: str | None, progress: bool) -> RunResult:
    from ..plots import studies as ps

    t0 = time.perf_counter()
    signs = same_sign_fraction(tuple(cfg.variants) or ("sigmoid", "tanh"), depth=int(cfg.param("depth", 4)),
                               width=int(cfg.param("width", 64)), batch=int(cfg.param("batch", 64)), seed=cfg.seed)
    path = zigzag(steps=int(cfg.param("steps", 60)), lr=float(cfg.param("lr", 0.2)), seed=cfg.seed)
    metrics = {f"{c}[{r.act}, layer {r.layer}]": getattr(r, c) for r in signs.itertuples()
               for c in ("per_sample", "per_batch")}
    for kind, part in path.groupby("kind", sort=False):
        metrics[f"same_sign_steps[{kind}]"] = float(part["same_sign"].mean())
        for t in (10, 20):
            metrics[f"distance_step{t}[{kind}]"] = float(part.loc[part["step"] == t, "distance"].iloc[0])
    figures = {"same_sign": ps.same_sign_figure(signs), "zigzag": ps.zigzag_figure(path, W_STAR)}
    return RunResult(cfg, pd.DataFrame(), metrics, source="Gaussian inputs; the 2-parameter toy",
                     seconds=time.perf_counter() - t0, tables={"same_sign": signs},
                     extras={"figures": figures, "headline": [k for k in metrics if "layer 2" in k or "step" in k]})


STUDIES: dict[str, Callable[[LabConfig, str | None, bool], RunResult]] = {
    "init-histograms": _init_histograms,
    "activations": _activations,
    "learning-rate": _learning_rate,
    "regularization": _regularization,
    "loss-comparison": _loss_comparison,
    "mse-vs-ce": _mse_vs_ce,
    "zero-centred": _zero_centred,
    **LESSON_STUDIES,
}


def run_study(cfg: LabConfig, *, data_path: str | None = None, progress: bool = True) -> RunResult:
    """Run the study lab ``cfg`` (see the module docstring)."""
    if cfg.name not in STUDIES:
        raise ConfigError(f"no study named '{cfg.name}'")
    return STUDIES[cfg.name](cfg, data_path, progress)
