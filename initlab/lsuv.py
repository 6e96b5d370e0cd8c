"""Orthogonal and LSUV initialization: kept importable as ``initlab.lsuv``.

The code lives in :mod:`initlab.initializers.orthogonal`; this module only re-exports it.
"""

from .initializers.orthogonal import LSUV, Orthogonal, lsuv_rescale, orthogonal_matrix

__all__ = ["Orthogonal", "LSUV", "orthogonal_matrix", "lsuv_rescale"]
