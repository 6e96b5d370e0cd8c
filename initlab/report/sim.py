"""Report assembly: figures in, PNG files or one multi-page PDF out, always written atomically.

:func:`save_figures` writes the standard figures of a result as PNG files; :func:`write_report`
writes a PDF: a title page (the config table of every run, the package version, the date and the
contents), then for each run its summary table, every figure and, when the mean-field theory is
available, a theory page (q*, χ₁, c*, ξ_q, ξ_c and the phase of each config).

Both build the figures of :func:`initlab.plots.figure_plan` one at a time, or take them already built:
to write PNGs and a PDF of the same result, build them once and pass them to both::

    figs = figures_for(result)
    save_figures(result, "run", figures=figs)
    write_report(result, "run.pdf", figures=figs)

:func:`save_figures_and_report` does just that, drawing the PNGs in a forked process while this one
writes the PDF (where processes can be forked).

The text pages (title, summary and theory pages) are built in :mod:`initlab.report.pages` and
importable from here as before.

:func:`export` is what ``initlab simulate --out D --report R`` does: the run folder ``D`` (the run's files
and its PNGs, and ``R`` too when it lies in ``D``) is built beside the old one and swapped in as a unit
(:func:`initlab._io.staged_dir`), and every figure is built once, written as a PNG and as a PDF page, and
dropped, so the figure phase holds one figure at a time.

Dates: the PDF's title page and ``/CreationDate`` use ``date`` when given, else ``$SOURCE_DATE_EPOCH``
(reproducible builds), else the time recorded with the run (:attr:`SimResult.created`, kept as the
modification time of the saved ``config.json``), else now; so building the PDF of a saved run twice
gives the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import multiprocessing
import re
import sys
from typing import NamedTuple
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from .._io import reproducible_time, staged_dir
from ..progress import Progress
from ..plots.plan import figure_plan
from ..sim.predict import config_summary
from ..schema import THEORY_TABLE_COLUMNS
from .pages import summary_pages, theory_page, title_page
from .pdf import write_pdf

__all__ = [
    "save_figures",
    "save_figures_and_report",
    "write_report",
    "title_page",
    "summary_pages",
    "theory_page",
    "default_theory_table",
    "count_pdf_pages",
    "THEORY_TABLE_COLUMNS",
    "export",
    "Exported",
    "report_date",
]

_MAX_CONTENTS = 28  # contents lines on the title page before it lists runs instead of pages

TheoryFn = Callable[[Any], "pd.DataFrame | None"]


def default_theory_table(config: Any) -> pd.DataFrame | None:
    """The mean-field summary of every config of ``config`` (one row per label):
    :func:`initlab.sim.predict.config_summary`, columns :data:`THEORY_TABLE_COLUMNS` plus ``config`` and ``note``."""
    return config_summary(config)


# ---------------------------------------------------------------------------------------- PNG

def save_figures(
    result: Any, out_dir: str | Path, dpi: int = 120, figures: Mapping[str, Figure] | None = None,
) -> list[Path]:
    """Write every figure of :func:`initlab.plots.figure_plan` as ``out_dir/<name>.png``.

    Each file is written to a temporary name and renamed, so a reader never sees half a PNG.
    ``figures`` (e.g. :func:`initlab.plots.figures_for` of ``result``) are used instead of building
    the figures of those names again. Returns the paths in report order.
    """
    out_dir = Path(out_dir)
    paths = []
    for name, _caption, make in figure_plan(result):
        path = out_dir / f"{name}.png"
        fig = figures[name] if figures is not None and name in figures else make()
        _save_png(fig, path, dpi)
        paths.append(path)
    return paths


def _save_png(fig: Figure, path: Path, dpi: int) -> None:
    from ..plots.common import save_figure

    # zlib level 1: half the encoding time of the default 6 for ~15% larger files
    save_figure(fig, path, dpi=dpi, facecolor="white", pil_kwargs={"compress_level": 1})


def _png_child(conn: Any, result: Any, out_dir: Path, dpi: int, figures: Mapping[str, Figure]) -> None:
    try:
        save_figures(result, out_dir, dpi=dpi, figures=figures)
    except BaseException as exc:  # reported to the parent, which raises
        conn.send(f"{type(exc).__name__}: {exc}")
    else:
        conn.send(None)
    finally:
        conn.close()


def save_figures_and_report(
    result: Any, out_dir: str | Path, report_path: str | Path, dpi: int = 120, parallel: bool = False,
    **report_kwargs: Any,
) -> tuple[list[Path], Path]:
    """The PNG files of :func:`save_figures` and the PDF of :func:`write_report`, each figure built once.

    By default the PNGs and then the PDF are drawn in this process. With ``parallel=True`` (where the
    ``fork`` start method exists, as on Linux) a forked child process draws the PNGs while this one
    writes the PDF: on an idle two-core machine that saves about 1.5 s for the classic 8-config run and
    nothing under load, and forking a process that holds BLAS threads is unsafe on some platforms, so
    it is opt-in. Both kinds of file are written atomically; if drawing the PNGs fails,
    the PDF is still written and then a :class:`RuntimeError` says why. ``report_kwargs`` go to
    :func:`write_report` (``title``, ``date``, ``names``, ``theory``).

    Returns
    -------
    (list of Path, Path)
        The PNG paths in report order and the PDF's path.
    """
    figures = {name: make() for name, _caption, make in figure_plan(result)}
    if parallel and "fork" not in multiprocessing.get_all_start_methods():
        parallel = False
    if not parallel:
        pngs = save_figures(result, out_dir, dpi=dpi, figures=figures)
        return pngs, write_report(result, report_path, figures=figures, **report_kwargs)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    for stream in (sys.stdout, sys.stderr):  # the child must not write the parent's buffered output again
        stream.flush()
    child = ctx.Process(target=_png_child, args=(send, result, Path(out_dir), dpi, figures), daemon=True)
    child.start()
    send.close()
    try:
        pdf = write_report(result, report_path, figures=figures, **report_kwargs)
        try:
            error = receive.recv()
        except EOFError:
            error = f"the process drawing them ended with exit code {child.exitcode}"
        child.join()
    except BaseException:
        child.terminate()
        child.join()
        raise
    finally:
        receive.close()
    if error is not None:
        raise RuntimeError(f"could not write the PNG figures in {out_dir}: {error}")
    return [Path(out_dir) / f"{name}.png" for name in figures], pdf


# ------------------------------------------------------------------------------------------ PDF

def report_date(results: Any = None) -> _dt.datetime:
    """The date a report of ``results`` carries when none is given (UTC, whole seconds).

    ``$SOURCE_DATE_EPOCH`` (seconds since 1970, the reproducible-builds convention) when it is set,
    else the :attr:`created` time of the first result that has one, else now.
    """
    items = [results] if hasattr(results, "layers") else list(results or [])
    recorded = next((getattr(r, "created") for r in items if getattr(r, "created", None) is not None), None)
    return reproducible_time(None if recorded is None else _as_datetime(recorded))


def _as_datetime(date: _dt.date | _dt.datetime | None) -> _dt.datetime:
    if date is None:
        return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    if not isinstance(date, _dt.datetime):
        date = _dt.datetime(date.year, date.month, date.day)
    return date if date.tzinfo else date.replace(tzinfo=_dt.timezone.utc)


def write_report(
    results: Any,
    path: str | Path,
    title: str | None = None,
    date: _dt.date | _dt.datetime | None = None,
    names: Sequence[str] | None = None,
    theory: TheoryFn | None = default_theory_table,
    figures: Mapping[str, Figure] | Sequence[Mapping[str, Figure] | None] | None = None,
    on_figure: Callable[[str, Figure], None] | None = None,
    progress: bool = False,
) -> Path:
    """Write a multi-page PDF report of one or several simulation results.

    Pages: a title page (config of every run, package version, date, contents); then for each run its
    summary table (one or more pages), every figure of :func:`initlab.plots.figure_plan` and a theory
    page when ``theory(result.config)`` returns rows. The file is written to a temporary name in the
    same folder and renamed, so an existing report is replaced only by a complete one.

    Parameters
    ----------
    results : SimResult or sequence of SimResult
    path : str or Path
        The PDF to write (parent folders are created).
    title : str, optional
        Default: ``"initlab simulation report"``.
    date : date or datetime, optional
        Shown on the title page and stored as the PDF's creation date (default: :func:`report_date`:
        ``$SOURCE_DATE_EPOCH``, else the run's recorded time, else now). The same results, title and
        date give the same bytes.
    names : sequence of str, optional
        A name per run (e.g. its folder); default ``run 1``, ``run 2``, … (or ``run`` for one).
    theory : callable, optional
        ``config -> DataFrame | None`` with :data:`THEORY_TABLE_COLUMNS`; ``None`` leaves the theory page out.
    figures : mapping or sequence of mappings, optional
        Figures already built (``{name: Figure}`` as :func:`initlab.plots.figures_for` returns, e.g.
        those just written by :func:`save_figures`), one mapping per result (a mapping alone for one
        result); they are drawn as they are instead of being built again, and left as they were.
    on_figure : callable, optional
        ``(name, figure)`` for each figure of :func:`initlab.plots.figure_plan`, just before its page is
        written (:func:`export` writes the PNGs with it, so each figure is built once).
    progress : bool
        A progress line on stderr over the pages (when the work takes more than a second).

    Returns
    -------
    Path
        ``path``.
    """
    results = [results] if hasattr(results, "layers") else list(results)
    if not results:
        raise ValueError("no results to report")
    names = list(names) if names is not None else (
        ["run"] if len(results) == 1 else [f"run {i + 1}" for i in range(len(results))])
    if len(names) != len(results):
        raise ValueError(f"{len(names)} names for {len(results)} results")
    title = title or "initlab simulation report"
    when = _as_datetime(date) if date is not None else report_date(results)
    if figures is None:
        built: list[Mapping[str, Figure] | None] = [None] * len(results)
    else:
        built = [figures] if isinstance(figures, Mapping) else list(figures)
    if len(built) != len(results):
        raise ValueError(f"{len(built)} figure sets for {len(results)} results")

    # Plan every page first (cheap: figures are built one at a time while writing).
    plan: list[tuple[str, Callable[[], Figure | None], str, str | None]] = []  # (caption, build, prefix, key)
    first_page: list[int] = []
    for res, name, figs in zip(results, names, built):
        first_page.append(len(plan) + 2)
        prefix = f"{name}: " if len(results) > 1 else ""
        for i, fig in enumerate(summary_pages(res, name)):
            plan.append((f"{prefix}summary" + (f" ({i + 1})" if i else ""), lambda f=fig: f, "", None))
        for key, caption, make in figure_plan(res):
            if figs is not None and key in figs:
                make = lambda f=figs[key]: f  # noqa: E731
            plan.append((prefix + caption, make, prefix, key))
        table = theory(res.config) if theory is not None and getattr(res, "config", None) is not None else None
        page = theory_page(table, name if len(results) > 1 else "")
        if page is not None:
            plan.append((f"{prefix}mean-field theory", lambda f=page: f, "", None))
    contents = [(caption, i + 2) for i, (caption, *_rest) in enumerate(plan)]
    if len(contents) > _MAX_CONTENTS:  # one line per run instead
        ends = first_page[1:] + [len(plan) + 2]
        contents = [(f"{name}: summary, figures, theory (pages {a}–{b - 1})", a)
                    for name, a, b in zip(names, first_page, ends)]

    with Progress(len(plan) + 1, "report", enabled=progress) as bar:
        def pages() -> Iterator[Figure]:
            yield title_page(results, title, when, names, contents)
            bar.update(1)
            for _caption, make, prefix, key in plan:
                fig = make()
                if fig is not None:
                    if on_figure is not None and key is not None:
                        on_figure(key, fig)
                    with _prefixed_title(fig, prefix):
                        yield fig
                del fig  # one figure at a time: a built figure is dropped once its page is written
                bar.update(1)

        return write_pdf(path, pages(), title=title, date=when)


class Exported(NamedTuple):
    """What :func:`export` wrote: the run folder (or None), its PNGs, and the PDF (or None)."""

    run_dir: Path | None
    pngs: list[Path]
    pdf: Path | None


def export(result: Any, out_dir: str | Path | None = None, pdf: str | Path | None = None, *, dpi: int = 120,
           progress: bool = False, **report_kwargs: Any) -> Exported:
    """Save a result as a run folder with its PNG figures (``out_dir``), a PDF report (``pdf``), or both.

    The run folder (``layers.csv``, ``config.json``, ``histograms.npz`` and one PNG per figure of
    :func:`initlab.plots.figure_plan`) is built under a temporary name beside ``out_dir`` and swapped
    in as a unit (:func:`initlab._io.staged_dir`): ``out_dir`` is always either the complete old run
    or the complete new one, whatever interrupts the work. A ``pdf`` inside ``out_dir`` is built in
    the new folder too (it is part of the run); one elsewhere is written atomically on its own. With
    both, each figure is built once and written as a PNG and a PDF page. ``report_kwargs`` go to
    :func:`write_report` (``title``, ``date``, ``names``, ``theory``).

    Deciding whether an existing ``out_dir`` or ``pdf`` may be replaced is the caller's business (the
    CLI refuses anything initlab did not write unless ``--force`` is given).
    """
    if out_dir is None and pdf is None:
        raise ValueError("export needs out_dir, pdf or both")
    if out_dir is None:
        return Exported(None, [], write_report(result, pdf, progress=progress, **report_kwargs))
    out_dir = Path(out_dir)
    names = [name for name, _caption, _make in figure_plan(result)]
    pngs = [out_dir / f"{n}.png" for n in names]
    pdf_path = None if pdf is None else Path(pdf)
    inside = pdf_path is not None and pdf_path.resolve().parent == out_dir.resolve()
    with staged_dir(out_dir) as tmp:
        result.to_dir(tmp)
        if pdf_path is None:
            with Progress(len(names), "figures", enabled=progress) as bar:
                for name, _caption, make in figure_plan(result):
                    _save_png(make(), tmp / f"{name}.png", dpi)
                    bar.update(1)
        else:
            target = tmp / pdf_path.name if inside else pdf_path
            write_report(result, target, on_figure=lambda name, fig: _save_png(fig, tmp / f"{name}.png", dpi),
                         progress=progress, **report_kwargs)
    return Exported(out_dir, pngs, pdf_path)


@contextmanager
def _prefixed_title(fig: Figure, prefix: str) -> Iterator[None]:
    """The figure's title prefixed with the run name (in a multi-run report) for as long as the block
    runs; its place, size and colour stay."""
    old = fig.get_suptitle()
    text = next((t for t in fig.texts if t.get_text() == old), None) if prefix and old else None
    if text is None:
        yield
        return
    text.set_text(prefix + old)
    try:
        yield
    finally:
        text.set_text(old)


def count_pdf_pages(data: bytes) -> int:
    """Number of page objects (``/Type /Page``, not ``/Pages``) in an uncompressed-object PDF such as
    matplotlib writes."""
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", data))
