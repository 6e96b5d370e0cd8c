"""A task of the experiment engine: what one point of any study is, how it is measured and what it stores.

A task is three things:

- a frozen, validated **config** type (one point), that reads and writes itself as JSON (:class:`JsonConfig`);
- a pure **measure** ``measure(config, seed, rows=True) -> Measured``: the point's one summary row and its rows (several
  per point), as numpy arrays; it depends on nothing but its arguments (and the data the task holds), so any
  executor gives the same bits;
- its **schema** (:class:`~initlab.schema.TaskSchema`, declared once in :mod:`initlab.schema`): the columns
  and dtypes of the summary row and of the rows, from which the store derives its tables.

A point's key is the SHA-256 of its config as canonical JSON (:func:`config_key`), so a store never holds a
point twice and a resumed study skips what is stored. The seed a point runs with is the task's choice
(:meth:`Task.seed_of`): the simulation sweep derives it from the key (:func:`~initlab.sweep.axes.point_seed`,
independent of the grid order), the studies keep the seed the user gave (their numbers stay those of a
serial run).

:func:`run_batch` is the unit of work every executor (:mod:`initlab.sweep.executors`) sends to a worker.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from typing import Any, ClassVar, Mapping, NamedTuple, Sequence

from ..schema import TASK_SCHEMAS, TaskSchema

__all__ = ["Task", "JsonConfig", "Measured", "PointsFailed", "config_key", "run_batch", "blas_threads"]


class PointsFailed(RuntimeError):
    """Some points of a task failed (one line: how many, and the first error)."""


class Measured(NamedTuple):
    """What a task measured at one point: ``summary`` (column → value, the schema's summary columns) and
    ``rows`` (column → 1-D array, the schema's row columns, all of one length; None when there are none)."""

    summary: Mapping[str, Any]
    rows: Mapping[str, Any] | None


class JsonConfig:
    """Mixin for a frozen dataclass config: ``to_dict``/``to_json`` and ``from_dict``/``from_json`` (lists come
    back as tuples; the constructor validates)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]):
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    @classmethod
    def from_json(cls, text: str):
        return cls.from_dict(json.loads(text))


def config_key(config: Any) -> str:
    """A point's key: the SHA-256 (hex, 32 characters) of its config as canonical JSON."""
    return hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:32]


class Task:
    """Base class of a task (see the module docstring). Subclasses set :attr:`schema_name`,
    :attr:`config_type` and :meth:`measure`; an instance may hold data its points share (pickled with it)."""

    schema_name: ClassVar[str]
    config_type: ClassVar[type]
    #: Modules a ``forkserver`` pool imports once, before forking its workers.
    preload: ClassVar[tuple[str, ...]] = ()
    #: At most this many BLAS threads per worker (None: the executor's choice, cores ÷ workers).
    max_threads: ClassVar[int | None] = None

    @property
    def schema(self) -> TaskSchema:
        return TASK_SCHEMAS[self.schema_name]

    @property
    def name(self) -> str:
        return self.schema_name

    def decode(self, text: str) -> Any:
        """The config of a point from its stored JSON."""
        return self.config_type.from_json(text)

    def key(self, config: Any) -> str:
        return config_key(config)

    def params(self, config: Any) -> dict[str, Any]:
        """The point's coordinates, stored beside it (the points table's axis columns)."""
        return config.to_dict()

    def seed_of(self, config: Any, key: str) -> int:
        """The seed the point runs with (default: the config's own ``seed``)."""
        return int(config.seed)

    def measure(self, config: Any, seed: int, rows: bool = True) -> Measured:
        """Measure one point; ``rows=False`` says its rows will not be kept (a task may skip building them)."""
        raise NotImplementedError


def blas_threads(spec: Any) -> int | None:
    """BLAS threads for this worker: an int as it is; ``{host: workers on that host}`` gives
    cores ÷ workers for the host this process runs on (at least 1); None leaves BLAS alone."""
    if spec is None or isinstance(spec, int):
        return spec
    host = None
    try:
        from distributed import get_worker

        host = get_worker().address.rsplit(":", 1)[0].split("//")[-1]
    except (ImportError, ValueError):
        pass
    n = spec.get(host, 1) if host is not None else 1
    return max(1, (os.cpu_count() or 1) // max(1, n))


def run_batch(task: Task, items: Sequence[tuple[str, str]], keep: str = "summary",
              blas: Any = None) -> list[dict[str, Any]]:
    """Measure a batch of points ``[(key, config JSON), ...]`` of ``task``.

    Returns one dict per point: ``key``, ``status`` (``done`` or ``failed``), ``summary``, ``layers`` (the rows,
    dropped when ``keep == 'summary'``), ``seconds`` (compute time) and ``error`` (one line). A point that
    raises is data (``status='failed'``), so one bad point does not lose its batch. ``blas`` limits the BLAS
    threads while the batch runs (:func:`blas_threads`), at most the task's :attr:`Task.max_threads`; with
    neither, each simulation chooses (:mod:`initlab.sim.threads`).
    """
    n = blas_threads(blas)
    if task.max_threads is not None:
        n = task.max_threads if n is None else min(n, task.max_threads)
    if n is None:  # each simulation chooses its threads (initlab.sim.threads)
        return [_one(task, k, j, keep) for k, j in items]
    from ..sim.threads import pinned

    with pinned(n, "blas"):
        return [_one(task, k, j, keep) for k, j in items]


def _one(task: Task, key: str, config_json: str, keep: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        cfg = task.decode(config_json)
        got = task.measure(cfg, task.seed_of(cfg, key), rows=keep != "summary")
    except Exception as exc:  # noqa: BLE001 - a point's failure is data, reported in the store
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return {"key": key, "status": "failed", "summary": None, "layers": None,
                "seconds": time.perf_counter() - t0, "error": msg}
    return {"key": key, "status": "done", "summary": dict(got.summary),
            "layers": got.rows if keep != "summary" else None, "seconds": time.perf_counter() - t0, "error": ""}
