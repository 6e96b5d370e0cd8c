""":class:`SweepResult`: a sweep's store, read as tables and drawn as figures."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

from .._repr import ShowsItself
from .axes import Grid
from .store import Store

__all__ = ["SweepResult"]


class SweepResult(ShowsItself):
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
        with Store(self.path, readonly=True, task="simulate") as st:  # a study's store: one line
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

    def _repr_facts(self) -> str:
        done = int((self.points["status"] == "done").sum())
        return f"{str(self.path)!r}, {self.grid.n_points} points, {done} done"

    def _repr_table(self):
        swept = [a for a in self.grid.given if len(self.grid.fields[a]) > 1]  # the axes with more than one value
        cols = [c for c in (*swept, "chi1", "theory_chi1", "xi_c", "theory_xi_c", "phase",
                            "theory_phase") if c in self.points.columns]
        return self.points[["status", *cols]]

    def _repr_figure(self):
        """The phase comparison when the sweep spans σ_w² × σ_b², else none."""
        if not {"sigma_w2", "sigma_b2"} <= set(self.grid.given) or not (self.points["status"] == "done").any():
            return None
        return self.phase_figure()

    def summary(self) -> str:
        """Points done and failed and, with σ_w² and σ_b² axes, the agreement with mean-field theory."""
        pts = self.points
        done = pts[pts["status"] == "done"]
        lines = [f"{len(pts)} points in {self.path} ({len(done)} done, {len(pts) - len(done)} failed or pending)"]
        ax = self.grid.axes
        if len(done) and len(ax.get("sigma_w2", ())) > 1 and len(ax.get("sigma_b2", ())) > 1:
            from ..plots.sweep import phase_agreement

            a = phase_agreement(done)
            lines.append(f"vs mean-field theory: same phase in {a['same_phase']:.1%} of {a['cells']:.0f} cells; median "
                         f"relative error away from chi1 = 1 ({a['cells_away']:.0f} cells): chi1 "
                         f"{a['chi1_median_rel_err']:.2%}, xi_c {a['xi_c_median_rel_err']:.2%}")
        return "\n".join(lines)

    def figures(self):
        """The figures the sweep has data for, built lazily: ``phase`` (σ_w² and σ_b² axes), ``width_q_tail`` and
        ``width_chi1`` (a width axis), ``depth`` (per-layer rows kept)."""
        from .._result import LazyFigures

        ax = self.grid.axes
        make: dict[str, Any] = {}
        if len(ax.get("sigma_w2", ())) > 1 and len(ax.get("sigma_b2", ())) > 1:
            make["phase"] = self.phase_figure
        if len(ax.get("width", ())) > 1:
            make["width_q_tail"] = lambda: self.width_figure("q_tail")
            make["width_chi1"] = lambda: self.width_figure("chi1")
        if self.grid.keep == "layers":
            make["depth"] = self.depth_figure
        return LazyFigures(make)

    def to_dir(self, path: str | Path) -> Path:
        """Write a run folder as a unit (:func:`initlab._io.staged_dir`): a consistent copy of the store
        (``store.sqlite``, SQLite's online backup) and its points (``points.csv``, full precision).
        :meth:`from_dir` reads it back bit for bit."""
        import sqlite3

        from .._io import staged_dir
        from .._result import write_frames

        with staged_dir(path) as tmp:
            with Store(self.path) as st:
                dst = sqlite3.connect(str(tmp / "store.sqlite"))
                try:
                    st.db.backup(dst)
                    dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                finally:
                    dst.close()
            write_frames(tmp, {"points": self.points})
        return Path(path)

    @classmethod
    def from_dir(cls, path: str | Path) -> "SweepResult":
        """The result :meth:`to_dir` wrote into ``path`` (its store)."""
        return cls(Path(path) / "store.sqlite")
