"""Spec strings parsed once into typed, frozen objects.

A *spec* names a registry entry and, optionally, its parameters::

    "relu"                      -> ReLU()
    "leaky_relu:0.2"            -> LeakyReLU(alpha=0.2)        (positional, in field order)
    "variance_scaling:scale=2,mode=fan_in"                      (keyword)

Each registry entry is a frozen dataclass. Its fields are the spec's parameters,
converted with the field's declared type (``float``, ``int``, ``str`` or ``bool``)
and validated by the class's ``__post_init__``. Errors are :class:`SpecError`
(a ``ValueError``) with a one-line message; unknown names raise
:class:`UnknownNameError`, which lists the valid names and the closest match.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable, ClassVar, Generic, Iterator, TypeVar

__all__ = ["SpecError", "ConfigError", "UnknownNameError", "Registry", "parse_spec", "closest_match", "split_specs"]

T = TypeVar("T")

_TYPES: dict[str, Callable[[str], Any]] = {"float": float, "int": int, "str": str}


class SpecError(ValueError):
    """A spec string that cannot be turned into an object (one-line message)."""


class ConfigError(SpecError):
    """A configuration value that makes no sense (depth 0, negative std, dropout 1)."""


class UnknownNameError(SpecError):
    """A name that is not in a registry; the message lists the valid names and the closest match."""

    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, list(valid)
        best = closest_match(name, valid)
        hint = f"; did you mean '{best}'?" if best else ""
        super().__init__(f"unknown {kind} '{name}'{hint} (valid: {', '.join(valid)})")


def closest_match(name: str, valid: list[str]) -> str | None:
    """Return the entry of ``valid`` most similar to ``name`` (``None`` if nothing is close)."""
    hits = difflib.get_close_matches(name.lower(), valid, n=1, cutoff=0.5)
    return hits[0] if hits else None


def split_specs(text: str) -> list[str]:
    """Split a comma-separated list of specs, keeping commas that belong to parameters.

    ``"xavier,he,normal:0.01,variance_scaling:scale=2,mode=fan_in"`` becomes
    ``["xavier", "he", "normal:0.01", "variance_scaling:scale=2,mode=fan_in"]``:
    a piece that holds ``=`` but no ``:``, or that is a bare number, continues the previous spec.
    """
    out: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if out and ":" in out[-1] and ":" not in piece and ("=" in piece or _is_number(piece)):
            out[-1] += "," + piece
        else:
            out.append(piece)
    return out


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def parse_spec(spec: str) -> tuple[str, list[str], dict[str, str]]:
    """Split ``"name:a,b,k=v"`` into ``("name", ["a", "b"], {"k": "v"})`` (name lower-cased)."""
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"empty spec {spec!r}")
    name, _, rest = spec.strip().partition(":")
    args: list[str] = []
    kwargs: dict[str, str] = {}
    for part in (p.strip() for p in rest.split(",")) if rest else ():
        if not part:
            raise SpecError(f"empty parameter in spec '{spec}'")
        if "=" in part:
            k, _, v = part.partition("=")
            k = k.strip().lower()
            if k in kwargs:
                raise SpecError(f"parameter '{k}' given twice in spec '{spec}'")
            kwargs[k] = v.strip()
        elif kwargs:
            raise SpecError(f"positional parameter after keyword in spec '{spec}'")
        else:
            args.append(part)
    return name.strip().lower(), args, kwargs


def _convert(cls: type, field: dataclasses.Field, raw: str, spec: str) -> Any:
    ftype = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
    ftype = ftype.replace(" ", "")
    try:
        if ftype == "bool":
            low = raw.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if ftype in _TYPES:
            return _TYPES[ftype](raw)
        if ftype in ("float|None", "None|float", "Optional[float]"):
            return None if raw.lower() == "none" else float(raw)
        if ftype in ("int|None", "None|int", "Optional[int]"):
            return None if raw.lower() == "none" else int(raw)
    except ValueError:
        raise SpecError(f"parameter '{field.name}' of '{spec}' must be {ftype}, got '{raw}'") from None
    return raw


class Registry(Generic[T]):
    """A name → frozen-dataclass registry that parses spec strings.

    Parameters
    ----------
    kind : str
        What the entries are ("activation", "initializer", ...), used in messages.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._classes: dict[str, type] = {}
        self._aliases: dict[str, tuple[str, dict[str, Any]]] = {}

    def register(self, name: str, *aliases: str) -> Callable[[type], type]:
        """Class decorator: register a frozen dataclass under ``name`` (and plain aliases)."""

        def deco(cls: type) -> type:
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"{cls.__name__} must be a dataclass")
            for n in (name, *aliases):
                if n in self._classes or n in self._aliases:
                    raise ValueError(f"{self.kind} '{n}' registered twice")
            cls.name = name  # type: ignore[attr-defined]
            self._classes[name] = cls
            for a in aliases:
                self._aliases[a] = (name, {})
            return cls

        return deco

    def alias(self, alias: str, target: str, **params: Any) -> None:
        """Register ``alias`` as ``target`` with fixed parameters (e.g. ``swish`` → ``silu``)."""
        if target not in self._classes:
            raise KeyError(target)
        self._aliases[alias] = (target, params)

    def names(self) -> list[str]:
        """Canonical names, in registration order."""
        return list(self._classes)

    def all_names(self) -> list[str]:
        """Canonical names followed by aliases."""
        return list(self._classes) + list(self._aliases)

    def aliases_of(self, name: str) -> list[str]:
        return [a for a, (t, _) in self._aliases.items() if t == name]

    def __contains__(self, name: str) -> bool:
        return name in self._classes or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def cls(self, name: str) -> type:
        name = name.lower()
        if name in self._aliases:
            name = self._aliases[name][0]
        if name not in self._classes:
            raise UnknownNameError(self.kind, name, self.all_names())
        return self._classes[name]

    def get(self, spec: Any) -> T:
        """Return the entry for ``spec`` (a spec string, or an already-parsed entry)."""
        if not isinstance(spec, str):
            if any(isinstance(spec, c) for c in self._classes.values()):
                return spec
            raise SpecError(f"expected a {self.kind} spec string, got {type(spec).__name__}")
        name, args, kwargs = parse_spec(spec)
        fixed: dict[str, Any] = {}
        if name in self._aliases:
            name, fixed = self._aliases[name]
        if name not in self._classes:
            raise UnknownNameError(self.kind, name, self.all_names())
        cls = self._classes[name]
        fields = [f for f in dataclasses.fields(cls) if f.init and f.name not in fixed]
        if len(args) > len(fields):
            raise SpecError(
                f"{self.kind} '{name}' takes at most {len(fields)} parameter(s)"
                f"{' (' + ', '.join(f.name for f in fields) + ')' if fields else ''}, got {len(args)} in '{spec}'"
            )
        values: dict[str, Any] = dict(fixed)
        by_name = {f.name: f for f in fields}
        for f, raw in zip(fields, args):
            values[f.name] = _convert(cls, f, raw, spec)
        for k, raw in kwargs.items():
            if k not in by_name:
                valid = ", ".join(by_name) or "none"
                raise SpecError(f"{self.kind} '{name}' has no parameter '{k}' (parameters: {valid})")
            if k in values:
                raise SpecError(f"parameter '{k}' given twice in spec '{spec}'")
            values[k] = _convert(cls, by_name[k], raw, spec)
        try:
            return cls(**values)
        except SpecError:
            raise
        except (TypeError, ValueError) as exc:
            raise SpecError(f"bad {self.kind} spec '{spec}': {exc}") from None

    def given_fields(self, spec: Any) -> set[str]:
        """The parameters ``spec`` sets itself: named in a spec string (positionally or by keyword, and an
        alias's fixed ones), or differing from their defaults in an already-parsed entry."""
        if not isinstance(spec, str):
            entry = self.get(spec)
            return {f.name for f in dataclasses.fields(entry) if f.init and (
                f.default is dataclasses.MISSING or getattr(entry, f.name) != f.default)}
        name, args, kwargs = parse_spec(spec)
        fixed: dict[str, Any] = {}
        if name in self._aliases:
            name, fixed = self._aliases[name]
        cls = self.cls(name)
        fields = [f.name for f in dataclasses.fields(cls) if f.init and f.name not in fixed]
        return set(fixed) | set(fields[:len(args)]) | set(kwargs)

    def describe(self) -> list[tuple[str, str, list[str]]]:
        """``(name, one-line description, aliases)`` for every entry."""
        return [(n, (c.__doc__ or "").strip().splitlines()[0], self.aliases_of(n)) for n, c in self._classes.items()]


class RegistryEntry:
    """Mixin for registry entries (frozen dataclasses): the canonical spec, ``str()`` and a description.

    ``spec`` is the entry's name plus the parameters that differ from their defaults, so
    ``registry.get(entry.spec) == entry``; ``description`` is the first line of the class docstring
    (what ``initlab list`` shows).
    """

    name: ClassVar[str] = "entry"

    @property
    def spec(self) -> str:
        """Canonical spec string (name plus non-default parameters)."""
        return spec_string(self)

    def __str__(self) -> str:
        return self.spec

    @property
    def description(self) -> str:
        """First line of the class docstring."""
        return (type(self).__doc__ or "").strip().splitlines()[0]


def spec_string(obj: Any) -> str:
    """Canonical spec of a registry entry: its name and the parameters that differ from the defaults."""
    parts = []
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        v = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and v == f.default:
            continue
        parts.append(f"{f.name}={_fmt(v)}")
    return obj.name + (":" + ",".join(parts) if parts else "")


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if v != int(v) or abs(v) >= 1e16 else str(int(v)) if abs(v) < 1e6 else repr(v)
    return str(v)


__all__ += ["spec_string", "RegistryEntry"]
