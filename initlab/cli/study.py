"""``initlab study trainability``: MNIST training over σ_w² × depth against the theory's ξ_c (issue 12 §1)."""

from __future__ import annotations

from pathlib import Path

import click

from . import InputError
from ._options import FiniteFloat, threads_option, use_threads
from ._outputs import check_pdf
from .spectrum import parse_ints

__all__ = ["COMMANDS", "study_group", "trainability_cmd", "parse_grid", "RUN_FILES"]

#: The files of a trainability run folder (``--out``), which ``--report`` may not replace.
RUN_FILES = ("points.csv", "curves.csv", "settings.json", "trainability.png")


def parse_grid(text: str, name: str) -> list[float]:
    """``lo:hi:n`` (n points, linspace) or a comma list of positive finite numbers."""
    import math

    import numpy as np

    text = str(text).strip()
    try:
        if ":" in text:
            lo, hi, n = text.split(":")
            vals = list(np.linspace(float(lo), float(hi), int(n)))
        else:
            vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{name} must be lo:hi:n or a comma list of numbers, got '{text}'") from None
    if not vals or any(not (math.isfinite(v) and v > 0) for v in vals):
        raise InputError(f"{name} needs at least one value, all finite and > 0 (got '{text}')")
    return [round(float(v), 10) for v in vals]


@click.group("study")
def study_group() -> None:
    """Studies that join simulation, theory and training: trainability against the depth scales.

    \b
    Examples:
      initlab study trainability --preset quick --report trainability.pdf
      initlab spectrum --act tanh,relu --init orthogonal,gaussian
    """


@study_group.command("trainability")
@click.option("--preset", type=click.Choice(["quick", "paper"]), default="quick", show_default=True,
              help="Grid and training settings; every option below overrides it.")
@click.option("--act", default="tanh", show_default=True, help="Activation spec.")
@click.option("--sigma-b2", "sigma_b2", type=FiniteFloat(0, 1e3), default=0.05, show_default=True)
@click.option("--sigma-w2", "sigma_w2", default=None, help="σ_w² grid: lo:hi:n or a comma list [preset].")
@click.option("--depth", default=None, help="Comma list of depths (hidden layers) [preset].")
@click.option("--width", type=click.IntRange(1, 4096), default=None, help="Hidden units per layer [preset].")
@click.option("--optimizer", type=click.Choice(["rmsprop", "sgd"]), default=None, help="[preset: rmsprop]")
@click.option("--lr", type=FiniteFloat(0, 10, min_open=True), default=None, help="Learning rate [preset].")
@click.option("--steps", default=None, help="Comma list of training-step checkpoints (one panel each) [preset].")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=None, help="[preset]")
@click.option("--subset", type=click.IntRange(10, 60_000), default=None, help="Training images [preset].")
@click.option("--test-subset", type=click.IntRange(10, 10_000), default=None, help="Test images [preset].")
@click.option("--dropout", type=FiniteFloat(0, 1, max_open=True), default=0.0, show_default=True,
              help="Dropout rate after every hidden layer (the theory's ξ_c with dropout is drawn).")
@click.option("--threshold", type=FiniteFloat(0, 1), default=0.5, show_default=True,
              help="'Trainable' means training accuracy above this.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--data", "data_path", type=click.Path(), default=None, help="MNIST folder [else $INITLAB_DATA, cache].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Save points.csv, curves.csv, settings.json and trainability.png here.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a PDF report.")
@click.option("--force", is_flag=True, help="Replace an existing --report file even if initlab did not write it.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Processes training points in parallel (one BLAS thread each; same results as serial).")
@click.option("--quiet", is_flag=True, help="No per-point log lines.")
@threads_option
def trainability_cmd(preset, act, sigma_b2, sigma_w2, depth, width, optimizer, lr, steps, batch_size, subset,
                     test_subset, dropout, threshold, seed, data_path, out, report, force, workers, quiet,
                     threads) -> None:
    """Train tanh networks on MNIST over σ_w² × depth (Schoenholz et al. 2017) and compare "trainable" with
    "depth < 6 ξ_c" from the mean-field theory; one heatmap panel per number of steps.

    \b
    Examples:
      initlab study trainability --preset quick --threads 1 --report trainability.pdf
      initlab study trainability --preset paper --out reports/trainability
      initlab study trainability --sigma-w2 1:4:7 --depth 5,20,40 --optimizer sgd --lr 0.01 --dropout 0.1
    """
    from ..activations import get_activation
    from ..study.trainability import PRESETS, TrainPoint

    p = dict(PRESETS[preset])
    if sigma_w2 is not None:
        p["sigma_w2"] = parse_grid(sigma_w2, "--sigma-w2")
    if depth is not None:
        p["depth"] = parse_ints(depth, "--depth", 1, 2000)
    if steps is not None:
        p["steps"] = parse_ints(steps, "--steps", 1, 10_000_000)
    for key, val in (("width", width), ("optimizer", optimizer), ("lr", lr), ("batch_size", batch_size),
                     ("subset", subset), ("test_subset", test_subset)):
        if val is not None:
            p[key] = val
    if report is not None and report.suffix.lower() != ".pdf":
        raise InputError(f"--report must end in .pdf, got '{report.name}'")
    if report is not None:
        check_pdf(report, force, run_dir=out, run_files=RUN_FILES)
    spec = get_activation(act).spec
    kw = dict(act=spec, sigma_b2=sigma_b2, width=p["width"], optimizer=p["optimizer"], lr=p["lr"],
              steps=tuple(p["steps"]), batch_size=p["batch_size"], dropout=dropout)
    TrainPoint(1.0, 1, **kw)  # validates before any work
    import scipy.linalg  # noqa: F401  (loaded before the thread limit, so that it applies to its LAPACK too)

    from ..study.trainability import load_study_data, trainability

    data = load_study_data(p["subset"], p["test_subset"], data_path)
    if not quiet:
        click.echo(f"{len(p['sigma_w2']) * len(p['depth'])} points; data: {data.source}", err=True)
    with use_threads(threads):
        res = trainability(p["sigma_w2"], p["depth"], data=data, threshold=threshold, seed=seed, workers=workers,
                           log=None if quiet else (lambda s: click.echo(s, err=True)), **kw)
    res.settings["preset"] = preset
    res.settings["workers"] = workers
    click.echo(res.summary())
    click.echo(f"({res.seconds:.1f} s)")
    if out is not None:
        from .._io import atomic_write
        from ..plots.trainability import trainability_heatmap

        res.to_dir(out)
        fig = trainability_heatmap(res.points, res.curves, critical_sigma_w2=res.critical_sigma_w2,
                                   agreement=res.agreement, threshold=res.threshold)
        with atomic_write(out / "trainability.png", "wb") as fh:
            fig.savefig(fh, format="png", dpi=120, metadata={"Software": None})
        click.echo(f"saved {out}")
    if report is not None:
        from ..report.study import write_trainability_report

        click.echo(f"wrote {write_trainability_report(report, res)}")


COMMANDS = [study_group]
