"""The one PDF writer of initlab: pages in, one PDF out, written atomically and dated reproducibly.

Every report (a simulation's, a lab run's, a comparison's) goes through :func:`write_pdf`. The date
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

from .._io import atomic_write, reproducible_time
from .._version import __version__
from .pages import PAGE

__all__ = ["write_pdf", "write_png", "report_date", "epoch_date", "on_page"]


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


def write_pdf(path: str | os.PathLike, pages: Iterable[Figure | None], *, title: str,
              date: _dt.datetime | None, page_size: tuple[float, float] | None = None) -> Path:
    """Write ``pages`` (figures, drawn in order; ``None`` is skipped) as one PDF, atomically.

    ``pages`` may be a generator: each page is built only when it is written. ``page_size`` puts every page
    on that size (inches) while it is written; ``None`` keeps each figure's own size. The metadata holds
    ``title``, the creator (``initlab <version>``) and ``date`` as creation and modification dates (none when
    ``date`` is None), so the same pages and date give the same bytes.
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
                if page_size is None:
                    pdf.savefig(fig)
                else:
                    with on_page(fig, page_size):
                        pdf.savefig(fig)
    return path


def write_png(path: str | os.PathLike, fig: Figure, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG of a study's run folder (:func:`initlab.plots.common.save_figure`), without the
    software tag (the same figure gives the same bytes)."""
    from ..plots.common import save_figure

    save_figure(fig, path, dpi=dpi, metadata={"Software": None})
    return Path(path)
