"""The device check: the engine on CuPy arrays against the bare CuPy GEMMs and PyTorch CUDA with hooks.

``initlab bench --device cuda`` (needs ``initlab[gpu]`` and a CUDA device). For each shape
(batch × width × depth, float32; TF32 products with ``tf32=True``):

- *floor*: the :math:`3L - 1` bare ``cupy.matmul(..., out=)`` products of the engine's shapes;
- *engine*: :func:`initlab.sim.engine.forward_backward` on a ``Workspace(cupy)``, every statistic and
  both histograms (weights drawn on the device beforehand, outside the timing);
- *torch*: PyTorch CUDA, ``skip_init`` layers with ``kaiming_normal_``, forward hooks recording the
  mean, variance and zero fraction of each layer's output, and the backward pass (when torch
  with CUDA is installed).

Every timing synchronises the device before and after; the minimum over interleaved repeats is
reported. Default shapes: 4096 × 4096 × 100 (the target: engine ≤ 1.10 × floor and faster than
PyTorch) and 256 × 256 × 100 (launch overhead dominates). Written without a device to run on:
its numbers are still to be measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .bench import torch_hooked_pass
from .config import SimConfig
from .draws import draw_params, make_input
from .engine import forward_backward
from .trial import Workspace
from .xp import array_module

__all__ = ["GPU_SHAPES", "GPU_TARGET", "GpuRow", "run_gpu_bench", "format_gpu"]

GPU_SHAPES: tuple[tuple[int, int, int], ...] = ((4096, 4096, 100), (256, 256, 100))
#: Engine with every statistic / bare CuPy GEMMs at 4096 × 4096 × 100.
GPU_TARGET = 1.10


@dataclass(frozen=True)
class GpuRow:
    batch: int
    width: int
    depth: int
    tf32: bool
    floor_ms: float
    engine_ms: float
    torch_ms: float

    @property
    def ratio(self) -> float:
        return self.engine_ms / self.floor_ms


def _timed(cp, fn: Callable[[], object]) -> float:
    cp.cuda.Device().synchronize()
    t = time.perf_counter()
    fn()
    cp.cuda.Device().synchronize()
    return (time.perf_counter() - t) * 1e3


def _torch_cuda(x: np.ndarray, depth: int, width: int, tf32: bool):
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = tf32
    dev = torch.device("cuda")
    xt = torch.from_numpy(x).to(dev)
    target = torch.randn(x.shape[0], width, device=dev)

    def run():
        fans = [x.shape[1]] + [width] * depth
        layers = [torch.nn.utils.skip_init(torch.nn.Linear, fans[l], fans[l + 1], bias=False, device=dev)
                  for l in range(depth)]
        relus = [torch.nn.ReLU() for _ in range(depth)]
        out = torch_hooked_pass(torch, layers, relus, xt, target).cpu().numpy()
        torch.cuda.synchronize()
        return out

    return run


def _set_tf32(cp, on: bool):
    """Switch CuPy's float32 GEMMs to TF32 (or back to full float32); returns the previous compute type
    (None where this CuPy has no such switch: then ``CUPY_TF32=1`` in the environment decides)."""
    import os

    os.environ["CUPY_TF32"] = "1" if on else "0"  # read by CuPy at its first float32 GEMM
    lin = getattr(getattr(cp, "_core", None), "_routines_linalg", None)
    names = ("set_compute_type", "get_compute_type", "COMPUTE_TYPE_TF32", "COMPUTE_TYPE_DEFAULT")
    if lin is None or not all(hasattr(lin, n) for n in names):
        return None
    prev = lin.get_compute_type(cp.float32)
    lin.set_compute_type(cp.float32, lin.COMPUTE_TYPE_TF32 if on else lin.COMPUTE_TYPE_DEFAULT)
    return prev


def run_gpu_bench(shapes=None, repeats: int = 5, act: str = "relu", init: str = "kaiming_normal",
                  tf32: bool = False) -> list[GpuRow]:
    """Time floor, engine and PyTorch CUDA on each shape (see the module)."""
    cp = array_module("cuda")
    rows = []
    with cp.cuda.Device(0):
        for b, w, d in (list(GPU_SHAPES) if shapes is None else list(shapes)):
            cfg = SimConfig(inits=init, acts=act, depth=d, width=w, batch=b, dtype="float32")
            x = make_input(cfg)
            xd = cp.asarray(x)
            params = draw_params(cfg, 0, xp=cp)  # on the device
            W = list(params.weights)
            tgt = cp.asarray(params.target)
            Z = [cp.empty((b, wl.shape[1]), dtype=cp.float32) for wl in W]
            gW = [cp.empty_like(wl) for wl in W]
            G = [cp.empty((b, wl.shape[0]), dtype=cp.float32) for wl in W]

            def floor():
                h = xd
                for l, Wl in enumerate(W):
                    cp.matmul(h, Wl, out=Z[l])
                    h = Z[l]
                g = tgt
                for l in range(d - 1, -1, -1):
                    cp.matmul((xd if l == 0 else Z[l - 1]).T, g, out=gW[l])
                    if l > 0:
                        cp.matmul(g, W[l].T, out=G[l])
                        g = G[l]

            ws = Workspace(cp)
            fns = {"floor": floor, "engine": lambda: forward_backward(cfg, params, x, workspace=ws)}
            torch_run = _torch_cuda(x, d, w, tf32)
            if torch_run is not None:
                fns["torch"] = torch_run
            prev = _set_tf32(cp, tf32)
            try:
                for fn in fns.values():
                    fn()
                best = {k: np.inf for k in fns}
                for _ in range(max(1, repeats)):
                    for k, fn in fns.items():
                        best[k] = min(best[k], _timed(cp, fn))
            finally:
                if prev is not None:
                    cp._core._routines_linalg.set_compute_type(cp.float32, prev)
            rows.append(GpuRow(b, w, d, tf32, best["floor"], best["engine"], best.get("torch", float("nan"))))
    return rows


def format_gpu(rows: list[GpuRow]) -> str:
    lines = [f"{'batch x width x depth':>22} {'tf32':>5} {'floor ms':>9} {'engine ms':>10} {'x floor':>8} "
             f"{'torch ms':>9} {'x floor':>8}"]
    for r in rows:
        tgt = ""
        if (r.batch, r.width, r.depth) == GPU_SHAPES[0]:
            tgt = " ok" if r.ratio <= GPU_TARGET and not r.engine_ms > r.torch_ms else " above target"
        lines.append(f"{f'{r.batch} x {r.width} x {r.depth}':>22} {str(r.tf32):>5} {r.floor_ms:>9.2f} "
                     f"{r.engine_ms:>10.2f} {r.ratio:>8.3f} {r.torch_ms:>9.2f} {r.torch_ms / r.floor_ms:>8.3f}{tgt}")
    return "\n".join(lines)
