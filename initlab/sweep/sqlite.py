"""The SQLite side of the sweep store: opening a file without changing it, SQLite's errors as one line, and
transactions.

- :func:`check_header` refuses an empty file or one that is not SQLite before SQLite opens it (SQLite would make
  an empty file a database on the first write);
- :func:`translated` turns SQLite's exceptions into :class:`StoreError` (a damaged store or not a store: bad
  input, exit code 2) or :class:`StoreBusyError` (a full disk, a lock held longer than
  :data:`BUSY_TIMEOUT_S`, read-only media: the machine, exit code 1);
- :class:`Transaction` is ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on an exception, including a ``COMMIT``
  that fails on a full disk.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from typing import Any
from pathlib import Path

from .._spec import ConfigError

__all__ = ["StoreError", "StoreBusyError", "SQL_TYPES", "create_tables", "py_value",
           "BUSY_TIMEOUT_S", "check_header", "connect", "translated", "translate",
           "Transaction", "first_line"]

_MAGIC = b"SQLite format 3\x00"
#: How long a write waits for another process's transaction on the same store before giving up.
BUSY_TIMEOUT_S = 30.0

class StoreError(ConfigError):
    """A file that is not a sweep store, a damaged store, or a store that holds a different sweep (one line;
    exit code 2 on the command line)."""


class StoreBusyError(OSError):
    """The machine, not the input: the disk is full, or another process held the store longer than
    :data:`BUSY_TIMEOUT_S` (one line; exit code 1). Every batch is one transaction, so the store is left
    consistent, and running the same sweep again resumes it."""


def check_header(path: Path) -> None:
    """Refuse, without opening it as a database, a file that is empty or not SQLite."""
    with open(path, "rb") as fh:
        head = fh.read(len(_MAGIC))
    if not head:
        raise StoreError(f"{path} is an empty file, not a sweep store (left as it is)")
    if head != _MAGIC:
        raise StoreError(f"{path} is not a sweep store (not an SQLite file)")


def connect(target: str, uri: bool = False) -> sqlite3.Connection:
    return sqlite3.connect(target, isolation_level=None, timeout=BUSY_TIMEOUT_S, uri=uri)


@contextlib.contextmanager
def translated(path: Path):
    """SQLite's errors as one line: a full disk or a lock held too long is :class:`StoreBusyError`, anything
    else (a missing table or column, text where a number belongs) is a damaged store, :class:`StoreError`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, path) from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise StoreError(f"{path} is damaged ({type(exc).__name__}: {first_line(exc)})") from None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def translate(exc: sqlite3.Error, path: Path) -> Exception:
    msg = first_line(exc)
    low = msg.lower()
    if "full" in low:
        return StoreBusyError(errno.ENOSPC, f"the disk is full writing the sweep store {path} (every finished "
                              "point is kept; run the same command again to resume)")
    if "locked" in low or "busy" in low:
        return StoreBusyError(errno.EBUSY, f"the sweep store {path} stayed locked by another process for "
                              f"{BUSY_TIMEOUT_S:g} s (another sweep writing it?); try again when it is done")
    if "readonly" in low or "read-only" in low or "unable to open" in low:
        return StoreBusyError(errno.EROFS, f"cannot write the sweep store {path} ({msg})")
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError) \
            or "no such" in low or "malformed" in low:
        return StoreError(f"{path} is not a sweep store or is damaged ({msg})")
    return StoreBusyError(errno.EIO, f"the sweep store {path} failed: {msg}")


class Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
                return
            except sqlite3.Error:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        if self.db.in_transaction:  # SQLite may have rolled back already (a full disk)
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")


#: The SQL type of each declared dtype (:data:`~initlab.schema.TASK_SCHEMAS`).
SQL_TYPES = {"str": "TEXT", "int64": "INTEGER", "Int64": "INTEGER", "bool": "INTEGER", "float64": "REAL"}


def create_tables(db: sqlite3.Connection, sc: Any, fmt: str, version: str) -> None:
    """The tables of a new store (format ``fmt``, made by initlab ``version``) of the task ``sc``
    (:class:`~initlab.schema.TaskSchema`): its summary columns on ``points``, its row columns on its
    rows table, each with the SQL type of its declared dtype."""
    cols = "".join(f', "{c}" {SQL_TYPES[d]}' for c, d in sc.summary)
    lcols = ", ".join(f'"{c}" {SQL_TYPES[d]}' for c, d in sc.rows)
    table = sc.rows_table
    with Transaction(db):
        db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("CREATE TABLE points (key TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'pending', "
                   f"params TEXT NOT NULL, config TEXT NOT NULL, error TEXT, seconds REAL{cols})")
        db.execute(f"CREATE TABLE {table} (point TEXT NOT NULL, {lcols})")
        db.execute(f"CREATE INDEX {table}_point ON {table} (point)")
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("format", fmt), ("initlab", version),
                                                         ("task", sc.name)])


def py_value(v: Any) -> Any:
    """A value sqlite3 can bind (numpy scalars to Python; None stays)."""
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    return v.item() if hasattr(v, "item") else v
