"""PEP 562 lazy attributes for package facades: a name's module is imported on first use."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, names: Mapping[str, str], submodules: tuple[str, ...] = (),
                    namespace: dict[str, Any] | None = None) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` that resolve ``names`` (name → relative module) lazily.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : mapping
        Public name → the module (relative to ``package``, e.g. ``".sim.engine"``) that defines it.
    submodules : tuple of str
        Submodules reachable as attributes (``initlab.nn``), imported on first use.
    namespace : dict
        The package's ``globals()``: a resolved name is cached there, so ``__getattr__`` runs once per name.
    """
    ns = namespace if namespace is not None else {}

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name], package), name)
        elif name in submodules:
            value = importlib.import_module("." + name, package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        ns[name] = value
        return value

    def __dir__() -> list[str]:
        # the public surface only: not ``annotations`` (from ``__future__``) nor this helper
        return sorted(set(ns.get("__all__", ())) | set(names) | set(submodules))

    return __getattr__, __dir__
