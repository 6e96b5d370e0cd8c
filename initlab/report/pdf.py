"""The one PDF writer of initlab: pages in, one PDF out, written atomically and dated reproducibly.

Every report (a simulation's, a lab run's, a comparison's) goes through :func:`write_pdf`, and every
page of every report has one size, :data:`~initlab.report.pages.PAGE` (US letter, landscape): a figure of
another size is scaled to fit the page with its aspect kept (re-flowed by its layout engine, or zoomed
down when it is laid out by hand) and placed at the top, centred across (:func:`save_on_page`). The date
stored in the PDF (and shown on its title page) comes from :func:`report_date`: ``SOURCE_DATE_EPOCH``
when it is set (reproducible builds' convention), otherwise the time recorded with the run, so the same
run and settings give the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Iterable

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from .._io import atomic_write, reproducible_time
from .._version import __version__
from .pages import PAGE

__all__ = ["write_pdf", "write_png", "report_date", "epoch_date", "on_page", "save_on_page"]


def report_date(recorded: _dt.datetime | None = None) -> _dt.datetime:
    """``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when set, else ``recorded``, else now; UTC, whole seconds.

    Raises
    ------
    ValueError
        When ``SOURCE_DATE_EPOCH`` is set but is not an integer.
    """
    return reproducible_time(recorded, strict=True)


def epoch_date() -> _dt.datetime | None:
    """``SOURCE_DATE_EPOCH`` as a date when it is set, else None: the date of a report whose run recorded no
    time (an undated PDF: the same pages give the same bytes)."""
    return report_date() if os.environ.get("SOURCE_DATE_EPOCH", "").strip() else None


class on_page:
    """Context manager: the figure at the report's page size (:data:`~initlab.report.pages.PAGE`) while the
    block runs, at its own size again afterwards (its layout engine re-flows it both ways)."""

    def __init__(self, fig: Figure, size: tuple[float, float] = PAGE):
        self.fig, self.size = fig, size

    def __enter__(self) -> Figure:
        self.old = tuple(self.fig.get_size_inches())
        self.fig.set_size_inches(*self.size)
        return self.fig

    def __exit__(self, *exc) -> None:
        self.fig.set_size_inches(*self.old)


def save_on_page(pdf: PdfPages, fig: Figure, page: tuple[float, float] = PAGE) -> None:
    """Save ``fig`` as one page of ``page`` inches, centred across and placed at the top; the figure is back
    as it was afterwards.

    A figure with a layout engine is re-flowed at :math:`s = \\min(W/w, H/h)` times its size (its aspect
    kept, its text at its own size). A figure laid out by hand in inches (no engine) is zoomed, text
    included, by :math:`\\min(1, W/w, H/h)`: shrunk to fit, never blown up. The page is the figure's box
    grown by a margin (``bbox_inches``); the figure is saved with its layout engine off and its figure
    legends anchored in figure fractions (matplotlib would otherwise place a legend against the grown box).
    """
    w, h = (float(v) for v in fig.get_size_inches())
    engine = fig.get_layout_engine()
    s = min(page[0] / w, page[1] / h) if engine is not None else min(1.0, page[0] / w, page[1] / h)
    if abs(s - 1.0) < 1e-9:
        s = 1.0
    texts = fig.findobj(Text) if engine is None and s != 1.0 else []
    sizes = [t.get_fontsize() for t in texts]
    anchors = [(leg, leg._bbox_to_anchor) for leg in fig.legends]

    def pin_legends() -> None:  # each figure legend where it is now, in figure fractions
        for leg, _ in anchors:
            where = leg.get_bbox_to_anchor().transformed(fig.transFigure.inverted())
            leg.set_bbox_to_anchor(where.frozen(), transform=fig.transFigure)

    if engine is None:
        pin_legends()  # before the zoom: a legend placed in inches stays where it is in the figure
    for t, size in zip(texts, sizes):
        t.set_fontsize(size * s)
    try:
        with on_page(fig, (w * s, h * s)):
            if engine is not None:
                fig.draw_without_rendering()  # the layout at this size
                pin_legends()
                fig.set_layout_engine("none")
            dx, dy = (page[0] - w * s) / 2.0, page[1] - h * s
            pdf.savefig(fig, bbox_inches=Bbox([[-dx, -dy], [w * s + dx, h * s]]))
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)
        for leg, old in anchors:
            leg.set_bbox_to_anchor(old)
        for t, size in zip(texts, sizes):
            t.set_fontsize(size)


def write_pdf(path: str | os.PathLike, pages: Iterable[Figure | None], *, title: str,
              date: _dt.datetime | None, page_size: tuple[float, float] = PAGE) -> Path:
    """Write ``pages`` (figures, drawn in order; ``None`` is skipped) as one PDF, atomically.

    ``pages`` may be a generator: each page is built only when it is written. Every page is ``page_size``
    inches (:func:`save_on_page`). The metadata holds ``title``, the creator (``initlab <version>``) and
    ``date`` as creation and modification dates (none when ``date`` is None), so the same pages and date give
    the same bytes.
    """
    path = Path(path)
    metadata = {"Title": title, "Creator": f"initlab {__version__}", "CreationDate": date, "ModDate": date}
    if date is None:
        metadata["ModDate"] = None  # matplotlib writes no date for None
    with atomic_write(path, "wb") as fh:
        with PdfPages(fh, metadata=metadata) as pdf:
            for fig in pages:
                if fig is None:
                    continue
                save_on_page(pdf, fig, page_size)
    return path


def write_png(path: str | os.PathLike, fig: Figure, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG of a study's run folder (:func:`initlab.plots.common.save_figure`), without the
    software tag (the same figure gives the same bytes)."""
    from ..plots.common import save_figure

    save_figure(fig, path, dpi=dpi, metadata={"Software": None})
    return Path(path)
