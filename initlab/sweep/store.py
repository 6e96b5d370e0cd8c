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
    NaN. A new store is made under a temporary name and linked into place, so that no one sees it half-made
    and two sweeps that create it at once share one.

Opening
    An existing file is checked before anything can change it (:mod:`initlab.sweep.sqlite`): an empty file, one
    that is not SQLite, another program's database or a damaged store (a table or column missing, a
    definition that does not parse) is a :class:`StoreError` and is left byte for byte as it was. Readers
    (``readonly=True``: export, report) open with ``mode=ro``, so a store on read-only media can be read.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .._io import clean_stale, temp_name
from .._version import __version__
from ..schema import TASK_SCHEMAS, TaskSchema
from .axes import Grid
from .extension import backfill, extension_of
from .sqlite import (StoreBusyError, StoreError, Transaction, create_tables, first_line, check_header, connect,
                     py_value, translate, translated)

__all__ = ["Store", "FORMAT", "StoreError", "StoreBusyError"]

#: The store's format version (``meta.format``).
FORMAT = "initlab-sweep-1"

#: Row columns a store made before they existed may lack (the user's spelling, issue 22): added when the store
#: is next opened for writing, read as the canonical spec meanwhile.
_LATER_ROW_COLUMNS = {"init_spec": "init", "act_spec": "act"}
#: Summary columns a store made before them lacks (the measured c*, issue 20): added likewise, empty (NaN).
_LATER_POINT_COLUMNS = ("c_star", "c_star_sd")

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
    readonly : bool
        Only read (export, report, :class:`~initlab.sweep.SweepResult`): the connection may not write, and a
        store on read-only media opens too.
    task : str or TaskSchema, optional
        The task whose points the store holds (default: whatever it holds; ``simulate`` for a new one); a store
        of another task is a :class:`StoreError`.

    Raises
    ------
    StoreError
        A missing, empty, foreign or damaged file, or another task's store, checked before anything could
        change it (one line).
    StoreBusyError
        SQLite could not open or lock the file (an ``OSError``: one line, exit code 1).
    """

    def __init__(self, path: str | Path, *, create: bool = False, readonly: bool = False,
                 task: str | TaskSchema | None = None):
        self.path = Path(path)
        self.readonly = readonly
        self.schema = _schema_of(task)
        self._absent: dict[str, str] = {}
        self._absent_points: list[str] = []
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a sweep store")
        if not self.path.exists():
            if not create or readonly:
                raise StoreError(f"no sweep store at {self.path}")
            self._create_new()
        check_header(self.path)
        with translated(self.path):
            self.db = self._connect()
        try:
            self._validate(task)  # before anything could change the file
            if not readonly:
                with translated(self.path):
                    self.db.execute("PRAGMA journal_mode=WAL")  # a store is made in WAL mode: no change
                    self.db.execute("PRAGMA synchronous=NORMAL")
                    if self._absent or self._absent_points:
                        self._add_later_columns()
        except BaseException:
            self.db.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        """A connection that changes nothing by itself. A reader's (``readonly``) is an ordinary one that may only
        query (so that the write-ahead log is tidied away when it closes), or where the media is read-only one
        opened with ``mode=ro``, or ``immutable=1`` where SQLite cannot make the log's index there."""
        if not self.readonly:
            return connect(str(self.path))
        uri = "file:" + urllib.parse.quote(str(self.path.absolute()))
        for target in (None, uri + "?mode=ro", uri + "?mode=ro&immutable=1"):
            db = connect(target, uri=True) if target else connect(str(self.path))
            try:
                if target is None:
                    db.execute("PRAGMA query_only = ON")
                db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return db
            except sqlite3.OperationalError:
                db.close()
                if target and "immutable" in target:
                    raise
        raise AssertionError("unreachable")

    def _create_new(self) -> None:
        """Make the store under a temporary name and link it into place, so that nobody ever sees a half-made
        store and two sweeps creating the same store at once both end up in one (the first link wins)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(self.path, restore=False)
        tmp = self.path.parent / temp_name(self.path.name)
        try:
            with translated(self.path):
                db = connect(str(tmp))
                try:
                    db.execute("PRAGMA journal_mode=WAL")
                    create_tables(db, self.schema, FORMAT, __version__)
                finally:
                    db.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another sweep made it at the same moment: use theirs
            except OSError:  # a filesystem without hard links
                if not self.path.exists():
                    os.replace(tmp, self.path)
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{tmp}{suffix}")

    def _validate(self, task: str | TaskSchema | None) -> None:
        """A :class:`StoreError` unless the file holds a store of this format, of ``task`` (when given), with
        every table and column of the task it holds (only reads)."""
        with translated(self.path):
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "meta" not in tables or self.meta("format") != FORMAT:
                raise StoreError(f"{self.path} is not an initlab sweep store")
            held = self.meta("task") or "simulate"
            if held not in TASK_SCHEMAS:
                raise StoreError(f"{self.path} holds points of an unknown task '{held}'")
            if task is not None and held != self.schema.name:
                raise StoreError(f"{self.path} holds {held} points, not {self.schema.name} points; use another "
                                 "--store")
            sc = self.schema = TASK_SCHEMAS[held]
            points = ("key", "status", "params", "config", "error", "seconds", *sc.summary_columns)
            for table, want in (("points", points), (sc.rows_table, ("point", *sc.row_columns))):
                if table not in tables:
                    raise StoreError(f"{self.path} is damaged: its '{table}' table is missing")
                have = {r[1] for r in self.db.execute(f'PRAGMA table_info("{table}")')}
                lost = [c for c in want if c not in have]
                if table == sc.rows_table:
                    self._absent = {c: _LATER_ROW_COLUMNS[c] for c in lost if c in _LATER_ROW_COLUMNS}
                    lost = [c for c in lost if c not in self._absent]
                elif sc.name == "simulate":
                    self._absent_points = [c for c in lost if c in _LATER_POINT_COLUMNS]
                    lost = [c for c in lost if c not in self._absent_points]
                if lost:
                    raise StoreError(f"{self.path} is damaged: its '{table}' table has no column '{lost[0]}'")
        if sc.name == "simulate":
            self.grid  # noqa: B018 - a definition that does not parse is damage too

    def _add_later_columns(self) -> None:
        """Add the row columns a store made before them lacks (:data:`_LATER_ROW_COLUMNS`), filled from theirs."""
        table = self.schema.rows_table
        with self.transaction():
            for c, src in self._absent.items():
                self.db.execute(f'ALTER TABLE {table} ADD COLUMN "{c}" TEXT')
                self.db.execute(f'UPDATE {table} SET "{c}" = "{src}"')
            for c in self._absent_points:
                self.db.execute(f'ALTER TABLE points ADD COLUMN "{c}" REAL')
        self._absent, self._absent_points = {}, []

    # -- schema -----------------------------------------------------------------------------------------
    def transaction(self):
        """``with store.transaction(): ...``: BEGIN IMMEDIATE … COMMIT (ROLLBACK on an exception)."""
        return Transaction(self.db)

    def meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    # -- the definition ---------------------------------------------------------------------------------
    @property
    def grid(self) -> Grid | None:
        text = self.meta("definition")
        if not text:
            return None
        try:
            return Grid.from_dict(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise StoreError(f"{self.path} is damaged: its sweep definition does not parse ({first_line(exc)})") from None

    def check_grid(self, grid: Grid) -> bool:
        """Where ``grid`` stands against the stored sweep: False when it is that sweep or extends it (the whole
        store is run and read), True when the stored sweep extends it (a narrower command: its own points
        only); else a :class:`StoreError` naming the first difference."""
        old = self.grid
        if old is None:
            return False
        why = extension_of(grid, old)
        if not why:
            return False
        if grid.keep == old.keep and not extension_of(old, grid):
            return True
        raise StoreError(f"{self.path} holds a different sweep ({why}); use another --store, "
                         f"or only add grid values")

    def set_grid(self, grid: Grid) -> bool:
        """Record ``grid`` when it is new or extends the stored sweep (the stored points get the values of the
        axes it adds, :func:`~initlab.sweep.extension.backfill`); returns :meth:`check_grid`'s answer (True: a
        part of the stored sweep, which is left as it is)."""
        part = self.check_grid(grid)
        old = self.grid
        if part or old is not None and grid.to_json() == old.to_json():
            return part
        fill = backfill(grid, old) if old is not None else {}
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('definition', ?)", (grid.to_json(),))
            if fill:
                updates = []
                for rowid, text in self.db.execute("SELECT rowid, params FROM points").fetchall():
                    params = json.loads(text)
                    if any(a not in params for a in fill):
                        updates.append((json.dumps({**params, **{a: v for a, v in fill.items() if a not in params}}),
                                        rowid))
                self.db.executemany("UPDATE points SET params = ? WHERE rowid = ?", updates)
        return False

    # -- points -------------------------------------------------------------------------------------------
    def add_points(self, rows: Iterable[tuple[str, str, str]], chunk: int = 2000) -> int:
        """Insert ``(key, params JSON, config JSON)`` rows not yet stored, ``chunk`` rows a transaction (built
        outside it, so that another sweep writing the same store waits milliseconds, not the whole grid); the
        number added. A kill in between leaves whole rows, and the next run adds the rest."""
        before = self.count()
        buf: list[tuple[str, str, str]] = []
        for r in rows:
            buf.append(r)
            if len(buf) >= chunk:
                self._insert(buf)
                buf = []
        if buf:
            self._insert(buf)
        return self.count() - before

    def _insert(self, buf: list[tuple[str, str, str]]) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR IGNORE INTO points (key, params, config) VALUES (?, ?, ?)", buf)

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.db.execute("SELECT COUNT(*) FROM points").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM points WHERE status = ?", (status,)).fetchone()[0]

    def todo(self, chunk: int = 1000, keys: frozenset[str] | None = None) -> Iterator[tuple[str, str]]:
        """``(key, config JSON)`` of every point not done (of ``keys`` only, when given), in insertion order, read
        ``chunk`` rows at a time."""
        last = 0
        while True:
            rows = self.db.execute("SELECT rowid, key, config FROM points WHERE status != 'done' AND rowid > ? "
                                   "ORDER BY rowid LIMIT ?", (last, chunk)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for _, key, cfg in rows:
                if keys is None or key in keys:
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
                                      (r["seconds"], *(py_value(r["summary"][c]) for c in cols), r["key"]))
                if cur.rowcount and r.get("layers") is not None:
                    lay = r["layers"]
                    columns = [np.asarray(lay[c]).tolist() for c in rcols]
                    n = len(columns[0])
                    self.db.executemany(f"INSERT INTO {table} VALUES ({lq})",
                                        zip([r["key"]] * n, *columns))

    # -- reading ------------------------------------------------------------------------------------------
    def points_frame(self, keys: set[str] | None = None):
        """The points table as a DataFrame: key, status, one column per axis, the summary, seconds, error (of
        ``keys`` only, when given); a damaged cell is a :class:`StoreError`."""
        with translated(self.path):
            return self._points_frame(keys)

    def _points_frame(self, keys: set[str] | None):
        import pandas as pd

        grid = self.grid if self.schema.name == "simulate" else None
        summary = self.schema.summary_columns
        dtypes = dict(self.schema.summary)
        cols = "".join(f', NULL AS "{c}"' if c in self._absent_points else f', "{c}"' for c in summary)
        rows = self.db.execute(f"SELECT key, status, params{cols}, seconds, error FROM points "
                               "ORDER BY rowid").fetchall()
        axes = list(grid.given) if grid else list(dict.fromkeys(k for r in rows for k in json.loads(r[2])))
        data: dict[str, list] = {c: [] for c in ("key", "status", *axes, *summary, "seconds", "error")}
        own = [c for c in summary if c not in axes]  # a native axis shows its grid value
        for row in rows:
            if keys is not None and row[0] not in keys:
                continue
            key, status, params = row[0], row[1], json.loads(row[2])
            if any(a not in params for a in axes):  # extended before the stored points got the new axis's value
                params = {**self._config_values(key, axes), **params}
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

    def _config_values(self, key: str, axes: Sequence[str]) -> dict[str, Any]:
        """The values of ``axes`` in a point's stored config (``act`` and ``init`` are its one activation and
        initializer; the native axes are not config fields)."""
        cfg = json.loads(self.db.execute("SELECT config FROM points WHERE key = ?", (key,)).fetchone()[0])
        out = {}
        for a in axes:
            v = cfg.get({"act": "acts", "init": "inits"}.get(a, a))
            if v is not None or a in cfg:
                out[a] = v[0] if a in ("act", "init") and isinstance(v, list) else v
        return out

    def layers_frame(self, keys: Sequence[str] | None = None):
        """The stored rows of the points (``point`` then the task's row columns: the simulation's per-layer
        :data:`~initlab.schema.LAYER_COLUMNS`), of ``keys`` or of every point, in the points' order."""
        with translated(self.path):
            return self._layers_frame(keys)

    def _layers_frame(self, keys: Sequence[str] | None):
        import pandas as pd

        rcols = self.schema.row_columns
        dtypes = dict(self.schema.rows)
        q = ('SELECT l.point, ' + ", ".join(f'l."{self._absent.get(c, c)}"' for c in rcols)
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
                df[c] = pd.to_numeric(df[c]).astype("float64")  # text in a number's cell: damage
            elif dt == "bool":
                df[c] = df[c].astype(bool)
            elif dt == "int64":
                df[c] = df[c].astype("int64")
        return df

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()
        if isinstance(exc, sqlite3.Error):  # one line instead of SQLite's traceback
            raise translate(exc, self.path) from None
