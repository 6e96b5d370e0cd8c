"""``initlab spectrum``: the input–output Jacobian's singular values at init against free probability (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import InputError
from ._options import FiniteFloat, threads_option, use_threads
from ._outputs import check_pdf

__all__ = ["COMMANDS", "spectrum_cmd", "parse_ints", "RUN_FILES"]

#: The files of a spectrum run folder (``--out``), which ``--report`` may not replace.
RUN_FILES = ("moments.csv", "bins.csv", "density.csv", "values.csv", "spectrum_histograms.png",
             "spectrum_moments.png")


def parse_ints(text: str, name: str, lo: int = 1, hi: int = 100_000) -> list[int]:
    """A comma list of integers in [lo, hi] (one-line error otherwise)."""
    out = []
    for piece in (p.strip() for p in str(text).split(",")):
        if not piece:
            continue
        try:
            v = int(piece)
        except ValueError:
            raise InputError(f"{name} must be a comma list of integers, got '{piece}'") from None
        if not lo <= v <= hi:
            raise InputError(f"{name} values must be in [{lo}, {hi}], got {v}")
        out.append(v)
    if not out:
        raise InputError(f"{name} is empty")
    return sorted(set(out))


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
              help="Comma list of depths (prefixes of one network).")
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
              help="Save moments.csv, bins.csv, density.csv, values.csv and the two PNG figures here.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a PDF report.")
@click.option("--force", is_flag=True, help="Replace an existing --report file even if initlab did not write it.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@threads_option
def spectrum_cmd(act, weights, depth, width, sigma_w2, sigma_b2, q_star, samples, seed, out, report, force, fmt,
                 threads) -> None:
    """Singular values of the input–output Jacobian J = D_L W_L ⋯ D_1 W_1 at init, measured exactly (an SVD of
    the product, float64) and predicted by free probability (the S-transform of Pennington, Schoenholz &
    Ganguli 2017), with the mean, variance and largest singular value against depth.

    \b
    Examples:
      initlab spectrum --act tanh,relu --init orthogonal,gaussian --depth 2,8,32,128 --width 400
      initlab spectrum --act tanh --sigma-w2 critical --sigma-b2 0.05 --depth 4,16 --report spec.pdf
      initlab spectrum --act tanh --sigma-w2 1.5 --init gaussian --depth 8 --out reports/spec
    """
    depths = parse_ints(depth, "--depth", 1, 2000)
    sw2 = _sigma_w2(sigma_w2)
    if q_star is not None and (sw2 != "critical" or sigma_b2 is not None):
        raise InputError("--q-star applies with --sigma-w2 critical and no --sigma-b2")
    if report is not None and report.suffix.lower() != ".pdf":
        raise InputError(f"--report must end in .pdf, got '{report.name}'")
    if report is not None:
        check_pdf(report, force, run_dir=out, run_files=RUN_FILES)
    import scipy.linalg  # noqa: F401  (loaded before the thread limit so that it applies to its LAPACK too)

    from ..study.spectrum import _configs, spectrum

    _configs(act, weights, sw2, sigma_b2, q_star, depths)  # bad names and impossible critical points: before any work
    with use_threads(threads):
        res = spectrum(act, weights, depths, width, sigma_w2=sw2, sigma_b2=sigma_b2, q_star=q_star,
                       samples=samples, seed=seed, log=lambda s: click.echo(s, err=True))
    if fmt == "json":
        from .theory import jsonable

        click.echo(json.dumps(jsonable(res.moments.to_dict(orient="records")), indent=2))
    else:
        click.echo(res.summary())
        click.echo(f"({res.seconds:.1f} s; width {width}, {samples} sample(s) per config; TV: histogram vs "
                   "predicted density, TVnull: first vs second half of the samples)")
    if out is not None or report is not None:
        from ..plots.spectrum import spectrum_histograms, spectrum_moments

        if out is not None:
            from .._io import atomic_write

            res.to_dir(out)
            for name, fig in (("spectrum_histograms", spectrum_histograms(res.bins, res.density, res.moments)),
                              ("spectrum_moments", spectrum_moments(res.moments))):
                with atomic_write(out / f"{name}.png", "wb") as fh:
                    fig.savefig(fh, format="png", dpi=120, metadata={"Software": None})
            click.echo(f"saved {out}")
        if report is not None:
            from ..report.study import write_spectrum_report

            click.echo(f"wrote {write_spectrum_report(report, res)}")


COMMANDS = [spectrum_cmd]
