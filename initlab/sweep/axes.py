"""The axes of a sweep and its grid: parsing, validation, the canonical definition and the points.

An axis is a :class:`~initlab.sim.config.SimConfig` field (``init``, ``act``, ``depth``, ``width``, ``batch``,
``dropout``, ``residual``, ``batchnorm``, ``dtype``, ``seed``, ``trials``, …) or one of two native axes written
in the theory's coordinates:

- ``sigma_w2`` :math:`= n_{l-1}\\,\\mathrm{Var}[W^l_{ij}]`: Gaussian weights
  ``variance_scaling:scale=σ_w²,mode=fan_in,distribution=untruncated_normal`` (so ``--init`` and ``--gain``
  contradict it);
- ``sigma_b2`` :math:`= \\mathrm{Var}[b^l_i]`: Gaussian biases ``normal:σ_b`` (``zeros`` at 0; so
  ``--bias-init`` contradicts it).

Grid forms (:func:`parse_values`): ``a:b:n`` is ``numpy.linspace(a, b, n)``, ``log:a:b:n`` is
``numpy.geomspace(a, b, n)``, ``a,b,c`` a list; integer fields round a linspace/geomspace to integers (and
drop repeats). The grid is the cross product of the axes in the order given; a zip group
(``zip=[("sigma_w2", "sigma_b2")]``, ``--zip sigma_w2,sigma_b2``) advances its axes together instead.

Every field of the definition holds a list of values (defaults a single one), so a definition is a plain JSON
object, and a new definition *extends* a stored one when every list (and every zip group's list of tuples)
contains the stored one (:func:`initlab.sweep.extension.extension_of`). Points are enumerated lazily (:meth:`Grid.points`): no
whole-grid array is built.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .._spec import ConfigError, closest_match, split_specs
from ..sim.config import SimConfig

__all__ = ["MAX_POINTS", "NATIVE_AXES", "AXIS_NAMES", "KEEP", "Grid", "parse_values", "axis_name", "build_grid",
           "point_config", "point_key", "point_seed"]

#: Axes that are not SimConfig fields: the theory's coordinates.
NATIVE_AXES = ("sigma_w2", "sigma_b2")
#: SimConfig field -> axis name (one init and one act per point).
_FIELD_AXIS = {"inits": "init", "acts": "act"}
_AXIS_FIELD = {v: k for k, v in _FIELD_AXIS.items()}
#: Every axis name, in SimConfig field order then the native axes.
AXIS_NAMES = tuple(_FIELD_AXIS.get(f.name, f.name) for f in dataclasses.fields(SimConfig) if f.compare) + NATIVE_AXES
#: What a sweep stores per point: the summary row only, or also the per-layer rows.
KEEP = ("summary", "layers")

_INT = {"depth", "width", "batch", "input_dim", "seed", "trials", "bins"}
_FLOAT = {"dropout", "gain", "sigma_w2", "sigma_b2"}
_BOOL = {"batchnorm", "residual"}
_SPECS = {"init", "act", "bias_init"}
_NONE = {"input_dim", "gain"}  # fields whose default is None
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def axis_name(name: str) -> str:
    """The canonical axis name of ``name`` (``--sigma-w2``, ``sigma-w2``, ``inits`` …); unknown names raise
    :class:`~initlab._spec.ConfigError` with the closest match and the valid names."""
    n = str(name).strip().lstrip("-").replace("-", "_").lower()
    n = _FIELD_AXIS.get(n, n)
    if n not in AXIS_NAMES:
        best = closest_match(n, list(AXIS_NAMES))
        hint = f"; did you mean '{best}'?" if best else ""
        raise ConfigError(f"unknown axis '{name}'{hint} (axes: {', '.join(AXIS_NAMES)})")
    return n


#: The most points a sweep may have unless told otherwise (``max_points``, ``--max-points``).
MAX_POINTS = 1_000_000


def _grid_numbers(name: str, text: str, limit: int = MAX_POINTS) -> list[float]:
    """``a:b:n``, ``log:a:b:n`` or ``a,b,c`` as floats; a count ``n`` above ``limit`` is refused before anything
    is allocated."""
    t = text.strip().lower()
    log = t.startswith("log:")
    if log or ":" in t:
        parts = t.split(":")[1:] if log else t.split(":")
        if len(parts) != 3:
            form = "log:a:b:n" if log else "a:b:n"
            raise ConfigError(f"{name}: grid '{text}' must look like {form}")
        try:
            a, b = float(parts[0]), float(parts[1])
            n = int(parts[2])
        except ValueError:
            raise ConfigError(f"{name}: grid '{text}' needs numbers a, b and a count n") from None
        if n < 1:
            raise ConfigError(f"{name}: grid '{text}' is empty (n = {n})")
        if n > limit:
            raise ConfigError(f"{name}: grid '{text}' has {n:,} values, more than the {limit:,} points a sweep may "
                              f"have (--max-points)")
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ConfigError(f"{name}: grid '{text}' has a non-finite end")
        if log:
            if a <= 0 or b <= 0:
                raise ConfigError(f"{name}: log grid '{text}' needs positive ends")
            return [float(v) for v in np.geomspace(a, b, n)]
        return [float(v) for v in np.linspace(a, b, n)]
    out = []
    for piece in (p.strip() for p in t.split(",")):
        if not piece:
            continue
        try:
            out.append(float(piece))
        except ValueError:
            raise ConfigError(f"{name}: '{piece}' is not a number") from None
    return out


def parse_values(name: str, value: Any, limit: int = MAX_POINTS) -> list[Any]:
    """The values of axis ``name`` from a grid string, a scalar or a sequence (canonical, repeats dropped).

    Raises :class:`~initlab._spec.ConfigError` for an empty grid, one of more than ``limit`` values, or a value of
    the wrong kind (a non-integer in a list of integers: only the ``a:b:n`` forms round to integers).
    """
    name = axis_name(name)
    if isinstance(value, str):
        if name in _INT or name in _FLOAT:
            if name in _NONE and value.strip().lower() == "none":
                raw: list[Any] = [None]
            else:
                raw = _grid_numbers(name, value, limit)
                if name in _INT and ":" in value:
                    raw = [round(v) if math.isfinite(v) else v for v in raw]
        elif name in _SPECS:
            raw = split_specs(value)
        else:
            raw = [p.strip() for p in value.split(",") if p.strip()]
    elif isinstance(value, (list, tuple, np.ndarray, range)):
        raw = list(value)
    else:
        raw = [value]
    if not raw:
        raise ConfigError(f"{name}: the grid is empty")
    vals = [_canonical(name, v) for v in raw]
    out: list[Any] = []
    for v in vals:
        if v not in out:
            out.append(v)
    return out


def _canonical(name: str, v: Any) -> Any:
    if v is None and name in _NONE:
        return None
    if name in _INT:
        if isinstance(v, bool):
            raise ConfigError(f"{name} must be an integer, got {v!r}")
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be an integer, got {v!r}") from None
        if not math.isfinite(f):
            raise ConfigError(f"{name} must be finite, got {v!r}")
        if f != int(f):
            raise ConfigError(f"{name} must be an integer, got {v!r}")
        return int(f)
    if name in _FLOAT:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {v!r}") from None
        if not math.isfinite(f):
            raise ConfigError(f"{name} must be finite, got {v!r}")
        if name == "sigma_w2" and f <= 0:
            raise ConfigError(f"sigma_w2 must be > 0, got {f:g}")
        if name == "sigma_b2" and f < 0:
            raise ConfigError(f"sigma_b2 must be >= 0, got {f:g}")
        return f
    if name in _BOOL:
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        s = str(v).strip().lower()
        if s in _TRUE or s in _FALSE:
            return s in _TRUE
        raise ConfigError(f"{name} must be true or false, got {v!r}")
    if name == "width" and isinstance(v, (list, tuple)):
        return tuple(int(w) for w in v)
    return v  # strings: canonicalised by SimConfig in build_grid


@dataclass(frozen=True)
class Grid:
    """A sweep's definition: every axis with its values, the zip groups and what is kept.

    Attributes
    ----------
    fields : dict of str -> tuple
        Every axis that is set (given ones, and each SimConfig default as one value), in the order the user
        gave them first, then the defaults.
    given : tuple of str
        The axes the user set (the grid's dimensions, in order; one-value ones included).
    zips : tuple of tuple of str
        Axes that advance together.
    keep : {'summary', 'layers'}
    """

    fields: dict[str, tuple]
    given: tuple[str, ...]
    zips: tuple[tuple[str, ...], ...] = ()
    keep: str = "summary"

    # -- the grid ------------------------------------------------------------------------------------
    def groups(self) -> list[tuple[str, ...]]:
        """The grid's dimensions: one axis, or one zip group, each."""
        out: list[tuple[str, ...]] = []
        zipped = {a: z for z in self.zips for a in z}
        for a in self.given:
            g = zipped.get(a, (a,))
            if g not in out:
                out.append(g)
        return out

    def group_values(self, group: tuple[str, ...]) -> list[tuple]:
        return list(zip(*(self.fields[a] for a in group)))

    @property
    def n_points(self) -> int:
        return math.prod(len(self.group_values(g)) for g in self.groups())

    @property
    def axes(self) -> dict[str, tuple]:
        """The axes with more than one value (what varies)."""
        return {a: self.fields[a] for a in self.given if len(self.fields[a]) > 1}

    def points(self) -> Iterator[dict[str, Any]]:
        """Every point's parameters (the given axes' values), lazily, last axis fastest."""
        groups = self.groups()
        for combo in itertools.product(*(self.group_values(g) for g in groups)):
            params: dict[str, Any] = {}
            for g, vals in zip(groups, combo):
                params.update(zip(g, vals))
            yield {a: params[a] for a in self.given}

    def base(self) -> dict[str, Any]:
        """The one-value fields that are not given (the SimConfig defaults and fixed settings)."""
        return {k: v[0] for k, v in self.fields.items() if k not in self.given}

    # -- serialisation ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"fields": {k: list(v) for k, v in self.fields.items()}, "given": list(self.given),
                "zips": [list(z) for z in self.zips], "keep": self.keep}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Grid":
        fields = {k: tuple(tuple(x) if isinstance(x, list) else x for x in v) for k, v in d["fields"].items()}
        return cls(fields, tuple(d["given"]), tuple(tuple(z) for z in d["zips"]), d["keep"])


def build_grid(axes: Mapping[str, Any], *, zips: Sequence[Sequence[str]] = (), keep: str = "summary",
               defaults: Mapping[str, Any] | None = None, max_points: int = MAX_POINTS) -> Grid:
    """Parse and check a sweep definition (one-line :class:`~initlab._spec.ConfigError` on bad input).

    Parameters
    ----------
    axes : mapping of axis name -> grid string, value or sequence of values
        In the order the grid's dimensions should have (the last varies fastest).
    zips : sequence of sequences of axis names
        Each group's axes are paired (equal lengths) instead of crossed.
    keep : {'summary', 'layers'}
    defaults : mapping, optional
        Values of fields that are not given, instead of SimConfig's defaults (the sweep's own default input,
        ``pairs:c0=0.5``, comes in here).
    max_points : int
        A grid of more points (or an axis of more values) is refused before it is enumerated.
    """
    if keep not in KEEP:
        raise ConfigError(f"keep must be one of {', '.join(KEEP)}; got '{keep}'")
    fields: dict[str, tuple] = {}
    for raw_name, value in axes.items():
        name = axis_name(raw_name)
        if name in fields:
            raise ConfigError(f"axis '{name}' given twice")
        fields[name] = tuple(parse_values(name, value, max_points))
    given = tuple(fields)
    _check_size(fields, zips, max_points)  # before any point or config is built
    if "input" in fields and any(str(v).strip().lower() == "given" for v in fields["input"]):
        raise ConfigError("input 'given' needs a batch passed to simulate(); a sweep draws its own input "
                          "(gaussian, uniform or pairs:c0=C)")
    _check_contradictions(fields)
    default = SimConfig()
    for f in dataclasses.fields(SimConfig):
        if not f.compare:  # the user's spelling of the specs: not an axis
            continue
        a = _FIELD_AXIS.get(f.name, f.name)
        if a in fields:
            continue
        if (a == "init" and "sigma_w2" in fields) or (a == "bias_init" and "sigma_b2" in fields):
            continue
        if defaults and a in defaults:
            fields[a] = tuple(parse_values(a, defaults[a]))[:1]
            continue
        v = getattr(default, f.name)
        fields[a] = ((v[0] if isinstance(v, tuple) and a in _AXIS_FIELD else v),)
    # canonical spec strings and a validated config for every single value of every axis
    for name in list(fields):
        if name in NATIVE_AXES:
            continue
        canon = []
        for v in fields[name]:
            cfg = _config_from(fields, {name: v})
            got = _field_value(cfg, name)
            if got not in canon:
                canon.append(got)
        fields[name] = tuple(canon)
    zgroups = []
    for z in zips:
        names = tuple(axis_name(a) for a in (split_specs(z) if isinstance(z, str) else z))
        if len(set(names)) < 2 or len(set(names)) < len(names):
            raise ConfigError(f"--zip needs at least two different axes, got '{','.join(names)}'")
        for a in names:
            if a not in given:
                raise ConfigError(f"--zip: axis '{a}' is not given")
            if any(a in g for g in zgroups):
                raise ConfigError(f"--zip: axis '{a}' is in two zip groups")
        lens = {a: len(fields[a]) for a in names}
        if len(set(lens.values())) != 1:
            shown = ", ".join(f"{a} {n}" for a, n in lens.items())
            raise ConfigError(f"--zip: axes of different lengths ({shown})")
        zgroups.append(names)
    grid = Grid(fields, given, tuple(zgroups), keep)
    if grid.n_points == 0:
        raise ConfigError("the grid is empty")
    if grid.n_points > max_points:
        raise ConfigError(f"the grid has {grid.n_points:,} points, more than {max_points:,} (--max-points to allow "
                          f"more)")
    return grid


def _check_size(fields: Mapping[str, tuple], zips: Sequence[Sequence[str]], max_points: int) -> None:
    zipped: set[str] = set()
    n = 1
    for z in zips:
        names = {axis_name(a) for a in (split_specs(z) if isinstance(z, str) else z)} & set(fields)
        zipped |= names
        n *= max((len(fields[a]) for a in names), default=1)
    n *= math.prod(len(v) for a, v in fields.items() if a not in zipped)
    if n > max_points:
        raise ConfigError(f"the grid has {n:,} points, more than {max_points:,} (--max-points to allow more)")


def _check_contradictions(fields: Mapping[str, tuple]) -> None:
    if "sigma_w2" in fields:
        for other in ("init", "gain"):
            if other in fields:
                raise ConfigError(f"--sigma-w2 sets the weight variance (Gaussian, fan_in), so --{other} "
                                  f"contradicts it: drop one of them")
    if "sigma_b2" in fields and "bias_init" in fields:
        raise ConfigError("--sigma-b2 sets the bias variance (Gaussian), so --bias-init contradicts it: drop one")


def _field_value(cfg: SimConfig, name: str) -> Any:
    v = getattr(cfg, _AXIS_FIELD.get(name, name))
    return v[0] if name in _AXIS_FIELD else v


def _config_from(fields: Mapping[str, tuple], params: Mapping[str, Any]) -> SimConfig:
    """The SimConfig of ``params`` over the first value of every other field."""
    vals = {k: v[0] for k, v in fields.items()}
    vals.update(params)
    kw: dict[str, Any] = {}
    for k, v in vals.items():
        if k == "sigma_w2":
            kw["inits"] = (f"variance_scaling:scale={float(v)!r},mode=fan_in,distribution=untruncated_normal",)
        elif k == "sigma_b2":
            kw["bias_init"] = "zeros" if float(v) == 0 else f"normal:{math.sqrt(float(v))!r}"
        elif k in _AXIS_FIELD:
            kw[_AXIS_FIELD[k]] = (v,)
        else:
            kw[k] = v
    return SimConfig(**kw)


def point_config(grid: Grid, params: Mapping[str, Any]) -> SimConfig:
    """The single-run SimConfig of one point (the user's seed; :func:`point_seed` gives the one it runs with)."""
    return _config_from(grid.fields, params)


def point_key(config: SimConfig) -> str:
    """A point's key: the SHA-256 (hex, 32 characters) of its full config as canonical JSON, without the user's
    spelling of the specs (``init_specs``/``act_specs`` label nothing that runs: the same point, the same key)."""
    d = {k: v for k, v in config.to_dict().items() if k not in ("init_specs", "act_specs")}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:32]


def point_seed(key: str) -> int:
    """The seed a point runs with: its key's first 63 bits (independent of the executor and the grid order)."""
    return int(key[:16], 16) >> 1


def grid_values(name: str, text: Any, *, integer: bool = False, low: float | None = None,
                high: float | None = None, low_open: bool = False) -> list[Any]:
    """One grid syntax for every command (sweep, study, spectrum): ``a:b:n`` (linspace), ``log:a:b:n``
    (geomspace) or a comma list; in the order given, repeats dropped.

    ``integer`` rounds a linspace/geomspace to integers, and refuses a listed value that is not a whole number;
    ``low``/``high`` bound every value (``low_open``: strictly above ``low``). Raises
    :class:`~initlab._spec.ConfigError` (one line naming ``name``) on anything else.
    """
    t = str(text).strip()
    vals = _grid_numbers(name, t)
    if not vals:
        raise ConfigError(f"{name}: the grid '{t}' is empty")
    out: list[Any] = []
    for v in vals:
        if not math.isfinite(v):
            raise ConfigError(f"{name}: values must be finite, got '{t}'")
        if integer:
            if ":" not in t and v != int(v):
                raise ConfigError(f"{name}: values must be integers, got {v:g}")
            v = int(round(v))
        if (low is not None and (v <= low if low_open else v < low)) or (high is not None and v > high):
            lo = "(" if low_open else "["
            raise ConfigError(f"{name}: values must be in {lo}{low:g}, {high:g}], got {v:g}" if high is not None
                              else f"{name}: values must be {'>' if low_open else '>='} {low:g}, got {v:g}")
        if v not in out:
            out.append(v)
    return out


__all__ += ["grid_values"]
