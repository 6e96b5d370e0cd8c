"""All trainable parameters of a model in one contiguous flat buffer, with per-layer views.

One flat ``params`` array and one flat ``grads`` array of the same layout let an optimizer update
every parameter with a few in-place numpy calls, and make saving, restoring and copying weights a
single array copy. Each parameter starts on a 64-byte boundary (16 float32 entries); the padding
between parameters stays zero in both arrays, so any optimizer leaves it at zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["ParamStore", "ParamEntry"]

_ALIGN = 16


@dataclass(frozen=True)
class ParamEntry:
    """Where one parameter lives: ``layer`` index, ``name``, ``shape``, flat ``offset`` and ``size``."""

    layer: int
    name: str
    shape: tuple[int, ...]
    offset: int
    size: int


class ParamStore:
    """Allocate, initialise and bind the parameters of ``layers`` (already built).

    Parameters
    ----------
    layers : sequence of Layer
        Built layers; each declares ``param_specs()`` and receives views through ``bind``.
    dtype : numpy dtype
    rng : numpy.random.Generator
        Every initializer draws from it, layer by layer, in declaration order.

    Attributes
    ----------
    params, grads : ndarray of shape (size,)
        The flat buffers (``grads`` starts at zero).
    entries : list of ParamEntry
    """

    def __init__(self, layers: Sequence[Any], dtype: Any, rng: np.random.Generator):
        self.dtype = np.dtype(dtype)
        entries: list[ParamEntry] = []
        inits = []
        offset = 0
        for i, layer in enumerate(layers):
            for name, shape, init in layer.param_specs():
                shape = tuple(int(s) for s in shape)
                size = math.prod(shape)
                entries.append(ParamEntry(i, name, shape, offset, size))
                inits.append(init)
                offset += -(-size // _ALIGN) * _ALIGN
        self.entries = entries
        self.params = np.zeros(offset, dtype=self.dtype)
        self.grads = np.zeros(offset, dtype=self.dtype)
        views: list[tuple[dict, dict]] = [({}, {}) for _ in layers]
        for e, init in zip(entries, inits):
            p = self.params[e.offset:e.offset + e.size].reshape(e.shape)
            g = self.grads[e.offset:e.offset + e.size].reshape(e.shape)
            p[...] = init.sample(e.shape, rng, self.dtype)
            views[e.layer][0][e.name] = p
            views[e.layer][1][e.name] = g
        for layer, (p, g) in zip(layers, views):
            layer.bind(p, g)

    @property
    def size(self) -> int:
        """Trainable parameters (without padding)."""
        return sum(e.size for e in self.entries)

    def view(self, entry: ParamEntry, grads: bool = False) -> np.ndarray:
        buf = self.grads if grads else self.params
        return buf[entry.offset:entry.offset + entry.size].reshape(entry.shape)
