"""Benchmark of the engine against its floor: the bare matrix products of the same shapes.

For a network of depth :math:`L` on a batch of :math:`n` samples the engine must do :math:`3L - 1`
matrix products: :math:`z^l = h^{l-1} W^l` forward, :math:`\\partial L/\\partial W^l = h^{l-1\\top} g^l`
and :math:`g^{l-1} = g^l W^{l\\top}` backward (none for the input). The *floor* runs exactly these
with ``np.matmul(..., out=)`` into preallocated buffers, in the same process; the *engine* is
:func:`initlab.sim.engine.forward_backward` on the same weights with every statistic and both
histograms (trial 0: the histogram range is chosen after the forward pass). Times are the minimum
over interleaved repeats (other processes only ever add time). Drawing the weights is outside both
timings and reported separately.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .config import SimConfig
from .draws import TrialParams, draw_params, make_input
from .engine import forward_backward
from .trial import Workspace

__all__ = ["BenchRow", "TARGETS", "QUICK_SHAPES", "bench_shape", "run_bench", "breakdown", "format_rows",
           "format_breakdown"]

#: The issue's shapes (batch, width, depth) and target ratios to the floor.
TARGETS: dict[tuple[int, int, int], float] = {(1024, 1024, 20): 1.05, (256, 256, 100): 1.25}
#: Small shapes for a quick run.
QUICK_SHAPES: tuple[tuple[int, int, int], ...] = ((256, 256, 10), (128, 128, 30))


@dataclass(frozen=True)
class BenchRow:
    """Timings of one shape, in milliseconds (minimum over repeats)."""

    batch: int
    width: int
    depth: int
    floor_ms: float
    engine_ms: float
    core_ms: float  # the engine without statistics and histograms
    draw_ms: float  # drawing the weights (not in engine_ms)
    repeats: int
    act: str
    init: str

    @property
    def ratio(self) -> float:
        return self.engine_ms / self.floor_ms

    @property
    def target(self) -> float | None:
        return TARGETS.get((self.batch, self.width, self.depth))


def _config(batch: int, width: int, depth: int, act: str, init: str) -> SimConfig:
    return SimConfig(inits=init, acts=act, depth=depth, width=width, batch=batch, dtype="float32")


def _timer(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


class _Floor:
    """The 3L - 1 bare matrix products, into preallocated buffers."""

    def __init__(self, x: np.ndarray, params: TrialParams):
        self.x, self.W = x, params.weights
        n = x.shape[0]
        self.Z = [np.empty((n, w.shape[1]), dtype=x.dtype) for w in self.W]
        self.g0 = params.target.copy()
        self.gW = [np.empty_like(w) for w in self.W]
        self.G = [np.empty((n, w.shape[0]), dtype=x.dtype) for w in self.W]

    def __call__(self) -> None:
        h = self.x
        for l, W in enumerate(self.W):
            np.matmul(h, W, out=self.Z[l])
            h = self.Z[l]
        g = self.g0
        for l in range(len(self.W) - 1, -1, -1):
            hin = self.x if l == 0 else self.Z[l - 1]
            np.matmul(hin.T, g, out=self.gW[l])
            if l > 0:
                np.matmul(g, self.W[l].T, out=self.G[l])
                g = self.G[l]


def bench_shape(batch: int, width: int, depth: int, repeats: int = 5, act: str = "relu",
                init: str = "he_normal") -> BenchRow:
    """Time the floor, the full engine and the engine without statistics on one shape."""
    cfg = _config(batch, width, depth, act, init)
    x = make_input(cfg)
    t = time.perf_counter()
    params = draw_params(cfg, 0)
    draw_ms = (time.perf_counter() - t) * 1e3
    floor = _Floor(x, params)
    ws = Workspace()
    full = lambda: forward_backward(cfg, params, x, workspace=ws)  # noqa: E731
    core = lambda: forward_backward(cfg, params, x, workspace=ws, stats=False)  # noqa: E731
    floor(), full(), core()  # warm up: page in every buffer
    best = {"floor": np.inf, "full": np.inf, "core": np.inf}
    for _ in range(max(1, repeats)):
        for name, fn in (("floor", floor), ("full", full), ("core", core)):
            best[name] = min(best[name], _timer(fn))
    return BenchRow(batch, width, depth, best["floor"], best["full"], best["core"], draw_ms, repeats,
                    cfg.acts[0], cfg.inits[0])


def run_bench(shapes=None, repeats: int = 5, act: str = "relu", init: str = "he_normal") -> list[BenchRow]:
    """:func:`bench_shape` for each shape (default: the issue's two)."""
    shapes = list(TARGETS) if shapes is None else list(shapes)
    return [bench_shape(b, w, d, repeats, act, init) for b, w, d in shapes]


def breakdown(batch: int, width: int, depth: int, repeats: int = 3, act: str = "relu",
              init: str = "he_normal") -> dict[str, float]:
    """Milliseconds per phase of the engine (matrix products, activation, each group of statistics,
    histograms, ...), measured inside :func:`initlab.sim.engine.forward_backward`, from its fastest repeat."""
    cfg = _config(batch, width, depth, act, init)
    x, params, ws = make_input(cfg), draw_params(cfg, 0), Workspace()
    forward_backward(cfg, params, x, workspace=ws)
    best, parts = np.inf, {}
    for _ in range(max(1, repeats)):
        timings: dict[str, float] = {}
        t = time.perf_counter()
        forward_backward(cfg, params, x, workspace=ws, timings=timings)
        total = (time.perf_counter() - t) * 1e3
        if total < best:
            best, parts = total, timings
    parts["total (forward_backward)"] = best
    return parts


def format_rows(rows: list[BenchRow]) -> str:
    """A text table of :func:`run_bench` rows."""
    head = (f"{'batch x width x depth':>22} {'floor ms':>9} {'engine ms':>10} {'ratio':>6} {'target':>6}"
            f" {'no-stats ms':>11} {'draw ms':>8}")
    lines = [head]
    for r in rows:
        tgt = f"{r.target:.2f}" if r.target else "-"
        ok = "" if r.target is None else ("  ok" if r.ratio <= r.target else "  above target")
        lines.append(f"{f'{r.batch} x {r.width} x {r.depth}':>22} {r.floor_ms:>9.1f} {r.engine_ms:>10.1f} "
                     f"{r.ratio:>6.3f} {tgt:>6} {r.core_ms:>11.1f} {r.draw_ms:>8.1f}{ok}")
    return "\n".join(lines)


def format_breakdown(parts: dict[str, float], row: BenchRow | None = None) -> str:
    """A text table of :func:`breakdown`: ms per phase over all layers, and as a share of the floor."""
    lines = [f"{'phase':<52} {'ms':>8}" + (f" {'% of floor':>10}" if row else "")]
    for name, ms in parts.items():
        lines.append(f"{name:<52} {ms:>8.2f}" + (f" {100 * ms / row.floor_ms:>9.2f}%" if row else ""))
    if row:
        lines.append(f"{'floor (bare matrix products, separate run)':<52} {row.floor_ms:>8.2f}")
    return "\n".join(lines)
