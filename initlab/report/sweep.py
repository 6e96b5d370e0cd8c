"""The PDF report of a sweep, written atomically: its definition, its figures and its agreement with theory.

Pages: the definition (every axis with its values, the fixed settings, the store's counts) and, when the
sweep has them, the measured-vs-predicted phase diagram (σ_w² and σ_b² axes with at least two values each)
with the agreement numbers, the width scaling of ``q_tail`` and ``chi1`` (a ``width`` axis), the depth
profile of the correlation of a few points (``keep='layers'``), and a table of the first points.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from .._io import atomic_write, reproducible_time
from .._version import __version__
from ..plots.common import TEXT_COLOR

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


def definition_page(result: Any, date: _dt.datetime) -> Figure:
    """The sweep's axes and values, its fixed settings, and how many points are done."""
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
    return _text_page("initlab sweep report", lines,
                      f"initlab {__version__}   ·   {date:%Y-%m-%d %H:%M} UTC   ·   {len(pts)} points")


def points_page(points: Any) -> Figure:
    """The first points: their axes, measured χ₁ and ξ_c beside the theory, and the phases."""
    from ..plots.sweep import axis_columns

    axes = [a for a in axis_columns(points) if points[a].nunique() > 1] or axis_columns(points)[:3]
    cols = axes + ["chi1", "theory_chi1", "xi_c", "theory_xi_c", "q_tail", "theory_q_star", "phase", "theory_phase"]
    head = "  ".join(f"{c[:12]:>12}" for c in cols)
    lines = [head, "-" * len(head)]
    for _, row in points.head(_TABLE_ROWS).iterrows():
        lines.append("  ".join(f"{_fmt(row[c])[:12]:>12}" for c in cols))
    more = len(points) - _TABLE_ROWS
    if more > 0:
        lines.append(f"… and {more} more (initlab sweep export STORE -o points.csv)")
    return _text_page("Points", lines, "measured (mean over trials) beside mean-field theory")


def write_sweep_report(result: Any, path: str | Path, *, date: _dt.date | _dt.datetime | None = None) -> Path:
    """Write the report of a :class:`~initlab.sweep.SweepResult` to ``path`` (atomically; the same store and
    date give the same bytes; without ``date``, ``$SOURCE_DATE_EPOCH`` or else now)."""
    from ..plots.sweep import depth_profiles, phase_agreement, phase_comparison, pick_points, width_scaling

    when = date or reproducible_time()  # $SOURCE_DATE_EPOCH, else now
    if not isinstance(when, _dt.datetime):
        when = _dt.datetime(when.year, when.month, when.day)
    when = when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)
    grid, pts = result.grid, result.points
    done = pts[pts["status"] == "done"]
    pages = [lambda: definition_page(result, when)]
    ax = grid.axes
    if len(done) and len(ax.get("sigma_w2", ())) > 1 and len(ax.get("sigma_b2", ())) > 1:
        pages.append(lambda: phase_comparison(done))
        agree = phase_agreement(done)
        pages.append(lambda: _text_page("Agreement with mean-field theory", [
            f"cells compared                          {agree['cells']:.0f}",
            f"same phase (measured chi1 vs theory)    {agree['same_phase']:.1%}",
            f"cells with |theory chi1 - 1| > 0.05     {agree['cells_away']:.0f}",
            f"  median |chi1 - theory| / theory       {agree['chi1_median_rel_err']:.2%}",
            f"  median |xi_c - theory| / theory       {agree['xi_c_median_rel_err']:.2%}",
        ]))
    if len(done) and len(ax.get("width", ())) > 1:
        pages.append(lambda: width_scaling(done, "q_tail"))
        pages.append(lambda: width_scaling(done, "chi1"))
    if len(done) and grid.keep == "layers":
        keys = pick_points(done)
        lay = result.layers_of(keys)
        pages.append(lambda: depth_profiles(lay, done, "pre_corr"))
    pages.append(lambda: points_page(pts))
    metadata = {"Title": "initlab sweep report", "Creator": f"initlab {__version__}", "CreationDate": when,
                "ModDate": when}
    path = Path(path)
    with atomic_write(path, "wb") as fh:
        with PdfPages(fh, metadata=metadata) as pdf:
            for make in pages:
                pdf.savefig(make())
    return path
