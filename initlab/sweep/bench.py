"""``initlab bench --what sweep``: points per second of a sweep, serial, on the process pool and on Dask.

For each target point time (0.05, 0.2 and 1 s by default) a tanh point (width 256, batch 128, float32, one
trial) gets the depth that makes it take about that long with one BLAS thread (:func:`calibrate_depth`, on
the whole point: simulation, theory and summary), and a grid of
``n`` such points (distinct σ_w², about 3 s of serial work and at least 4 per worker) runs on every executor into a fresh store; the
executors are interleaved and each repeated, and the minimum wall time is kept (other processes only ever
add time). Reported per executor:

- ``wall_s`` (the whole :func:`~initlab.sweep.sweep` call: store, batches, results; for the pool its start,
  for Dask not the cluster's start, which is timed once and shown apart) and ``points_per_s``;
- ``overhead_ms`` per point :math:`= (\\text{wall} \\times \\text{workers} - \\sum \\text{compute}) / n`, the time a
  worker slot was not computing a point, per point;
- ``vs_serial`` (serial wall / wall) and ``vs_pool`` (pool wall / wall).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["SweepBenchRow", "calibrate_depth", "bench_sweep", "format_sweep_rows", "POINT_SECONDS"]

#: Target seconds per point.
POINT_SECONDS = (0.05, 0.2, 1.0)
_SHAPE = {"act": "tanh", "width": 256, "batch": 128, "dtype": "float32", "trials": 1}


@dataclass(frozen=True)
class SweepBenchRow:
    target_s: float
    depth: int
    point_s: float  # measured compute time per point (median over the runs)
    executor: str
    workers: int
    blas: int
    points: int
    wall_s: float
    overhead_ms: float
    vs_serial: float
    vs_pool: float

    @property
    def points_per_s(self) -> float:
        return self.points / self.wall_s


def _point_seconds(depth: int, repeats: int = 2) -> float:
    """Seconds of one bench point (all of :func:`~initlab.sweep.task.run_batch`: the simulation, its
    theory and its summary) with one BLAS thread, the minimum of ``repeats``."""
    from .axes import build_grid, point_config, point_key
    from .measure import SIMULATE
    from .task import run_batch

    grid = build_grid(dict(_SHAPE, depth=depth, sigma_w2=1.0), defaults={"input": "pairs:c0=0.5"})
    cfg = point_config(grid, next(grid.points()))
    item = [(point_key(cfg), cfg.to_json())]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_batch(SIMULATE, item, "summary", 1)
        best = min(best, time.perf_counter() - t0)
    return best


def calibrate_depth(target: float) -> int:
    r"""The depth at which one bench point takes about ``target`` seconds (one BLAS thread): the point time
    is measured at depths 4 and 24 and taken as linear in depth, :math:`t = a + b\,L`; then measured again at
    the depth this gives and the slope refitted through depth 4 and that depth (a slope from 20 layers moves a
    lot on a loaded machine; one from the whole point much less); at least 1 (when the fixed cost :math:`a`
    alone exceeds ``target``)."""
    t4, t24 = _point_seconds(4), _point_seconds(24)
    per_layer = max((t24 - t4) / 20.0, 1e-6)
    fixed = max(t4 - 4 * per_layer, 0.0)
    depth = int(max(1, round((target - fixed) / per_layer)))
    if depth > 24:
        per_layer = max((_point_seconds(depth) - t4) / (depth - 4), 1e-6)
        fixed = max(t4 - 4 * per_layer, 0.0)
        depth = int(max(1, round((target - fixed) / per_layer)))
    return depth


def _serial_threads(depth: int) -> int:
    """BLAS threads of the serial rows: those each simulation chooses (:mod:`initlab.sim.threads`)."""
    from ..sim.config import SimConfig
    from ..sim.engine import largest_product
    from ..sim.threads import choose_threads

    shape = {k: v for k, v in _SHAPE.items() if k != "act"}
    return choose_threads(largest_product(SimConfig(inits="xavier", acts=_SHAPE["act"], depth=depth, **shape)))


def _run(executor: str, depth: int, n: int, workers: int, client: Any, blas: int | None) -> tuple[float, float]:
    from .run import sweep

    folder = Path(tempfile.mkdtemp(prefix="initlab-sweep-bench-"))
    try:
        kw: dict[str, Any] = dict(_SHAPE, depth=depth, sigma_w2=np.linspace(0.9, 1.1, n).tolist(),
                                  store=folder / "b.sqlite", progress=False)
        t0 = time.perf_counter()
        if executor == "serial":
            res = sweep(workers=1, threads=blas, **kw)
        elif executor == "pool":
            res = sweep(workers=workers, **kw)
        else:
            res = sweep(scheduler=client, **kw)
        wall = time.perf_counter() - t0
        return wall, float(res.points["seconds"].sum())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_sweep(targets: Sequence[float] = POINT_SECONDS, *, workers: int = 2, dask_workers: int = 2, repeats: int = 2,
                serial_work: float = 3.0, dask: bool = True, echo=None) -> tuple[list[SweepBenchRow], dict]:
    """Run the benchmark (see the module docstring); returns the rows and ``{"dask_start_s", "blas_serial"}``."""
    import os

    say = echo or (lambda s: None)
    cores = os.cpu_count() or 1
    extra: dict[str, Any] = {"blas_serial": _serial_threads(1)}
    client = cluster = None
    if dask:
        from .executors import dask_client

        t0 = time.perf_counter()
        client, cluster = dask_client(local=dask_workers)
        extra["dask_start_s"] = time.perf_counter() - t0
    rows: list[SweepBenchRow] = []
    try:
        for target in targets:
            depth = calibrate_depth(target)
            n = max(4 * workers, int(round(serial_work / target)))  # >= 4 rounds of the pool: stable walls
            n += n % 2
            execs = ["serial", "pool"] + (["dask"] if dask else [])
            best = {e: (float("inf"), 0.0) for e in execs}
            for r in range(repeats):
                for e in (execs if r % 2 == 0 else execs[::-1]):
                    wall, comp = _run(e, depth, n, workers, client, None)
                    if wall < best[e][0]:
                        best[e] = (wall, comp)
                    say(f"  {target:g} s points (depth {depth}), {e}: {wall:.2f} s")
            slots = {"serial": 1, "pool": workers, "dask": dask_workers}
            blas = {"serial": _serial_threads(depth), "pool": max(1, cores // workers),
                    "dask": max(1, cores // dask_workers)}
            for e in execs:
                wall, comp = best[e]
                rows.append(SweepBenchRow(target, depth, comp / n, e, slots[e], blas[e], n, wall,
                                          1e3 * (wall * slots[e] - comp) / n, best["serial"][0] / wall,
                                          best["pool"][0] / wall))
    finally:
        if client is not None:
            client.close()
            cluster.close()
    return rows, extra


def format_sweep_rows(rows: Sequence[SweepBenchRow]) -> str:
    """A plain-text table of the rows."""
    head = (f"{'point':>7} {'depth':>5} {'compute/pt':>10} {'executor':>8} {'workers':>7} {'BLAS':>4} {'points':>6} "
            f"{'wall s':>7} {'points/s':>8} {'overhead/pt':>11} {'vs serial':>9} {'vs pool':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.target_s:>6g}s {r.depth:>5} {r.point_s:>9.3f}s {r.executor:>8} {r.workers:>7} {r.blas:>4} "
                     f"{r.points:>6} {r.wall_s:>7.2f} {r.points_per_s:>8.2f} {r.overhead_ms:>9.0f}ms "
                     f"{r.vs_serial:>8.2f}x {r.vs_pool:>6.2f}x")
    return "\n".join(lines)
