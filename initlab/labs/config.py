"""One lab's settings as a frozen, validated, JSON-serialisable configuration (:class:`LabConfig`).

Every field can be overridden (:meth:`LabConfig.replace`, ``--set key=value`` on the command line), and
the whole configuration round-trips through JSON (:meth:`LabConfig.to_dict`, :meth:`LabConfig.from_dict`).
A :class:`Note` is one number the course notes quote, with the condition under which they quote it.
The labs themselves (the notes' settings) are in :mod:`initlab.labs.registry`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from .._spec import ConfigError, UnknownNameError, closest_match
from ..initializers import get_initializer

__all__ = ["LabConfig", "Note", "KINDS", "DATASETS", "parse_override"]

#: ``train``: one model trained and evaluated; ``study``: a lab that runs its own experiment
#: (simulation, tables, several trainings) and has no single initializer to compare.
KINDS = ("train", "study")
_TASKS = ("binary", "multiclass", "regression", "none")
_EVAL_ON = ("test", "train")
_PREPROCESS = ("none", "minmax", "scale255", "center", "standardize", "pca", "whiten", "multi_hot")
#: Datasets a lab can train on (``none``: a study that makes its own data).
DATASETS = ("none", "pima", "mnist", "fashion-mnist", "imdb", "boston", "iris")


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
        One of :data:`DATASETS`: ``pima``, ``mnist``, ``fashion-mnist``, ``imdb``, ``boston``, ``iris`` or
        ``none``.
    preprocess : str
        ``minmax`` (:math:`(x - \\min) / (\\max - \\min + 10^{-7})` per column), ``scale255`` (flatten, /255),
        ``center`` (minus the training mean), ``standardize`` (training mean and std), ``pca`` (centred and
        rotated onto the training covariance's eigenvectors), ``whiten`` (PCA, then each component divided by
        :math:`\\sqrt{\\lambda + 10^{-5}\\lambda_{max}}`), ``multi_hot`` (word indices to a 0/1 vector) or ``none``.
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
    redraw_dead : int
        When the output can die (a ReLU output) and the freshly drawn network outputs 0 for every training
        input, draw again with the next seed, up to this many draws in all (``0``: never redraw).
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
    redraw_dead: int = 0
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
        if self.dataset not in DATASETS:
            raise UnknownNameError("dataset", self.dataset, DATASETS)
        for name in ("seed", "split_seed"):
            if not 0 <= int(getattr(self, name)) < 2**63:
                raise ConfigError(f"{name} must be an integer in [0, 2**63), got {getattr(self, name)}")
        if int(self.redraw_dead) < 0:
            raise ConfigError(f"redraw_dead must be >= 0, got {self.redraw_dead}")
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
        """True for image classifiers (MNIST, Fashion-MNIST): the report draws the sample-predictions grid."""
        return self.dataset in ("mnist", "fashion-mnist") and self.task == "multiclass"

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
