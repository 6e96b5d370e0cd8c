"""``initlab report``: rebuild a PDF report from saved simulation runs."""

from __future__ import annotations

import zipfile
from pathlib import Path

import click

from . import InputError
from ._outputs import check_pdf

__all__ = ["COMMANDS", "RUN_FILES", "load_run"]

#: Files that ``SimResult.to_dir`` writes and ``SimResult.from_dir`` reads.
RUN_FILES = ("layers.csv", "config.json", "histograms.npz")


def load_run(path: Path):
    """Read a saved run with ``SimResult.from_dir``; any problem becomes a one-line :class:`InputError`."""
    if not path.exists():
        raise InputError(f"run directory '{path}' does not exist")
    if not path.is_dir():
        raise InputError(f"'{path}' is not a directory (expected a run saved with --out)")
    missing = [f for f in RUN_FILES if not (path / f).is_file()]
    if missing:
        raise InputError(f"'{path}' is not a saved run: missing {', '.join(missing)}")
    from ..sim.result import SimResult  # pandas is loaded only when a run is read

    try:
        return SimResult.from_dir(path)
    except (ValueError, KeyError, OSError, TypeError, EOFError, zipfile.BadZipFile, RecursionError,
            UnicodeDecodeError, MemoryError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read run '{path}': {msg}") from None


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The PDF file to write (replaced atomically).")
@click.option("--title", default=None, help="Title of the report (default: 'initlab simulation report').")
@click.option("--force", is_flag=True, help="Replace an existing output file that initlab did not write.")
def report_cmd(run_dirs: tuple[Path, ...], output: Path, title: str | None, force: bool) -> None:
    """Rebuild a multi-page PDF report from one or more saved runs.

    RUN_DIR is a folder written by `initlab simulate --out RUN_DIR`. Several runs give one PDF:
    a title page with every run's configuration, then each run's summary table, figures and
    mean-field theory page.

    \b
    Examples:
      initlab simulate --init xavier,he --act tanh,relu --depth 10 --out reports/classic
      initlab report reports/classic -o reports/classic.pdf
      initlab report reports/run_a reports/run_b -o both.pdf --title "tanh vs relu"

    Each folder is validated first (schema, and config.json against layers.csv and histograms.npz).
    The PDF is dated $SOURCE_DATE_EPOCH when set, else by the first run's recorded time (the
    modification time of its config.json), so building it twice gives the same bytes.
    """
    check_pdf(output, force, what="output")
    results = [load_run(p) for p in run_dirs]
    from ..report.sim import count_pdf_pages, write_report  # matplotlib is imported only when a report is made

    names = [p.resolve().name or str(p) for p in run_dirs]
    path = write_report(results, output, title=title, names=names, progress=True)
    pages = count_pdf_pages(path.read_bytes())
    click.echo(f"wrote {path} ({pages} pages, {len(results)} run{'s' * (len(results) != 1)})")


COMMANDS = [report_cmd]
