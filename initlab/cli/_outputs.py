"""What the commands may overwrite, checked before any work is done.

* A PDF path (``--report``, ``-o``) may replace an existing file only if initlab wrote it (its
  ``/Creator (initlab ...)``) or ``--force`` is given; it may never be one of the run folder's own
  files (``--out o1 --report o1/layers.csv``), nor the run folder itself.
* A run folder (``--out``) may replace an existing folder only if it is empty or holds nothing but
  the files of a run of the same kind (and initlab PDFs), or ``--force`` is given.
* An output file may never be one of the command's own inputs (a sweep store, and the SQLite journal
  files beside it), even with ``--force`` (:func:`check_not_input`); any other existing file that is not
  an initlab PDF is replaced only with ``--force`` (:func:`check_file`).
* Every output path must be writable (:func:`initlab._io.check_writable`): a read-only folder, a path
  under a file, ``/proc`` or a name too long are refused in a second instead of after the work.

All problems are :class:`~initlab.cli.InputError` (one line, exit code 2).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from .._io import OutputError, check_writable

__all__ = ["SIM_RUN_FILES", "TRAIN_RUN_FILES", "COMPARE_RUN_FILES", "is_initlab_pdf", "check_out_dir",
           "check_pdf",
           "check_file", "check_not_input"]

#: The files (and folders) of each kind of run folder.
SIM_RUN_FILES = ("layers.csv", "config.json", "histograms.npz")
TRAIN_RUN_FILES = ("history.csv", "metrics.json", "config.json", "predictions.csv", "layers.csv", "tables", "figures")
COMPARE_RUN_FILES = ("history.csv", "final.csv", "init_layers.csv", "notes.csv", "layers_at_init.csv", "frames.json",
                     "comparison.json")
_TAIL = 1 << 16


def _err(msg: str):
    from . import InputError

    return InputError(msg)


def is_initlab_pdf(path: Path) -> bool:
    """True for a PDF whose document information says initlab created it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_TAIL)
            if not head.startswith(b"%PDF"):
                return False
            size = os.fstat(fh.fileno()).st_size
            tail = b""
            if size > _TAIL:
                fh.seek(max(size - _TAIL, _TAIL))
                tail = fh.read()
    except OSError:
        return False
    return b"/Creator (initlab" in head or b"/Creator (initlab" in tail


def _writable(path: Path, folder: bool, what: str) -> None:
    try:
        check_writable(path, folder=folder, what=what)
    except OutputError as exc:
        raise _err(str(exc)) from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_not_input(path: Path, inputs: Iterable[Path], what: str = "output") -> None:
    """Refuse, whatever ``--force`` says, an output ``path`` that is one of ``inputs`` (or the ``-wal``,
    ``-shm`` or ``-journal`` file SQLite keeps beside one)."""
    for src in inputs:
        src = Path(src)
        names = [src] + [src.with_name(src.name + s) for s in ("-wal", "-shm", "-journal")]
        if any(_same_file(path, n) for n in names):
            raise _err(f"{what} '{path}' is the input '{src}' itself; choose another name (not even --force "
                       f"replaces it)")


def check_file(path: Path, force: bool, *, inputs: Iterable[Path] = (), what: str = "output") -> None:
    """Check a data file output path (CSV, Parquet) before any work: writable, not an input, and not an
    existing file unless ``force``."""
    check_not_input(path, inputs, what)
    _writable(path, False, what)
    if path.exists() and not force:
        raise _err(f"{what} '{path}' exists; give --force to replace it")


def check_pdf(path: Path, force: bool, *, run_dir: Path | None = None, run_files: Iterable[str] = (),
              what: str = "report", inputs: Iterable[Path] = ()) -> None:
    """Check a PDF output path before any work (see the module docstring)."""
    check_not_input(path, inputs, what)
    _writable(path, False, what)
    if run_dir is not None:
        rd = run_dir.resolve()
        if path.resolve() == rd:
            raise _err(f"{what} '{path}' is the run folder itself")
        if path.resolve().parent == rd and (path.name in set(run_files) or path.suffix.lower() == ".png"):
            raise _err(f"{what} '{path}' would replace the run's own file '{path.name}'; choose another name")
    if path.exists() and not force and not is_initlab_pdf(path):
        raise _err(f"{what} '{path}' exists and is not a PDF initlab wrote; give --force to replace it")


def check_out_dir(path: Path, force: bool, run_files: Iterable[str], *, what: str = "run folder",
                  extra_suffixes: tuple[str, ...] = (".png",)) -> None:
    """Check a run folder before any work: writable, and replaceable (see the module docstring)."""
    _writable(path, True, what)
    if not path.is_dir() or force:
        return
    known = set(run_files)
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        raise _err(f"cannot read {what} '{path}': {exc.strerror or exc}") from None
    if not entries:
        return
    for e in entries:
        if e.name.startswith(".") and ".initlab-" in e.name:
            continue  # a temporary name of ours
        if e.name in known:
            continue
        if e.is_file(follow_symlinks=False) and (e.name.lower().endswith(extra_suffixes)
                                                 or (e.name.lower().endswith(".pdf") and is_initlab_pdf(Path(e.path)))):
            continue
        raise _err(f"{what} '{path}' exists and holds '{e.name}', which is not part of an initlab run; "
                   f"give --force to replace the whole folder")
    names = {e.name for e in entries}
    core = [f for f in run_files if "." in f][:2]
    if not all(f in names for f in core):
        raise _err(f"{what} '{path}' exists but is not an initlab run (no {' or '.join(core)}); "
                   f"give --force to replace the whole folder")
