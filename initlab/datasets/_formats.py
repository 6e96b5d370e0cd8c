"""Readers that validate a file by its format and fail with one line naming the file and the fault.

* IDX (LeCun's MNIST format, gzipped or not): a big-endian header ``0x00 0x00 <type> <ndim>`` (so magic
  2051 for 3-d uint8 images, 2049 for 1-d uint8 labels), ``ndim`` uint32 sizes, then exactly
  ``prod(sizes)`` bytes.
* ``.npz``: a zip of ``.npy`` arrays with the required keys; object (pickled) arrays are loaded only when
  the file's SHA-256 is the canonical one.
* numeric CSV: comma-separated, no header (a non-numeric first line is skipped as a header), a fixed
  column count and, where known, a fixed row count.
* tar: members read in memory, never extracted; unsafe members (absolute paths, ``..``, links, devices)
  are rejected, with :func:`tarfile.data_filter` where Python has it.
"""

from __future__ import annotations

import math
import os
import re
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np

from ._lookup import sha256_file
from ._sources import DatasetError, HashMismatchError

__all__ = ["IDX_IMAGES", "IDX_LABELS", "read_bytes", "read_idx", "read_npz", "read_csv", "read_tar_texts"]

IDX_IMAGES = 2051  # 0x00000803: unsigned bytes, 3 dimensions
IDX_LABELS = 2049  # 0x00000801: unsigned bytes, 1 dimension


def read_bytes(path: str | os.PathLike, limit: int | None = None) -> bytes:
    """The contents of ``path``, gunzipped when it starts with the gzip magic ``1f 8b``.

    With ``limit``, at most ``limit`` bytes are decompressed (a longer stream is an error), so a small
    gzip bomb cannot take more memory than the format allows.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data[:2] != b"\x1f\x8b":
        if limit is not None and len(data) > limit:
            raise DatasetError(f"{path}: {len(data)} bytes, more than the {limit} this format allows")
        return data
    return _gunzip(path, data, limit)


def _gunzip(path: Path, data: bytes, limit: int | None, want: int | None = None) -> bytes:
    """Decompress gzip ``data`` (several members allowed), stopping after ``want`` bytes when given;
    more than ``limit`` bytes is an error. Memory stays within ``want`` or ``limit`` (+ one chunk)."""
    cap = want if want is not None else (None if limit is None else limit + 1)
    out = bytearray()
    buf = data
    try:
        while buf:
            d = zlib.decompressobj(wbits=31)
            src = buf
            while cap is None or len(out) < cap:
                out += d.decompress(src, 0 if cap is None else cap - len(out))
                if d.eof:
                    break
                src = d.unconsumed_tail
                if not src:
                    break
            if cap is not None and len(out) >= cap:
                break
            if not d.eof:
                raise DatasetError(f"{path}: truncated gzip stream")
            buf = d.unused_data
            if buf[:2] != b"\x1f\x8b":
                break  # zero padding after the last member, which gzip tolerates
    except zlib.error as exc:
        raise DatasetError(f"{path}: corrupt gzip data ({exc})") from None
    if want is not None:
        return bytes(out[:want])
    if limit is not None and len(out) > limit:
        raise DatasetError(f"{path}: decompresses to more than the {limit} bytes its format allows")
    return bytes(out)


#: Largest number of items an IDX file may declare (MNIST has 60,000; this leaves room for larger sets).
MAX_IDX_ITEMS = 10_000_000


def read_idx(path: str | os.PathLike, magic: int, item_shape: tuple[int, ...] = ()) -> np.ndarray:
    """Read an IDX file of unsigned bytes: check the magic number, the item shape and the exact size.

    Parameters
    ----------
    path : path-like
        The file, gzipped or not.
    magic : int
        :data:`IDX_IMAGES` (2051) or :data:`IDX_LABELS` (2049).
    item_shape : tuple of int
        The required sizes after the first (``(28, 28)`` for MNIST images).

    Returns
    -------
    ndarray of uint8, shape ``(n, *item_shape)``
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    gz = raw[:2] == b"\x1f\x8b"
    data = _gunzip(path, raw, None, want=4 + 4 * 255) if gz else raw  # the header (ndim < 256)
    if len(data) < 4:
        raise DatasetError(f"{path}: {len(data)} bytes, too short for an IDX header")
    got = int.from_bytes(data[:4], "big")
    if got != magic:
        raise DatasetError(f"{path}: IDX magic number {got}, expected {magic}")
    ndim = data[3]
    head = 4 + 4 * ndim
    if len(data) < head:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes, need {head})")
    shape = struct.unpack(f">{ndim}I", data[4:head])
    if tuple(shape[1:]) != tuple(item_shape):
        raise DatasetError(f"{path}: IDX item shape {tuple(shape[1:])}, expected {tuple(item_shape)}")
    if shape and shape[0] > MAX_IDX_ITEMS:
        raise DatasetError(f"{path}: the IDX header declares {shape[0]} items, more than {MAX_IDX_ITEMS}")
    if gz:  # decompress no more than the header declares (plus one byte, to detect trailing data)
        data = _gunzip(path, raw, None, want=head + math.prod(shape) + 1)
    need = math.prod(shape)
    have = len(data) - head
    if have < need:
        raise DatasetError(f"{path}: truncated: the header says {shape} ({need} bytes) but {have} bytes follow")
    if have > need:
        raise DatasetError(f"{path}: {have - need} unexpected bytes after the {shape} IDX data")
    return np.frombuffer(data, dtype=np.uint8, count=need, offset=head).reshape(shape).copy()


#: Largest total of the uncompressed sizes an ``.npz`` may declare (the Keras files are under 300 MB).
MAX_NPZ_BYTES = 2 << 30


def _load_npz(path: Path, keys: Sequence[str], allow_pickle: bool) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as z:  # the sizes the archive declares, before anything is decompressed
        declared = sum(i.file_size for i in z.infolist())
    if declared > MAX_NPZ_BYTES:
        raise DatasetError(f"{path}: the archive declares {declared} bytes uncompressed, more than {MAX_NPZ_BYTES}")
    with np.load(path, allow_pickle=allow_pickle) as f:
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise DatasetError(f"{path}: a single array, not an .npz archive")
        missing = [k for k in keys if k not in f.files]
        if missing:
            raise DatasetError(f"{path}: missing array(s) {', '.join(missing)} (has {', '.join(f.files) or 'none'})")
        return {k: f[k] for k in keys}


def read_npz(path: str | os.PathLike, keys: Sequence[str], pickle_sha256: str | None = None) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of an ``.npz`` file.

    Object arrays need unpickling: that is done only when ``pickle_sha256`` is given and equals the
    file's SHA-256 (the canonical Keras file); otherwise the file is refused.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if head[:2] != b"PK":
        raise DatasetError(f"{path}: not an .npz (zip) archive")
    try:
        try:
            return _load_npz(path, keys, allow_pickle=False)
        except ValueError as exc:
            if "allow_pickle" not in str(exc):
                raise
        got = sha256_file(path)
        if pickle_sha256 is None or got != pickle_sha256:
            want = f"the canonical {pickle_sha256}" if pickle_sha256 else "no known canonical hash"
            raise HashMismatchError(f"{path}: holds pickled objects and its SHA-256 {got} is not {want}; "
                                    f"refusing to unpickle it")
        return _load_npz(path, keys, allow_pickle=True)
    except DatasetError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise DatasetError(f"{path}: corrupt or truncated .npz archive ({exc})") from None


def read_csv(path: str | os.PathLike, n_cols: int, n_rows: int | None = None, *,
             text_last: bool = False) -> tuple[np.ndarray, list[str]]:
    """A comma-separated table with ``n_cols`` columns and (when given) exactly ``n_rows`` rows.

    Blank lines are skipped, and so is a first line that is not numeric (a header). All columns are
    parsed as finite floats, except the last when ``text_last`` (returned as strings).

    Returns
    -------
    values : ndarray of float64, shape ``(rows, n_cols)`` or ``(rows, n_cols - 1)`` when ``text_last``
    last : list of str
        The last column as text when ``text_last`` (else empty).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a UTF-8 text (CSV) file") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    n_num = n_cols - 1 if text_last else n_cols
    rows: list[list[float]] = []
    last: list[str] = []
    first = True
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != n_cols:
            raise DatasetError(f"{path}:{lineno}: {len(parts)} columns, expected {n_cols}")
        try:
            vals = [float(p) for p in parts[:n_num]]
        except ValueError:
            if first:
                first = False
                continue
            raise DatasetError(f"{path}:{lineno}: a value that is not a number") from None
        first = False
        if not all(math.isfinite(v) for v in vals):
            raise DatasetError(f"{path}:{lineno}: a value that is not finite")
        rows.append(vals)
        if text_last:
            if not parts[-1]:
                raise DatasetError(f"{path}:{lineno}: empty label")
            last.append(parts[-1])
    if n_rows is not None and len(rows) != n_rows:
        raise DatasetError(f"{path}: {len(rows)} data rows, expected {n_rows} (truncated or a different file?)")
    if not rows:
        raise DatasetError(f"{path}: no data rows")
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), n_num), last


def _check_member(path: Path, member: tarfile.TarInfo) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or member.issym() or member.islnk() or member.isdev():
        raise DatasetError(f"{path}: unsafe archive member {member.name!r}")
    data_filter = getattr(tarfile, "data_filter", None)
    if data_filter is not None:
        try:
            data_filter(member, "/initlab-never-extracted")
        except tarfile.FilterError as exc:
            raise DatasetError(f"{path}: unsafe archive member {member.name!r} ({exc})") from None


def read_tar_texts(path: str | os.PathLike, pattern: str, max_member: int = 1 << 24,
                   max_total: int = 1 << 30) -> list[tuple[str, str, str]]:
    """Read in memory the regular members of a tar (``.tar.gz`` or plain) whose name matches ``pattern``.

    ``pattern`` is a regular expression with one group (the label) searched in the member name. Every
    member is checked first (see :func:`_check_member`); nothing is written to disk.

    Returns
    -------
    list of (label, member name, text)
        Sorted by member name; text decoded as UTF-8 (undecodable bytes replaced).
    """
    path = Path(path)
    rx = re.compile(pattern)
    out: list[tuple[str, str, str]] = []
    total = 0
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                _check_member(path, member)
                m = rx.search(member.name)
                if not member.isfile() or m is None:
                    continue
                if member.size > max_member:
                    raise DatasetError(f"{path}: member {member.name!r} declares {member.size} bytes, more than "
                                       f"the {max_member} a text may have")
                total += member.size
                if total > max_total:
                    raise DatasetError(f"{path}: the texts exceed {max_total} bytes in all")
                fh = tar.extractfile(member)
                if fh is None:
                    continue
                out.append((m.group(1), member.name, fh.read(max_member + 1).decode("utf-8", errors="replace")))
    except DatasetError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt or truncated tar archive ({exc})") from None
    out.sort(key=lambda t: t[1])
    return out
