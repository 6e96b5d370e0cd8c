"""``initlab sweep``: run a grid of simulations into a store; ``sweep export`` and ``sweep report`` read one.

``initlab sweep [OPTIONS] --AXIS GRID ...`` is ``initlab sweep run ...``. Every SimConfig field and the
native axes ``--sigma-w2`` and ``--sigma-b2`` are axis options; their values are grids (``1:4:16``,
``log:1e-2:1e2:9``, comma lists) or single values. They are parsed here (not by click), so that an unknown
axis is one line with the closest match.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import click

from . import InputError
from ._options import engine_threads_option, max_memory_option, quiet_option
from ._outputs import check_file, check_pdf

__all__ = ["COMMANDS", "sweep_group", "parse_axis_args"]

_BOOL_AXES = ("batchnorm", "residual")
MAX_POINTS = 1_000_000  # initlab.sweep.axes.MAX_POINTS, without importing numpy for --help


def parse_axis_args(args: list[str]) -> dict[str, str]:
    """``["--sigma-w2", "0.5:4:36", "--act=tanh", "--no-residual"]`` -> ``{"sigma_w2": "0.5:4:36", ...}``
    (axis names checked; see :func:`initlab.sweep.axes.axis_name`)."""
    from ..sweep.axes import axis_name

    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        tok = args[i]
        if not tok.startswith("--") or tok == "--":
            raise InputError(f"unexpected argument '{tok}' (axes are options: --sigma-w2 0.5:4:36)")
        name, eq, value = tok[2:].partition("=")
        flag = name.replace("-", "_")
        if not eq and (flag in _BOOL_AXES or flag.startswith("no_") and flag[3:] in _BOOL_AXES):
            nxt = args[i + 1] if i + 1 < len(args) else None
            if flag.startswith("no_"):
                name, value = flag[3:], "false"
            elif nxt is None or nxt.startswith("--"):
                value = "true"
            else:
                value, i = nxt, i + 1
        elif not eq:
            axis_name(name)  # the closest match for an unknown axis before the missing value
            if i + 1 >= len(args):
                raise InputError(f"--{name} needs a value")
            value, i = args[i + 1], i + 1
        key = axis_name(name)
        if key in out:
            raise InputError(f"axis '{key}' given twice")
        out[key] = value
        i += 1
    return out


class _SweepGroup(click.Group):
    """``initlab sweep ARGS`` runs ``initlab sweep run ARGS`` unless ARGS start with a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("sweep", cls=_SweepGroup)
def sweep_group() -> None:
    """Sweep whole regions of the parameter space (see `initlab sweep run --help`)."""


@sweep_group.command("run", context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                     options_metavar="[OPTIONS] --AXIS GRID ...")
@click.option("--store", "store", type=click.Path(dir_okay=False, path_type=Path), default=Path("sweep.sqlite"),
              show_default=True, help="SQLite store; re-running the same sweep resumes it, new grid values extend it.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the sweep's PDF report here when it finishes.")
@click.option("--workers", type=int, default=None,
              help="Local worker processes [default: one per core; 1 = this process].")
@click.option("--scheduler", default=None, help="A running Dask scheduler, tcp://HOST:PORT.")
@click.option("--dask-local", type=int, default=None, help="Start a Dask LocalCluster of N worker processes.")
@click.option("--zip", "zips", multiple=True, help="Pair two axes instead of crossing them: --zip sigma_w2,sigma_b2.")
@click.option("--keep", type=click.Choice(["summary", "layers"]), default="summary", show_default=True,
              help="Also store every point's per-layer rows (layers).")
@click.option("--batch-size", type=int, default=None, help="Points per batch [default: about 1 s of work].")
@engine_threads_option
@click.option("--blas-threads", "blas_threads", type=int, default=None, hidden=True,
              help="Deprecated spelling of --threads.")
@quiet_option
@click.option("--progress/--no-progress", default=True, hidden=True, help="Deprecated: --no-progress is --quiet.")
@click.option("--force", is_flag=True, help="Replace an existing --report file even if initlab did not write it.")
@click.option("--max-points", "max_points", type=click.IntRange(1), default=MAX_POINTS, show_default=True,
              help="Refuse a grid of more points (before anything is stored).")
@max_memory_option
@click.pass_context
def run_cmd(ctx: click.Context, store, report_path, workers, scheduler, dask_local, zips, keep, batch_size,
            threads, blas_threads, quiet, progress, force, max_points, max_memory) -> None:
    """Measure every point of a grid: q, c, χ₁ and ξ_c measured beside the mean-field theory.

    Axes are options after these: any simulate setting (--act, --init, --depth, --width, --batch,
    --dropout, --residual, --batchnorm, --dtype, --seed, --trials, --input, ...) and the theory's own
    coordinates --sigma-w2 (weight variance x fan_in, Gaussian weights) and --sigma-b2 (Gaussian bias
    variance). A value is one value or a grid: 1:4:16 (linspace), log:1e-2:1e2:9, or a comma list.
    The grid is their cross product (--zip pairs axes). The input defaults to pairs:c0=0.5.

    \b
    Examples:
      initlab sweep --act tanh --sigma-w2 0.5:4:36 --sigma-b2 0:0.3:16 --depth 50 --width 500 \\
          --trials 2 --store sweeps/tanh.sqlite --report sweeps/tanh.pdf
      initlab sweep --act tanh --sigma-w2 0.8 --sigma-b2 0.1 --width log:64:1024:5 --seed 0:3:4 --store w.sqlite
      initlab sweep --act relu,tanh --depth 10,20 --scheduler tcp://10.0.0.5:8786 --store big.sqlite
      initlab sweep export sweeps/tanh.sqlite -o tanh.parquet
      initlab sweep report sweeps/tanh.sqlite -o tanh.pdf
    """
    if threads is not None and blas_threads is not None and threads != blas_threads:
        raise InputError("give --threads only (--blas-threads is its old spelling)")
    threads = threads if threads is not None else blas_threads
    progress = progress and not quiet
    axes = parse_axis_args(list(ctx.args))
    if not axes:
        raise InputError("no axes: give at least one, e.g. --sigma-w2 0.5:4:8")
    if report_path is not None:
        check_pdf(report_path, force, inputs=[store])
    cores = os.cpu_count() or 1
    if workers is not None and workers > cores:
        click.echo(f"note: --workers {workers} is more than the {cores} cores here; they will share them (at most "
                   f"one worker per point is started)", err=True)
    from ..sweep.run import sweep

    start = time.perf_counter()
    res = sweep(store, workers=workers, scheduler=scheduler, dask_local=dask_local, zip=zips, keep=keep,
                batch_size=batch_size, threads=threads, progress=progress, max_points=max_points,
                max_memory=max_memory, **axes)
    elapsed = time.perf_counter() - start
    pts = res.points
    failed = pts[pts["status"] == "failed"]
    click.echo(f"initlab sweep: {len(pts)} points in {store} ({int((pts['status'] == 'done').sum())} done, "
               f"{len(failed)} failed) — {elapsed:.1f} s")
    axes = res.grid.axes
    if len(axes.get("sigma_w2", ())) > 1 and len(axes.get("sigma_b2", ())) > 1 and len(failed) < len(pts):
        from ..plots.sweep import phase_agreement

        a = phase_agreement(pts)
        pct = {k: f"{v:.{1 if k == 'same_phase' else 2}%}" if math.isfinite(v) else "n/a (no finite value)"
               for k, v in a.items()}
        click.echo(f"vs mean-field theory: same phase in {pct['same_phase']} of {a['cells']:.0f} cells; median "
                   f"relative error away from chi1 = 1 ({a['cells_away']:.0f} cells): chi1 "
                   f"{pct['chi1_median_rel_err']}, xi_c {pct['xi_c_median_rel_err']}")
    if len(failed):
        click.echo(f"first failure: {failed['error'].iloc[0]}", err=True)
    if report_path is not None:
        click.echo(f"wrote {res.report(report_path)}", err=True)
    if len(failed):
        ctx.exit(1)


def _output(out: Path | None, old: Path | None, required: bool) -> Path | None:
    """``-o/--output FILE``, or its old spelling ``--out`` (hidden)."""
    if out is not None and old is not None and out != old:
        raise InputError("give -o/--output only (--out is its old spelling)")
    out = out if out is not None else old
    if out is None and required:
        raise InputError("give the file to write: -o/--output FILE")
    return out


_OLD_OUT = click.option("--out", "old_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        hidden=True, help="Old spelling of -o/--output.")


@sweep_group.command("export")
@click.argument("store", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="FILE.parquet (needs pyarrow) or FILE.csv.  [required]")
@_OLD_OUT
@click.option("--table", type=click.Choice(["points", "layers"]), default="points", show_default=True,
              help="The points, or every point's rows (per-layer rows of a sweep; a study's measured rows).")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
def export_cmd(store: Path, out: Path | None, old_out: Path | None, table: str, force: bool) -> None:
    """Write a store's points (or per-layer rows) as Parquet (through pyarrow) or CSV.

    \b
    Example:
      initlab sweep export sweeps/tanh.sqlite -o tanh.parquet
    """
    from ..sweep.export import check_format, export

    out = _output(out, old_out, True)
    check_format(out)
    check_file(out, force, inputs=[store])
    click.echo(f"wrote {export(store, out, table)}", err=True)


@sweep_group.command("report")
@click.argument("store", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The PDF [default: the store's name with .pdf].")
@_OLD_OUT
@click.option("--force", is_flag=True, help="Replace an existing PDF even if initlab did not write it.")
def report_cmd(store: Path, out: Path | None, old_out: Path | None, force: bool) -> None:
    """Rebuild a sweep's PDF report from its store.

    \b
    Example:
      initlab sweep report sweeps/tanh.sqlite -o tanh.pdf
    """
    from ..sweep.result import SweepResult

    out = _output(out, old_out, False)
    out = out if out is not None else store.with_suffix(".pdf")
    check_pdf(out, force, inputs=[store])
    res = SweepResult(store)
    click.echo(f"wrote {res.report(out)}", err=True)


COMMANDS = [sweep_group]
