"""Central differences shared by the gradient-check tests (not a test module itself)."""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["numgrad"]


def numgrad(f: Callable[[], float], a: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂a by central differences, perturbing ``a`` in place entry by entry (restored afterwards).

    ``f`` takes no arguments and reads ``a``; the error is :math:`O(h^2)` in float64.
    """
    g = np.empty_like(a)
    flat, gf = a.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f()
        flat[i] = old - h
        fm = f()
        flat[i] = old
        gf[i] = (fp - fm) / (2 * h)
    return g
