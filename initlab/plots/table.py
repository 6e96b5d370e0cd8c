"""Typeset tables for the PDF reports: rules above and below, numbers right-aligned to a common precision.

A paper's table, not a spreadsheet's: a top rule, the header (and the units under it, in grey), a rule,
the rows, a bottom rule, then the footnotes. Per numeric column every number has the same number of
decimals (:func:`column_format`: four significant digits for the largest magnitude, or scientific notation
where the magnitudes span more than four decades), so the decimal points line up (DejaVu's digits all have
one width). A missing value (NaN, None) prints "—" and a footnote says what a dash means; ±inf prints "∞".
Long text wraps within its column.

:func:`table_figure` draws one table; :func:`tables_figure` stacks several on one figure (a report page
for several small tables instead of a page each). The figures are as wide as the report's page and as tall
as their content, so the one PDF writer places them at the top of a page without scaling them.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.textpath import TextToPath

__all__ = ["table_figure", "tables_figure", "table_pages", "column_format", "format_cells", "DASH", "DASH_NOTE",
           "Section"]

from .._format import DASH, DASH_NOTE

WIDTH, HEIGHT = 11.0, 8.5  # inches: the report's page (initlab.report.pages.PAGE)
_MARGIN = 0.6  # inches left and right
_FONT = 8.5  # points
_LINE = 0.19  # inches per text line
_GAP = 0.16  # inches between columns
_WRAP = 48  # characters of text per line before a text cell wraps
_TEXT = "#222222"
_GREY = "#666666"

#: One table of a figure: ``(caption, frame, units, footnotes)``.
Section = tuple[str, pd.DataFrame, Mapping[str, str], Sequence[str]]


def _finite(values: Sequence[Any]) -> np.ndarray:
    out = []
    for v in values:
        if isinstance(v, (bool, np.bool_)) or v is None:
            continue
        if isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(float(v)):
            out.append(float(v))
    return np.asarray(out, dtype=np.float64)


def column_format(values: Sequence[Any]) -> Callable[[float], str]:
    """The one format of a numeric column: integers without decimals; else fixed decimals giving four
    significant digits to the largest magnitude and at least two to the smallest nonzero one (at most six
    decimals); ``.3e`` where the nonzero magnitudes span more than four decades or reach outside [1e-3, 1e6)."""
    v = _finite(values)
    if v.size == 0:
        return lambda x: f"{x:g}"
    if np.all(v == np.round(v)) and np.abs(v).max() < 1e15:
        return lambda x: f"{x:.0f}"
    a = np.abs(v[v != 0])
    big, small = float(a.max()), float(a.min())
    if big >= 1e6 or big < 1e-3 or big / small > 1e4:
        return lambda x: f"{x:.3e}"
    decimals = int(min(6, max(0, 3 - math.floor(math.log10(big)), 1 - math.floor(math.log10(small)))))
    return lambda x: f"{x:.{decimals}f}"


def format_cells(df: pd.DataFrame) -> tuple[list[list[str]], list[bool], bool]:
    """The cells of ``df`` as text, whether each column is numeric (right-aligned) and whether a dash was used."""
    cols, numeric, dashed = [], [], False
    for j in range(df.shape[1]):
        values = list(df.iloc[:, j])
        is_num = all(v is None or isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                     or (isinstance(v, float) and math.isnan(v)) for v in values) and _finite(values).size > 0
        fmt = column_format(values) if is_num else None
        cells = []
        for v in values:
            if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)) or v is pd.NA:
                cells.append(DASH)
                dashed = True
            elif isinstance(v, (bool, np.bool_)):
                cells.append("yes" if v else "no")
            elif fmt is not None and math.isinf(float(v)):
                cells.append("∞" if v > 0 else "−∞")
            elif fmt is not None:
                cells.append(fmt(float(v)).replace("-", "−"))
            else:
                text = str(v)
                cells.append(DASH if text in ("", "nan", "None") else text)
                dashed |= cells[-1] == DASH
        cols.append(cells)
        numeric.append(is_num)
    rows = [list(r) for r in zip(*cols)] if cols else []
    return rows, numeric, dashed


_MEASURE = TextToPath()


def _width(text: str, size: float, bold: bool = False) -> float:
    """The width of ``text`` in inches at ``size`` points (the font's own metrics)."""
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    return _MEASURE.get_text_width_height_descent(text, prop, ismath=False)[0] / 72.0


def _height(section: Section) -> float:
    caption, df, units, notes = section
    units = {k: v for k, v in units.items() if v}
    rows, _, dashed = format_cells(df)
    lines = sum(max(len(textwrap.wrap(c, _WRAP)) or 1 for c in r) for r in rows)
    return _LINE * (2.2 + bool(units) + max(lines, 1) + len(notes) + dashed) + 0.35


def _draw(fig: Figure, section: Section, top: float) -> float:
    """Draw one table with its top edge ``top`` inches below the figure's top; return the inches used."""
    caption, df, units, notes = section
    units = {k: v for k, v in units.items() if v}
    H = fig.get_size_inches()[1]
    y = lambda inches: 1.0 - inches / H  # noqa: E731 (figure fraction of a depth in inches)
    x = lambda inches: inches / WIDTH  # noqa: E731
    rows, numeric, dashed = format_cells(df)
    wrapped = [[textwrap.wrap(c, _WRAP) or [""] for c in r] for r in rows]
    header = [str(c) for c in df.columns]
    widths = [max([_width(h, _FONT, True), _width(units.get(h, ""), _FONT - 1)]
                  + [max(_width(s, _FONT) for s in r[j]) for r in wrapped]) for j, h in enumerate(header)]
    total = sum(widths) + _GAP * (len(widths) - 1)
    scale = max(0.7, min(1.0, (WIDTH - 2 * _MARGIN) / max(total, 1e-9)))  # shrink a wide table's text, to 70%
    font = _FONT * scale
    widths = [w * scale for w in widths]
    lefts, at = [], _MARGIN
    for w in widths:
        lefts.append(at)
        at += w + _GAP * scale
    right_edge = min(at - _GAP * scale, WIDTH - _MARGIN)
    d = top + _LINE
    fig.text(x(_MARGIN), y(d), caption, fontsize=font + 1.5, color=_TEXT, va="baseline", weight="bold")
    d += 0.5 * _LINE
    rule = lambda depth, lw: fig.add_artist(Line2D([x(_MARGIN), x(right_edge)], [y(depth), y(depth)],  # noqa: E731
                                                   color=_TEXT, linewidth=lw))
    rule(d, 1.0)
    d += _LINE
    for j, h in enumerate(header):
        px, ha = (lefts[j] + widths[j], "right") if numeric[j] else (lefts[j], "left")
        fig.text(x(px), y(d), h, fontsize=font, color=_TEXT, ha=ha, va="baseline", weight="bold")
        if units.get(h):
            fig.text(x(px), y(d + _LINE * 0.9), units[h], fontsize=font - 1, color=_GREY, ha=ha, va="baseline")
    d += _LINE * (0.9 if units else 0.0) + 0.35 * _LINE
    rule(d, 0.6)
    d += _LINE
    for r in wrapped:
        for j, lines in enumerate(r):
            px, ha = (lefts[j] + widths[j], "right") if numeric[j] else (lefts[j], "left")
            for k, s in enumerate(lines):
                fig.text(x(px), y(d + k * _LINE * 0.9), s, fontsize=font, color=_TEXT, ha=ha, va="baseline")
        d += _LINE * (0.9 * (max(len(lines) for lines in r) - 1) + 1)
    d -= 0.6 * _LINE
    rule(d, 1.0)
    for note in list(notes) + ([DASH_NOTE] if dashed else []):
        d += _LINE
        fig.text(x(_MARGIN), y(d), note, fontsize=font - 1, color=_GREY, va="baseline")
    return d - top + 0.35


def tables_figure(sections: Sequence[Section], title: str = "") -> Figure:
    """Several tables stacked on one page-wide figure (captions bold, each with its own footnotes)."""
    head = 0.45 if title else 0.1
    height = head + sum(_height(s) for s in sections) + 0.2
    fig = Figure(figsize=(WIDTH, height), facecolor="white")
    if title:
        fig.text(_MARGIN / WIDTH, 1 - 0.32 / height, title, fontsize=12, color=_TEXT, va="baseline")
    at = head
    for s in sections:
        at += _draw(fig, s, at)
    return fig


def table_pages(sections: Sequence[Section], title: str = "") -> list[tuple[list[str], Figure]]:
    """The tables packed in order onto as few page-high figures as hold them (a table taller than a page
    gets a figure of its own), each with the captions of its tables."""
    pages: list[list[Section]] = [[]]
    used = 0.45 if title else 0.1
    for s in sections:
        h = _height(s)
        if pages[-1] and used + h > HEIGHT - 0.3:
            pages.append([])
            used = 0.1
        pages[-1].append(s)
        used += h
    return [([c for c, *_ in p], tables_figure(p, title if i == 0 else "")) for i, p in enumerate(pages) if p]


def table_figure(df: pd.DataFrame, title: str = "", *, max_rows: int = 40, units: Mapping[str, str] | None = None,
                 notes: Sequence[str] = ()) -> Figure:
    """One DataFrame as a typeset table (for the PDF report): at most ``max_rows`` rows (the caption says how
    many are shown), ``units`` printed under their columns' names, ``notes`` as footnotes."""
    shown = df.head(max_rows)
    more = f" (first {max_rows} of {len(df)} rows)" if len(df) > max_rows else ""
    if shown.empty:
        shown = pd.DataFrame({"": ["(empty)"]})
    return tables_figure([(f"{title}{more}", shown, dict(units or {}), tuple(notes))])
