"""The one PDF writer of initlab: pages in, one PDF out, written atomically and dated reproducibly.

Every report (a simulation's, a lab run's, a comparison's) goes through :func:`write_pdf`, and every
page of every report has one size, :data:`~initlab.report.pages.PAGE` (US letter, landscape): a figure of
another size is scaled to fit the page with its aspect kept (its layout engine re-flows it; a page-wide
figure is not scaled at all) and placed at the top, centred across (:func:`save_on_page`). The date
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
from matplotlib.transforms import Bbox

from .._io import atomic_write, reproducible_time
from .._version import __version__
from .pages import PAGE

__all__ = ["write_pdf", "report_date", "on_page", "save_on_page"]


def report_date(recorded: _dt.datetime | None = None) -> _dt.datetime:
    """``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when set, else ``recorded``, else now; UTC, whole seconds.

    Raises
    ------
    ValueError
        When ``SOURCE_DATE_EPOCH`` is set but is not an integer.
    """
    return reproducible_time(recorded, strict=True)


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
    """Save ``fig`` as one page of ``page`` inches: scaled by :math:`s = \\min(W/w, H/h)` (its aspect kept),
    centred across and placed at the top; the figure is back at its own size afterwards.

    The page is the figure's box grown by a margin (``bbox_inches``). The figure is laid out at its scaled
    size first, then saved with its layout engine off and its figure legends anchored to the figure
    (matplotlib would otherwise place a figure legend against the grown box, at the page's edge).
    """
    w, h = (float(v) for v in fig.get_size_inches())
    s = min(page[0] / w, page[1] / h)
    if abs(s - 1.0) < 1e-9:
        s = 1.0
    with on_page(fig, (w * s, h * s)):
        engine = fig.get_layout_engine()
        fig.draw_without_rendering()  # the layout at this size
        # a legend without an anchor of its own follows fig.bbox, which the grown box replaces
        free = [leg for leg in fig.legends if leg._bbox_to_anchor is None]
        for leg in free:
            leg.set_bbox_to_anchor((0, 0, 1, 1), transform=fig.transFigure)
        if engine is not None:
            fig.set_layout_engine("none")
        try:
            dx, dy = (page[0] - w * s) / 2.0, page[1] - h * s
            pdf.savefig(fig, bbox_inches=Bbox([[-dx, -dy], [w * s + dx, h * s]]))
        finally:
            if engine is not None:
                fig.set_layout_engine(engine)
            for leg in free:
                leg.set_bbox_to_anchor(None)


def write_pdf(path: str | os.PathLike, pages: Iterable[Figure | None], *, title: str,
              date: _dt.datetime, page_size: tuple[float, float] = PAGE) -> Path:
    """Write ``pages`` (figures, drawn in order; ``None`` is skipped) as one PDF, atomically.

    ``pages`` may be a generator: each page is built only when it is written. Every page is ``page_size``
    inches (:func:`save_on_page`). The metadata holds ``title``, the creator (``initlab <version>``) and
    ``date`` as creation and modification dates, so the same pages and date give the same bytes.
    """
    path = Path(path)
    metadata = {"Title": title, "Creator": f"initlab {__version__}", "CreationDate": date, "ModDate": date}
    with atomic_write(path, "wb") as fh:
        with PdfPages(fh, metadata=metadata) as pdf:
            for fig in pages:
                if fig is None:
                    continue
                save_on_page(pdf, fig, page_size)
    return path
