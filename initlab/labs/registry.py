"""The course labs as frozen, JSON-serialisable configurations with the notes' settings as defaults.

Every lab of the course notes is one :class:`LabConfig` in :data:`LABS`. Its defaults are the notes'
settings (model, preprocessing, initializer, optimizer, epochs, batch, split, metric); where the notes
say nothing, Keras' defaults apply: Glorot-uniform kernels, zero biases and the optimizers' default
learning rates. Every field can be overridden (:meth:`LabConfig.replace`, ``--set key=value`` on the
command line), and the whole configuration round-trips through JSON (:meth:`LabConfig.to_dict`,
:meth:`LabConfig.from_dict`).

Each lab records the notes' numbers (:attr:`LabConfig.notes`) so that every run can print ours beside them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .._spec import ConfigError, UnknownNameError, closest_match

__all__ = [
    "LabConfig",
    "Note",
    "LABS",
    "KINDS",
    "get_lab",
    "lab_names",
    "parse_override",
    "describe_lab",
]

#: ``train``: one model trained and evaluated; ``study``: a lab that runs its own experiment
#: (simulation, tables, several trainings) and has no single initializer to compare.
KINDS = ("train", "study")
_TASKS = ("binary", "multiclass", "regression", "none")
_EVAL_ON = ("test", "train")
_PREPROCESS = ("none", "minmax", "scale255", "standardize", "multi_hot")


@dataclass(frozen=True)
class Note:
    """One number quoted by the course notes: ``metric`` (e.g. ``test_accuracy``) = ``value``,
    valid when ``when`` (``""`` or ``"init=he"``) matches the configuration."""

    metric: str
    value: float
    when: str = ""

    def applies(self, cfg: "LabConfig") -> bool:
        """Whether the note describes ``cfg`` (its condition is empty or names ``cfg``'s field value)."""
        if not self.when:
            return True
        key, _, want = self.when.partition("=")
        key, want = key.strip(), want.strip()
        have = str(getattr(cfg, key, ""))
        if key in ("init", "bias_init"):  # "he" and "he_normal" are the same initializer
            from ..initializers import get_initializer

            try:
                return get_initializer(have).spec == get_initializer(want).spec
            except ValueError:
                return False
        return have == want


@dataclass(frozen=True)
class LabConfig:
    """Settings of one lab. Defaults are the notes'; every field can be overridden.

    Attributes
    ----------
    name, title : str
        Registry name (``"mnist-mlp"``) and a one-line description.
    kind : {"train", "study"}
        ``train`` labs build :math:`\\text{input} \\to \\text{hidden} \\to \\text{output}` and fit it;
        ``study`` labs run their own experiment (see :mod:`initlab.labs.studies`).
    dataset : str
        ``pima``, ``mnist``, ``imdb``, ``boston``, ``iris`` or ``none``.
    preprocess : str
        ``minmax`` (:math:`(x - \\min) / (\\max - \\min + 10^{-7})` per column), ``scale255`` (flatten, /255),
        ``standardize`` (training mean and std), ``multi_hot`` (word indices to a 0/1 vector) or ``none``.
    task : str
        ``binary``, ``multiclass``, ``regression`` (or ``none`` for studies); decides loss targets and metrics.
    hidden : tuple of int
        Hidden layer widths; ``()`` is a linear/logistic/softmax model.
    act, out_act : str
        Hidden and output activation specs.
    init, bias_init : str
        Kernel and bias initializer specs (every layer).
    loss, optimizer : str
        Trainer names (``binary_crossentropy``, ``adam``, ...).
    lr : float or None
        Learning rate; ``None`` means the optimizer's Keras default.
    epochs : int
    batch_size : int or None
        ``None`` is full-batch gradient descent.
    validation : str
        What is monitored each epoch: ``test`` (the test set; no model selection is made from it),
        ``holdout:N`` (the first N training rows held out, as the notes do for IMDB),
        ``split:F`` (a fraction of the training rows) or ``none``.
    test_split : float
        For datasets without a fixed split (iris): the test fraction, drawn with :attr:`split_seed`.
    split_seed : int
    eval_on : {"test", "train"}
        Where the final metric is measured (the notes evaluate pima on its training data).
    metrics : tuple of str
        Trainer metrics (``accuracy``, ``mae``, ``mse``).
    seed : int
        Seeds weights, shuffling and dropout.
    subset : int or None
        Train on the first ``subset`` training rows and evaluate on the first ``subset`` test rows.
    num_words : int
        Vocabulary size for the text labs.
    variants : tuple of str
        For study labs: the settings compared (activation names, rates, regularizers, init/act pairs).
    params : tuple of (str, value)
        Extra numbers of a study (``(("l2", 1e-3), ...)``); read with :meth:`param`.
    notes : tuple of Note
        The numbers the course notes quote.
    notes_text : str
        How the notes describe the setting (shown by ``initlab labs``).
    """

    name: str
    title: str
    kind: str = "train"
    dataset: str = "none"
    preprocess: str = "none"
    task: str = "multiclass"
    hidden: tuple[int, ...] = ()
    act: str = "relu"
    out_act: str = "softmax"
    init: str = "xavier_uniform"
    bias_init: str = "zeros"
    loss: str = "categorical_crossentropy"
    optimizer: str = "adam"
    lr: float | None = None
    epochs: int = 10
    batch_size: int | None = 32
    validation: str = "test"
    test_split: float = 0.0
    split_seed: int = 0
    eval_on: str = "test"
    metrics: tuple[str, ...] = ("accuracy",)
    seed: int = 0
    subset: int | None = None
    num_words: int = 10000
    variants: tuple[str, ...] = ()
    params: tuple[tuple[str, Any], ...] = ()
    notes: tuple[Note, ...] = ()
    notes_text: str = ""

    def __post_init__(self) -> None:
        for name in ("hidden", "metrics", "variants"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "params", tuple((str(k), v) for k, v in (
            self.params.items() if isinstance(self.params, dict) else self.params)))
        object.__setattr__(self, "notes", tuple(n if isinstance(n, Note) else Note(**n) for n in self.notes))
        if self.kind not in KINDS:
            raise ConfigError(f"lab kind must be one of {', '.join(KINDS)}, got '{self.kind}'")
        if self.task not in _TASKS:
            raise ConfigError(f"task must be one of {', '.join(_TASKS)}, got '{self.task}'")
        if self.preprocess not in _PREPROCESS:
            raise ConfigError(f"preprocess must be one of {', '.join(_PREPROCESS)}, got '{self.preprocess}'")
        if self.eval_on not in _EVAL_ON:
            raise ConfigError(f"eval_on must be 'test' or 'train', got '{self.eval_on}'")
        if any(h < 1 for h in self.hidden):
            raise ConfigError(f"hidden widths must be >= 1, got {self.hidden}")
        if int(self.epochs) < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size is not None and int(self.batch_size) < 1:
            raise ConfigError(f"batch size must be >= 1, got {self.batch_size}")
        if self.lr is not None and not (float(self.lr) > 0 and float(self.lr) < float("inf")):
            raise ConfigError(f"learning rate must be a positive number, got {self.lr}")
        if self.subset is not None and int(self.subset) < 2:
            raise ConfigError(f"subset must be >= 2 rows, got {self.subset}")
        if not 0.0 <= float(self.test_split) < 1.0:
            raise ConfigError(f"test_split must be in [0, 1), got {self.test_split}")
        if int(self.num_words) < 2:
            raise ConfigError(f"num_words must be >= 2, got {self.num_words}")
        _check_validation(self.validation)

    # -- access -----------------------------------------------------------------------------------
    def param(self, key: str, default: Any = None) -> Any:
        """The study parameter ``key`` (from :attr:`params`), or ``default``."""
        for k, v in self.params:
            if k == key:
                return v
        return default

    def applicable_notes(self) -> list[Note]:
        """The notes' numbers that describe this configuration."""
        return [n for n in self.notes if n.applies(self)]

    @property
    def is_image(self) -> bool:
        """True for image classifiers (MNIST): the report draws the sample-predictions grid."""
        return self.dataset == "mnist" and self.task == "multiclass"

    @property
    def is_classifier(self) -> bool:
        return self.task in ("binary", "multiclass")

    # -- changes ----------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> "LabConfig":
        """A copy with ``changes`` applied and validated (unknown field names are a :class:`ConfigError`)."""
        valid = {f.name for f in dataclasses.fields(self)}
        for k in changes:
            if k not in valid:
                best = closest_match(k, sorted(valid))
                hint = f"; did you mean '{best}'?" if best else ""
                raise ConfigError(f"lab setting '{k}' does not exist{hint}")
        return dataclasses.replace(self, **changes)

    def with_overrides(self, pairs: list[str] | tuple[str, ...]) -> "LabConfig":
        """Apply ``key=value`` strings (the CLI's ``--set``); a key that is not a field sets a study param."""
        changes: dict[str, Any] = {}
        params = dict(self.params)
        fields = {f.name: f for f in dataclasses.fields(self)}
        for pair in pairs:
            key, value = parse_override(pair)
            if key in fields:
                changes[key] = _coerce(fields[key], value, key)
            elif key in params:
                params[key] = _auto(value)
            else:
                best = closest_match(key, sorted(list(fields) + list(params)))
                hint = f"; did you mean '{best}'?" if best else ""
                raise ConfigError(f"lab '{self.name}' has no setting '{key}'{hint}")
        if params != dict(self.params):
            changes["params"] = tuple(params.items())
        return self.replace(**changes) if changes else self

    # -- JSON -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists, notes become dicts)."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        d["metrics"] = list(self.metrics)
        d["variants"] = list(self.variants)
        d["params"] = [[k, v] for k, v in self.params]
        d["notes"] = [dataclasses.asdict(n) for n in self.notes]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LabConfig":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["params"] = tuple((k, v) for k, v in d.get("params", ()))
        d["notes"] = tuple(Note(**n) for n in d.get("notes", ()))
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - valid)
        if unknown:
            raise ConfigError(f"unknown lab setting(s) in config: {', '.join(unknown)}")
        return cls(**d)


def _check_validation(v: str) -> None:
    head, _, arg = v.partition(":")
    try:
        if head in ("test", "none") and not arg:
            return
        if head == "holdout" and int(arg) >= 1:
            return
        if head == "split" and 0.0 < float(arg) < 1.0:
            return
    except ValueError:
        pass
    raise ConfigError(f"validation must be 'test', 'none', 'holdout:N' or 'split:F' (0<F<1), got '{v}'")


def parse_override(pair: str) -> tuple[str, str]:
    """Split ``"key=value"`` (key lower-cased, ``-`` read as ``_``)."""
    key, sep, value = pair.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"expected key=value, got '{pair}'")
    return key.strip().lower().replace("-", "_"), value.strip()


def _auto(value: str) -> Any:
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            pass
    return value


def _coerce(f: dataclasses.Field, value: str, key: str) -> Any:
    t = str(f.type).replace(" ", "")
    try:
        if value.lower() == "none" and "None" in t:
            return None
        if t.startswith("tuple[int"):
            if value and not re.fullmatch(r"\s*\d+(\s*[-,]\s*\d+)*\s*", value):  # "128,64" or "128-64"
                raise ValueError(value)
            return tuple(int(v) for v in value.replace("-", ",").split(",") if v.strip()) if value else ()
        if t.startswith("tuple[str"):
            return tuple(v.strip() for v in value.split(";" if ";" in value else ",") if v.strip())
        if t.startswith("int"):
            return int(value)
        if t.startswith("float"):
            return float(value)
    except ValueError:
        raise ConfigError(f"setting '{key}' expects {t}, got '{value}'") from None
    if t.startswith("tuple"):
        raise ConfigError(f"setting '{key}' cannot be set from the command line")
    return value


# ------------------------------------------------------------------------------------------------
# The labs of the course notes (issue 5's table).
# ------------------------------------------------------------------------------------------------
_LAB_LIST = [
    LabConfig(
        name="pima-logreg", title="Logistic regression on Pima diabetes, full-batch SGD from N(0, 1)",
        dataset="pima", preprocess="minmax", task="binary", hidden=(), out_act="sigmoid",
        init="normal:1", bias_init="normal:1", loss="binary_crossentropy", optimizer="sgd", lr=0.1,
        epochs=1000, batch_size=None, validation="none", eval_on="train", metrics=("accuracy",),
        notes=(Note("train_accuracy", 0.720), Note("train_loss", 0.559)),
        notes_text="min-max scaling (eps 1e-7), W and b ~ N(0, 1), gradient descent lr 0.1, 1000 steps",
    ),
    LabConfig(
        name="mnist-softmax", title="Softmax regression 784->10 on MNIST, Adam",
        dataset="mnist", preprocess="scale255", task="multiclass", hidden=(), out_act="softmax",
        init="normal:0.05", loss="categorical_crossentropy", optimizer="adam", lr=1e-3,
        epochs=20, batch_size=100, notes=(Note("test_accuracy", 0.927),),
        notes_text="784->10 softmax, RandomNormal(0, 0.05) kernel, Adam 1e-3, batch 100, 20 epochs",
    ),
    LabConfig(
        name="mnist-mlp", title="784-256-256-256-256-10 ReLU MLP on MNIST, Xavier or He init",
        dataset="mnist", preprocess="scale255", task="multiclass", hidden=(256, 256, 256, 256), act="relu",
        out_act="softmax", init="xavier", bias_init="normal:0.05", loss="categorical_crossentropy",
        optimizer="adam", lr=1e-3, epochs=15, batch_size=100,
        notes=(Note("test_accuracy", 0.9805, "init=xavier"), Note("test_accuracy", 0.9784, "init=he")),
        notes_text="4 x 256 ReLU, --init xavier|he (normal), bias RandomNormal (Keras default std 0.05), "
                   "Adam 1e-3, batch 100, 15 epochs",
    ),
    LabConfig(
        name="pima-mlp", title="8-12-8-1 MLP on Pima diabetes, evaluated on its training data",
        dataset="pima", preprocess="none", task="binary", hidden=(12, 8), act="relu", out_act="sigmoid",
        loss="binary_crossentropy", optimizer="adam", epochs=200, batch_size=10, validation="none",
        eval_on="train", notes=(Note("train_accuracy", 0.784),),
        notes_text="raw features, 12-8 ReLU + sigmoid, Adam, 200 epochs, batch 10, accuracy on the training data",
    ),
    LabConfig(
        name="mnist-dense512", title="784-512-10 ReLU/softmax on MNIST, RMSprop",
        dataset="mnist", preprocess="scale255", task="multiclass", hidden=(512,), act="relu",
        out_act="softmax", loss="categorical_crossentropy", optimizer="rmsprop", epochs=5, batch_size=128,
        notes=(Note("test_accuracy", 0.9787),),
        notes_text="pixels / 255, 512 ReLU + softmax, RMSprop (lr 1e-3), 5 epochs, batch 128",
    ),
    LabConfig(
        name="imdb-mlp", title="Multi-hot 10,000-word sentiment MLP 16-16-1, RMSprop",
        dataset="imdb", preprocess="multi_hot", task="binary", hidden=(16, 16), act="relu", out_act="sigmoid",
        loss="binary_crossentropy", optimizer="rmsprop", epochs=20, batch_size=512, validation="holdout:10000",
        num_words=10000, notes=(Note("test_accuracy", 0.849),),
        notes_text="Keras IMDB (25k/25k), multi-hot 10,000 words, 16-16 ReLU + sigmoid, RMSprop, 20 epochs, "
                   "batch 512, first 10,000 training reviews held out; without it: the movie-review polarity set",
    ),
    LabConfig(
        name="boston-regression", title="13-8-8-8-8-1 ReLU regression on Boston housing, RMSprop + MSE",
        dataset="boston", preprocess="none", task="regression", hidden=(8, 8, 8, 8), act="relu", out_act="relu",
        loss="mse", optimizer="rmsprop", lr=1e-3, epochs=200, batch_size=16, validation="test",
        metrics=("mae",), notes=(Note("test_mse", 32.2), Note("test_mae", 4.01)),
        notes_text="Keras 404/102 split, raw features, 4 x 8 ReLU, ReLU output (as in the notes), "
                   "RMSprop 1e-3, MSE, 200 epochs, batch 16",
    ),
    LabConfig(
        name="iris-mlp", title="4-32-32-32-3 ReLU/softmax on iris, 30% test split",
        dataset="iris", preprocess="none", task="multiclass", hidden=(32, 32, 32), act="relu", out_act="softmax",
        loss="categorical_crossentropy", optimizer="adam", epochs=200, batch_size=16, test_split=0.3,
        split_seed=1234, notes=(Note("test_accuracy", 0.978),),
        notes_text="one-hot species, 3 x 32 ReLU + softmax, Adam, 200 epochs, batch 16, 30% test split "
                   "(scikit-learn train_test_split order, random_state 1234)",
    ),
    LabConfig(
        name="init-histograms", title="Activation histograms at init: tanh with N(0,0.01), N(0,1), Xavier; ReLU with Xavier, He",
        kind="study", task="none", validation="none",
        variants=("tanh/normal:0.01", "tanh/normal:1", "tanh/xavier", "relu/xavier", "relu/he"),
        params=(("depth", 10), ("width", 500), ("batch", 1000)),
        notes_text="10 layers of 500 units, 1000 Gaussian inputs; per-layer activation histograms",
    ),
    LabConfig(
        name="activations", title="Every activation and its derivative, with saturation, centring and dead units measured",
        kind="study", task="none", validation="none",
        params=(("depth", 10), ("width", 256), ("batch", 512), ("range", 6.0)),
        notes_text="sigmoid/tanh saturate, sigmoid is not zero-centred, ReLU units can die",
    ),
    LabConfig(
        name="learning-rate", title="Learning rates (too small, good, too large) and schedules on an MNIST subset",
        kind="study", dataset="mnist", preprocess="scale255", task="multiclass", hidden=(128,), act="relu",
        optimizer="sgd", lr=0.1, epochs=10, batch_size=64, subset=6000,
        variants=("lr=0.001", "lr=0.1", "lr=3", "step", "exponential", "cyclic"),
        params=(("step_every", 3), ("step_factor", 0.5), ("exp_rate", 0.8), ("cyc_low", 0.01),
                ("cyc_high", 0.3), ("cyc_half", 2)),
        notes_text="plain SGD on 6,000 MNIST digits: 0.001 crawls, 0.1 learns, 3 blows up (loss jumps, then chance "
                   "level); the schedules start at 0.1 (the cyclic one swings between 0.01 and 0.3)",
    ),
    LabConfig(
        name="regularization", title="None vs L2 vs dropout vs BatchNorm vs early stopping: generalization gap",
        kind="study", dataset="mnist", preprocess="scale255", task="multiclass", hidden=(256, 256), act="relu",
        optimizer="adam", lr=1e-3, epochs=20, batch_size=64, subset=3000, validation="split:0.2",
        variants=("none", "l2", "dropout", "batchnorm", "early_stopping"),
        params=(("l2", 1e-3), ("dropout", 0.5), ("patience", 3)),
        notes_text="a small MNIST subset to make overfitting visible; train/validation curves and the final gap",
    ),
    LabConfig(
        name="loss-comparison", title="Same 33% error, different losses: cross-entropy vs squared error",
        kind="study", task="none", validation="none",
        notes=(Note("ce_model_a", 1.38), Note("ce_model_b", 0.64), Note("mse_model_a", 0.81),
               Note("mse_model_b", 0.34), Note("error_model_a", 1 / 3), Note("error_model_b", 1 / 3)),
        notes_text="3 samples, 3 classes; both models get one wrong, B is more confident where right",
    ),
]

#: Lab name -> default configuration (the notes' settings).
LABS: dict[str, LabConfig] = {lab.name: lab for lab in _LAB_LIST}


def lab_names() -> list[str]:
    """Lab names in the order of the notes."""
    return list(LABS)


def get_lab(name: str | LabConfig, **overrides: Any) -> LabConfig:
    """The default configuration of lab ``name`` with ``overrides`` applied.

    Raises
    ------
    UnknownNameError
        For a name that is not a lab (the message gives the closest match).
    """
    if isinstance(name, LabConfig):
        return name.replace(**overrides) if overrides else name
    key = str(name).strip().lower().replace("_", "-")
    if key not in LABS:
        raise UnknownNameError("lab", str(name), lab_names())
    cfg = LABS[key]
    return cfg.replace(**overrides) if overrides else cfg


def describe_lab(cfg: LabConfig) -> str:
    """One line of settings: ``784-256-...-10 relu/softmax, init, optimizer lr, epochs x batch``."""
    if cfg.kind == "study":
        return cfg.notes_text
    layers = "-".join(str(h) for h in cfg.hidden) or "linear"
    lr = "default lr" if cfg.lr is None else f"lr {cfg.lr:g}"
    batch = "full batch" if cfg.batch_size is None else f"batch {cfg.batch_size}"
    return (f"{cfg.dataset}: {layers} {cfg.act if cfg.hidden else ''}{'/' if cfg.hidden else ''}{cfg.out_act}, "
            f"init {cfg.init}, bias {cfg.bias_init}, {cfg.optimizer} {lr}, {cfg.epochs} epochs, {batch}")
