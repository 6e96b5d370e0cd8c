"""``initlab spectrum``: the input–output Jacobian's singular values at init against free probability (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import InputError, RunError
from ._options import FiniteFloat, engine_options, engine_threads_option, grid_option_values, quiet_option

__all__ = ["COMMANDS", "spectrum_cmd", "SPECTRUM_RUN_FILES"]

#: The files of a spectrum run folder (``--out``).
SPECTRUM_RUN_FILES = ("moments.csv", "bins.csv", "density.csv", "values.csv", "frames.json", "settings.json",
                      "spectrum_histograms.png", "spectrum_moments.png")


def _sigma_w2(text: str):
    if text.strip().lower() == "critical":
        return "critical"
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"--sigma-w2 must be a number or 'critical', got '{text}'") from None
    if not (v > 0 and v < 1e6):
        raise InputError(f"--sigma-w2 must be in (0, 1e6), got {text}")
    return v


@click.command("spectrum")
@click.option("--act", default="tanh,relu", show_default=True, help="Comma list of activation specs.")
@click.option("--init", "weights", default="orthogonal,gaussian", show_default=True,
              help="Comma list of weight ensembles: orthogonal, gaussian.")
@click.option("--depth", default="2,8,32,128", show_default=True,
              help="Depths (prefixes of one network): a comma list or a grid (a:b:n, log:a:b:n).")
@click.option("--width", type=click.IntRange(2, 4000), default=400, show_default=True, help="Width N of every layer.")
@click.option("--sigma-w2", "sigma_w2", default="critical", show_default=True,
              help="σ_w², or 'critical' (χ₁ = 1: at --sigma-b2 if given, else at the fixed point --q-star).")
@click.option("--sigma-b2", "sigma_b2", type=FiniteFloat(0, 1e6), default=None,
              help="σ_b² [default: 0, or the critical σ_b² of --q-star].")
@click.option("--q-star", "q_star", type=FiniteFloat(0, 1e6, min_open=True), default=None,
              help="With --sigma-w2 critical: the fixed point q* to sit at [default: 1/64].")
@click.option("--samples", type=click.IntRange(1, 1000), default=4, show_default=True,
              help="Independent (network, input) draws per config.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder: moments.csv, bins.csv, density.csv, values.csv, settings.json and two PNG figures.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a PDF report.")
@click.option("--force", is_flag=True, help="Replace an existing --out folder or --report file that initlab did not write.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@engine_options
@engine_threads_option
@quiet_option
def spectrum_cmd(act, weights, depth, width, sigma_w2, sigma_b2, q_star, samples, seed, out, report, force, fmt,
                 store, workers, scheduler, dask_local, threads, quiet) -> None:
    """Singular values of the input–output Jacobian J = D_L W_L ⋯ D_1 W_1 at init, measured exactly (an SVD of
    the product, float64) and predicted by free probability (the S-transform of Pennington, Schoenholz &
    Ganguli 2017), with the mean, variance and largest singular value against depth. Every sample is a task of
    the experiment engine: --store makes the study resumable, --workers/--dask-local/--scheduler spread it.

    \b
    Examples:
      initlab spectrum --act tanh,relu --init orthogonal,gaussian --depth 2,8,32,128 --width 400
      initlab spectrum --act tanh --sigma-w2 critical --sigma-b2 0.05 --depth 4,16 --report spec.pdf
      initlab spectrum --act tanh --sigma-w2 1.5 --init gaussian --depth 8 --out reports/spec --store spec.sqlite
    """
    from ._outputs import check_out_dir, check_pdf

    depths = grid_option_values(depth, "--depth", integer=True, low=1, high=2000)
    sw2 = _sigma_w2(sigma_w2)
    if q_star is not None and (sw2 != "critical" or sigma_b2 is not None):
        raise InputError("--q-star applies with --sigma-w2 critical and no --sigma-b2")
    if report is not None and report.suffix.lower() != ".pdf":
        raise InputError(f"--report must end in .pdf, got '{report.name}'")
    if out is not None:
        check_out_dir(out, force, SPECTRUM_RUN_FILES)
    if report is not None:
        check_pdf(report, force, run_dir=out, run_files=SPECTRUM_RUN_FILES)
    import scipy.linalg  # noqa: F401  (loaded before the thread limit so that it applies to its LAPACK too)

    from ..study.spectrum import _configs, spectrum
    from ..sweep.task import PointsFailed

    _configs(act, weights, sw2, sigma_b2, q_star, depths)  # bad names and impossible critical points: before any work
    try:
        res = spectrum(act, weights, depths, width, sigma_w2=sw2, sigma_b2=sigma_b2, q_star=q_star, samples=samples,
                       seed=seed, workers=workers, scheduler=scheduler, dask_local=dask_local, threads=threads,
                       store=store, progress=not quiet)
    except PointsFailed as exc:
        raise RunError(str(exc)) from None
    if fmt == "json":
        from .theory import jsonable

        click.echo(json.dumps(jsonable(res.moments.to_dict(orient="records")), indent=2))
    else:
        click.echo(res.summary())
        click.echo(f"({res.seconds:.1f} s; width {width}, {samples} sample(s) per config; TV: histogram vs "
                   "predicted density, TVnull: first vs second half of the samples)")
    if out is not None:
        click.echo(f"saved {res.to_dir(out)}")
    if report is not None:
        click.echo(f"wrote {res.report(report)}")


COMMANDS = [spectrum_cmd]
