""":class:`SweepResult`: a sweep's store, read as tables and drawn as figures."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

from .axes import Grid
from .store import Store

__all__ = ["SweepResult"]


class SweepResult:
    """The points (and, lazily, the per-layer rows) of a sweep store.

    Attributes
    ----------
    path : Path
        The store.
    points : pandas.DataFrame
        One row per point: ``key``, ``status``, one column per axis of the sweep, the
        :data:`~initlab.schema.POINT_SUMMARY_COLUMNS`, ``seconds``, ``error`` (read once).
    layers : pandas.DataFrame
        Every stored per-layer row (``point`` key, then :data:`~initlab.schema.LAYER_COLUMNS`), read from the
        store when first used (empty unless the sweep ran with ``keep='layers'``).
    grid : Grid
        The sweep's definition (a narrower command's, when it ran on part of a larger store).
    keys : frozenset of str or None
        That narrower command's points (None: every point of the store).
    """

    def __init__(self, path: str | Path, *, grid: Grid | None = None, keys: frozenset[str] | None = None):
        self.path = Path(path)
        self.keys = keys  # a narrower sweep's points only (with its grid), or every point of the store
        with Store(self.path, readonly=True) as st:
            self.grid: Grid = grid if grid is not None else st.grid
        if self.grid is None:
            from .store import StoreError

            raise StoreError(f"{self.path} holds no sweep yet (its first run was stopped before it began)")

    @cached_property
    def points(self):
        with Store(self.path, readonly=True) as st:
            return st.points_frame(self.keys)

    @cached_property
    def layers(self):
        with Store(self.path, readonly=True) as st:
            return st.layers_frame(None if self.keys is None else sorted(self.keys))

    def layers_of(self, keys: Sequence[str]):
        """The per-layer rows of some points only (read from the store)."""
        with Store(self.path, readonly=True) as st:
            return st.layers_frame(keys)

    @property
    def definition(self) -> dict[str, Any]:
        return self.grid.to_dict()

    # -- figures ----------------------------------------------------------------------------------------
    def phase_figure(self, **kw: Any):
        """Measured vs predicted χ₁ and ξ_c over σ_w² × σ_b² (:func:`initlab.plots.sweep.phase_comparison`)."""
        from ..plots.sweep import phase_comparison

        return phase_comparison(self.points, **kw)

    def width_figure(self, stat: str = "q_tail", **kw: Any):
        """Deviation from mean field against width (:func:`initlab.plots.sweep.width_scaling`)."""
        from ..plots.sweep import width_scaling

        return width_scaling(self.points, stat, **kw)

    def depth_figure(self, column: str = "pre_corr", keys: Sequence[str] | None = None, **kw: Any):
        """A per-layer statistic against layer for some points (:func:`initlab.plots.sweep.depth_profiles`)."""
        from ..plots.sweep import depth_profiles, pick_points

        keys = list(keys) if keys is not None else pick_points(self.points)
        return depth_profiles(self.layers_of(keys), self.points, column, **kw)

    def report(self, path: str | Path, **kw: Any) -> Path:
        """Write the sweep's PDF report (:func:`initlab.report.sweep.write_sweep_report`)."""
        from ..report.sweep import write_sweep_report

        return write_sweep_report(self, path, **kw)

    def __repr__(self) -> str:
        return f"SweepResult({str(self.path)!r}, {self.grid.n_points} points)"
