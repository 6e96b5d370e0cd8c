"""The text pages of a PDF report: title page, summary pages and mean-field theory page.

:func:`title_page` shows the config of every run side by side with the package version, the date and
the contents; :func:`summary_pages` lays ``result.summary()`` out in monospace columns;
:func:`theory_page` tabulates the mean-field quantities of each config (σ_w², σ_b², q*, χ₁, c*, ξ_q,
ξ_c and the phase) beside a chart of χ₁ against the ordered/chaotic boundary χ₁ = 1. All are built
by hand on a landscape letter page (:data:`PAGE`) with :func:`_draw_table`, a plain text table.
:mod:`initlab.report` assembles them with the figures into one PDF.
"""

from __future__ import annotations

import datetime as _dt
import json
import textwrap
from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .._format import fmt_number
from ..schema import THEORY_TABLE_COLUMNS

from .._version import __version__
from ..plots.common import TEXT_COLOR, config_styles, plain_log_ticks

__all__ = [
    "title_page",
    "summary_pages",
    "theory_page",
    "PAGE",
]

#: Columns of a theory table (``initlab.theory.config_summary(config)``), one row per config label.
_THEORY_HEADERS = ("config", "σ_w²", "σ_b²", "q*", "χ₁", "c*", "ξ_q", "ξ_c", "phase")

PAGE = (11.0, 8.5)  # US letter, landscape, for the text pages
_LEFT = 0.06
_PHASE_COLORS = {"ordered": "#DCEAF7", "chaotic": "#FBE3D6", "critical": "#E0F2E9", "divergent": "#E6E6E6"}


def _fmt_value(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return fmt_number(v, inside="g", outside="g", inf=("∞", "∞"))
    if isinstance(v, (list, tuple)):
        if len(v) > 8 and all(isinstance(x, (int, float)) for x in v):  # per-layer widths and the like
            return f"{', '.join(_fmt_value(x) for x in v[:4])}, …, {_fmt_value(v[-1])}  ({len(v)} values)"
        return ", ".join(_fmt_value(x) for x in v) if v else "—"
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True, default=str)
    return str(v)


def _fmt_num(v: Any) -> str:
    return fmt_number(v, inside=".4g", outside=".2g", none="None")


def _config_dict(result: Any) -> dict[str, Any]:
    cfg = getattr(result, "config", None)
    if cfg is None:
        return {}
    return dict(cfg.to_dict()) if hasattr(cfg, "to_dict") else dict(cfg)


def _page(title: str, subtitle: str | None = None) -> Figure:
    """A blank landscape page with a title block (manual layout: text pages need no layout engine)."""
    fig = Figure(figsize=PAGE, facecolor="white")
    fig.text(_LEFT, 0.93, title, fontsize=20, color=TEXT_COLOR, va="baseline")
    if subtitle:
        fig.text(_LEFT, 0.895, subtitle, fontsize=10, color="#666666", va="baseline")
    fig.add_artist(Line2D([_LEFT, 1 - _LEFT], [0.875, 0.875], color="#BBBBBB", linewidth=0.8))
    return fig


def _draw_table(
    fig: Figure, rect: tuple[float, float, float, float], header: Sequence[str], rows: Sequence[Sequence[str]],
    widths: Sequence[float], fontsize: float = 10.0, colors: dict[tuple[int, int], str] | None = None,
    fills: dict[tuple[int, int], str] | None = None, min_fontsize: float = 5.0, wrap: Sequence[int] = (),
) -> float:
    """Draw a text table in ``rect`` (figure fraction: left, bottom, width, height) with the header in
    bold, a hairline under every row, optional per-cell text colours and fills; cells may hold several
    lines, and the cells of the ``wrap`` columns are wrapped to their column's width. The font shrinks
    (down to ``min_fontsize``) until the table fits. Returns the figure-fraction y of the table's bottom."""
    left, bottom, width, height = rect
    col_x = np.concatenate([[0.0], np.cumsum(widths)[:-1]]) / max(sum(widths), 1e-9) * width + left
    col_w = np.asarray(widths) / max(sum(widths), 1e-9) * width
    fw, fh = fig.get_figwidth() * 72, fig.get_figheight() * 72  # points

    def layout(fs: float) -> list[list[str]]:
        out = [list(map(str, header))]
        for row in rows:
            cells = [str(c) for c in row]
            for c in wrap:  # ~0.5 em per character in the default sans-serif font
                chars = max(8, int(col_w[c] * fw / (0.5 * fs)) - 1)
                cells[c] = textwrap.fill(cells[c].replace("\n", " "), chars)
            out.append(cells)
        return out

    def needed(table: list[list[str]], fs: float) -> float:
        return sum(max(c.count("\n") + 1 for c in row) * fs * 1.45 + fs * 0.6 for row in table)

    table = layout(fontsize)
    while fontsize > min_fontsize and needed(table, fontsize) > height * fh:
        fontsize -= 0.5
        table = layout(fontsize)
    line = fontsize * 1.45 / fh
    gap = fontsize * 0.6 / fh
    y = bottom + height
    for r, row in enumerate(table):
        h = max(c.count("\n") + 1 for c in row) * line + gap
        for c, text in enumerate(row):
            if fills and (r, c) in fills:
                fig.add_artist(Rectangle((col_x[c] - 0.004, y - h), col_w[c], h, facecolor=fills[(r, c)],
                                         edgecolor="none", transform=fig.transFigure, zorder=0))
            fig.text(col_x[c], y - gap / 2, text, fontsize=fontsize, va="top", ha="left",
                     color=(colors or {}).get((r, c), TEXT_COLOR), fontweight="bold" if r == 0 else "normal",
                     linespacing=1.25)
        y -= h
        fig.add_artist(Line2D([left - 0.004, left + width], [y, y], color="#888888" if r == 0 else "#DDDDDD",
                              linewidth=0.9 if r == 0 else 0.6))
    return y


def title_page(
    results: Sequence[Any], title: str, date: _dt.datetime, names: Sequence[str],
    contents: Sequence[tuple[str, int]] = (),
) -> Figure:
    """Title, version and date; the config of every run side by side; the contents with page numbers."""
    configs = [_config_dict(r) for r in results]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    n = len(results)
    fig = _page(title, f"initlab {__version__}   ·   {date:%Y-%m-%d %H:%M} UTC   ·   {n} run{'s' * (n != 1)}")
    table_w = 0.60 if contents else 1 - 2 * _LEFT
    widths = [1.0] + [max(1.4, 3.0 / n)] * n
    rows = [[k] + [_fmt_value(c[k]) if k in c else "" for c in configs] for k in keys]
    fig.text(_LEFT, 0.835, "Configuration", fontsize=13, color=TEXT_COLOR)
    if rows:
        _draw_table(fig, (_LEFT, 0.06, table_w, 0.75), ["setting", *names], rows, widths,
                    wrap=range(1, n + 1))
    else:
        fig.text(_LEFT, 0.79, "(no configuration recorded)", fontsize=10, color="#666666")
    if contents:
        x0 = _LEFT + table_w + 0.04
        fig.text(x0, 0.835, "Contents", fontsize=13, color=TEXT_COLOR)
        _draw_table(fig, (x0, 0.06, 1 - _LEFT - x0, 0.75), ["page", "section"],
                    [[str(p), t] for t, p in contents], [0.22, 1.0], fontsize=9, wrap=[1])
    return fig


def _columns(lines: list[str], per_column: int) -> list[list[str]]:
    """Pack lines into columns of at most ``per_column`` lines, keeping blank-line-separated blocks
    (one config each in ``SimResult.summary()``) whole where they fit."""
    blocks: list[list[str]] = [[]]
    for ln in lines:
        if ln.strip():
            blocks[-1].append(ln)
        elif blocks[-1]:
            blocks.append([])
    cols: list[list[str]] = [[]]
    for block in (b for b in blocks if b):
        while block:
            room = per_column - len(cols[-1]) - (1 if cols[-1] else 0)
            if len(block) <= room:
                cols[-1] += ([""] if cols[-1] else []) + block
                block = []
            elif cols[-1] and len(block) <= per_column:
                cols.append([])
            else:  # a block longer than a column: split it
                take = room if room > 0 else per_column
                if cols[-1] and room > 0:
                    cols[-1] += [""] + block[:take]
                else:
                    cols[-1] += block[:take]
                block = block[take:]
                if block:
                    cols.append([])
    return [c for c in cols if c] or [["(empty)"]]


def summary_pages(result: Any, heading: str, fontsize: float = 8.0) -> list[Figure]:
    """The result's summary table (``result.summary()``) in monospace: as many columns per page as fit
    side by side, configs kept whole where they fit, as many pages as needed."""
    text = result.summary() if hasattr(result, "summary") else _fallback_summary(result.layers)
    lines = str(text).rstrip("\n").splitlines() or ["(empty)"]
    longest = max(max(len(ln) for ln in lines), 1)
    usable_w = PAGE[0] * (1 - 2 * _LEFT) * 72  # points
    usable_h = 0.78 * PAGE[1] * 72
    gap = 24.0
    # monospace glyphs are ~0.6 em wide: shrink the font only if one column would not fit
    fontsize = float(max(min(fontsize, usable_w / (0.6 * longest)), 4.0))
    col_w = 0.6 * fontsize * longest + gap
    n_side = max(1, int((usable_w + gap) // col_w))
    per_column = max(5, int(usable_h // (fontsize * 1.3)))
    cols = _columns(lines, per_column)
    pages_cols = [cols[i:i + n_side] for i in range(0, len(cols), n_side)]
    pages = []
    for i, group in enumerate(pages_cols):
        part = f"  ({i + 1}/{len(pages_cols)})" if len(pages_cols) > 1 else ""
        fig = _page(f"Summary{': ' + heading if heading else ''}{part}", "per-layer statistics (mean over trials)")
        for j, col in enumerate(group):
            fig.text(_LEFT + j * col_w / (PAGE[0] * 72), 0.85, "\n".join(col), va="top", ha="left",
                     fontsize=fontsize, family="monospace", color=TEXT_COLOR, linespacing=1.3)
        pages.append(fig)
    return pages


def _fallback_summary(df: pd.DataFrame) -> str:
    cols = [c for c in ("pre_std", "act_mean", "act_std", "saturated", "dead", "grad_pre_ratio") if c in df]
    g = df.groupby(["label", "layer"], sort=False)[cols].mean()
    return g.to_string(float_format=lambda x: f"{x:.4g}")


def theory_page(theory_table: pd.DataFrame | None, heading: str = "") -> Figure | None:
    """Mean-field summary of each config: σ_w², σ_b², fixed point q*, χ₁, c*, depth scales ξ_q, ξ_c
    and the phase, with χ₁ drawn on a log axis beside the ordered/chaotic boundary χ₁ = 1.
    ``None`` when there is no table or it has no rows."""
    if theory_table is None or len(theory_table) == 0:
        return None
    missing = [c for c in THEORY_TABLE_COLUMNS if c not in theory_table.columns]
    if missing:
        raise ValueError(f"theory table lacks column(s) {', '.join(missing)}")
    fig = _page(f"Mean-field theory{': ' + heading if heading else ''}",
                "χ₁ < 1: ordered (inputs converge, gradients vanish)  ·  χ₁ > 1: chaotic (inputs decorrelate, "
                "gradients explode)  ·  ξ: depth scale (∞ at criticality)")
    if "config" in theory_table.columns:  # config order gives each label its colour in every figure
        theory_table = theory_table.sort_values("config", kind="stable")
    labels = [str(x) for x in theory_table["label"]]
    styles = config_styles(labels)
    notes = [str(n) if isinstance(n, str) else "" for n in theory_table.get("note", [""] * len(labels))]
    with_notes = any(notes)
    rows = [[lab] + [_fmt_num(r[c]) for c in THEORY_TABLE_COLUMNS[1:-1]] + [str(r["phase"]) or "—"]
            + ([note or "—"] if with_notes else [])
            for lab, note, (_, r) in zip(labels, notes, theory_table.iterrows())]
    phase_col = len(THEORY_TABLE_COLUMNS) - 1
    colors = {(i + 1, 0): styles[lab].color for i, lab in enumerate(labels)}
    colors.update({(i + 1, phase_col + 1): "#555555" for i in range(len(rows))})
    fills = {(i + 1, phase_col): _PHASE_COLORS[row[phase_col].lower()] for i, row in enumerate(rows)
             if row[phase_col].lower() in _PHASE_COLORS}
    header = list(_THEORY_HEADERS) + (["note"] if with_notes else [])
    widths = [3.0] + [1.0] * 7 + [1.2] + ([5.2] if with_notes else [])
    # the table takes what it needs of the upper part (font 10 down to 6.5), the χ₁ chart the rest
    bottom = _draw_table(fig, (_LEFT, 0.30, 1 - 2 * _LEFT, 0.55), header, rows, widths, fontsize=10,
                         colors=colors, fills=fills, min_fontsize=6.5, wrap=[0] + ([len(header) - 1] if with_notes else []))
    chi = pd.to_numeric(theory_table["chi1"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(chi) & (chi > 0)
    top = min(bottom - 0.08, 0.6)
    if ok.any() and top - 0.07 >= 0.12:
        h = float(min(0.04 * len(labels) + 0.1, top - 0.07))
        ax = fig.add_axes((_LEFT + 0.2, top - h, 1 - 2 * _LEFT - 0.2, h))
        ypos = np.arange(len(labels))[::-1]
        for y, lab, v, good in zip(ypos, labels, chi, ok):
            if good:
                ax.plot([1.0, v], [y, y], color=styles[lab].color, linewidth=2.5, solid_capstyle="butt")
                ax.plot([v], [y], marker=styles[lab].marker, color=styles[lab].color, markersize=8)
        lo = min(float(chi[ok].min()), 0.5)
        hi = max(float(chi[ok].max()), 2.0)
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
        ax.set_xlim(lo / 1.6, hi * 1.6)
        ax.axvspan(lo / 1.6, 1.0, color=_PHASE_COLORS["ordered"], zorder=0, linewidth=0)
        ax.axvspan(1.0, hi * 1.6, color=_PHASE_COLORS["chaotic"], zorder=0, linewidth=0)
        ax.axvline(1.0, color="#555555", linewidth=1.0)
        ax.text(0.01, 1.02, "ordered", transform=ax.transAxes, fontsize=9, color="#2C5C8A", ha="left")
        ax.text(0.99, 1.02, "chaotic", transform=ax.transAxes, fontsize=9, color="#A0451F", ha="right")
        ax.set_yticks(ypos, labels, fontsize=9 if len(labels) <= 12 else 7)
        for tick, lab in zip(ax.get_yticklabels(), labels):
            tick.set_color(styles[lab].color)
        ax.set_ylim(-0.7, len(labels) - 0.3)
        ax.set_xlabel(
            "$\\chi_1 = \\sigma_w^2\\,\\mathbb{E}[\\phi'(z)^2]$ at the fixed point (log scale)",
            fontsize=10,
            color=TEXT_COLOR,
        )
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="x", labelsize=9)
        ax.tick_params(axis="y", length=0)
    return fig
