"""``initlab study finite-width``: finite-width fluctuations measured against the 1/n theory (issue 21 §3)."""

from __future__ import annotations

from pathlib import Path

import click

from . import InputError
from ._options import engine_options, engine_threads_option, quiet_option

__all__ = ["finite_width_cmd", "FINITE_WIDTH_RUN_FILES"]

#: The files of a finite-width study folder (``--out``).
FINITE_WIDTH_RUN_FILES = ("rows.csv", "points.csv", "agreement.csv", "frames.json", "settings.json", "collapse.png")


@click.command("finite-width")
@click.option("--act", default="relu:2:0,tanh:1:0,gelu:critical:0.2", show_default=True,
              help="Comma list of spec:sigma_w2:sigma_b2 (sigma_w2 may be 'critical').")
@click.option("--width", "widths", default="16,32,64,128", show_default=True, help="Comma list of widths.")
@click.option("--depth-ratio", type=click.FloatRange(0, 8, min_open=True), default=0.5, show_default=True,
              help="Deepest l/n: each width n gets depth ceil(ratio * n).")
@click.option("--trials", type=click.IntRange(3, 1_000_000), default=100, show_default=True,
              help="Networks per point (the error bars come from their spread).")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Save rows.csv, points.csv, agreement.csv, settings.json and collapse.png here.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a PDF report.")
@click.option("--force", is_flag=True, help="Replace existing outputs that initlab did not write.")
@engine_options
@engine_threads_option
@quiet_option
def finite_width_cmd(act, widths, depth_ratio, trials, seed, out, report, force, store, workers, scheduler,
                     dask_local, threads, quiet) -> None:
    """Measure the spread of q̂ˡ and of the gradient norms across networks over widths × depth and set it
    beside the 1/n theory (Roberts, Yaida & Hanin; exact Hanin–Nica law for ReLU). Every network is a task of
    the experiment engine: --store makes the study resumable, --workers/--dask-local/--scheduler spread it.

    \b
    Examples:
      initlab study finite-width --out reports/finite_width --report finite_width.pdf
      initlab study finite-width --act relu:2:0,tanh:1:0 --width 32,64,128,256 --trials 400
    """
    from ._outputs import check_out_dir, check_pdf
    from ..study.finite_width import finite_width_study, parse_acts

    from ..sweep.axes import grid_values

    ws = grid_values("--width", widths, integer=True, low=2, high=4096)
    if report is not None and report.suffix.lower() != ".pdf":
        raise InputError(f"--report must end in .pdf, got '{report.name}'")
    parse_acts(act)  # validates before any work
    if out is not None:
        check_out_dir(out, force, FINITE_WIDTH_RUN_FILES)
    if report is not None:
        check_pdf(report, force, run_dir=out, run_files=FINITE_WIDTH_RUN_FILES)
    from ..sweep.task import PointsFailed
    from . import RunError

    try:
        res = finite_width_study(act, ws, depth_ratio=depth_ratio, trials=trials, seed=seed, store=store,
                                 workers=workers, scheduler=scheduler, dask_local=dask_local, threads=threads,
                                 progress=not quiet)
    except PointsFailed as exc:
        raise RunError(str(exc)) from None
    click.echo(res.summary())
    if out is not None:
        res.to_dir(out)
        click.echo(f"saved {out}")
    if report is not None:
        click.echo(f"wrote {res.report(report)}")
