"""Where a sweep's points run: in this process, on a local process pool, or on a Dask cluster.

Every executor runs any task (:class:`initlab.sweep.task.Task`: the simulation point, the training point,
the spectrum sample): it pulls batches of points from a :class:`Batcher`, runs
:func:`initlab.sweep.task.run_batch` on them and hands each finished batch back to the coordinator
(``on_result``), which stores it; results stream back as they finish and at most ``2 × workers`` batches are
in flight, so nothing the size of the grid is ever held. Each point seeds itself from its key, so where it
runs does not change its bits (given the same number of BLAS threads: OpenBLAS sums in another order when a
product is split over threads).

- :class:`SerialExecutor`: in this process (``--workers 1``).
- :class:`PoolExecutor`: ``concurrent.futures.ProcessPoolExecutor``. On Linux it forks when this process has
  one thread (the workers start with numpy and the engine already imported) and uses a ``forkserver``
  otherwise (a child forked while another thread holds a lock, e.g. a Dask client's, can deadlock); ``spawn``
  elsewhere. A worker that dies breaks
  the pool: the batches in flight are sent again on a new pool, each at most :data:`MAX_ATTEMPTS` times,
  then reported as failed. A worker exits by itself within :data:`ORPHAN_POLL_S` of the coordinator's death
  (a SIGKILL or SIGTERM gives the pool no chance to stop it): each runs a watchdog thread
  (:func:`exit_with_parent`) that polls its parent and the coordinator. At most one worker per batch to do
  is started.
- :class:`DaskExecutor`: ``distributed.Client.submit`` per batch; Dask reschedules the batch of a worker that
  dies. :func:`dask_client` connects to ``tcp://HOST:PORT`` (one line and exit 2 when it cannot within
  ``timeout``) or starts a :class:`distributed.LocalCluster` on the loopback interface.

BLAS threads: cores ÷ workers in each worker (threadpoolctl), so that workers do not oversubscribe the CPU.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any, Callable, Iterator, Sequence

from .._spec import ConfigError
from .task import Task, run_batch

__all__ = ["Batcher", "SerialExecutor", "PoolExecutor", "DaskExecutor", "dask_client", "MAX_ATTEMPTS",
           "TARGET_BATCH_SECONDS", "ORPHAN_POLL_S", "exit_with_parent"]

#: A batch whose worker died is sent again at most this many times in all.
MAX_ATTEMPTS = 3
#: Batches are sized to take about this long (so per-batch scheduling costs stay a small fraction).
TARGET_BATCH_SECONDS = 1.0
#: How often a pool worker checks that the coordinator that started it is still alive.
ORPHAN_POLL_S = 0.25

Item = tuple[str, str]
OnResult = Callable[[list[dict[str, Any]]], None]


class Batcher:
    """Cuts the stream of points to do into batches: one point per batch until a point's time is known, then
    about :data:`TARGET_BATCH_SECONDS` of work per batch, never more than a ``1/(2 × workers)`` share of
    what is left (so the last batches still spread over the workers). ``size`` fixes the batch size."""

    def __init__(self, todo: Iterator[Item], total: int, workers: int, size: int | None = None,
                 target: float = TARGET_BATCH_SECONDS):
        self.todo, self.left, self.workers, self.size, self.target = todo, total, max(1, workers), size, target
        self._secs, self._n = 0.0, 0

    def observe(self, results: Sequence[dict[str, Any]]) -> None:
        for r in results:
            self._secs += r["seconds"]
            self._n += 1

    def next(self) -> list[Item] | None:
        if self.size is not None:
            n = self.size
        elif self._n == 0:
            n = 1
        else:
            n = int(round(self.target / max(self._secs / self._n, 1e-6)))
            n = max(1, min(n, math.ceil(self.left / (2 * self.workers))))
        out = []
        for item in self.todo:
            out.append(item)
            if len(out) >= n:
                break
        self.left -= len(out)
        return out or None


def _failed(batch: Sequence[Item], why: str) -> list[dict[str, Any]]:
    return [{"key": k, "status": "failed", "summary": None, "layers": None, "seconds": 0.0, "error": why}
            for k, _ in batch]


def exit_with_parent(coordinator: int, poll: float = ORPHAN_POLL_S) -> None:
    """Start a daemon thread that ends this process (``os._exit``) as soon as its parent changes (it was
    re-parented: the parent died) or ``coordinator`` is gone; a pool's worker initializer."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        import time

        while True:
            time.sleep(poll)
            if os.getppid() != parent or not _alive(coordinator):
                os._exit(1)

    threading.Thread(target=watch, name="initlab-orphan-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class SerialExecutor:
    """Every batch in this process, one after the other."""

    def __init__(self, blas: int | None = None):
        self.workers, self.blas = 1, blas
        self.name = "serial"

    def run(self, task: Task, batcher: Batcher, keep: str, on_result: OnResult) -> None:
        while (batch := batcher.next()) is not None:
            on_result(run_batch(task, batch, keep, self.blas))


class PoolExecutor:
    """A local pool of ``workers`` processes (see the module docstring)."""

    def __init__(self, workers: int, blas: int | None = None):
        if workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {workers}")
        self.workers = workers
        self.blas = blas if blas is not None else max(1, (os.cpu_count() or 1) // workers)
        self.name = f"pool {workers}"

    def _pool(self, task: Task, n: int):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        import sys
        import threading

        if not sys.platform.startswith("linux"):  # macOS's system libraries are not fork-safe
            ctx = mp.get_context("spawn")
        elif threading.active_count() == 1:  # fork: the workers start with numpy and the engine imported
            ctx = mp.get_context("fork")
        else:  # a child forked while another thread holds a lock can deadlock: fork from a clean server
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["initlab.sweep.task", *task.preload])
        return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=exit_with_parent,
                                   initargs=(os.getpid(),))

    def run(self, task: Task, batcher: Batcher, keep: str, on_result: OnResult) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        n = max(1, min(self.workers, batcher.left))  # no idle workers for a few points
        pool = self._pool(task, n)
        flight: dict[Any, tuple[list[Item], int]] = {}
        retry: list[tuple[list[Item], int]] = []
        try:
            while True:
                while len(flight) < 2 * self.workers:
                    if retry:
                        batch, attempt = retry.pop()
                    else:
                        nxt = batcher.next()
                        if nxt is None:
                            break
                        batch, attempt = nxt, 1
                    try:
                        flight[pool.submit(run_batch, task, batch, keep, self.blas)] = (batch, attempt)
                    except BrokenProcessPool:  # broken since the last wait: retried below
                        retry.append((batch, attempt))
                        break
                if not flight and not retry:
                    return
                done, _ = wait(list(flight), return_when=FIRST_COMPLETED) if flight else (set(), set())
                broken = bool(retry) and not flight
                for fut in done:
                    batch, attempt = flight.pop(fut)
                    try:
                        res = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        retry.append((batch, attempt))
                        continue
                    on_result(res)
                if broken:  # every batch in flight is lost with the pool: send them again on a new one
                    retry.extend(flight.values())
                    flight.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool(task, n)
                    keep_going = []
                    for batch, attempt in retry:
                        if attempt >= MAX_ATTEMPTS:
                            on_result(_failed(batch, f"a worker died {attempt} times running this batch"))
                        else:
                            keep_going.append((batch, attempt + 1))
                    retry = keep_going
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Batches as Dask tasks on ``client`` (see the module docstring)."""

    def __init__(self, client: Any, blas: int | None = None):
        self.client = client
        info = client.scheduler_info().get("workers", {})
        self.workers = max(1, len(info))
        hosts: dict[str, int] = {}
        for w in info.values():
            hosts[w.get("host", "")] = hosts.get(w.get("host", ""), 0) + 1
        self.blas: Any = blas if blas is not None else hosts
        self.name = f"dask {self.workers}"

    def run(self, task: Task, batcher: Batcher, keep: str, on_result: OnResult) -> None:
        from distributed import as_completed

        flight: dict[Any, list[Item]] = {}
        ac = as_completed()
        # the task (and the data it holds, e.g. a study's training set) goes to every worker once, not per batch
        shared = self.client.scatter(task, broadcast=True, hash=False)

        def submit() -> bool:
            batch = batcher.next()
            if batch is None:
                return False
            fut = self.client.submit(run_batch, shared, batch, keep, self.blas, pure=False)
            flight[fut] = batch
            ac.add(fut)
            return True

        for _ in range(2 * self.workers):
            if not submit():
                break
        try:
            for fut in ac:
                batch = flight.pop(fut)
                try:
                    res = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after repeated worker deaths
                    res = _failed(batch, f"{type(exc).__name__}: {exc}".splitlines()[0])
                on_result(res)
                submit()
        finally:
            for fut in flight:
                fut.cancel()


def dask_client(scheduler: str | None = None, local: int | None = None, timeout: float = 3.0):
    """A :class:`distributed.Client`: connected to ``scheduler`` or to a new loopback ``LocalCluster`` of
    ``local`` worker processes (one thread each). Returns ``(client, cluster or None)``.

    Raises
    ------
    ConfigError
        Dask is not installed, or the scheduler cannot be reached within ``timeout`` seconds (one line).
    """
    if local is None:
        _reachable(str(scheduler), timeout)  # a refused or unknown address fails at once, before importing Dask
    try:
        import distributed
    except ImportError:
        raise ConfigError("Dask is not installed: pip install 'initlab[dask]' (dask[distributed])") from None
    import logging

    if local is not None:
        if local < 1:
            raise ConfigError(f"--dask-local must be >= 1, got {local}")
        # no dashboard, and the scheduler's own HTTP server on a free port (not 8787, which may be taken: a warning);
        # the worker processes start with SIGINT ignored, so that Ctrl-C reaches only this process, which closes
        # the cluster in order (each worker would otherwise print its own KeyboardInterrupt traceback)
        with _sigint_ignored():
            cluster = distributed.LocalCluster(n_workers=local, threads_per_worker=1, processes=True, host="127.0.0.1",
                                               dashboard_address=None, silence_logs=logging.ERROR,
                                               scheduler_kwargs={"dashboard": False,
                                                                 "dashboard_address": "127.0.0.1:0"})
        return distributed.Client(cluster), cluster
    addr = str(scheduler)
    if "://" not in addr:
        addr = "tcp://" + addr
    for name in ("distributed.client", "distributed.comm.tcp", "distributed.core"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        client = distributed.Client(addr, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - timeouts, refusals, and something else listening on the port
        raise ConfigError(f"cannot reach a Dask scheduler at {scheduler} within {timeout:g} s "
                          f"({type(exc).__name__}; is it a Dask scheduler?)") from None
    return client, None


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored inside the block (in the main thread only; elsewhere a no-op); child processes started
    meanwhile inherit it (Python keeps an inherited SIG_IGN)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _reachable(scheduler: str, timeout: float) -> None:
    """One TCP connection to a ``tcp://HOST:PORT`` address (other protocols are left to Dask)."""
    import socket

    addr = scheduler.strip()
    proto, _, rest = addr.rpartition("://")
    if proto not in ("", "tcp"):
        return
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--scheduler must look like tcp://HOST:PORT, got '{scheduler}'")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} "
                          f"({exc.strerror or type(exc).__name__})") from None
