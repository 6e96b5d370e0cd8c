"""Small synthetic data files in the real datasets' formats, so the lab tests run offline in seconds.

The classes are learnable (each MNIST class is a bright block at its own place, Pima's outcome follows
a linear rule, ...), so a trained model does clearly better than chance, but nothing here is real data.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from pathlib import Path

import numpy as np

__all__ = ["write_fixture_data"]


def _idx(path: Path, arr: np.ndarray, magic: int) -> None:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.astype(np.uint8).tobytes())


def _digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 10
    rng.shuffle(y)
    x = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(y):
        r, col = divmod(int(c), 5)
        x[i, 4 + 10 * r: 12 + 10 * r, 1 + 5 * col: 6 + 5 * col] = 230
    return x, y.astype(np.uint8)


def write_fixture_data(root: str | Path, seed: int = 0) -> Path:
    """Write ``mnist/*.gz`` (600 + 200 images), ``pima-indians-diabetes.csv`` (768 rows),
    ``boston-housing.csv`` (506 rows), ``iris.csv`` (150 rows) and ``review_polarity.tar.gz``
    (60 + 60 reviews) under ``root``; returns ``root``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    (root / "mnist").mkdir(parents=True, exist_ok=True)
    for part, n in (("train", 600), ("t10k", 200)):
        x, y = _digits(n, rng)
        _idx(root / "mnist" / f"{part}-images-idx3-ubyte.gz", x, 2051)
        _idx(root / "mnist" / f"{part}-labels-idx1-ubyte.gz", y, 2049)

    x = np.abs(rng.normal(size=(768, 8))) * np.array([3, 120, 70, 20, 80, 32, 0.5, 33])
    y = (x[:, 1] / 120 + x[:, 5] / 32 + rng.normal(scale=0.3, size=768) > 2.0).astype(int)
    np.savetxt(root / "pima-indians-diabetes.csv", np.column_stack([x, y]), delimiter=",", fmt="%.3f")

    xb = np.abs(rng.normal(size=(506, 13))) * 5
    yb = 20 + 2 * xb[:, 5] - 0.5 * xb[:, 12] + rng.normal(size=506)
    np.savetxt(root / "boston-housing.csv", np.column_stack([xb, yb]), delimiter=",", fmt="%.4f")

    names = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    lines = []
    for i in range(150):
        c = i // 50
        v = rng.normal(size=4) * 0.3 + np.array([5.0, 3.4, 1.5, 0.2]) + c * np.array([0.9, -0.6, 2.7, 1.1])
        lines.append(",".join(f"{a:.1f}" for a in v) + f",{names[c]}")
    (root / "iris.csv").write_text("\n".join(lines) + "\n")

    good, bad, filler = ["great", "superb", "moving", "fine"], ["awful", "boring", "dull", "poor"], \
        ["the", "film", "plot", "actor", "scene", "story", "a", "was"]
    with tarfile.open(root / "review_polarity.tar.gz", "w:gz") as tar:
        for label, words in (("pos", good), ("neg", bad)):
            for i in range(60):
                text = " ".join(rng.choice(filler + words, size=40)).encode()
                info = tarfile.TarInfo(f"txt_sentoken/{label}/cv{i:03d}_{label}.txt")
                info.size = len(text)
                tar.addfile(info, io.BytesIO(text))
    return root
