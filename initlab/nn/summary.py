"""The Keras-style text table of a model's layers, output shapes and parameter counts."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._spec import ConfigError, closest_match

__all__ = ["summary_table", "format_bytes", "find_layer"]


def format_bytes(n: float) -> str:
    """``30.66 KB`` style sizes (powers of 1024, as Keras)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"  # pragma: no cover


def summary_table(name: str, rows: Sequence[tuple], itemsize: int, width: int = 65) -> str:
    """Render ``rows`` of ``(layer name, type name, output shape, trainable, non_trainable)``.

    Returns
    -------
    str
        Header, one line per layer (``Param #`` counts every parameter of the layer), and the totals
        ``Total params`` / ``Trainable params`` / ``Non-trainable params`` with their sizes in memory.
    """
    def shape_str(shape: tuple) -> str:
        return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"

    cells = [(f"{n} ({t})", shape_str(s), f"{tr + nt:,}") for n, t, s, tr, nt in rows]
    c1 = max([len("Layer (type)")] + [len(a) for a, _, _ in cells]) + 3
    c2 = max([len("Output Shape")] + [len(b) for _, b, _ in cells]) + 3
    c3 = max([len("Param #")] + [len(c) for _, _, c in cells])
    width = max(width, c1 + c2 + c3 + 1)
    lines = [f'Model: "{name}"', "_" * width, f" {'Layer (type)':<{c1}}{'Output Shape':<{c2}}{'Param #':>{c3}}",
             "=" * width]
    for i, (a, b, c) in enumerate(cells):
        lines.append(f" {a:<{c1}}{b:<{c2}}{c:>{c3}}")
        if i < len(cells) - 1:
            lines.append("")
    trainable = sum(r[3] for r in rows)
    non_trainable = sum(r[4] for r in rows)
    total = trainable + non_trainable
    lines += ["=" * width,
              f"Total params: {total:,} ({format_bytes(total * itemsize)})",
              f"Trainable params: {trainable:,} ({format_bytes(trainable * itemsize)})",
              f"Non-trainable params: {non_trainable:,} ({format_bytes(non_trainable * itemsize)})",
              "_" * width]
    return "\n".join(lines)


def find_layer(layers: Sequence[Any], name: str | None = None, index: int | None = None) -> Any:
    """The layer called ``name`` or at position ``index`` of ``layers`` (one of the two; ConfigError otherwise,
    listing the layers' names and the closest match)."""
    if (name is None) == (index is None):
        raise ConfigError("get_layer needs a name or an index (one of them)")
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or \
                not -len(layers) <= index < len(layers):
            raise ConfigError(f"layer index {index!r} is out of range for {len(layers)} layers")
        return layers[int(index)]
    for layer in layers:
        if layer.name == name:
            return layer
    names = [layer.name for layer in layers]
    best = closest_match(str(name), names)
    hint = f"; did you mean '{best}'?" if best else ""
    raise ConfigError(f"no layer named '{name}'{hint} (layers: {', '.join(names) or 'none'})")
