"""``initlab bench --what threads``: the default BLAS thread choice against one thread and all threads.

For each shape, :func:`~initlab.sim.engine.simulate` runs end to end with 1 thread, with all the cores'
threads and with the default choice (:mod:`initlab.sim.threads`), interleaved and repeated; the minimum of
each is kept (other processes only ever add time). ``busy=k`` starts ``k`` processes that spin on a core
each for the whole measurement (killed afterwards), the machine another program keeps busy. The target:
the default is never more than 10% slower than the better of 1 and all threads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Sequence

__all__ = ["ThreadRow", "THREAD_SHAPES", "bench_threads", "format_thread_rows"]

#: (batch, width, depth, activation, initializer) of the thread-choice table.
THREAD_SHAPES = ((1024, 1024, 20, "relu", "kaiming_normal"), (256, 256, 100, "relu", "kaiming_normal"),
                 (128, 256, 200, "tanh", "xavier"))


@dataclass(frozen=True)
class ThreadRow:
    batch: int
    width: int
    depth: int
    act: str
    busy: int
    chosen: int
    one_ms: float
    all_ms: float
    default_ms: float
    load: float

    @property
    def vs_best(self) -> float:
        """Default time over the better of 1 and all threads."""
        return self.default_ms / min(self.one_ms, self.all_ms)


def _spinners(k: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(k)]


def bench_threads(shapes: Sequence[tuple[int, int, int, str, str]] = THREAD_SHAPES, *, repeats: int = 3,
                  busy: int = 0) -> list[ThreadRow]:
    """Time each shape with 1, all and the default threads (see the module docstring)."""
    from .config import SimConfig
    from .engine import largest_product, simulate
    from .threads import blas_limit, choose_threads, cores

    n_all = cores()
    rows = []
    procs = _spinners(busy)
    try:
        time.sleep(0.2 if busy else 0.0)
        for b, w, d, act, init in shapes:
            kw = dict(inits=init, acts=act, batch=b, width=w, depth=d, input_dim=w, progress=False)
            simulate(**dict(kw, depth=min(d, 3)))  # warm up: imports, buffers
            best = {"one": float("inf"), "all": float("inf"), "default": float("inf")}
            chosen = []
            for r in range(repeats):
                order = ("one", "all", "default") if r % 2 == 0 else ("default", "all", "one")
                for what in order:
                    threads = {"one": 1, "all": n_all, "default": None}[what]
                    if what == "default":
                        chosen.append(choose_threads(largest_product(SimConfig(**{k: v for k, v in kw.items()
                                                                                   if k != "progress"})),
                                                     blas_limit()))
                    t0 = time.perf_counter()
                    simulate(threads=threads, **kw)
                    best[what] = min(best[what], time.perf_counter() - t0)
            rows.append(ThreadRow(b, w, d, act, busy, max(set(chosen), key=chosen.count), 1e3 * best["one"],
                                  1e3 * best["all"], 1e3 * best["default"], os.getloadavg()[0]))
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return rows


def format_thread_rows(rows: Sequence[ThreadRow]) -> str:
    """A plain-text table of the rows."""
    head = (f"{'batch x width x depth':>22} {'act':>5} {'busy':>4} {'1 thread':>9} {'all':>9} {'default':>9} "
            f"{'chose':>5} {'default/best':>12} {'load':>5}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{f'{r.batch} x {r.width} x {r.depth}':>22} {r.act:>5} {r.busy:>4} {r.one_ms:>7.0f}ms "
                     f"{r.all_ms:>7.0f}ms {r.default_ms:>7.0f}ms {r.chosen:>5} {r.vs_best:>11.2f}x {r.load:>5.1f}")
    return "\n".join(lines)
