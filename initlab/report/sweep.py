"""The PDF report of a sweep, written atomically: its definition, its figures and its agreement with theory.

Pages: the definition (every axis with its values, the fixed settings, the store's counts and, with a phase
diagram, its agreement numbers) and, when the sweep has them, the measured-vs-predicted phase diagram (σ_w²
and σ_b² axes with at least two values each), the width scaling of ``q_tail`` and ``chi1`` (a ``width`` axis), the depth
profile of the correlation of a few points (``keep='layers'``), and a typeset table of the first points.
Every page on the report's one page size (:func:`initlab.report.pdf.save_on_page`).
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from .._version import __version__
from ..plots.common import TEXT_COLOR
from .pdf import report_date, write_pdf

__all__ = ["write_sweep_report", "definition_page", "points_page"]

_PAGE = (11.0, 8.5)
_TABLE_ROWS = 30


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "∞" if math.isinf(v) else "—" if math.isnan(v) else f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        shown = ", ".join(_fmt(x) for x in v[:10])
        return shown + (f", … ({len(v)} values)" if len(v) > 10 else "")
    return "—" if v is None else str(v)


def _text_page(title: str, lines: list[str], subtitle: str = "") -> Figure:
    fig = Figure(figsize=_PAGE, facecolor="white")
    fig.text(0.06, 0.93, title, fontsize=18, color=TEXT_COLOR, va="top")
    if subtitle:
        fig.text(0.06, 0.885, subtitle, fontsize=10, color="#555555", va="top")
    fig.text(0.06, 0.84, "\n".join(lines), fontsize=8.5, family="monospace", color=TEXT_COLOR, va="top",
             linespacing=1.35)
    return fig


def definition_page(result: Any, date: _dt.datetime, agreement: dict[str, float] | None = None) -> Figure:
    """The sweep's axes and values, its fixed settings, how many points are done and, when the sweep has a
    phase diagram, its agreement with mean-field theory (:func:`initlab.plots.sweep.phase_agreement`)."""
    grid = result.grid
    pts = result.points
    lines = ["Axes (the grid is their cross product" + (f"; zipped: {'; '.join(','.join(z) for z in grid.zips)}"
                                                        if grid.zips else "") + ")"]
    for a in grid.given:
        vals = grid.fields[a]
        lines.append(f"  {a:<12} {len(vals):>4} value(s): {_fmt(list(vals))}")
    lines += ["", "Fixed settings"]
    for k, v in grid.base().items():
        lines.append(f"  {k:<12} {_fmt(v)}")
    counts = pts["status"].value_counts().to_dict()
    lines += ["", f"Points: {len(pts)} ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}); "
                  f"keep = {grid.keep}; store {result.path.name}",
              f"Compute time over the points: {pts['seconds'].sum():.1f} s"]
    if agreement is not None:
        a = agreement
        lines += ["", "Agreement with mean-field theory (the phase diagram, next page)",
                  f"  cells compared                          {a['cells']:.0f}",
                  f"  same phase (measured chi1 vs theory)    {a['same_phase']:.1%}",
                  f"  cells with |theory chi1 - 1| > 0.05     {a['cells_away']:.0f}",
                  f"    median |chi1 - theory| / theory       {a['chi1_median_rel_err']:.2%}",
                  f"    median |xi_c - theory| / theory       {a['xi_c_median_rel_err']:.2%}"]
    return _text_page("initlab sweep report", lines,
                      f"initlab {__version__}   ·   {date:%Y-%m-%d %H:%M} UTC   ·   {len(pts)} points")


#: The points table's measured and theory columns, with their printed headers.
_POINT_COLUMNS = {"chi1": "χ₁", "theory_chi1": "χ₁ theory", "xi_c": "ξ_c", "theory_xi_c": "ξ_c theory",
                  "q_tail": "q tail", "theory_q_star": "q* theory", "phase": "phase", "theory_phase": "phase theory"}


def points_page(points: Any) -> Figure:
    """The first points, typeset: their axes, measured χ₁, ξ_c and q beside the theory, and the phases."""
    from ..plots.sweep import axis_columns
    from ..plots.table import table_figure

    axes = [a for a in axis_columns(points) if points[a].nunique() > 1] or axis_columns(points)[:3]
    table = points[axes + list(_POINT_COLUMNS)].rename(columns=_POINT_COLUMNS)
    more = len(points) - _TABLE_ROWS
    notes = ["measured: mean over the trials; theory: the mean-field fixed point at the point's σ_w², σ_b²",
             "ξ_c in layers (∞ at χ₁ = 1); q tail: the pre-activation second moment over the last layers"]
    if more > 0:
        notes.append(f"… and {more} more points: initlab sweep export STORE -o points.csv")
    return table_figure(table, "Points", max_rows=_TABLE_ROWS, units={"ξ_c": "layers", "ξ_c theory": "layers"},
                        notes=notes)


def write_sweep_report(result: Any, path: str | Path, *, date: _dt.date | _dt.datetime | None = None) -> Path:
    """Write the report of a :class:`~initlab.sweep.SweepResult` to ``path`` through
    :func:`~initlab.report.pdf.write_pdf` (atomically; dated ``date``, else ``SOURCE_DATE_EPOCH``, else now; the
    same store and date give the same bytes)."""
    from ..plots.sweep import depth_profiles, phase_agreement, phase_comparison, pick_points, width_scaling

    when = date or report_date()
    if not isinstance(when, _dt.datetime):
        when = _dt.datetime(when.year, when.month, when.day)
    when = when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)
    grid, pts = result.grid, result.points
    done = pts[pts["status"] == "done"]
    ax = grid.axes
    phases = len(done) and len(ax.get("sigma_w2", ())) > 1 and len(ax.get("sigma_b2", ())) > 1
    agree = phase_agreement(done) if phases else None
    pages = [lambda: definition_page(result, when, agree)]
    if phases:
        pages.append(lambda: phase_comparison(done))
    if len(done) and len(ax.get("width", ())) > 1:
        pages.append(lambda: width_scaling(done, "q_tail"))
        pages.append(lambda: width_scaling(done, "chi1"))
    if len(done) and grid.keep == "layers":
        keys = pick_points(done)
        lay = result.layers_of(keys)
        pages.append(lambda: depth_profiles(lay, done, "pre_corr"))
    pages.append(lambda: points_page(pts))
    return write_pdf(path, (make() for make in pages), title="initlab sweep report", date=when)
