"""Checking local dataset files against the SHA-256 values known for them (``initlab data verify``).

A local file is compared with, in order:

1. the SHA-256 of the canonical download of the same name (:data:`~initlab.datasets._sources.DATASETS`);
2. for a gzipped file, the SHA-256 of its *decompressed* contents against the known hash of the
   canonical uncompressed file (:data:`CONTENT_SHA256`; re-compressed copies, such as a shared
   folder's, differ in their gzip bytes but not in their contents); an uncompressed file is compared
   with the same table directly.

The verdicts: ``ok`` (a known hash matches), ``MISMATCH`` (a known content hash differs: the data
were changed, e.g. a flipped label byte), ``different`` (only the download's hash is known and the
file is not that file: a re-encoded copy, read and validated by its format, not by hash), and
``unknown`` (no hash is known for this file).

Provenance of :data:`CONTENT_SHA256`: the SHA-256 of the four uncompressed MNIST IDX files as pinned
by many independent public projects (build scripts, dataset loaders and papers' artifact manifests
that download from the LeCun, CVDF and PyTorch mirrors), all agreeing.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

from ._lookup import Found, find_local, sha256_file
from ._sources import DatasetInfo, get_info

__all__ = ["CONTENT_SHA256", "FileCheck", "verify_dataset", "verify_file"]

#: SHA-256 of canonical uncompressed files, by file name.
CONTENT_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
#: Which datasets :data:`CONTENT_SHA256` describes (its names are shared by Fashion-MNIST's files).
_CONTENT_DATASETS = ("mnist",)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileCheck:
    """The verdict on one local file: ``status`` is ``ok``, ``MISMATCH``, ``different`` or ``unknown``."""

    dataset: str
    path: Path
    status: str
    detail: str


def _gunzip_sha256(path: Path) -> str | None:
    """SHA-256 of the decompressed contents of a gzip file, streamed (None if it is not valid gzip)."""
    h = hashlib.sha256()
    d = zlib.decompressobj(wbits=31)
    try:
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                while chunk:
                    h.update(d.decompress(chunk, _CHUNK))
                    chunk = d.unconsumed_tail
                    if d.eof:
                        chunk = b""
    except (OSError, zlib.error):
        return None
    return h.hexdigest() if d.eof else None


def verify_file(info: DatasetInfo, path: Path) -> FileCheck:
    """Compare one local file of ``info`` with the hashes known for it (see the module docstring)."""
    path = Path(path)
    downloads = {Path(r.relpath).name: r.sha256 for r in info.downloads if r.sha256}
    got = sha256_file(path)
    if downloads.get(path.name) == got:
        return FileCheck(info.name, path, "ok", "the canonical download")
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    want = CONTENT_SHA256.get(stem) if info.name in _CONTENT_DATASETS else None
    if want is not None:
        content = _gunzip_sha256(path) if path.name.endswith(".gz") else got
        if content == want:
            return FileCheck(info.name, path, "ok", "the canonical contents (re-compressed)"
                             if path.name.endswith(".gz") else "the canonical contents")
        return FileCheck(info.name, path, "MISMATCH", f"contents SHA-256 {content or 'unreadable gzip'} is not "
                                                      f"the canonical {want}")
    if path.name in downloads:
        return FileCheck(info.name, path, "different", f"SHA-256 {got[:16]}… is not the canonical download's "
                                                       f"(a re-encoded copy? it is validated by its format)")
    return FileCheck(info.name, path, "unknown", f"no known hash for this file (SHA-256 {got[:16]}…)")


def verify_dataset(name: str | DatasetInfo, path=None) -> tuple[Found | None, list[FileCheck]]:
    """Find a dataset locally (as the loaders do) and check each of its files; (None, []) if absent."""
    info = name if isinstance(name, DatasetInfo) else get_info(name)
    found = find_local(info, path)
    if found is None:
        return None, []
    return found, [verify_file(info, f) for f in found.files]

