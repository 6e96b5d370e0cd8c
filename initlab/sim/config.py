"""The simulation configuration: one frozen, validated :class:`SimConfig`.

Data flow: click options (or keyword arguments of :func:`initlab.simulate`) → :class:`SimConfig`
→ :mod:`initlab.sim.engine` → :class:`initlab.sim.result.SimResult`. Every value is checked once, here;
a bad value raises :class:`~initlab._spec.ConfigError` (a one-line message) and an unknown
initializer or activation name raises :class:`~initlab._spec.UnknownNameError` (valid names and
the closest match). Specs are stored in canonical form (``"xavier"`` becomes ``"xavier_normal"``),
so equal experiments have equal configs, and :meth:`SimConfig.to_json` /
:meth:`SimConfig.from_json` round-trip exactly.

Everything random about an experiment follows from its config and seed: see :mod:`initlab.sim.draws`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import initializers as _initializers
from .._spec import ConfigError, SpecError, split_specs
from ..activations import Activation, get_activation
from ..initializers import Initializer, get_initializer

__all__ = ["SimConfig", "Run", "INPUTS", "LOSSES", "DTYPES", "MAX_BINS", "DEFAULT_PAIR_C0"]

#: Input distributions: unit-variance Gaussian or uniform on ±√3; ``pairs`` (written ``pairs:c0=0.5``) are
#: Gaussian pairs of rows with an exact correlation; ``given`` marks a user-supplied batch.
INPUTS = ("gaussian", "uniform", "pairs", "given")
#: Losses on the last layer's output.
LOSSES = ("projection", "mse")
DTYPES = ("float32", "float64")
#: Largest number of histogram bins.
MAX_BINS = 10_000


class Run(NamedTuple):
    """One cell of the cross product: its index, label and single-run config."""

    index: int
    label: str
    config: "SimConfig"


def _typed(value: Any) -> tuple[Any, ...]:
    """The specs as given: a string (comma list allowed), an object, or a sequence of them."""
    if isinstance(value, str):
        return tuple(split_specs(value))
    if isinstance(value, (list, tuple)):
        out: list[Any] = []
        for v in value:
            out.extend(split_specs(v) if isinstance(v, str) else [v])
        return tuple(out)
    return (value,)


def _spellings(typed: tuple[Any, ...], given: Any, n: int, what: str) -> tuple[str, ...]:
    """The user's spelling of each spec: ``given`` (kept from an earlier config) or the strings as typed."""
    if given is None:
        return tuple(v.strip() if isinstance(v, str) else str(v) for v in typed)
    given = (given,) if isinstance(given, str) else tuple(str(v) for v in given)
    if len(given) != n:
        raise ConfigError(f"{what} spellings list {len(given)} specs for {n}")
    return given


def _check_gain(typed: tuple[Any, ...], gain: float) -> None:
    """A :class:`ConfigError` if a spec sets its own gain and it differs from ``gain`` (``orthogonal:2`` with 3)."""
    for v in typed:
        own = getattr(get_initializer(v), "gain", None)
        if own is not None and own != gain and "gain" in _initializers.INITIALIZERS.given_fields(v):
            raise ConfigError(f"initializer '{v}' sets its own gain ({own:g}), which contradicts gain {gain:g} (--gain): "
                              f"give one of them")


def _specs(items: tuple[Any, ...], what: str, getter) -> tuple[str, ...]:
    """Canonical spec strings of the specs as given (see :func:`_typed`), each once."""
    if not items:
        raise ConfigError(f"at least one {what} is needed")
    return _once(tuple(getter(v).spec for v in items), what)


def _once(out: tuple[str, ...], what: str) -> tuple[str, ...]:
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise ConfigError(f"{what} '{dup[0]}' given twice")
    return out


def _int(name: str, value: Any, low: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value.strip())
    try:
        v = operator.index(value)
    except TypeError:
        if isinstance(value, float) and value.is_integer():
            v = int(value)
        else:
            raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}") from None
    if v < low:
        raise ConfigError(f"{name} must be an integer >= {low}, got {v}")
    return int(v)


def _float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return v


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    v = str(value).strip().lower()
    if v not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got '{value}'")
    return v


#: ``c0`` of ``input='pairs'`` without a value.
DEFAULT_PAIR_C0 = 0.5


def _input_spec(value: Any) -> str:
    """Canonical input spec: ``gaussian``, ``uniform``, ``given`` or ``pairs:c0=C`` (C in [-1, 1])."""
    text = str(value).strip().lower().replace(" ", "")
    name, colon, arg = text.partition(":")
    if name != "pairs":
        if colon or name not in INPUTS:
            raise ConfigError(f"input must be one of gaussian, uniform, pairs:c0=C, given; got '{value}'")
        return name
    arg = arg[3:] if arg.startswith("c0=") else arg
    c0 = _float("input pairs c0", arg) if arg else DEFAULT_PAIR_C0
    if not -1.0 <= c0 <= 1.0:
        raise ConfigError(f"input pairs: c0 must be in [-1, 1], got {c0:g}")
    return f"pairs:c0={c0!r}"


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ConfigError(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class SimConfig:
    """A signal-propagation experiment: the cross product ``inits × acts``, each run ``trials`` times.

    Parameters
    ----------
    inits : str or sequence of str
        Initializer specs (``"xavier,he,normal:0.01"`` or a list); stored canonical.
    acts : str or sequence of str
        Activation specs; stored canonical.
    depth : int
        Number of layers :math:`L \\ge 1`.
    width : int or tuple of int
        Units per layer: one number for all, or one per layer (length ``depth``).
    batch : int
        Samples in the input batch (at least 2, for correlations).
    input_dim : int or None
        Input features; ``None`` means the first layer's width.
    input : {'gaussian', 'uniform', 'pairs:c0=C', 'given'}
        :math:`x \\sim N(0, 1)` or :math:`U(-\\sqrt3, \\sqrt3)` (both unit variance); ``pairs:c0=C``
        (also ``pairs:C``; ``pairs`` alone is ``c0=0.5``): rows 0&1, 2&3, … are pairs whose cosine
        similarity is exactly :math:`c_0 \\in [-1, 1]`, every row of mean square exactly 1
        (:func:`initlab.sim.draws.make_input`), to measure how correlations propagate; ``given`` is
        set by :func:`initlab.simulate` when the batch is passed in.
    seed : int
        Seed of every random draw (input, weights, dropout masks, loss targets).
    trials : int
        Independent weight draws per config.
    dtype : {'float32', 'float64'}
    bias_init : str
        Initializer spec for the biases (``"zeros"``).
    gain : float or None
        If set, every initializer is rebuilt with this gain (``initializers.with_gain``); an
        initializer without a gain is an error.
    batchnorm : bool
        Batch normalisation of the pre-activation with the batch's own statistics (train mode,
        :math:`\\gamma = 1`, :math:`\\beta = 0`, :math:`\\epsilon = 10^{-5}`).
    dropout : float
        Inverted dropout probability :math:`0 \\le p < 1` on each layer's output.
    residual : bool
        Skip connections :math:`h^l = h^{l-1} + \\mathrm{dropout}(\\phi(z^l))` on every layer whose
        input and output widths agree (others are plain).
    loss : {'projection', 'mse'}
        :math:`L = \\sum h^L \\odot R` with a fixed :math:`R \\sim N(0,1)`, or
        :math:`L = \\tfrac12 \\operatorname{mean}\\bigl((h^L - Y)^2\\bigr)` with targets :math:`Y \\sim N(0,1)`.
    bins : int
        Histogram bins per layer.
    init_specs, act_specs : tuple of str or None
        The specs as the user spelled them (``"xavier"``), one per entry of ``inits``/``acts``; ``None``
        (the default) records what ``inits``/``acts`` were given as. They label nothing and are not
        compared (``SimConfig(inits="he") == SimConfig(inits="he_normal")``); the frame shows them in its
        ``init_spec``/``act_spec`` columns beside the canonical ``init``/``act``.

    Notes
    -----
    With ``gain`` set, the initializers that run have that gain (:meth:`run_inits`, :meth:`initializers`):
    the labels and the frame's ``init`` column name them so (``--init he --gain 3`` runs and is labelled
    ``he_normal:gain=3``), while ``inits`` keep the specs as given, canonical; a spec that sets its own,
    different gain (``orthogonal:2`` with gain 3) is a :class:`ConfigError`.
    """

    inits: tuple[str, ...] = ("xavier_normal",)
    acts: tuple[str, ...] = ("relu",)
    depth: int = 10
    width: int | tuple[int, ...] = 500
    batch: int = 1000
    input_dim: int | None = None
    input: str = "gaussian"
    seed: int = 0
    trials: int = 1
    dtype: str = "float32"
    bias_init: str = "zeros"
    gain: float | None = None
    batchnorm: bool = False
    dropout: float = 0.0
    residual: bool = False
    loss: str = "projection"
    bins: int = 50
    init_specs: tuple[str, ...] | None = dataclasses.field(default=None, compare=False)
    act_specs: tuple[str, ...] | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        s = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        typed_inits, typed_acts = _typed(self.inits), _typed(self.acts)
        s("inits", _specs(typed_inits, "initializer", get_initializer))
        s("acts", _specs(typed_acts, "activation", get_activation))
        s("init_specs", _spellings(typed_inits, self.init_specs, len(self.inits), "init_specs"))
        s("act_specs", _spellings(typed_acts, self.act_specs, len(self.acts), "act_specs"))
        s("depth", _int("depth", self.depth, 1))
        width = self.width
        if isinstance(width, str):
            width = [w for w in width.split(",") if w.strip()]
            width = width[0] if len(width) == 1 else width
        if isinstance(width, (list, tuple, np.ndarray)):
            width = tuple(_int("width", w, 1) for w in width)
            if len(width) != self.depth:
                raise ConfigError(f"width lists {len(width)} layers but depth is {self.depth}")
        else:
            width = _int("width", width, 1)
        s("width", width)
        s("batch", _int("batch", self.batch, 2))
        s("input_dim", _int("input_dim", self.input_dim, 1, allow_none=True))
        s("input", _input_spec(self.input))
        s("seed", _int("seed", self.seed, 0))
        s("trials", _int("trials", self.trials, 1))
        dtype = self.dtype
        if not isinstance(dtype, str):
            dtype = np.dtype(dtype).name
        s("dtype", _choice("dtype", dtype, DTYPES))
        s("bias_init", get_initializer(self.bias_init).spec)
        if self.gain is not None:
            g = _float("gain", self.gain)
            if g < 0:
                raise ConfigError(f"gain must be >= 0, got {g:g}")
            s("gain", g)
            _check_gain(typed_inits, g)
            self.initializers()  # every init must accept a gain
        dropout = _float("dropout", self.dropout)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout:g}")
        s("dropout", dropout)
        s("batchnorm", _bool("batchnorm", self.batchnorm))
        s("residual", _bool("residual", self.residual))
        s("loss", _choice("loss", self.loss, LOSSES))
        s("bins", _int("bins", self.bins, 1))
        if self.bins > MAX_BINS:
            raise ConfigError(f"bins must be at most {MAX_BINS}, got {self.bins}")

    # -- derived values ----------------------------------------------------------------------
    @property
    def widths(self) -> tuple[int, ...]:
        """Units per layer, length ``depth``."""
        return self.width if isinstance(self.width, tuple) else (self.width,) * self.depth

    @property
    def in_dim(self) -> int:
        """Input features (``input_dim``, or the first layer's width)."""
        if self.input_dim is not None:
            return self.input_dim
        return self.width[0] if isinstance(self.width, tuple) else self.width

    @property
    def input_c0(self) -> float | None:
        """The correlation :math:`c_0` of the input pairs (``input='pairs:c0=C'``), else ``None``."""
        return float(self.input.split("=", 1)[1]) if self.input.startswith("pairs:") else None

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def initializers(self) -> tuple[Initializer, ...]:
        """The initializer objects, with ``gain`` applied when it is set."""
        objs = tuple(get_initializer(s) for s in self.inits)
        if self.gain is None:
            return objs
        out = []
        for obj in objs:
            try:
                out.append(_initializers.with_gain(obj, self.gain))
            except SpecError:
                raise
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"gain: {exc}") from None
        return tuple(out)

    def activations(self) -> tuple[Activation, ...]:
        return tuple(get_activation(s) for s in self.acts)

    def residual_layers(self) -> tuple[int, ...]:
        """Layers (1-based) that get a skip connection: ``residual`` on and input width = output width."""
        if not self.residual:
            return ()
        fans = (self.in_dim,) + self.widths
        return tuple(l for l in range(1, self.depth + 1) if fans[l - 1] == fans[l])

    @property
    def n_runs(self) -> int:
        return len(self.inits) * len(self.acts)

    def run_inits(self) -> tuple[str, ...]:
        """The canonical specs of the initializers that run: ``inits`` with ``gain`` applied
        (``he_normal:gain=3`` for ``--init he --gain 3``)."""
        return tuple(i.spec for i in self.initializers())

    def labels(self) -> list[str]:
        """``"init / act"`` for every run, in run order (initializers outer, activations inner); the
        initializer as it runs (:meth:`run_inits`)."""
        return [f"{i} / {a}" for i in self.run_inits() for a in self.acts]

    def runs(self) -> list[Run]:
        """The cross product ``inits × acts`` as single-run configs, initializers outer."""
        out = []
        ran = self.run_inits()
        for i, init in enumerate(self.inits):
            for j, act in enumerate(self.acts):
                cfg = dataclasses.replace(self, inits=(init,), acts=(act,), init_specs=(self.init_specs[i],),
                                          act_specs=(self.act_specs[j],))
                out.append(Run(i * len(self.acts) + j, f"{ran[i]} / {act}", cfg))
        return out

    def replace(self, **changes: Any) -> "SimConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **_spelling_reset(_normalise_kwargs(changes)))

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists), in field order; the spellings only where they differ
        from the canonical specs."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("init_specs", "act_specs") and v == getattr(self, f.name[:-6] + "s"):
                continue
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SimConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown config field '{unknown[0]}' (fields: {', '.join(sorted(names))})")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def to_json(self) -> str:
        """JSON text (indented, trailing newline); :meth:`from_json` gives back an equal config."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "SimConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError("config JSON must be an object")
        return cls.from_dict(data)

    @classmethod
    def build(cls, config: "SimConfig | None" = None, **kwargs: Any) -> "SimConfig":
        """A config from keyword arguments (``init=``/``act=`` accepted for ``inits``/``acts``), or
        ``config`` with those fields replaced."""
        kwargs = _normalise_kwargs(kwargs)
        if config is None:
            return cls(**kwargs)
        if not isinstance(config, SimConfig):
            raise TypeError(f"config must be a SimConfig, got {type(config).__name__}")
        return dataclasses.replace(config, **_spelling_reset(kwargs)) if kwargs else config


def _spelling_reset(changes: dict[str, Any]) -> dict[str, Any]:
    """A change of ``inits``/``acts`` without their spellings takes the new values' own spelling."""
    for full, spelled in (("inits", "init_specs"), ("acts", "act_specs")):
        if full in changes and spelled not in changes:
            changes[spelled] = None
    return changes


def _normalise_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    for short, full in (("init", "inits"), ("act", "acts")):
        if short in out:
            if full in out:
                raise ConfigError(f"give either {short} or {full}, not both")
            out[full] = out.pop(short)
    names = {f.name for f in dataclasses.fields(SimConfig)}
    unknown = sorted(set(out) - names)
    if unknown:
        raise ConfigError(f"unknown simulation option '{unknown[0]}' (options: {', '.join(sorted(names))})")
    return out
