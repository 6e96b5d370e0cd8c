"""Trainer benchmark (issue 4): one epoch of MNIST-sized data through 784-256-256-256-256-10 ReLU, Adam.

:func:`bench_trainer` times, in one process and with the same thread count:

``initlab``
    ``Sequential.fit`` for one epoch (softmax fused with sparse categorical cross-entropy, Adam,
    batch 100, shuffled, ``verbose=0``, no metrics: the loss is still computed every batch).
``gemm floor``
    Only the matrix products of the same training steps on preallocated arrays: per layer the forward
    product, the weight-gradient product and the input-gradient product (not for the first layer, whose
    input needs no gradient, as in both trainers).
``torch``
    The same model in PyTorch on the CPU (``nn.Linear`` + ReLU, ``F.cross_entropy``, ``torch.optim.Adam``
    with ε = 1e-7 and its default CPU implementation; the batch gathered with ``X[idx]``, ``loss.item()``
    every step), with ``torch.set_num_threads`` set to numpy's BLAS thread count.
``torch fused adam``
    The same with ``Adam(fused=True)`` (PyTorch's single-kernel CPU Adam), for reference.

Each is run ``repeats`` times; the table reports the best (the least disturbed by other processes)
and the median epoch time. This is a benchmark, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import pandas as pd

from ._parallel import blas_threads, set_blas_threads
from .layers import Dense, Input
from .model import Sequential

__all__ = ["bench_trainer", "MNIST_MLP"]

#: The layer widths of the course's MNIST MLP.
MNIST_MLP = (784, 256, 256, 256, 256, 10)


def _data(n: int, sizes: tuple[int, ...], dtype: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, sizes[0]), dtype=np.float32).astype(dtype, copy=False)
    y = rng.integers(0, sizes[-1], n)
    return x, y


def _time_initlab(x, y, sizes, batch, epochs, dtype, seed) -> float:

    layers = [Input((sizes[0],))] + [Dense(w, act="relu", init="kaiming_normal") for w in sizes[1:-1]]
    layers.append(Dense(sizes[-1], act="softmax"))
    model = Sequential(layers, seed=seed, dtype=dtype)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, epochs=1, verbose=0, seed=seed)  # warm up
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, seed=seed)
    return (time.perf_counter() - t0) / epochs


def _time_gemm(n, sizes, batch, epochs, dtype, seed) -> float:
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((a, b)).astype(dtype) * 0.05 for a, b in zip(sizes[:-1], sizes[1:])]
    xs = [rng.standard_normal((batch, a)).astype(dtype) for a in sizes[:-1]]
    zs = [np.empty((batch, b), dtype) for b in sizes[1:]]
    gws = [np.empty_like(w) for w in ws]
    gxs = [np.empty_like(x) for x in xs]
    steps = -(-n // batch) * epochs
    t0 = time.perf_counter()
    for _ in range(steps):
        for i, w in enumerate(ws):
            np.matmul(xs[i], w, out=zs[i])
        for i in range(len(ws) - 1, -1, -1):
            np.matmul(xs[i].T, zs[i], out=gws[i])
            if i:
                np.matmul(zs[i], ws[i].T, out=gxs[i])
    return (time.perf_counter() - t0) / epochs


def _time_torch(x, y, sizes, batch, epochs, seed, fused: bool) -> float:
    import torch

    torch.manual_seed(seed)
    mods: list[Any] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        mods += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    mods.append(torch.nn.Linear(sizes[-2], sizes[-1]))
    net = torch.nn.Sequential(*mods)
    dt = torch.float64 if x.dtype == np.float64 else torch.float32
    net = net.to(dt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, fused=True if fused else None)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n = x.shape[0]
    gen = torch.Generator().manual_seed(seed)

    def epoch(limit: int | None = None) -> None:
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for lo in range(0, n if limit is None else limit, batch):
            idx = perm[lo:lo + batch]
            xb, yb = xt[idx], yt[idx]
            loss = torch.nn.functional.cross_entropy(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()

    epoch(2 * batch)  # warm up
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return (time.perf_counter() - t0) / epochs


def bench_trainer(n: int = 60000, batch: int = 100, epochs: int = 1, dtype: str = "float32", torch: bool = True,
                  repeats: int = 3, sizes: tuple[int, ...] = MNIST_MLP, seed: int = 0,
                  threads: int | None = None) -> pd.DataFrame:
    """Time one training epoch of the MNIST MLP in initlab, as bare matrix products, and in PyTorch.

    Parameters
    ----------
    n, batch, epochs : int
        Samples (synthetic uniform inputs, random labels), batch size, epochs per timing.
    dtype : {"float32", "float64"}
    torch : bool
        Also time PyTorch when it is installed (rows are left out otherwise).
    repeats : int
        Timings per row; the best and the median are reported, run interleaved so that load from other
        processes hits every row alike.
    threads : int, optional
        Run with this many BLAS (and PyTorch, and optimizer) threads, restored afterwards; default: numpy's
        current BLAS thread count.

    Returns
    -------
    pandas.DataFrame
        One row per ``what`` (``initlab``, ``gemm floor``, ``torch``, ``torch fused adam``) with
        ``best_s`` and ``median_s`` (seconds per epoch), ``best_ms_per_step``, ``vs_gemm`` and
        ``vs_torch`` (best-time ratios), ``threads``, ``repeats``.
    """
    dt = np.dtype(dtype)
    sizes = tuple(int(s) for s in sizes)
    x, y = _data(n, sizes, dt, seed)
    old_threads = blas_threads()
    if threads is not None and threads != old_threads and not set_blas_threads(threads):
        raise RuntimeError("cannot change numpy's BLAS thread count here; set OPENBLAS_NUM_THREADS instead")
    threads = blas_threads()
    runners = {
        "initlab": lambda: _time_initlab(x, y, sizes, batch, epochs, dt, seed),
        "gemm floor": lambda: _time_gemm(n, sizes, batch, epochs, dt, seed),
    }
    restore = None
    if torch:
        try:
            import torch as _torch
        except ImportError:
            _torch = None
        if _torch is not None:
            restore = _torch.get_num_threads()
            _torch.set_num_threads(threads)
            runners["torch"] = lambda: _time_torch(x, y, sizes, batch, epochs, seed, fused=False)
            runners["torch fused adam"] = lambda: _time_torch(x, y, sizes, batch, epochs, seed, fused=True)
    times: dict[str, list[float]] = {k: [] for k in runners}
    try:
        for _ in range(repeats):
            for k, fn in runners.items():
                times[k].append(fn())
    finally:
        if restore is not None:
            _torch.set_num_threads(restore)
        if blas_threads() != old_threads:
            set_blas_threads(old_threads)
    steps = -(-n // batch)
    rows = []
    for k, ts in times.items():
        rows.append({"what": k, "best_s": min(ts), "median_s": statistics.median(ts),
                     "best_ms_per_step": 1e3 * min(ts) / steps})
    df = pd.DataFrame(rows)
    gemm = df.loc[df["what"] == "gemm floor", "best_s"].iloc[0]
    df["vs_gemm"] = df["best_s"] / gemm
    if "torch" in times:
        df["vs_torch"] = df["best_s"] / min(times["torch"])
    else:
        df["vs_torch"] = np.nan
    df["threads"] = threads
    df["repeats"] = repeats
    df.attrs.update({"n": n, "batch": batch, "epochs": epochs, "dtype": dt.name, "sizes": sizes})
    return df
