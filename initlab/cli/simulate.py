"""``initlab simulate`` (signal propagation at initialization) and ``initlab list``."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import click

from ..activations import ACTIVATIONS
from ..sim.config import LOSSES, SimConfig
from ..initializers import INITIALIZERS, NAMING
from ._options import max_memory_option, quiet_option, threads_option, use_threads
from ._outputs import SIM_RUN_FILES, check_out_dir, check_pdf

__all__ = ["COMMANDS", "simulate_cmd", "list_cmd", "result_json"]


@click.command("list")
def list_cmd() -> None:
    """List every initializer and activation with a one-line description.

    \b
    Example:
      initlab list
    """
    for title, reg in (("Initializers", INITIALIZERS), ("Activations", ACTIVATIONS)):
        click.echo(f"{title}:")
        for name, desc, aliases in reg.describe():
            extra = f" (also: {', '.join(aliases)})" if aliases else ""
            click.echo(f"  {name:<18} {desc}{extra}")
        if reg is INITIALIZERS:
            click.echo(textwrap.fill(NAMING, 110, initial_indent="  ", subsequent_indent="  "))
        click.echo()


@click.command("simulate")
@click.option("--init", "inits", default="xavier", show_default=True,
              help="Initializer spec(s), comma-separated: xavier,he,normal:0.01,variance_scaling:scale=2,mode=fan_in")
@click.option("--act", "acts", default="relu", show_default=True,
              help="Activation spec(s), comma-separated: tanh,relu,leaky_relu:0.2,maxout:3")
@click.option("--depth", type=int, default=10, show_default=True, help="Number of layers.")
@click.option("--width", default="500", show_default=True,
              help="Units per layer, or one number per layer (comma list).")
@click.option("--batch", type=int, default=1000, show_default=True, help="Input samples.")
@click.option("--input-dim", type=int, default=None, help="Input features [default: the first layer's width].")
@click.option("--input", "input_", default="gaussian", show_default=True,
              help="Input: gaussian or uniform (both unit variance), or pairs:c0=0.5 (pairs of rows with cosine "
                   "similarity exactly c0, to measure how correlations propagate).")
@click.option("--trials", type=int, default=1, show_default=True, help="Independent weight draws per config.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random draw.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True)
@click.option("--bias-init", default="zeros", show_default=True, help="Initializer spec for the biases.")
@click.option("--gain", type=float, default=None, help="Gain for every initializer (e.g. 1.414 for ReLU).")
@click.option("--batchnorm/--no-batchnorm", default=False, show_default=True,
              help="Batch-normalise each pre-activation (batch statistics).")
@click.option("--dropout", type=float, default=0.0, show_default=True, help="Inverted dropout probability, 0 <= p < 1.")
@click.option("--residual/--no-residual", default=False, show_default=True,
              help="Skip connections where a layer's input and output widths agree.")
@click.option("--loss", type=click.Choice(list(LOSSES)), default="projection", show_default=True,
              help="Loss on the last layer for the backward pass.")
@click.option("--bins", type=int, default=50, show_default=True, help="Histogram bins per layer.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Save the run (layers.csv, config.json, histograms.npz) and PNG figures in this folder.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PDF report to this file.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="What to print on stdout.")
@click.option("--force", is_flag=True,
              help="Replace an existing --out folder or --report file even if initlab did not write it.")
@max_memory_option
@threads_option
@quiet_option
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Run the engine on the CPU (numpy) or a CUDA GPU (CuPy: pip install 'initlab[gpu]'; the GPU's "
                   "own random streams, so statistically, not bitwise, the CPU's run).")
def simulate_cmd(inits, acts, depth, width, batch, input_dim, input_, trials, seed, dtype, bias_init, gain,
                 batchnorm, dropout, residual, loss, bins, out_dir, report_path, fmt, force, max_memory,
                 threads, quiet, device) -> None:
    """Simulate how activations and gradients propagate through a random deep network at initialization.

    Every initializer × activation pair runs on the same input batch with the same underlying random
    draws; the per-layer statistics (mean, std, saturation, dead units, gradient norms) are printed as
    a table, CSV or JSON.

    \b
    Examples:
      initlab simulate --init xavier --act relu --depth 10
      initlab simulate --init xavier,he,normal:0.01,normal:1 --act tanh,relu --out reports/classic
      initlab simulate --init he --act relu --depth 50 --format csv > he_relu.csv
      initlab simulate --init orthogonal --act tanh --gain 1.1 --report tanh.pdf

    An existing --out folder is replaced as a unit, and only if it holds an initlab run (else give
    --force); an existing --report file only if initlab wrote it. Everything is checked before the work
    starts, including the memory the run needs (--max-memory to override the check).
    """
    config = SimConfig(
        inits=inits, acts=acts, depth=depth, width=width, batch=batch, input_dim=input_dim, input=input_,
        seed=seed, trials=trials, dtype=dtype, bias_init=bias_init, gain=gain, batchnorm=batchnorm,
        dropout=dropout, residual=residual, loss=loss, bins=bins,
    )
    from ..sim.memory import check_memory

    check_memory(config, max_memory)
    if out_dir is not None:
        check_out_dir(out_dir, force, SIM_RUN_FILES)
    if report_path is not None:
        check_pdf(report_path, force, run_dir=out_dir, run_files=SIM_RUN_FILES)
    from ..sim.engine import simulate  # numpy work and pandas are loaded only when a simulation runs

    if device != "cpu":
        from ..sim.xp import array_module

        array_module(device)  # CuPy and a device present: a clear error before any work
    start = time.perf_counter()
    with use_threads(threads):  # pins N for the whole command (figures included); None: the engine chooses
        result = simulate(config, progress=not quiet, device=device, max_memory=max_memory)
    elapsed = time.perf_counter() - start
    if fmt == "table":
        widths = config.widths
        w = str(widths[0]) if len(set(widths)) == 1 else ",".join(map(str, widths))
        click.echo(f"initlab simulate: depth {config.depth}, width {w}, batch {config.batch}, {config.dtype}, "
                   f"seed {config.seed}, {config.trials} trial(s) — {elapsed:.2f} s\n")
        click.echo(result.summary(), nl=False)
    elif fmt == "csv":
        click.echo(result.to_csv(), nl=False)
    else:
        click.echo(result.to_json_text())
    if out_dir is None and report_path is None:
        return
    from ..report.sim import export  # matplotlib is imported only when figures are made

    done = export(result, out_dir, report_path, progress=not quiet)
    if done.run_dir is not None:
        click.echo(f"saved run and {len(done.pngs)} figures in {done.run_dir}", err=True)
    if done.pdf is not None:
        click.echo(f"wrote {done.pdf}", err=True)


def result_json(result) -> dict:
    """The config, the divergence per config and the per-layer rows as plain JSON (NaN becomes null):
    :meth:`initlab.SimResult.to_json`."""
    return result.to_json()


COMMANDS = [simulate_cmd, list_cmd]
