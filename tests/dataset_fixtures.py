"""Fixture writers and an isolated environment shared by the ``test_datasets_*`` modules (not a test module).

Every dataset test runs with an empty temporary cache, ``$INITLAB_DATA`` unset and a network opener that fails
(the autouse fixture ``isolated``; a test module gets it with ``from dataset_fixtures import isolated``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from initlab.datasets import _lookup

__all__ = ["REAL_DATA", "IDX_NAMES", "FakeResponse", "serve", "sha", "idx_bytes", "mnist_arrays",
           "write_idx_set", "pima_text", "boston_array", "iris_text", "polarity_tar", "imdb_fixture", "one_line"]

REAL_DATA = os.environ.get("INITLAB_DATA")


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes, on_read=None):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}
        self._on_read = on_read

    def read(self, n=-1):
        if self._on_read is not None:
            self._on_read()
        return super().read(n)




def serve(monkeypatch, payloads: dict[str, bytes], on_read=None) -> list[str]:
    """Route downloads to ``payloads`` (url -> bytes); other URLs fail like an offline machine."""
    calls: list[str] = []

    def opener(url, timeout):
        calls.append(url)
        if url not in payloads:
            raise urllib.error.URLError("unreachable")
        return FakeResponse(payloads[url], on_read)

    monkeypatch.setattr(_lookup, "_open_url", opener)
    return calls


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- fixture writers
def idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    return struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def mnist_arrays(seed=0, n_train=12, n_test=7):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_train, dtype=np.uint8),
            rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_test, dtype=np.uint8))


IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def write_idx_set(folder: Path, arrays, gz=(True, True, False, False)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, arr, z in zip(IDX_NAMES, arrays, gz):
        data = idx_bytes(arr)
        p = folder / (name + (".gz" if z else ""))
        p.write_bytes(gzip.compress(data) if z else data)
        paths.append(p)
    return paths


def pima_text(seed=0, rows=768, first=None) -> str:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 200, (rows, 8)).astype(float)
    if first is not None:
        x[0, 0] = first
    y = rng.integers(0, 2, rows)
    return "\n".join(",".join(f"{v:g}" for v in row) + f",{t}" for row, t in zip(x, y)) + "\n"


def boston_array(seed=1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(0, 100, (506, 14)), 3)


def iris_text() -> str:
    rng = np.random.default_rng(2)
    lines = []
    for k, sp in enumerate(("Iris-setosa", "Iris-versicolor", "Iris-virginica")):
        for _ in range(50):
            lines.append(",".join(f"{v:.1f}" for v in rng.uniform(1, 7, 4) + k) + f",{sp}")
    return "\n".join(lines) + "\n\n"  # the UCI file ends with a blank line


def polarity_tar(path: Path, n_per_class=10, gz=True, extra=()) -> Path:
    rng = np.random.default_rng(3)
    pos_words, neg_words, common = ["great", "superb", "fun"], ["awful", "boring", "bad"], ["the", "film", "a", "plot"]
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for label, words in (("pos", pos_words), ("neg", neg_words)):
            for i in range(n_per_class):
                body = " ".join(rng.choice(common + words, size=30)) + f" unique{label}{i} . Don't"
                data = body.encode()
                info = tarfile.TarInfo(f"txt_sentoken/{label}/cv{i:03d}_{label}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def imdb_fixture(path: Path, seed=4, n_train=30, n_test=20) -> dict:
    rng = np.random.default_rng(seed)

    def seqs(n):
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = [int(w) for w in rng.integers(1, 60, rng.integers(1, 15))]
        return out

    arrays = {"x_train": seqs(n_train), "y_train": rng.integers(0, 2, n_train),
              "x_test": seqs(n_test), "y_test": rng.integers(0, 2, n_test)}
    np.savez(path, **arrays)
    return arrays


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg
