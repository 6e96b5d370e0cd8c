"""The coordinator: :func:`sweep` parses the definition, opens the store, adds the points not yet stored and
streams the rest through an executor, storing each finished batch as it comes back.

Re-running the same sweep against the same store resumes it: finished points are skipped (a point's key is
the hash of its full config), and a kill at any moment loses at most the points in flight. Everything that
can be checked is checked before any work: the grid's size (``max_points``) and its largest point's memory
(``max_memory``), that the store can be written, and that it holds this sweep, a part of it or a sweep it
extends (:mod:`initlab.sweep.extension`).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .._io import check_writable
from .._spec import ConfigError
from ..progress import Progress
from .axes import MAX_POINTS, Grid, build_grid, point_config, point_key
from .extension import backfill
from .result import SweepResult
from .store import Store
from .task import PointsFailed, Task

__all__ = ["sweep", "DEFAULT_INPUT", "executor_for", "largest_point", "run_store", "run_task"]

#: The sweep's input when ``input`` is not given: pairs of correlation 0.5, so that ξ_c can be measured.
DEFAULT_INPUT = "pairs:c0=0.5"


def _rows(grid: Grid, fill: dict[str, Any] | None = None) -> Iterator[tuple[str, str, str]]:
    """``(key, params JSON, config JSON)`` of every point; ``fill`` adds the values of axes the store's sweep
    has and ``grid`` (a part of it) does not."""
    for params in grid.points():
        cfg = point_config(grid, params)
        yield point_key(cfg), json.dumps({**params, **(fill or {})}), cfg.to_json()


def largest_point(grid: Grid):
    """The config of the grid's point that needs the most memory (:func:`initlab.sim.memory.estimate_bytes`
    grows with depth, batch, trials, input_dim, bins and dropout, so their largest values are taken together,
    over every activation, width list and dtype; an upper bound where axes are zipped), without enumerating the
    grid; None when no such combination is a valid config."""
    import itertools

    from ..sim.memory import estimate_bytes

    f = grid.fields
    big = {a: max(f[a], key=lambda v: -1 if v is None else v) for a in
           ("depth", "batch", "trials", "input_dim", "bins", "dropout") if a in f}
    best, need = None, -1
    for combo in itertools.islice(itertools.product(f["act"], f["width"], f["dtype"]), 1000):
        try:  # a combination no point has (per-layer widths of another depth) is skipped
            cfg = point_config(grid, {**big, **dict(zip(("act", "width", "dtype"), combo))})
        except ConfigError:
            continue
        n = estimate_bytes(cfg, keep_weights=False)
        if n > need:
            best, need = cfg, n
    return best


def executor_for(workers: int | None = None, scheduler: Any = None, dask_local: int | None = None,
                 blas_threads: int | None = None):
    """The executor a sweep runs on, and a function that releases it (closes a cluster it started).

    ``scheduler`` is an address (``tcp://HOST:PORT``) or a ``distributed.Client``; ``dask_local`` starts a
    ``LocalCluster`` of that many workers; otherwise ``workers`` processes (default: one per core; 1 runs in
    this process).
    """
    from .executors import DaskExecutor, PoolExecutor, SerialExecutor, dask_client

    if blas_threads is not None and blas_threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {blas_threads}")
    choices = (("workers", workers), ("scheduler", scheduler), ("dask-local", dask_local))
    given = [n for n, v in choices if v is not None]
    if len(given) > 1:
        raise ConfigError(f"give one of --workers, --scheduler and --dask-local, not {' and '.join(given)}")
    if scheduler is not None and not isinstance(scheduler, str):  # a Client already connected
        return DaskExecutor(scheduler, blas_threads), lambda: None
    if scheduler is not None or dask_local is not None:
        client, cluster = dask_client(scheduler, dask_local)

        def release() -> None:
            client.close()
            if cluster is not None:
                cluster.close()

        try:
            return DaskExecutor(client, blas_threads), release
        except BaseException:
            release()
            raise
    n = (os.cpu_count() or 1) if workers is None else workers
    if n < 1:
        raise ConfigError(f"--workers must be >= 1, got {n}")
    if n == 1:
        return SerialExecutor(blas_threads), lambda: None  # None: each simulation chooses its BLAS threads
    return PoolExecutor(n, blas_threads), lambda: None


def sweep(store: str | os.PathLike | None = None, *, workers: int | None = None, scheduler: Any = None,
          dask_local: int | None = None, zip: Sequence[Sequence[str]] = (), keep: str = "summary",
          batch_size: int | None = None, threads: int | None = None, progress: bool = True,
          blas_threads: int | None = None, max_points: int = MAX_POINTS, max_memory: int | None = None,
          **axes: Any) -> SweepResult:
    """Measure a whole region of the parameter space: every point of a grid, on every core or on Dask.

    Parameters
    ----------
    store : path, optional
        The SQLite store (created; an existing one of the same sweep is resumed, one of an extended sweep gets
        the new points, one of a larger sweep that extends this one runs and returns only this one's points,
        one of a different sweep is refused). Default: a new file in a temporary folder.
    workers : int, optional
        Local processes (default one per core; 1 runs in this process).
    scheduler : str or distributed.Client, optional
        A running Dask scheduler (``tcp://HOST:PORT``) or a connected client.
    dask_local : int, optional
        Start a loopback Dask ``LocalCluster`` of this many worker processes for the sweep.
    zip : sequence of sequences of axis names
        Axes that advance together instead of being crossed.
    keep : {'summary', 'layers'}
        Whether the per-layer rows of every point are stored too.
    batch_size : int, optional
        Points per batch (default: about a second of work per batch).
    threads : int, optional
        BLAS threads per worker (default cores ÷ workers); ``blas_threads`` is its old name.
    progress : bool
        A progress bar (points, rate, ETA) on stderr.
    max_points : int
        A grid of more points is refused before anything is enumerated or stored.
    max_memory : int, optional
        Bytes one point may use (default: the available memory); the grid's largest point is checked
        (:func:`largest_point`, :func:`initlab.sim.memory.check_memory`) before anything starts.
    **axes
        Axis name -> grid string (``"0.5:4:36"``, ``"log:1e-2:1e2:9"``, ``"tanh,relu"``), value or values;
        any SimConfig field, ``sigma_w2`` or ``sigma_b2`` (see :mod:`initlab.sweep.axes`). ``input``
        defaults to :data:`DEFAULT_INPUT`.

    Returns
    -------
    SweepResult

    Examples
    --------
    >>> res = sweep(act="tanh", sigma_w2="0.5:4:8", sigma_b2="0.05:0.3:4", depth=30, width=200,
    ...             trials=2, store="tanh.sqlite")  # doctest: +SKIP
    >>> res.points[["sigma_w2", "sigma_b2", "chi1", "theory_chi1"]]  # doctest: +SKIP
    """
    if blas_threads is not None:
        if threads is not None and threads != blas_threads:
            raise ConfigError("give threads only (blas_threads is its old name)")
        threads = blas_threads
    grid = build_grid(axes, zips=zip, keep=keep, defaults={"input": DEFAULT_INPUT}, max_points=max_points)
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    worst = largest_point(grid)
    if worst is not None:
        from ..sim.memory import check_memory

        check_memory(worst, max_memory)
    path = Path(store) if store is not None else Path(tempfile.mkdtemp(prefix="initlab-sweep-")) / "sweep.sqlite"
    check_writable(path, what="store")  # a read-only folder or media: one line before anything starts
    if path.exists():  # a foreign store, or another sweep's, is refused before anything starts
        with Store(path, readonly=True) as st:
            st.check_grid(grid)
    executor, release = executor_for(workers, scheduler, dask_local, threads)
    try:
        with Store(path, create=True) as st:
            part = st.set_grid(grid)
            keys = run_store(st, executor, keep, batch_size=batch_size, progress=progress,
                             part=grid if part else None)
    finally:
        release()
    return SweepResult(path) if keys is None else SweepResult(path, grid=grid, keys=keys)


def run_store(st: Store, executor: Any, keep: str, *, batch_size: int | None = None, progress: bool = True,
              task: Task | None = None, rows: Iterable[tuple[str, str, str]] | None = None, what: str = "sweep",
              part: Grid | None = None) -> frozenset[str] | None:
    """Add the missing points to ``st`` and run every point not done on ``executor``: the stored sweep's, or
    with ``part`` (a narrower sweep that the stored one extends) only that one's. Returns the keys of ``part``'s
    points (None without it).

    ``task`` defaults to the simulation (:data:`~initlab.sweep.measure.SIMULATE`); a study gives its own and
    its ``rows`` (``(key, params JSON, config JSON)``) instead of a grid.
    """
    from .executors import Batcher

    if task is None:
        from .measure import SIMULATE as task
    keys = None
    if rows is not None or part is None:
        st.add_points(_rows(st.grid) if rows is None else rows)
        total = st.count() - st.count("done")
    else:
        rows = list(_rows(part, backfill(st.grid, part)))
        keys = frozenset(r[0] for r in rows)
        st.add_points(rows)
        total = sum(1 for _ in st.todo(keys=keys))
    batcher = Batcher(st.todo(keys=keys), total, executor.workers, batch_size)
    t0 = time.perf_counter()
    with Progress(total, f"{what} ({executor.name})", enabled=progress) as bar:
        done = [0]

        def on_result(results: list[dict[str, Any]]) -> None:
            st.write_results(results)
            batcher.observe(results)
            done[0] += len(results)
            rate = done[0] / max(time.perf_counter() - t0, 1e-9)
            bar.update(len(results), postfix=f"{rate:.3g} points/s")

        executor.run(task, batcher, keep, on_result)
    return keys


def run_task(task: Task, configs: Sequence[Any], *, store: str | os.PathLike | None = None,
             workers: int | None = None, scheduler: Any = None, dask_local: int | None = None,
             threads: int | None = None, batch_size: int | None = None, progress: bool = True,
             definition: dict[str, Any] | None = None):
    """Measure ``configs`` (points of ``task``) on an executor, through a store; the measured rows.

    The experiment engine of the studies: every point not already done in ``store`` is run (so a rerun after
    a kill redoes nothing that was stored), on ``workers`` local processes, a Dask ``scheduler`` or a
    ``dask_local`` cluster (:func:`executor_for`; default one process per core, ``threads`` BLAS threads per
    worker, default cores ÷ workers). Without ``store`` the points go through a temporary one.

    Returns
    -------
    points : DataFrame
        ``key``, ``status``, the task's summary columns, ``seconds`` and ``error`` of each config, in the order
        of ``configs``.
    rows : DataFrame
        The task's rows of every done point (``point`` key first), the points in the order of ``configs``.

    Raises
    ------
    PointsFailed
        Some points failed (they stay in the store as failed, and run again on the next call).
    ConfigError
        A store of another task.
    """
    import shutil

    keys = [task.key(c) for c in configs]
    order = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    rows = [(k, json.dumps(task.params(c), sort_keys=False, default=str), c.to_json()) for k, c in zip(keys, configs)]
    tmp = None
    if store is None:
        tmp = Path(tempfile.mkdtemp(prefix=f"initlab-{task.name}-"))
        store = tmp / "store.sqlite"
    try:
        if Path(store).exists() and Path(store).stat().st_size > 0:
            Store(store, task=task.schema).close()  # another task's store: refused before anything starts
        executor, release = executor_for(workers, scheduler, dask_local, threads)
        try:
            with Store(store, create=True, task=task.schema) as st:
                if definition is not None:
                    st.set_study(definition)
                run_store(st, executor, "rows", batch_size=batch_size, progress=progress, task=task, rows=rows,
                          what=task.name)
        finally:
            release()
        with Store(store, task=task.schema) as st:
            pts = st.points_frame()
            pts = pts[pts["key"].isin(order)]
            pts = pts.iloc[sorted(range(len(pts)), key=lambda i: order[pts["key"].iloc[i]])].reset_index(drop=True)
            bad = pts[pts["status"] != "done"]
            if len(bad):
                raise PointsFailed(f"{len(bad)} of {len(pts)} points failed; the first: {bad['error'].iloc[0]}")
            lay = st.layers_frame(list(order))
        rank = lay["point"].map(order)
        lay = lay.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
        return pts, lay
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
