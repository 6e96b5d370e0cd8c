"""``initlab bench``: the simulation engine (issue 2) and the trainer (issue 4) against their floors."""

from __future__ import annotations

import click

from . import InputError
from .._format import DASH, with_dash_note

__all__ = ["COMMANDS", "bench_cmd"]


def _shape(text: str) -> tuple[int, int, int]:
    try:
        b, w, d = (int(p) for p in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise InputError(f"--shape must look like 1024x1024x20 (batch x width x depth), got '{text}'") from None
    if min(b, w, d) < 1 or b < 2:
        raise InputError(f"--shape needs batch >= 2 and width, depth >= 1, got '{text}'")
    return b, w, d


@click.command("bench")
@click.option("--quick", is_flag=True, help="Small shapes and 2 repeats (a smoke run, seconds).")
@click.option("--shape", "shapes", multiple=True,
              help="BATCHxWIDTHxDEPTH to time (repeatable) [default: 1024x1024x20 and 256x256x100].")
@click.option("--repeats", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Interleaved repeats; the minimum is reported.")
@click.option("--act", default="relu", show_default=True, help="Activation spec.")
@click.option("--init", default="kaiming_normal", show_default=True, help="Initializer spec.")
@click.option("--breakdown/--no-breakdown", "show_breakdown", default=False, show_default=True,
              help="Also show the time of each phase inside the engine (ms over all layers).")
@click.option("--what", type=click.Choice(["all", "engine", "trainer", "sweep", "threads"]), default="all",
              show_default=True,
              help="Which benchmark: the simulation engine, the trainer (one MNIST-sized epoch), both (all), "
                   "sweep points per second on each executor, or the default BLAS thread choice against 1 and "
                   "all threads (threads; sweep and threads are not part of all).")
@click.option("--threads", type=click.IntRange(1, 4096), default=None,
              help="BLAS (and PyTorch) threads of every column [default: those simulate() chooses per shape].")
@click.option("--busy", type=click.IntRange(0, 64), default=0, show_default=True,
              help="With --what threads: keep this many cores busy (spinning processes) while timing.")
@click.option("--end-to-end/--no-end-to-end", "end_to_end", default=True, show_default=True,
              help="Also time simulate() end to end and the PyTorch end-to-end baseline (when torch is installed).")
@click.option("--memory", is_flag=True,
              help="Report the peak RSS of simulate() against depth, weights kept and redrawn.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="cuda: the engine on CuPy arrays against the bare CuPy GEMMs and PyTorch CUDA (needs initlab[gpu]).")
@click.option("--tf32/--no-tf32", default=False, show_default=True, help="With --device cuda: TF32 matrix products.")
def bench_cmd(quick: bool, shapes: tuple[str, ...], repeats: int, act: str, init: str, show_breakdown: bool,
              what: str, threads: int | None, busy: int, end_to_end: bool, memory: bool, device: str, tf32: bool) -> None:
    """Time the engine (forward + backward, every statistic, histograms; float32) against its floor.

    The floor is the 3L-1 bare matrix products of the same shapes in the same process; the ratio
    engine/floor is the overhead of everything else. Targets: 1024x1024x20 at 1.10 and 256x256x100
    at 1.35 (batch x width x depth). The end-to-end column times the whole simulate() (draws, theory
    columns and frame included; targets 1.20 and 1.6) beside the PyTorch end-to-end baseline (hooks
    recording mean, variance and zero fraction) when torch is installed. --memory reports peak RSS
    against depth with the weights kept and redrawn. The trainer benchmark times one epoch of 60,000 x 784 synthetic
    data through 784-256-256-256-256-10 ReLU with Adam at batch 100 against the bare matrix products of
    the same training steps and, where PyTorch is installed, the same model in PyTorch (target 1.1x).
    Run it on a quiet machine: other processes distort both sides.

    \b
    Examples:
      initlab bench
      initlab bench --quick
      initlab bench --shape 512x512x30 --repeats 3 --breakdown
      initlab bench --what engine --memory
      initlab bench --device cuda --shape 4096x4096x100 --shape 256x256x100 --tf32
      initlab bench --what threads --busy 1
    """
    if what == "threads":
        given = click.get_current_context().get_parameter_source("repeats") != click.core.ParameterSource.DEFAULT
        _bench_threads(shapes, repeats if given else 3, busy, act, init)
        return
    if what == "sweep":
        _bench_sweep(quick, repeats if repeats != 5 else (1 if quick else 2))
        return
    from ..progress import Progress
    from ..sim.bench import QUICK_SHAPES, TARGETS, breakdown, format_breakdown, format_memory, format_rows, run_bench

    chosen = [_shape(s) for s in shapes]
    if device == "cuda":
        from ..sim.bench_gpu import format_gpu, run_gpu_bench
        from ..sim.xp import array_module

        array_module("cuda")  # a clear error before any work when CuPy or the device is missing
        click.echo(f"initlab bench --device cuda: float32{' (TF32 products)' if tf32 else ''}, {init} / {act}, "
                   f"min of {repeats} interleaved repeats")
        click.echo(format_gpu(run_gpu_bench(chosen or None, repeats=repeats, act=act, init=init, tf32=tf32)))
        return

    if what in ("all", "trainer"):
        _bench_trainer(quick, 2 if quick and repeats == 5 else min(repeats, 3))
        if what == "trainer":
            return
        click.echo()
    chosen = chosen or (list(QUICK_SHAPES) if quick else None)
    reps = 2 if quick and repeats == 5 else repeats
    click.echo(f"initlab bench: float32, {init} / {act}, forward + backward with every statistic and "
               f"histograms, min of {reps} interleaved repeats" + ("; simulate() end to end and PyTorch's "
                                                                   "end-to-end baseline beside" if end_to_end else ""))
    todo = list(chosen) if chosen is not None else list(TARGETS)
    from ..sim.config import SimConfig
    from ..sim.memory import check_memory

    for b, w, d in todo:  # before any timing: a shape too large for memory is one line
        check_memory(SimConfig(inits=init, acts=act, batch=b, width=w, depth=d))
    rows = []
    with Progress(len(todo), "bench") as bar:
        for shape in todo:
            rows += run_bench([shape], repeats=reps, act=act, init=init, end_to_end=end_to_end, threads=threads)
            bar.update(1, postfix="x".join(map(str, shape)))
    click.echo(format_rows(rows))
    if show_breakdown:
        for r in rows:
            click.echo(f"\ntime per phase inside the engine, {r.batch} x {r.width} x {r.depth} (all layers):")
            click.echo(format_breakdown(breakdown(r.batch, r.width, r.depth, reps, act, init), r))
    if memory:
        click.echo("\npeak RSS of one simulate() in a fresh interpreter (kaiming_normal / relu, float32):")
        click.echo(format_memory())


def _bench_sweep(quick: bool, repeats: int) -> None:
    import os

    from ..sweep.bench import POINT_SECONDS, bench_sweep, format_sweep_rows

    workers = os.cpu_count() or 1
    targets = POINT_SECONDS[:2] if quick else POINT_SECONDS
    sizes = ", ".join(f"{t:g}" for t in targets)
    click.echo(f"initlab bench (sweep): tanh points of width 256, batch 128, float32 sized to {sizes} s; "
               f"serial vs pool of {workers} vs dask-local 2; min of {repeats} interleaved repeats")
    rows, extra = bench_sweep(targets, workers=workers, repeats=repeats, serial_work=1.5 if quick else 3.0,
                              echo=lambda s: click.echo(s, err=True))
    click.echo(format_sweep_rows(rows))
    if "dask_start_s" in extra:
        click.echo(f"(the dask-local 2 cluster took {extra['dask_start_s']:.1f} s to start, not in its rows; "
                   f"the pool's start is in its rows)")


def _bench_threads(shapes: tuple[str, ...], repeats: int, busy: int, act: str, init: str) -> None:
    import os

    from ..sim.bench_threads import THREAD_SHAPES, bench_threads, format_thread_rows

    todo = [(*_shape(s), act, init) for s in shapes] if shapes else list(THREAD_SHAPES)
    click.echo(f"initlab bench (threads): simulate() end to end, float32, 1 thread vs all {os.cpu_count()} vs the "
               f"default choice, {busy} busy core(s), min of {repeats} interleaved repeats; load = 1-min average")
    click.echo(format_thread_rows(bench_threads(todo, repeats=repeats, busy=busy)))


def _bench_trainer(quick: bool, repeats: int) -> None:
    from ..nn.bench import bench_trainer

    n = 6000 if quick else 60000
    click.echo(f"initlab bench (trainer): one epoch of {n:,} x 784 through 784-256-256-256-256-10 ReLU, softmax "
               f"cross-entropy, Adam, batch 100, float32; best of {repeats}")
    frame = bench_trainer(n=n, repeats=repeats)
    click.echo(with_dash_note(frame.to_string(index=False, na_rep=DASH,
                                              float_format=lambda v: DASH if v != v else f"{v:.3f}")))


COMMANDS = [bench_cmd]
