"""The order-to-chaos phase diagram over :math:`(\\sigma_w^2, \\sigma_b^2)`, solved for the whole grid at once.

:func:`phase_grid` calls :func:`initlab.theory.solve` on the broadcast grid: the q-map fixed point of every
cell by one vectorised bracket-and-Newton iteration, :math:`c^*` of the chaotic cells by one vectorised
Newton iteration on the c-map (no Python loop over cells). A 100 × 100 grid for tanh takes well under a
second on two cores (the chaotic cells start from the Mehler series of the c-map; see theory.correlations.solve_c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import Activation, get_activation
from .gaussian import DEFAULT_DEGREE, gaussian_kernel
from .critical import critical_point
from .meanfield import solve

__all__ = ["PhaseGrid", "phase_grid", "GRID_DEGREE_2D", "GRID_GRADE_2D", "default_sigma_w2_max"]

#: 2-D quadrature nodes per piece for the grid's correlation map (errors about 1e-6 for q* <= 3).
GRID_DEGREE_2D = 12
#: The grid's 2-D rule grades towards the rays u = 0 only where the layer is narrower than this (q > 4).
GRID_GRADE_2D = 0.5

_FIELDS = ("q_star", "chi1", "q_slope", "c_star", "chi_c", "xi_q", "xi_c", "phase", "divergent")


@dataclass(frozen=True)
class PhaseGrid:
    """Mean-field quantities on a grid; every 2-D array has shape ``(len(sigma_b2), len(sigma_w2))``
    (rows σ_b², columns σ_w², ready for ``pcolormesh(sigma_w2, sigma_b2, ...)``).

    Attributes
    ----------
    act : str
        Canonical activation spec.
    sigma_w2, sigma_b2 : ndarray of shape (W,), (B,)
    q0 : float
        Second moment the q-map iteration starts from.
    q_star, chi1, q_slope, c_star, chi_c, xi_q, xi_c : ndarray (B, W), float
        As in :func:`initlab.theory.solve` (``q_star`` inf and the others NaN where divergent; ``chi1`` is
        then the :math:`q \\to \\infty` limit).
    phase : ndarray (B, W) of str
        ``ordered``, ``critical``, ``chaotic`` or ``divergent``.
    divergent : ndarray (B, W) of bool
        No finite fixed point (the q-map iteration from ``q0`` passes :data:`initlab.theory.Q_MAX`).
    method : str
        How the Gaussian expectations were computed.
    """

    act: str
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    q0: float
    q_star: np.ndarray
    chi1: np.ndarray
    q_slope: np.ndarray
    c_star: np.ndarray
    chi_c: np.ndarray
    xi_q: np.ndarray
    xi_c: np.ndarray
    phase: np.ndarray
    divergent: np.ndarray
    method: str

    @property
    def shape(self) -> tuple[int, int]:
        return (self.sigma_b2.size, self.sigma_w2.size)

    def to_frame(self):
        """A long pandas DataFrame, one row per cell: ``sigma_w2``, ``sigma_b2`` and every field."""
        import pandas as pd

        sw, sb = np.meshgrid(self.sigma_w2, self.sigma_b2)
        data = {"act": self.act, "sigma_w2": sw.ravel(), "sigma_b2": sb.ravel()}
        data.update({f: getattr(self, f).ravel() for f in _FIELDS})
        return pd.DataFrame(data)


def phase_grid(act: Activation | str, sigma_w2: Any, sigma_b2: Any, *, q0: float = 1.0, degree: int = DEFAULT_DEGREE,
               degree_2d: int = GRID_DEGREE_2D) -> PhaseGrid:
    """Solve the mean-field fixed points on every cell of ``sigma_b2 × sigma_w2`` at once.

    Parameters
    ----------
    act : Activation or spec string
    sigma_w2, sigma_b2 : 1-D array_like of float >= 0
        Grid axes.
    q0 : float
        Input second moment the q-map iteration starts from.
    degree, degree_2d : int
        Quadrature nodes (per piece) for the 1-D and 2-D expectations.

    Returns
    -------
    PhaseGrid
    """
    a = get_activation(act)
    sw = np.atleast_1d(np.asarray(sigma_w2, dtype=np.float64))
    sb = np.atleast_1d(np.asarray(sigma_b2, dtype=np.float64))
    if sw.ndim != 1 or sb.ndim != 1 or not sw.size or not sb.size:
        raise ValueError("sigma_w2 and sigma_b2 must be non-empty 1-D arrays")
    k = gaussian_kernel(a, degree, degree_2d, grade_2d=GRID_GRADE_2D)
    r = solve(k, sw[None, :], sb[:, None], q0=q0)
    return PhaseGrid(a.spec, sw, sb, float(q0), *(r[f] for f in _FIELDS), k.method)


def default_sigma_w2_max(act: Activation | str, *, q0: float = 1.0) -> float:
    """A σ_w² range that shows both phases: 4, or twice the critical σ_w² at σ_b² = 0 when that is larger."""
    crit = critical_point(act, 0.0, q0=q0).sigma_w2
    if math.isnan(crit):
        return 4.0
    return float(max(4.0, 2.0 * crit))
