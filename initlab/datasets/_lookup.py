"""Finding a dataset's files, in this order (the first that has them wins):

1. an explicit ``path`` argument (a file, or a folder holding the files);
2. the folder(s) named by ``$INITLAB_DATA`` (``os.pathsep``-separated);
3. the user cache, ``$XDG_CACHE_HOME/initlab`` or else ``~/.cache/initlab``;
4. a download from the canonical source into the cache, written to a temporary name and renamed
   only once its SHA-256 matches the known one (a mismatch deletes the temporary file and raises);
5. otherwise a one-line :class:`DatasetError` naming the files expected, where to put them and the
   environment variable.

Downloads are skipped (straight to step 5) when ``download=False`` or ``$INITLAB_OFFLINE`` is set.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .._io import atomic_write
from ..progress import Progress
from ._sources import DatasetError, DatasetInfo, HashMismatchError, Layout, Remote, get_info

__all__ = [
    "ENV_DATA", "ENV_OFFLINE", "Found", "cache_dir", "data_dirs", "find_local", "locate", "fetch",
    "download_file", "sha256_file",
]

ENV_DATA = "INITLAB_DATA"
ENV_OFFLINE = "INITLAB_OFFLINE"
_CHUNK = 1 << 20
_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Found:
    """Where a dataset was found: the layout ``kind``, its files (one per slot) and the ``origin``.

    ``origin`` is ``"path"``, ``"INITLAB_DATA"``, ``"cache"`` or ``"download"``.
    """

    name: str
    kind: str
    files: tuple[Path, ...]
    origin: str


def cache_dir() -> Path:
    """The user cache folder: ``$XDG_CACHE_HOME/initlab`` (an absolute path) or else ``~/.cache/initlab``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "initlab"


def data_dirs() -> list[Path]:
    """The folders named by ``$INITLAB_DATA`` (empty when it is unset)."""
    raw = os.environ.get(ENV_DATA, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _first_file(root: Path, names: Iterable[str]) -> Path | None:
    for name in names:
        p = root / name
        if p.is_file():
            return p
    return None


def _match(layout: Layout, root: Path, flat: bool = False) -> tuple[Path, ...] | None:
    """The files of ``layout`` under ``root`` (also by bare file name when ``flat``), or ``None``."""
    files = []
    for slot in layout.slots:
        names = list(slot) + ([Path(n).name for n in slot] if flat else [])
        p = _first_file(root, dict.fromkeys(names))
        if p is None:
            return None
        files.append(p)
    return tuple(files)


def _sniff_kind(info: DatasetInfo, path: Path) -> str:
    """The layout kind of a single explicit file, from the dataset's one-file layouts and its first bytes."""
    kinds = [lay.kind for lay in info.layouts if len(lay.slots) == 1]
    if not kinds:
        raise DatasetError(f"{info.name}: {path} is a file; pass the folder holding {info.expected}")
    if len(kinds) == 1:
        return kinds[0]
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK") and "npz" in kinds:
        return "npz"
    return next(k for k in kinds if k != "npz")


def _in_dir(info: DatasetInfo, root: Path, origin: str, flat: bool = False) -> Found | None:
    for layout in info.layouts:
        files = _match(layout, root, flat=flat)
        if files is not None:
            return Found(info.name, layout.kind, files, origin)
    return None


def find_local(name: str | DatasetInfo, path: str | os.PathLike | None = None) -> Found | None:
    """Steps 1-3 of the lookup: explicit ``path``, ``$INITLAB_DATA``, the cache; ``None`` if absent.

    An explicit ``path`` that does not exist or does not hold the dataset is an error, never skipped.
    """
    info = name if isinstance(name, DatasetInfo) else get_info(name)
    if path is not None:
        p = Path(path).expanduser()
        if p.is_file():
            return Found(info.name, _sniff_kind(info, p), (p,), "path")
        if not p.is_dir():
            raise DatasetError(f"{info.name}: {p} does not exist")
        found = _in_dir(info, p, "path", flat=True)
        if found is None:
            raise DatasetError(f"{info.name}: {p} does not hold {info.expected}")
        return found
    for d in data_dirs():
        found = _in_dir(info, d, ENV_DATA)
        if found is not None:
            return found
    return _in_dir(info, cache_dir(), "cache")


def not_found_message(info: DatasetInfo, reason: str) -> str:
    """The one-line error for a dataset that is nowhere: the files expected, where to put them, the env var."""
    env = os.environ.get(ENV_DATA)
    now = f"now {env}" if env else "unset"
    return (f"{info.name} not found: put {info.expected} in the folder named by ${ENV_DATA} ({now}) "
            f"or in {cache_dir()}, or pass its path ({reason})")


def _offline() -> bool:
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in ("", "0", "false", "no")


def locate(name: str | DatasetInfo, path: str | os.PathLike | None = None, *, download: bool = True,
           progress: bool = True) -> Found:
    """The whole lookup (steps 1-5); see the module docstring."""
    info = name if isinstance(name, DatasetInfo) else get_info(name)
    found = find_local(info, path)
    if found is not None:
        return found
    if not download:
        raise DatasetError(not_found_message(info, "download=False"))
    return fetch(info, progress=progress)


def fetch(name: str | DatasetInfo, *, progress: bool = True) -> Found:
    """Download the dataset's canonical files into the cache (files already cached are kept).

    Refused when ``$INITLAB_OFFLINE`` is set. Failures raise a one-line :class:`DatasetError`.
    """
    info = name if isinstance(name, DatasetInfo) else get_info(name)
    if _offline():
        raise DatasetError(not_found_message(info, f"downloads are off because ${ENV_OFFLINE} is set"))
    root = cache_dir()
    for remote in info.downloads:
        dest = root / remote.relpath
        if not dest.is_file():
            try:
                download_file(remote, dest, progress=progress)
            except HashMismatchError:
                raise
            except DatasetError as exc:
                raise DatasetError(not_found_message(info, str(exc))) from None
    found = _in_dir(info, root, "download")
    if found is None:  # a table error: the downloads do not form a layout
        raise DatasetError(f"{info.name}: the downloaded files do not form a readable layout")
    return found


def _open_url(url: str, timeout: float):
    """Open ``url`` for reading (the one place that touches the network; tests replace it)."""
    import urllib.request  # loaded only when a download happens (it pulls in http, ssl and email)

    req = urllib.request.Request(url, headers={"User-Agent": "initlab"})
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (https/http URLs from the table)


def download_file(remote: Remote, dest: str | os.PathLike, *, progress: bool = True) -> Path:
    """Download ``remote`` to ``dest``: stream into a temporary file beside it while hashing, rename
    only when the SHA-256 equals ``remote.sha256``.

    Mirrors are tried in order when a connection fails. A hash mismatch deletes the temporary file and
    raises :class:`HashMismatchError` (no other mirror is tried). A remote without a known hash is
    refused.
    """
    dest = Path(dest)
    if not remote.sha256:
        raise DatasetError(f"no verified SHA-256 is known for {remote.relpath}; refusing to download it, "
                           f"put the file at {dest} yourself")
    errors: list[str] = []
    for url in remote.urls:
        try:
            resp = _open_url(url, _TIMEOUT_S)
        except (OSError, ValueError) as exc:  # urllib's URLError is an OSError
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
            continue
        try:
            with resp:
                _stream_verified(resp, dest, remote, url, progress)
            return dest
        except HashMismatchError:
            raise
        except (OSError, EOFError) as exc:
            errors.append(f"{url}: {exc}")
    raise DatasetError(f"download of {remote.relpath} failed ({'; '.join(errors) or 'no URL'})")


def _stream_verified(resp, dest: Path, remote: Remote, url: str, progress: bool) -> None:
    headers = getattr(resp, "headers", None)
    total = int(headers.get("Content-Length") or 0) if headers is not None else 0
    h = hashlib.sha256()
    with atomic_write(dest, "wb") as fh, Progress(max(total, 1), f"downloading {remote.relpath}",
                                                  enabled=progress and total > 0) as bar:
        while True:
            chunk = resp.read(_CHUNK)
            if not chunk:
                break
            fh.write(chunk)
            h.update(chunk)
            bar.update(len(chunk))
        got = h.hexdigest()
        if got != remote.sha256:
            raise HashMismatchError(f"{url}: SHA-256 {got} is not the expected {remote.sha256}; "
                                    f"download discarded")
