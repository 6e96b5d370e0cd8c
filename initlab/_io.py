"""Files and folders written as a unit: built under a temporary name beside the target, then renamed.

* :func:`atomic_write` writes one file: a temporary ``.NAME.initlab-PID-XXXX.tmp`` in the same folder,
  flushed, fsynced and renamed onto ``NAME``; on any exception (a full disk, Ctrl-C) it is removed and
  ``NAME`` is left as it was.
* :func:`staged_dir` builds a folder: the caller writes into a temporary sibling
  ``.NAME.initlab-PID-XXXX.tmp/``, which is then swapped with ``NAME`` by renames (one atomic
  exchange where Linux's ``renameat2(RENAME_EXCHANGE)`` is available), so ``NAME`` is always either
  the complete old folder or the complete new one.
* Temporary names carry the writer's process id; :func:`clean_stale` (called by both on every write)
  removes those whose process is gone — what a SIGKILL leaves behind.
* :func:`check_writable` checks before any work that a file or folder can be created at a path, so a
  read-only folder, a path under a file, ``/proc`` or a name too long fail in a second, not after the
  computation. Problems are :class:`OutputError` (a one-line ``ValueError``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import IO, Iterator

__all__ = ["reproducible_time", "atomic_write", "atomic_write_bytes", "atomic_write_text", "staged_dir", "clean_stale",
           "clean_stale_files", "temp_name", "check_writable", "exchange", "OutputError", "TEMP_TAG"]

#: Marks initlab's temporary names: ``.NAME.initlab-PID-XXXXXXXX.tmp``.
TEMP_TAG = "initlab"
_LEGACY_AGE_S = 3600.0  # mkstemp names of older versions (``.NAME.abcd1234.tmp``) are removed after an hour


def reproducible_time(recorded: _dt.datetime | None = None, *, strict: bool = False) -> _dt.datetime:
    """The time written into an output: ``$SOURCE_DATE_EPOCH`` (seconds since 1970, the reproducible-builds
    convention) when set, else ``recorded``, else now; UTC, whole seconds.

    A ``$SOURCE_DATE_EPOCH`` that is not whole seconds is ignored, or with ``strict=True`` raises ``ValueError``.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
        except (ValueError, OverflowError, OSError):
            if strict:
                raise ValueError(f"SOURCE_DATE_EPOCH must be an integer number of seconds, got '{epoch}'") from None
    when = recorded if recorded is not None else _dt.datetime.now(_dt.timezone.utc)
    when = when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)
    return when.astimezone(_dt.timezone.utc).replace(microsecond=0)


class OutputError(ValueError):
    """An output path that cannot be written (one-line message)."""


def temp_name(name: str) -> str:
    """A fresh temporary name for ``name`` in the same folder: ``.NAME.initlab-PID-XXXXXXXX.tmp``."""
    return f".{name}.{TEMP_TAG}-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:
        return True
    return True


def clean_stale(path: str | os.PathLike, restore: bool = True) -> list[Path]:
    """Remove the temporary files and folders that killed writers of ``path`` left beside it.

    Removed: ``.NAME.initlab-PID-*.tmp`` (and ``.NAME.initlab-old-PID-*.tmp``) whose process ``PID`` no
    longer runs, and the ``mkstemp`` names of earlier versions (``.NAME.XXXXXXXX.tmp``) older than an
    hour. One exception: where ``path`` itself is missing and an old folder is left (a writer killed
    between the two renames of the fallback swap), that old folder is renamed back to ``path`` (unless
    ``restore`` is false, as for a file's writes). Returns
    what was removed; errors are ignored (a folder that cannot be listed has nothing to clean).
    """
    path = Path(path)
    rx = re.compile(rf"^\.{re.escape(path.name)}\.{TEMP_TAG}(?:-old)?-(\d+)-[0-9a-f]+\.tmp$")
    legacy = re.compile(rf"^\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.tmp$")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent if str(path.parent) else "."))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        m = rx.match(entry.name)
        stale = m is not None and not _pid_alive(int(m.group(1)))
        if not stale and legacy.match(entry.name):
            with contextlib.suppress(OSError):
                stale = now - entry.stat(follow_symlinks=False).st_mtime > _LEGACY_AGE_S
        if not stale:
            continue
        p = Path(entry.path)
        if (restore and ".initlab-old-" in entry.name and entry.is_dir(follow_symlinks=False)
                and not os.path.lexists(path)):
            with contextlib.suppress(OSError):
                os.replace(p, path)  # the complete old run, put back
                continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
    return removed


def clean_stale_files(folder: str | os.PathLike) -> list[Path]:
    """Remove every temporary *file* (``.NAME.initlab-PID-*.tmp``) in ``folder`` whose writer ``PID`` is gone,
    whatever ``NAME``: for writers whose next name is not known (a checkpoint per epoch). Folders are left to
    :func:`clean_stale`, which may put a complete old run back. Returns what was removed."""
    rx = re.compile(rf"^\..+\.{TEMP_TAG}-(\d+)-[0-9a-f]+\.tmp$")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = rx.match(entry.name)
        if m and not _pid_alive(int(m.group(1))) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it to ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was. The file gets the
    permissions an ordinary ``open(path, "w")`` would give (``0o666`` less the umask). Stale temporary
    files of killed writers of ``path`` are removed first (:func:`clean_stale`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path, restore=False)
    tmp = path.parent / temp_name(path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path, "w") as fh:
        fh.write(text)


# -- folders --------------------------------------------------------------------------------------
_RENAME_EXCHANGE = 2
_renameat2 = None


def _load_renameat2():
    global _renameat2
    if _renameat2 is None:
        fn = False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            fn = libc.renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            fn.restype = ctypes.c_int
        except (OSError, AttributeError, TypeError):
            fn = False
        _renameat2 = fn
    return _renameat2 or None


def exchange(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Atomically swap two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    fn = _load_renameat2()
    if fn is None:
        return False
    at_fdcwd = -100
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # the filesystem (or kernel) cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def staged_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success it replaces ``path`` as a unit.

    Write every file of the new folder into the yielded path. When the block ends without an exception,
    the new folder and ``path`` are exchanged in one atomic step where the system can (Linux), else by
    two renames (``path`` to ``.NAME.initlab-old-PID-XXXX.tmp``, the new folder to ``path``), and the
    old folder is removed. On an exception (a full disk, Ctrl-C) the temporary folder is removed and
    ``path`` is untouched. A SIGKILL leaves at most a temporary folder, which the next write removes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path)
    tmp = path.parent / temp_name(path.name)
    os.mkdir(tmp)
    try:
        yield tmp
        for root, _dirs, _files in os.walk(tmp):
            _fsync_dir(Path(root))
        if path.exists() or path.is_symlink():
            if path.is_symlink() or not path.is_dir():
                raise OutputError(f"'{path}' exists and is not a folder")
            if not exchange(tmp, path):
                old = path.parent / f".{path.name}.{TEMP_TAG}-old-{os.getpid()}-{secrets.token_hex(4)}.tmp"
                os.replace(path, old)
                os.replace(tmp, path)
                tmp = old
            # tmp now holds the old folder
        else:
            os.replace(tmp, path)
            tmp = None
        _fsync_dir(path.parent)
    except BaseException:
        if tmp is not None and tmp.exists() and tmp.name.startswith(f".{path.name}.{TEMP_TAG}-{os.getpid()}"):
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


# -- checks before any work -------------------------------------------------------------------------
def _first_existing(path: Path) -> Path:
    """The nearest ancestor of ``path`` (or ``path``) that exists; errors (a name too long) count as absent."""
    p = path
    while not os.path.lexists(p) and p.parent != p:
        p = p.parent
    return p


def check_writable(path: str | os.PathLike, *, folder: bool = False, what: str = "output") -> Path:
    """Check, before any work, that ``path`` (a file, or a folder with ``folder=True``) can be written.

    The nearest existing ancestor must be a folder in which this process may create entries, every
    name must fit the filesystem's limit, and an existing ``path`` must be of the right kind. A probe
    file is created and removed in that ancestor (``/proc`` and other pseudo filesystems refuse it).

    Raises
    ------
    OutputError
        One line naming the path and the reason.
    """
    path = Path(path)
    full = Path(os.path.abspath(path))
    if os.path.lexists(full):
        if folder and not os.path.isdir(full):
            raise OutputError(f"{what} '{path}' exists and is not a folder")
        if not folder and os.path.isdir(full):
            raise OutputError(f"{what} '{path}' is a folder, not a file")
    where = _first_existing(full.parent)
    if not os.path.isdir(where):
        raise OutputError(f"cannot write {what} '{path}': '{where}' is a file, not a folder")
    try:
        limit = os.pathconf(where, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for part in full.relative_to(where).parts:
        # the temporary names add about 30 characters: the name itself must leave room for them
        if len(os.fsencode(part)) + 32 > limit:
            raise OutputError(f"cannot write {what} '{str(path)[:60]}…': the name is {len(os.fsencode(part))} "
                              f"bytes long; this filesystem allows {limit}, less 32 for the temporary name")
    probe = where / temp_name("probe")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise OutputError(f"cannot write {what} '{path}': {exc.strerror or exc} ('{where}')") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return path
