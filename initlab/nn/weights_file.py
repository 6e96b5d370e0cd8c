"""Weights files of :class:`~initlab.nn.model.Sequential`: an ``.npz`` of ``layer/param`` arrays, never pickled.

:func:`load_weights` validates a file before anything large is allocated: it reads the ``.npy`` headers
only, refuses object dtypes and arrays that declare more bytes than their member holds, and checks the
saved input shape and every array's shape against the model. Every problem is one
:class:`~initlab.ConfigError` line.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._io import atomic_write
from .._spec import ConfigError

__all__ = ["named_arrays", "copy_into", "save_weights", "load_weights"]


def named_arrays(layers: Sequence[Any]) -> list[tuple[str, np.ndarray]]:
    """``("layer/param", array)`` for every parameter and state array of ``layers``, in order."""
    out = []
    for layer in layers:
        for name in layer.params:
            out.append((f"{layer.name}/{name}", layer.params[name]))
        for name in layer.state:
            out.append((f"{layer.name}/{name}", layer.state[name]))
    return out


def copy_into(named: Sequence[tuple[str, np.ndarray]], weights: Sequence[np.ndarray]) -> None:
    """Copy ``weights`` into the arrays of ``named`` (same count and shapes, else one ConfigError line)."""
    if len(weights) != len(named):
        raise ConfigError(f"expected {len(named)} weight arrays, got {len(weights)}")
    for (key, dst), src in zip(named, weights):
        src = np.asarray(src)
        if src.shape != dst.shape:
            raise ConfigError(f"weight {key} has shape {dst.shape}, got {src.shape}")
        dst[...] = src


def save_weights(model: Any, path: Any) -> None:
    """Write every weight to an ``.npz`` file atomically (``layer/param`` keys, no pickled objects)."""
    arrays = dict(model._named_arrays())
    arrays["__input_shape__"] = np.asarray(model._input_shape, dtype=np.int64)
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **arrays)

def load_weights(model: Any, path: Any) -> None:
    """Read weights written by :func:`save_weights` (builds the model from the saved input shape if needed).

    The file is validated before anything large is allocated: it must be a zip of ``.npy`` arrays
    whose headers declare no more bytes than the archive holds, numeric dtypes only, and a saved
    input shape whose flattened size is a dimension of a saved array (as a first Dense kernel's
    fan-in is), and finite values (no NaN or inf). Every problem, a truncated or foreign file included, is one
    :class:`ConfigError` line.
    """
    headers = _npz_headers(path)
    named_shape = headers.pop("__input_shape__", None)
    shape = None
    if named_shape is not None:
        (ishape, _dtype) = named_shape
        if len(ishape) != 1 or not 1 <= ishape[0] <= 8:
            raise ConfigError(f"{path}: __input_shape__ must list 1 to 8 sizes, got an array of shape {ishape}")
        shape = tuple(int(v) for v in _npz_arrays(path, ["__input_shape__"])[0])
        if any(v < 1 for v in shape):
            raise ConfigError(f"{path}: the saved input shape {shape} has a size below 1")
    if not model.built:
        if shape is None:
            raise ConfigError(f"{path} has no input shape: build the model first")
        flat = math.prod(shape)
        dims = {d for s_, _ in headers.values() for d in s_}
        if flat not in dims:
            raise ConfigError(f"{path}: the saved input shape {shape} fits none of the saved weights "
                              f"(a crafted or damaged file?)")
        model.build(shape)
    named = model._named_arrays()
    missing = [k for k, _ in named if k not in headers]
    extra = sorted(set(headers) - {k for k, _ in named})
    if missing or extra:
        raise ConfigError(f"{path} does not match the model: missing {missing or 'nothing'}, "
                          f"unexpected {extra or 'nothing'}")
    wrong = [(k, headers[k][0], dst.shape) for k, dst in named if tuple(headers[k][0]) != dst.shape]
    if wrong:
        k, got, want = wrong[0]
        raise ConfigError(f"{path}: weight {k} has shape {tuple(got)} in the file but {want} in the model")
    arrays = _npz_arrays(path, [k for k, _ in named])
    for (k, _), a in zip(named, arrays):
        if np.issubdtype(a.dtype, np.inexact) and not np.isfinite(a).all():
            raise ConfigError(f"{path}: weight {k} holds {int((~np.isfinite(a)).sum())} NaN or infinite values "
                              f"(a diverged or damaged file)")
    model.set_weights(arrays)


def _npz_headers(path: Any) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{key: (shape, dtype)}`` of every array of an ``.npz``, read from the ``.npy`` headers only.

    Refused with one :class:`ConfigError` line: not a zip (or truncated), a member that is not an
    ``.npy`` array, an object dtype, or an array that declares more bytes than its member holds.
    """
    import zipfile
    import zlib

    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with z.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shp, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shp, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
                if dtype.hasobject or dtype.kind not in "fiub":
                    raise ConfigError(f"{path}: array '{key}' has dtype {dtype}, not a numeric weight")
                need = math.prod(shp) * dtype.itemsize
                if need > info.file_size:
                    raise ConfigError(f"{path}: array '{key}' declares shape {tuple(shp)} ({need} bytes) but its "
                                      f"member holds {info.file_size} bytes (a crafted or truncated file)")
                out[key] = (tuple(int(d) for d in shp), dtype)
    except ConfigError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, KeyError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: not a readable weights file ({msg})") from None
    return out


def _npz_arrays(path: Any, keys: Sequence[str]) -> list[np.ndarray]:
    """Arrays of an ``.npz`` already checked by :func:`_npz_headers` (read errors as one line)."""
    import zipfile
    import zlib

    try:
        with np.load(path, allow_pickle=False) as z:
            return [z[k] for k in keys]
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, KeyError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: cannot read the weights ({msg})") from None
