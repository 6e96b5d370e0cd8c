"""Benchmark of the engine against its floor: the bare matrix products of the same shapes.

For a network of depth :math:`L` on a batch of :math:`n` samples the engine must do :math:`3L - 1`
matrix products: :math:`z^l = h^{l-1} W^l` forward, :math:`\\partial L/\\partial W^l = h^{l-1\\top} g^l`
and :math:`g^{l-1} = g^l W^{l\\top}` backward (none for the input). The *floor* runs exactly these
with ``np.matmul(..., out=)`` into preallocated buffers, in the same process; the *engine* is
:func:`initlab.sim.engine.forward_backward` on the same weights with every statistic and both
histograms (trial 0: the histogram range is chosen after the forward pass). Times are the minimum
over interleaved repeats (other processes only ever add time). Drawing the weights is outside both
timings and reported separately. Every column of a shape runs on the same number of BLAS (and PyTorch)
threads: those ``simulate()`` chooses for the shape at the start of its measurement (:mod:`initlab.sim.threads`),
or ``threads``.

End to end
    ``simulate()`` as a user calls it: drawing the input and the weights, forward, backward, every
    statistic and histogram, the theory columns and the frame. Beside it, where PyTorch is installed,
    what a user would write there (:func:`torch_end_to_end`): layers made with ``skip_init``,
    ``kaiming_normal_`` once per layer, forward hooks recording the mean, variance and zero fraction
    of each layer's output, and the backward pass of the same projection loss. Both are timed in the
    same interleaved loop as the floor and reported as multiples of it.

Memory (:func:`peak_rss`)
    The peak resident set size of a fresh interpreter running one ``simulate()``, with the weights
    kept or redrawn in the backward pass (:mod:`initlab.sim.draws`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .config import SimConfig
from .draws import TrialParams, draw_params, make_input
from .engine import forward_backward, simulate
from .trial import Workspace

__all__ = ["torch_hooked_pass", "BenchRow", "TARGETS", "E2E_TARGETS", "QUICK_SHAPES", "bench_shape", "run_bench", "breakdown",
           "format_rows", "format_breakdown", "torch_end_to_end", "peak_rss", "MEMORY_SHAPES", "format_memory"]

#: The issue's shapes (batch, width, depth) and target ratios to the floor: the engine alone ...
TARGETS: dict[tuple[int, int, int], float] = {(1024, 1024, 20): 1.10, (256, 256, 100): 1.35}
#: ... and ``simulate()`` end to end.
E2E_TARGETS: dict[tuple[int, int, int], float] = {(1024, 1024, 20): 1.20, (256, 256, 100): 1.6}
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
    simulate_ms: float = float("nan")  # simulate() end to end
    torch_ms: float = float("nan")  # the PyTorch end-to-end baseline (NaN without torch)
    threads: int = 0  # BLAS (and PyTorch) threads of every column

    @property
    def ratio(self) -> float:
        return self.engine_ms / self.floor_ms

    @property
    def target(self) -> float | None:
        return TARGETS.get((self.batch, self.width, self.depth))

    @property
    def e2e_ratio(self) -> float:
        return self.simulate_ms / self.floor_ms

    @property
    def torch_ratio(self) -> float:
        return self.torch_ms / self.floor_ms

    @property
    def e2e_target(self) -> float | None:
        return E2E_TARGETS.get((self.batch, self.width, self.depth))


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


def torch_hooked_pass(torch, layers: list, relus: list, xt, target):
    """One pass of the PyTorch baseline over built ``layers``: ``kaiming_normal_`` on each weight, forward hooks
    recording every layer output's mean, variance and zero fraction, then the backward pass of
    :math:`\\sum h^L \\odot R`. Returns the recorded statistics as a (depth, 3) tensor on the layers' device."""
    rec: list = []

    def hook(module, inputs, out):
        with torch.no_grad():
            rec.append(torch.stack((out.mean(), out.var(), (out == 0).float().mean())))

    for layer, relu in zip(layers, relus):
        torch.nn.init.kaiming_normal_(layer.weight)
        relu.register_forward_hook(hook)
    h = xt
    for layer, relu in zip(layers, relus):
        h = relu(layer(h))
    (h * target).sum().backward()
    return torch.stack(rec)


def torch_end_to_end(x: np.ndarray, depth: int, width: int):
    """The PyTorch baseline, or None without torch: a ReLU stack of ``skip_init`` linear layers,
    ``kaiming_normal_`` on each, forward hooks recording mean, variance and zero fraction of every
    layer's output, then the backward pass of :math:`\\sum h^L \\odot R`. Returns a callable."""
    try:
        import torch
    except ImportError:
        return None
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    target = torch.randn(x.shape[0], width, generator=torch.Generator().manual_seed(0))

    def run() -> list:
        fans = [x.shape[1]] + [width] * depth
        layers = [torch.nn.utils.skip_init(torch.nn.Linear, fans[l], fans[l + 1], bias=False) for l in range(depth)]
        relus = [torch.nn.ReLU() for _ in range(depth)]
        stats = torch_hooked_pass(torch, layers, relus, xt, target).numpy()  # the user reads the numbers
        norms = [float(layer.weight.grad.norm()) for layer in layers]
        return [stats, norms]

    return run


def bench_shape(batch: int, width: int, depth: int, repeats: int = 5, act: str = "relu",
                init: str = "kaiming_normal", end_to_end: bool = True, threads: int | None = None) -> BenchRow:
    """Time the floor, the full engine, the engine without statistics and (``end_to_end``) the whole
    ``simulate()`` and the PyTorch baseline on one shape, interleaved, all on ``threads`` BLAS (and
    PyTorch) threads: by default those ``simulate()`` chooses for this shape now (:mod:`initlab.sim.threads`)."""
    from .engine import largest_product
    from .threads import choose_threads, pinned

    cfg = _config(batch, width, depth, act, init)
    n = choose_threads(largest_product(cfg)) if threads is None else int(threads)
    try:
        import torch
    except ImportError:
        torch = None
    old = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(n)
        with pinned(n, "blas"):
            return _bench_shape(cfg, batch, width, depth, repeats, act, init, end_to_end, n)
    finally:
        if torch is not None:
            torch.set_num_threads(old)


def _bench_shape(cfg: SimConfig, batch: int, width: int, depth: int, repeats: int, act: str, init: str,
                 end_to_end: bool, threads: int) -> BenchRow:
    x = make_input(cfg)
    t = time.perf_counter()
    params = draw_params(cfg, 0)
    draw_ms = (time.perf_counter() - t) * 1e3
    floor = _Floor(x, params)
    ws = Workspace()
    fns: dict[str, Callable[[], object]] = {
        "floor": floor,
        "full": lambda: forward_backward(cfg, params, x, workspace=ws),
        "core": lambda: forward_backward(cfg, params, x, workspace=ws, stats=False),
    }
    if end_to_end:
        fns["simulate"] = lambda: simulate(cfg, progress=False)
        baseline = torch_end_to_end(x, depth, width) if act == "relu" and init in ("kaiming_normal", "kaiming") else None
        if baseline is not None:
            fns["torch"] = baseline
    for fn in fns.values():  # warm up: page in every buffer, fill the theory caches
        fn()
    best = {name: np.inf for name in fns}
    for _ in range(max(1, repeats)):
        for name, fn in fns.items():
            best[name] = min(best[name], _timer(fn))
    nan = float("nan")
    return BenchRow(batch, width, depth, best["floor"], best["full"], best["core"], draw_ms, repeats,
                    cfg.acts[0], cfg.inits[0], best.get("simulate", nan), best.get("torch", nan), threads)


def run_bench(shapes=None, repeats: int = 5, act: str = "relu", init: str = "kaiming_normal",
              end_to_end: bool = True, threads: int | None = None) -> list[BenchRow]:
    """:func:`bench_shape` for each shape (default: the issue's two)."""
    shapes = list(TARGETS) if shapes is None else list(shapes)
    return [bench_shape(b, w, d, repeats, act, init, end_to_end, threads) for b, w, d in shapes]


def breakdown(batch: int, width: int, depth: int, repeats: int = 3, act: str = "relu",
              init: str = "kaiming_normal") -> dict[str, float]:
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


def _verdict(ratio: float, target: float | None) -> str:
    return "" if target is None or ratio != ratio else (" ok" if ratio <= target else " above")


def format_rows(rows: list[BenchRow]) -> str:
    """A text table of :func:`run_bench` rows: the engine and ``simulate()`` end to end (and PyTorch's
    end-to-end baseline), in ms and as multiples of the floor, with the targets."""
    head = (f"{'batch x width x depth':>22} {'floor ms':>9} {'engine ms':>10} {'x floor':>8} {'target':>10}"
            f" {'no-stats ms':>11} {'draw ms':>8} {'simulate ms':>12} {'x floor':>8} {'target':>10}"
            f" {'torch ms':>9} {'x floor':>8} {'threads':>7}")
    lines = [head]
    for r in rows:
        tgt = f"{r.target:.2f}{_verdict(r.ratio, r.target)}" if r.target else "-"
        etgt = f"{r.e2e_target:.2f}{_verdict(r.e2e_ratio, r.e2e_target)}" if r.e2e_target else "-"
        if r.e2e_target and r.torch_ms == r.torch_ms and r.simulate_ms > r.torch_ms:
            etgt += "*"
        lines.append(f"{f'{r.batch} x {r.width} x {r.depth}':>22} {r.floor_ms:>9.1f} {r.engine_ms:>10.1f} "
                     f"{r.ratio:>8.3f} {tgt:>10} {r.core_ms:>11.1f} {r.draw_ms:>8.1f} {r.simulate_ms:>12.1f} "
                     f"{r.e2e_ratio:>8.3f} {etgt:>10} {r.torch_ms:>9.1f} {r.torch_ratio:>8.3f} {r.threads:>7}")
    if any(r.e2e_target and r.simulate_ms > r.torch_ms for r in rows):
        lines.append("* simulate() slower than the PyTorch baseline")
    return "\n".join(lines)


def format_breakdown(parts: dict[str, float], row: BenchRow | None = None) -> str:
    """A text table of :func:`breakdown`: ms per phase over all layers, and as a share of the floor."""
    lines = [f"{'phase':<52} {'ms':>8}" + (f" {'% of floor':>10}" if row else "")]
    for name, ms in parts.items():
        lines.append(f"{name:<52} {ms:>8.2f}" + (f" {100 * ms / row.floor_ms:>9.2f}%" if row else ""))
    if row:
        lines.append(f"{'floor (bare matrix products, separate run)':<52} {row.floor_ms:>8.2f}")
    return "\n".join(lines)


#: (batch, width, depths) of ``initlab bench --memory``: weights of 9 MiB a layer, 4 to 64 layers.
MEMORY_SHAPES: tuple[tuple[int, int, tuple[int, ...]], ...] = ((16, 1536, (4, 16, 64)),)

# VmHWM (this address space's peak RSS), not ru_maxrss: Linux carries the forking parent's peak into ru_maxrss
_RSS_CODE = """
import json, sys
def hwm():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
from initlab.sim.engine import simulate
b, w, d, keep = json.loads(sys.argv[1])
base = hwm()
simulate(init="kaiming_normal", act="relu", depth=d, width=w, batch=b, progress=False, keep_weights=keep)
print(json.dumps([base, hwm()]))
"""


def peak_rss(batch: int, width: int, depth: int, keep: bool | None) -> tuple[float, float]:
    """Peak RSS (MiB) of a fresh interpreter after importing initlab and after one ``simulate()`` of
    this shape with the weights kept (True), redrawn (False) or chosen from the memory estimate (None).
    Linux only (``/proc/self/status``)."""
    proc = subprocess.run([sys.executable, "-c", _RSS_CODE, json.dumps([batch, width, depth, keep])],
                          capture_output=True, text=True, check=True)
    base, peak = json.loads(proc.stdout.strip().splitlines()[-1])
    return base / 1024.0, peak / 1024.0  # VmHWM is in KiB


def format_memory(shapes=MEMORY_SHAPES) -> str:
    """Peak RSS against depth, weights kept and redrawn (:func:`peak_rss`), beside the memory estimate
    (:func:`initlab.sim.memory.estimate_bytes`) plus the interpreter's RSS after the imports, as a text table."""
    from .memory import estimate_bytes

    lines = [f"{'batch x width':>14} {'depth':>6} {'weights MiB':>12} {'kept: peak MiB':>15} {'(estimate)':>11}"
             f" {'redrawn: peak MiB':>18} {'(estimate)':>11} {'imports MiB':>12}"]
    for b, w, depths in shapes:
        for d in depths:
            cfg = SimConfig(inits="kaiming_normal", acts="relu", depth=d, width=w, batch=b)
            base, kept = peak_rss(b, w, d, True)
            _, redrawn = peak_rss(b, w, d, False)
            est_k = base + estimate_bytes(cfg) / 2**20
            est_r = base + estimate_bytes(cfg, keep_weights=False) / 2**20
            lines.append(f"{f'{b} x {w}':>14} {d:>6} {d * w * w * 4 / 2**20:>12.0f} {kept:>15.0f} {est_k:>11.0f}"
                         f" {redrawn:>18.0f} {est_r:>11.0f} {base:>12.0f}")
    return "\n".join(lines)
