"""Shared pieces of the plotting modules: one colour and marker per config, per-layer aggregation
across trials, log-scale decisions and divergence markers.

Nothing here touches global matplotlib state: every style is set on the artist that needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import Formatter, LogFormatterSciNotation, MaxNLocator

__all__ = [
    "PALETTE",
    "MARKERS",
    "ConfigStyle",
    "config_styles",
    "frame_styles",
    "new_figure",
    "fixed_figure",
    "fix_layout",
    "bottom_legend",
    "per_layer",
    "divergence",
    "mark_divergence",
    "wants_log",
    "style_axes",
    "plain_log_ticks",
    "outside_legend",
    "has_theory",
    "divergence_suffix",
    "theory_handles",
]

#: Colour-blind-safe colours (Okabe–Ito, without yellow, then four distinct extras); config ``i`` gets ``PALETTE[i]``.
PALETTE = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
    "#56B4E9", "#4D4D4D", "#8C564B", "#7B52AE", "#A6A21C",
)
#: One marker per config (helps in greyscale prints).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")

TEXT_COLOR = "#222222"
GRID_COLOR = "#E3E3E3"


@dataclass(frozen=True)
class ConfigStyle:
    """How one config is drawn in every figure."""

    index: int
    label: str
    color: str
    marker: str


def config_styles(labels: Sequence[str]) -> dict[str, ConfigStyle]:
    """A style per config label, by position: config ``i`` always gets colour ``PALETTE[i % 10]``.

    Beyond ten configs the colours repeat with a different marker cycle, so every pair still differs.
    """
    out: dict[str, ConfigStyle] = {}
    for i, lab in enumerate(labels):
        out[str(lab)] = ConfigStyle(
            i, str(lab), PALETTE[i % len(PALETTE)], MARKERS[(i + i // len(PALETTE)) % len(MARKERS)]
        )
    return out


def frame_styles(df: pd.DataFrame) -> dict[int, ConfigStyle]:
    """Styles keyed by the ``config`` column, in ``config`` order (labels from the ``label`` column)."""
    pairs = df[["config", "label"]].drop_duplicates("config").sort_values("config")
    styles = config_styles([str(x) for x in pairs["label"]])
    return {int(c): styles[str(lab)] for c, lab in zip(pairs["config"], pairs["label"])}


def new_figure(width: float, height: float) -> Figure:
    """A stand-alone Agg-safe figure with constrained layout (no pyplot, no global state)."""
    return Figure(figsize=(width, height), layout="constrained", facecolor="white")


def fixed_figure(width: float, height: float) -> Figure:
    """A stand-alone Agg-safe figure without a layout engine: :func:`fix_layout` places its panels.

    Every figure of :mod:`initlab.plots` has a fixed structure, so margins in inches do the job of
    constrained layout, which measured every text of the figure twice per save (seconds per figure).
    """
    return Figure(figsize=(width, height), facecolor="white")


def fix_layout(
    fig: Figure, *, left: float, right: float, top: float, bottom: float, panel_h: float,
    gap_w: float = 0.0, gap_h: float = 0.0, suptitle: str | None = None, suptitle_size: float = 13.0,
) -> None:
    """Place the figure's grid of panels with margins and gaps in inches; the height follows the grid.

    The width stays; each panel is ``panel_h`` inches tall, so the figure height is
    ``top + rows * panel_h + (rows - 1) * gap_h + bottom``. ``suptitle`` goes 0.1 inch below the top edge.
    """
    specs = [ax.get_subplotspec() for ax in fig.axes if ax.get_subplotspec() is not None]
    nrows, ncols = specs[0].get_gridspec().get_geometry() if specs else (1, 1)
    width = fig.get_figwidth()
    height = top + nrows * panel_h + (nrows - 1) * gap_h + bottom
    fig.set_size_inches(width, height)
    panel_w = (width - left - right - (ncols - 1) * gap_w) / ncols
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height,
                        wspace=gap_w / panel_w, hspace=gap_h / panel_h)
    if suptitle is not None:
        fig.suptitle(suptitle, fontsize=suptitle_size, color=TEXT_COLOR, y=1 - 0.1 / height, va="top")


def _legend_size(labels: list[str], ncols: int, fontsize: float, title: str | None) -> tuple[float, float]:
    """Width and height in inches of a legend of ``labels`` in ``ncols`` columns, filled column by column
    as matplotlib does (DejaVu Sans: a character is at most ~0.6 em wide, a line 1.13 em tall and 1.2 em
    from the next; matplotlib's default paddings; checked against rendered legends to ~0.1 inch)."""
    per_col = -(-len(labels) // ncols)
    cols = [labels[i:i + per_col] for i in range(0, len(labels), per_col)]
    rows = [max(lab.count("\n") + 1 for lab in row) for row in zip(*[c + [""] * (per_col - len(c)) for c in cols])]
    height = 0.8 + sum(1.13 + 1.2 * (n - 1) for n in rows) + 0.5 * (len(rows) - 1) + (1.63 if title else 0.0)
    col_w = [max(len(x) for lab in c for x in lab.split("\n")) * 0.6 + 3.0 for c in cols]
    width = 0.8 + sum(col_w) + 1.6 * (len(col_w) - 1)
    return width * fontsize / 72, height * fontsize / 72


def bottom_legend(
    fig: Figure, handles: list, labels: list[str], title: str | None = None, ncols: int = 3, fontsize: float = 9.0,
) -> float:
    """A figure legend centred along the bottom edge (0.06 inch above it), in as many columns (at most
    ``ncols``) as fit the figure's width. Returns the height it takes, in inches, for the bottom margin."""
    if not handles:
        return 0.0
    ncols = max(1, min(len(handles), ncols))
    while ncols > 1 and _legend_size(labels, ncols, fontsize, title)[0] > fig.get_figwidth() - 0.2:
        ncols -= 1
    leg = fig.legend(
        handles, labels, loc="lower center", bbox_to_anchor=(fig.get_figwidth() / 2, 0.06),
        bbox_transform=fig.dpi_scale_trans, ncols=ncols, fontsize=fontsize, title=title, title_fontsize=fontsize,
        frameon=False, handlelength=2.2, columnspacing=1.6, borderaxespad=0.0,
    )
    leg.get_title().set_color(TEXT_COLOR)
    return _legend_size(labels, ncols, fontsize, title)[1] + 0.06


def per_layer(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean, min and max of ``column`` across trials, one row per (config, layer).

    Non-finite values (diverged layers) are NaN and are skipped; a (config, layer) with no finite
    value gets NaN. Returns columns ``config``, ``layer``, ``mean``, ``min``, ``max``, ``n``.
    """
    vals = pd.to_numeric(df[column], errors="coerce").astype(float)
    vals = vals.where(np.isfinite(vals))
    g = pd.DataFrame({"config": df["config"].to_numpy(), "layer": df["layer"].to_numpy(), "v": vals.to_numpy()})
    agg = g.groupby(["config", "layer"], sort=True)["v"].agg(["mean", "min", "max", "count"])
    return agg.rename(columns={"count": "n"}).reset_index()


def has_theory(df: pd.DataFrame, column: str) -> bool:
    """Whether ``column`` exists and holds at least one finite value."""
    if column not in df.columns:
        return False
    vals = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    return bool(np.isfinite(vals).any())


def divergence(df: pd.DataFrame) -> dict[int, tuple[int, int, int]]:
    """``{config: (first diverged layer, diverged trials, trials)}`` for configs that diverged anywhere."""
    if "diverged" not in df.columns:
        return {}
    div = df["diverged"].fillna(False).astype(bool)
    if not div.any():
        return {}
    out: dict[int, tuple[int, int, int]] = {}
    for cfg, sub in df.groupby("config", sort=True):
        d = sub[div.loc[sub.index]]
        if len(d):
            out[int(cfg)] = (int(d["layer"].min()), int(d["trial"].nunique()), int(sub["trial"].nunique()))
    return out


def mark_divergence(
    axes: Iterable[Axes], div: dict[int, tuple[int, int, int]], styles: dict[int, ConfigStyle]
) -> None:
    """Draw a dotted vertical line at each config's first diverged layer on every axis, with the text
    "diverged at layer k" on the first axis (one text per distinct layer)."""
    axes = list(axes)
    by_layer: dict[int, list[int]] = {}
    for cfg, (k, _, _) in div.items():
        by_layer.setdefault(k, []).append(cfg)
    for ax in axes:
        for cfg, (k, _, _) in div.items():
            ax.axvline(k, color=styles[cfg].color, linestyle=(0, (1, 2)), linewidth=1.4, zorder=1)
    if axes:
        for k, cfgs in sorted(by_layer.items()):
            color = styles[cfgs[0]].color if len(cfgs) == 1 else TEXT_COLOR
            axes[0].annotate(
                f"diverged at layer {k}", xy=(k, 0.98), xycoords=("data", "axes fraction"),
                xytext=(-3, 0), textcoords="offset points", rotation=90, ha="right", va="top",
                fontsize=8, color=color,
            )


def divergence_suffix(div: dict[int, tuple[int, int, int]], cfg: int) -> str:
    """Legend suffix such as ``"  (diverged at layer 7, 2/3 trials)"``."""
    if cfg not in div:
        return ""
    k, nd, nt = div[cfg]
    trials = "" if nd == nt else f", {nd}/{nt} trials"
    return f"  (diverged at layer {k}{trials})"



def wants_log(values: np.ndarray, decades: float = 2.0) -> bool:
    """Use a log axis when the finite positive values span more than ``decades`` decades
    and there are no negative values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0 or (v < 0).any():
        return False
    pos = v[v > 0]
    if pos.size < 2:
        return False
    return bool(np.log10(pos.max()) - np.log10(pos.min()) > decades)


def style_axes(ax: Axes, xlabel: str | None = None, ylabel: str | None = None, title: str | None = None) -> None:
    """Light grid behind the data, no top/right spines, readable labels; integer layer ticks."""
    ax.grid(True, color=GRID_COLOR, linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9, colors=TEXT_COLOR)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=10, steps=[1, 2, 5, 10]))
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=10, color=TEXT_COLOR)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=10, color=TEXT_COLOR)
    if title:  # a fixed y: matplotlib then need not measure the tick labels to place the title
        ax.set_title(title, fontsize=11, color=TEXT_COLOR, y=1.0)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_POWER = re.compile(r"(\d+)\^\{(-?\d+)\}")


def _plain_math(text: str) -> str:
    """``$\\mathdefault{2\\times10^{-3}}$`` → ``2×10⁻³`` (the strings of LogFormatterSciNotation)."""
    if not text.startswith("$"):
        return text
    text = text.removeprefix("$\\mathdefault{").removesuffix("}$").strip("$")
    text = _POWER.sub(lambda m: m.group(1) + m.group(2).translate(_SUPERSCRIPT), text)
    return text.replace("\\times", "×").replace("-", "−")


class PlainLogFormatter(Formatter):
    """The labels of a log-axis formatter (same ticks, same choices) in plain text with Unicode
    superscripts (``10⁻⁵``, ``2×10³``, ``−10¹⁰``) instead of mathtext, which every save parses anew
    (about 10 ms per label)."""

    def __init__(self, inner: Formatter):
        self.inner = inner

    def set_axis(self, axis):
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def set_locs(self, locs):
        self.inner.set_locs(locs)

    def get_offset(self):
        return self.inner.get_offset()

    def __call__(self, x, pos=None):
        return _plain_math(self.inner(x, pos))


def plain_log_ticks(axis: Axis) -> None:
    """Wrap the mathtext tick formatters of a log or symlog axis in :class:`PlainLogFormatter`."""
    for get, put in ((axis.get_major_formatter, axis.set_major_formatter),
                     (axis.get_minor_formatter, axis.set_minor_formatter)):
        old = get()
        if isinstance(old, LogFormatterSciNotation):
            put(PlainLogFormatter(old))


def outside_legend(fig: Figure, handles: list, labels: list[str], title: str | None = None, ncols: int = 3) -> None:
    """A figure legend below the axes (outside them), so it never covers data."""
    if not handles:
        return
    leg = fig.legend(
        handles, labels, loc="outside lower center", ncols=min(len(handles), ncols), fontsize=9, title=title,
        title_fontsize=9, frameon=False, handlelength=2.2, columnspacing=1.6,
    )
    leg.get_title().set_color(TEXT_COLOR)


def theory_handles(with_theory: bool, spread: str = "min–max over trials") -> tuple[list, list[str]]:
    """Extra legend entries that explain the line/marker convention."""
    h = [Line2D([], [], color=TEXT_COLOR, marker="o", linestyle="none", markersize=5)]
    lab = [f"measured (mean; bars {spread})" if with_theory else f"measured (mean; band {spread})"]
    if with_theory:
        h.append(Line2D([], [], color=TEXT_COLOR, linestyle="-", linewidth=1.6))
        lab.append("mean-field theory")
    return h, lab



def save_figure(fig: Figure, path, *, dpi: int = 120, fmt: str = "png", **savefig_kw) -> None:
    """Write ``fig`` to ``path`` atomically (:func:`initlab._io.atomic_write`): the one figure-file writer of
    initlab (every PNG of a run folder, ``initlab theory phase -o``). ``savefig_kw`` go to ``Figure.savefig``
    (e.g. ``metadata={"Software": None}`` for the same bytes on every matplotlib build)."""
    from .._io import atomic_write

    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=dpi, **savefig_kw)


__all__ += ["save_figure"]
