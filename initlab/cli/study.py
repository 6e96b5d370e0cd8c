"""``initlab study trainability``: MNIST training over σ_w² × depth against the theory's ξ_c (issue 12 §1)."""

from __future__ import annotations

from pathlib import Path

import click

from . import InputError, RunError
from ._options import FiniteFloat, engine_options, engine_threads_option, grid_option_values, quiet_option

__all__ = ["COMMANDS", "study_group", "trainability_cmd", "TRAINABILITY_RUN_FILES"]

#: The files of a trainability run folder (``--out``).
TRAINABILITY_RUN_FILES = ("points.csv", "curves.csv", "agreement.csv", "frames.json", "settings.json",
                          "trainability.png")


@click.group("study")
def study_group() -> None:
    """Studies that join simulation, theory and training: trainability against the depth scales.

    \b
    Examples:
      initlab study trainability --preset quick --report trainability.pdf
      initlab study finite-width --out reports/finite_width --report finite_width.pdf
      initlab spectrum --act tanh,relu --init orthogonal,gaussian
    """


@study_group.command("trainability")
@click.option("--preset", type=click.Choice(["quick", "paper"]), default="quick", show_default=True,
              help="Grid and training settings; every option below overrides it.")
@click.option("--act", default="tanh", show_default=True, help="Activation spec.")
@click.option("--sigma-b2", "sigma_b2", type=FiniteFloat(0, 1e3), default=0.05, show_default=True)
@click.option("--sigma-w2", "sigma_w2", default=None,
              help="σ_w² grid: a:b:n, log:a:b:n or a comma list [preset].")
@click.option("--depth", default=None, help="Depths (hidden layers): a grid or a comma list [preset].")
@click.option("--width", type=click.IntRange(1, 4096), default=None, help="Hidden units per layer [preset].")
@click.option("--optimizer", type=click.Choice(["rmsprop", "sgd"]), default=None, help="[preset: rmsprop]")
@click.option("--lr", type=FiniteFloat(0, 10, min_open=True), default=None, help="Learning rate [preset].")
@click.option("--steps", default=None, help="Training-step checkpoints (one panel each): a comma list [preset].")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=None, help="[preset]")
@click.option("--subset", type=click.IntRange(10, 60_000), default=None, help="Training images [preset].")
@click.option("--test-subset", type=click.IntRange(10, 10_000), default=None, help="Test images [preset].")
@click.option("--dropout", type=FiniteFloat(0, 1, max_open=True), default=0.0, show_default=True,
              help="Dropout rate after every hidden layer (the theory's ξ_c with dropout is drawn).")
@click.option("--threshold", type=FiniteFloat(0, 1), default=0.5, show_default=True,
              help="'Trainable' means training accuracy above this.")
@click.option("--seed", default=None, help="Seed, or a comma list of seeds: the grid is trained once per seed "
              "[preset: 0,1,2].")
@click.option("--data", "data_path", type=click.Path(), default=None, help="MNIST folder [else $INITLAB_DATA, cache].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder: points.csv, curves.csv, agreement.csv, settings.json, trainability.png.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a PDF report.")
@click.option("--force", is_flag=True, help="Replace an existing --out folder or --report file that initlab did not write.")
@engine_options
@engine_threads_option
@quiet_option
def trainability_cmd(preset, act, sigma_b2, sigma_w2, depth, width, optimizer, lr, steps, batch_size, subset,
                     test_subset, dropout, threshold, seed, data_path, out, report, force, store, workers, scheduler,
                     dask_local, threads, quiet) -> None:
    """Train tanh networks on MNIST over σ_w² × depth (Schoenholz et al. 2017) and compare "trainable" with
    "depth < 6 ξ_c" from the mean-field theory; one heatmap panel per number of steps. Every point is a task of
    the experiment engine: --store makes the study resumable, --workers/--dask-local/--scheduler spread it.

    \b
    Examples:
      initlab study trainability --preset quick --threads 1 --report trainability.pdf
      initlab study trainability --preset paper --store paper.sqlite --out reports/trainability
      initlab study trainability --sigma-w2 1:4:7 --depth 5,20,40 --optimizer sgd --lr 0.01 --dropout 0.1
    """
    from ..activations import get_activation
    from ..study.trainability import PRESETS, TrainPoint
    from ._outputs import check_out_dir, check_pdf

    p = dict(PRESETS[preset])
    if sigma_w2 is not None:
        p["sigma_w2"] = [round(v, 10) for v in grid_option_values(sigma_w2, "--sigma-w2", low=0, high=1e6,
                                                                   low_open=True)]
    if depth is not None:
        p["depth"] = grid_option_values(depth, "--depth", integer=True, low=1, high=2000)
    if steps is not None:
        p["steps"] = grid_option_values(steps, "--steps", integer=True, low=1, high=10_000_000)
    if seed is not None:
        p["seeds"] = grid_option_values(seed, "--seed", integer=True, low=0, high=2**32 - 1)
    for key, val in (("width", width), ("optimizer", optimizer), ("lr", lr), ("batch_size", batch_size),
                     ("subset", subset), ("test_subset", test_subset)):
        if val is not None:
            p[key] = val
    if report is not None and report.suffix.lower() != ".pdf":
        raise InputError(f"--report must end in .pdf, got '{report.name}'")
    if out is not None:
        check_out_dir(out, force, TRAINABILITY_RUN_FILES)
    if report is not None:
        check_pdf(report, force, run_dir=out, run_files=TRAINABILITY_RUN_FILES)
    spec = get_activation(act).spec
    kw = dict(act=spec, sigma_b2=sigma_b2, width=p["width"], optimizer=p["optimizer"], lr=p["lr"],
              steps=tuple(p["steps"]), batch_size=p["batch_size"], dropout=dropout)
    TrainPoint(1.0, 1, **kw)  # validates before any work
    import scipy.linalg  # noqa: F401  (loaded before the thread limit, so that it applies to its LAPACK too)

    from ..study.trainability import load_study_data, trainability
    from ..sweep.task import PointsFailed

    data = load_study_data(p["subset"], p["test_subset"], data_path)
    if not quiet:
        click.echo(f"{len(p['sigma_w2']) * len(p['depth']) * len(p['seeds'])} points; data: {data.source}", err=True)
    try:
        res = trainability(p["sigma_w2"], p["depth"], data=data, threshold=threshold, seed=p["seeds"], workers=workers,
                           scheduler=scheduler, dask_local=dask_local, threads=threads, store=store,
                           progress=not quiet, **kw)
    except PointsFailed as exc:
        raise RunError(str(exc)) from None
    res.settings["preset"] = preset
    click.echo(res.summary())
    click.echo(f"({res.seconds:.1f} s)")
    if out is not None:
        click.echo(f"saved {res.to_dir(out)}")
    if report is not None:
        click.echo(f"wrote {res.report(report)}")


COMMANDS = [study_group]


def _register() -> None:
    """``study finite-width`` lives in its own module (:mod:`initlab.cli.finite_width`)."""
    from .finite_width import finite_width_cmd

    study_group.add_command(finite_width_cmd)


_register()
