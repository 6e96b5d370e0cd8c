"""The sweep store: one SQLite file (standard library :mod:`sqlite3`), written by the coordinating process only.

Tables
    ``meta (name, value)``: ``definition`` (the :class:`~initlab.sweep.axes.Grid` as JSON), ``format``,
    ``initlab`` (the version that created it).
    ``points``: one row per point: ``key`` (:func:`~initlab.sweep.axes.point_key`, the primary key, so a point
    is never computed twice), ``status`` (``pending``, ``done`` or ``failed``), ``params`` (its axes' values,
    JSON), ``config`` (its full SimConfig, JSON), ``error``, ``seconds`` (compute time) and one column per
    entry of :data:`~initlab.schema.POINT_SUMMARY_COLUMNS`.
    ``layers``: the per-layer rows (:data:`~initlab.schema.LAYER_COLUMNS`) of each point, with its ``point`` key
    (only with ``keep='layers'``).

Other tasks (issue 18)
    The store holds the points of one task (:class:`~initlab.schema.TaskSchema`, recorded as ``meta.task``; a
    store without it holds ``simulate`` points): the ``points`` table has that task's summary columns, and its
    rows table (``layers`` for the simulation, ``rows`` for the others) that task's row columns, both with the
    SQL types of their declared dtypes. ``meta.study`` holds the last definition of a study (informational: a
    study's points are found by their keys).

Crash safety
    Every finished batch is one transaction (its points' status and summaries and their layer rows), so a
    kill at any moment loses at most the points in flight and never leaves a half-written point; SQLite's
    write-ahead log makes the file consistent again on the next open. NaN is stored as NULL and read back as
    NaN.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .._spec import ConfigError
from .._version import __version__
from ..schema import TASK_SCHEMAS, TaskSchema
from .axes import Grid, extension_of

__all__ = ["Store", "FORMAT", "StoreError"]

#: The store's format version (``meta.format``).
FORMAT = "initlab-sweep-1"


class StoreError(ConfigError):
    """A file that is not a sweep store, or a store that holds a different sweep (one line)."""


#: The SQL type of each declared dtype (:data:`~initlab.schema.TASK_SCHEMAS`).
_SQL = {"str": "TEXT", "int64": "INTEGER", "Int64": "INTEGER", "bool": "INTEGER", "float64": "REAL"}


def _schema_of(task: str | TaskSchema | None) -> TaskSchema:
    if task is None:
        return TASK_SCHEMAS["simulate"]
    if isinstance(task, TaskSchema):
        return task
    name = getattr(task, "schema_name", task)
    if name not in TASK_SCHEMAS:
        raise StoreError(f"unknown task '{name}' (tasks: {', '.join(TASK_SCHEMAS)})")
    return TASK_SCHEMAS[name]


class Store:
    """An open sweep store (a context manager; :meth:`close` commits nothing pending: every write is its own
    transaction).

    Parameters
    ----------
    path : str or Path
        The SQLite file; created (with its folder) when ``create`` and it does not exist.
    create : bool
        Whether a missing file may be created; otherwise a missing or foreign file is a :class:`StoreError`.
    task : str or TaskSchema, optional
        The task whose points the store holds (default: whatever it holds; ``simulate`` for a new one); a store
        of another task is a :class:`StoreError`.
    """

    def __init__(self, path: str | Path, *, create: bool = False, task: str | TaskSchema | None = None):
        self.path = Path(path)
        self.schema = _schema_of(task)
        if not self.path.exists():
            if not create:
                raise StoreError(f"no sweep store at {self.path}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a sweep store")
        try:
            self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a sweep store ({exc})") from None
        if not tables:
            if not create:
                raise StoreError(f"{self.path} is not a sweep store (empty database)")
            self._create()
        elif "meta" not in tables or self.meta("format") != FORMAT:
            self.db.close()
            raise StoreError(f"{self.path} is not an initlab sweep store")
        self._check_task(task)

    # -- schema -----------------------------------------------------------------------------------------
    def _create(self) -> None:
        sc = self.schema
        cols = "".join(f', "{c}" {_SQL[d]}' for c, d in sc.summary)
        lcols = ", ".join(f'"{c}" {_SQL[d]}' for c, d in sc.rows)
        table = sc.rows_table
        with self.transaction():
            self.db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.execute("CREATE TABLE points (key TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'pending', "
                            f"params TEXT NOT NULL, config TEXT NOT NULL, error TEXT, seconds REAL{cols})")
            self.db.execute(f"CREATE TABLE {table} (point TEXT NOT NULL, {lcols})")
            self.db.execute(f"CREATE INDEX {table}_point ON {table} (point)")
            self.db.executemany("INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("initlab", __version__),
                                                                  ("task", sc.name)])

    def _check_task(self, task: str | TaskSchema | None) -> None:
        """The schema of the task the store holds (``meta.task``); a :class:`StoreError` if ``task`` differs."""
        held = self.meta("task") or "simulate"
        if task is not None and held != self.schema.name:
            self.db.close()
            raise StoreError(f"{self.path} holds {held} points, not {self.schema.name} points; use another --store")
        if held not in TASK_SCHEMAS:
            self.db.close()
            raise StoreError(f"{self.path} holds points of an unknown task '{held}'")
        self.schema = TASK_SCHEMAS[held]

    def transaction(self):
        """``with store.transaction(): ...``: BEGIN IMMEDIATE … COMMIT (ROLLBACK on an exception)."""
        return _Transaction(self.db)

    def meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    # -- the definition ---------------------------------------------------------------------------------
    @property
    def grid(self) -> Grid | None:
        text = self.meta("definition")
        return Grid.from_dict(json.loads(text)) if text else None

    def check_grid(self, grid: Grid) -> None:
        """A :class:`StoreError` (one line, with the first difference) unless ``grid`` is the stored sweep or
        extends it."""
        old = self.grid
        if old is not None:
            why = extension_of(grid, old)
            if why:
                raise StoreError(f"{self.path} holds a different sweep ({why}); use another --store, "
                                 f"or only add grid values")

    def set_grid(self, grid: Grid) -> bool:
        """Record ``grid`` (after :meth:`check_grid`); True when it is new or extends the stored one."""
        self.check_grid(grid)
        old = self.grid
        if old is not None and grid.to_json() == old.to_json():
            return False
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('definition', ?)", (grid.to_json(),))
        return True

    # -- points -------------------------------------------------------------------------------------------
    def add_points(self, rows: Iterable[tuple[str, str, str]], chunk: int = 2000) -> int:
        """Insert ``(key, params JSON, config JSON)`` rows not yet stored (one transaction); the number added."""
        before = self.count()
        with self.transaction():
            buf: list[tuple[str, str, str]] = []
            for r in rows:
                buf.append(r)
                if len(buf) >= chunk:
                    self.db.executemany("INSERT OR IGNORE INTO points (key, params, config) VALUES (?, ?, ?)", buf)
                    buf.clear()
            if buf:
                self.db.executemany("INSERT OR IGNORE INTO points (key, params, config) VALUES (?, ?, ?)", buf)
        return self.count() - before

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.db.execute("SELECT COUNT(*) FROM points").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM points WHERE status = ?", (status,)).fetchone()[0]

    def todo(self, chunk: int = 1000) -> Iterator[tuple[str, str]]:
        """``(key, config JSON)`` of every point not done, in insertion order, read ``chunk`` rows at a time."""
        last = 0
        while True:
            rows = self.db.execute("SELECT rowid, key, config FROM points WHERE status != 'done' AND rowid > ? "
                                   "ORDER BY rowid LIMIT ?", (last, chunk)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for _, key, cfg in rows:
                yield key, cfg

    def set_study(self, definition: dict[str, Any]) -> None:
        """Record a study's definition (``meta.study``; informational)."""
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('study', ?)",
                            (json.dumps(definition, sort_keys=True, default=str),))

    def write_results(self, results: Sequence[dict[str, Any]]) -> None:
        """Store a finished batch (:func:`~initlab.sweep.task.run_batch` output) in one transaction."""
        cols = self.schema.summary_columns
        rcols = self.schema.row_columns
        sets = "".join(f', "{c}" = ?' for c in cols)
        lq = ", ".join("?" * (len(rcols) + 1))
        table = self.schema.rows_table
        with self.transaction():
            for r in results:
                if r["status"] != "done":
                    self.db.execute("UPDATE points SET status = 'failed', error = ?, seconds = ? WHERE key = ? "
                                    "AND status != 'done'", (r["error"], r["seconds"], r["key"]))
                    continue
                cur = self.db.execute(f"UPDATE points SET status = 'done', error = NULL, seconds = ?{sets} "
                                      "WHERE key = ? AND status != 'done'",
                                      (r["seconds"], *(_py(r["summary"][c]) for c in cols), r["key"]))
                if cur.rowcount and r.get("layers") is not None:
                    lay = r["layers"]
                    columns = [np.asarray(lay[c]).tolist() for c in rcols]
                    n = len(columns[0])
                    self.db.executemany(f"INSERT INTO {table} VALUES ({lq})",
                                        zip([r["key"]] * n, *columns))

    # -- reading ------------------------------------------------------------------------------------------
    def points_frame(self):
        """The points table as a DataFrame: key, status, one column per axis, the summary, seconds, error."""
        import pandas as pd

        grid = self.grid if self.schema.name == "simulate" else None
        summary = self.schema.summary_columns
        dtypes = dict(self.schema.summary)
        cols = "".join(f', "{c}"' for c in summary)
        rows = self.db.execute(f"SELECT key, status, params{cols}, seconds, error FROM points "
                               "ORDER BY rowid").fetchall()
        axes = list(grid.given) if grid else list(dict.fromkeys(k for r in rows for k in json.loads(r[2])))
        data: dict[str, list] = {c: [] for c in ("key", "status", *axes, *summary, "seconds", "error")}
        own = [c for c in summary if c not in axes]  # a native axis shows its grid value
        for row in rows:
            key, status, params = row[0], row[1], json.loads(row[2])
            data["key"].append(key)
            data["status"].append(status)
            for a in axes:
                data[a].append(params.get(a))
            for c, v in zip(summary, row[3:]):
                if c in own:
                    data[c].append(v)
            data["seconds"].append(row[-2])
            data["error"].append(row[-1] or "")
        frame = {}
        for c, v in data.items():
            if c in axes and c not in ("sigma_w2", "sigma_b2") or c in ("key", "status", "error"):
                frame[c] = v
            elif dtypes.get(c) == "str":
                frame[c] = pd.Series([x if x is not None else "" for x in v], dtype=object)
            elif dtypes.get(c) == "bool":
                frame[c] = pd.Series([bool(x) if x is not None else pd.NA for x in v], dtype="boolean")
            elif dtypes.get(c) in ("Int64", "int64"):
                frame[c] = pd.Series(v, dtype="Int64")
            else:
                frame[c] = pd.Series([float("nan") if x is None else x for x in v], dtype="float64")
        df = pd.DataFrame(frame)
        # axis columns: plain dtypes where they allow it
        for a in axes:
            df[a] = pd.Series(df[a].tolist(), dtype=object).infer_objects()
        return df

    def layers_frame(self, keys: Sequence[str] | None = None):
        """The stored rows of the points (``point`` then the task's row columns: :data:`LAYER_COLUMNS` for the
        simulation), of ``keys`` or of every point, in the points' order."""
        import pandas as pd

        rcols = self.schema.row_columns
        dtypes = dict(self.schema.rows)
        q = ('SELECT l.point, ' + ", ".join(f'l."{c}"' for c in rcols)
             + f" FROM {self.schema.rows_table} AS l JOIN points AS p ON l.point = p.key")
        if keys is not None:
            keys = list(keys)
            q += " WHERE l.point IN (%s)" % ",".join("?" * len(keys))
        # in grid order whichever order the points finished in
        rows = self.db.execute(q + " ORDER BY p.rowid, l.rowid", keys or ()).fetchall()
        df = pd.DataFrame(rows, columns=["point", *rcols])
        for c in rcols:
            dt = dtypes[c]
            if dt == "float64":
                df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
            elif dt == "bool":
                df[c] = df[c].astype(bool)
            elif dt == "int64":
                df[c] = df[c].astype("int64")
        return df

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _py(v: Any) -> Any:
    """A value sqlite3 can bind (numpy scalars to Python; None stays)."""
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    return v.item() if hasattr(v, "item") else v


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, *exc) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
