"""Loaders for the course's numeric datasets: MNIST, Fashion-MNIST, Pima, Boston housing, iris.

Each loader finds its files with the lookup of :mod:`initlab.datasets._lookup` (explicit ``path`` →
``$INITLAB_DATA`` → user cache → verified download → error), validates them by format and returns
numpy arrays in a :class:`Split` (train/test) or a :class:`Table` (one table of samples).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from .._spec import ConfigError
from ._formats import IDX_IMAGES, IDX_LABELS, read_csv, read_idx, read_npz
from ._lookup import Found, locate
from ._sources import PICKLE_SHA256, DatasetError, get_info

__all__ = [
    "Split", "Table", "train_test_indices", "load_mnist", "load_fashion_mnist", "load_pima",
    "load_boston_housing", "load_iris", "MNIST_CLASSES", "FASHION_MNIST_CLASSES", "PIMA_FEATURES",
    "BOSTON_FEATURES", "IRIS_FEATURES",
]

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot")
PIMA_FEATURES = ("pregnancies", "glucose", "blood_pressure", "skin_thickness", "insulin", "bmi",
                 "diabetes_pedigree", "age")
BOSTON_FEATURES = ("CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT")
IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


@dataclass(frozen=True, eq=False)
class Split:
    """A dataset's train and test parts.

    Unpacks like Keras' ``load_data``: ``(x_train, y_train), (x_test, y_test) = split``.

    Attributes
    ----------
    name : str
    x_train, y_train, x_test, y_test : ndarray
        Samples on axis 0 (for the text sets ``x`` may be an object array of int32 sequences).
    class_names : tuple of str
        Label ``k`` is ``class_names[k]`` (empty for regression).
    feature_names : tuple of str
    files : tuple of Path
        The files read.
    word_index : mapping or None
        Word → frequency rank (1 = most frequent), for the text sets built here.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    word_index: Mapping[str, int] | None = None

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield self.x_train, self.y_train
        yield self.x_test, self.y_test


@dataclass(frozen=True, eq=False)
class Table:
    """One table of samples ``x`` (n, d) with targets ``y`` (n,); unpacks as ``x, y = table``."""

    name: str
    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.x
        yield self.y

    def split(self, test_fraction: float = 0.25, seed: int = 0) -> Split:
        """Shuffle and split as scikit-learn's ``train_test_split`` (see :func:`train_test_indices`)."""
        train, test = train_test_indices(len(self.x), test_fraction, seed)
        return Split(self.name, self.x[train], self.y[train], self.x[test], self.y[test],
                     self.class_names, self.feature_names, self.files)


def train_test_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a shuffled train/test split, the same as scikit-learn's
    ``train_test_split(..., test_size=test_fraction, random_state=seed)`` (no stratification).

    With ``p = RandomState(seed).permutation(n)`` and :math:`n_{test} = \\lceil f\\, n \\rceil`, the test
    indices are ``p[:n_test]`` and the train indices ``p[n_test:]``. The legacy ``RandomState`` is a local
    object (no global state); it is used only to match that split.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = math.ceil(test_fraction * n)
    if not 0 < n_test < n:
        raise ConfigError(f"test_fraction {test_fraction} leaves an empty train or test set of {n} samples")
    perm = np.random.RandomState(seed).permutation(n)
    return perm[n_test:], perm[:n_test]


def _pickle_sha(path: Path) -> str | None:
    return PICKLE_SHA256.get(path.name)


def _check_images(path: Path, x: np.ndarray, y: np.ndarray, part: str, n_classes: int = 10) -> None:
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DatasetError(f"{path}: {part} images are {x.dtype} {x.shape}, expected uint8 (n, 28, 28)")
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DatasetError(f"{path}: {part} labels are {y.dtype} {y.shape}, expected integers (n,)")
    if len(x) != len(y):
        raise DatasetError(f"{path}: {len(x)} {part} images but {len(y)} labels")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise DatasetError(f"{path}: {part} labels outside 0..{n_classes - 1}")


def _load_images(name: str, path, download: bool, class_names: tuple[str, ...]) -> Split:
    found: Found = locate(get_info(name), path, download=download)
    if found.kind == "idx":
        tr_x, tr_y, te_x, te_y = found.files
        x_train, y_train = read_idx(tr_x, IDX_IMAGES, (28, 28)), read_idx(tr_y, IDX_LABELS)
        x_test, y_test = read_idx(te_x, IDX_IMAGES, (28, 28)), read_idx(te_y, IDX_LABELS)
        _check_images(tr_x, x_train, y_train, "train")
        _check_images(te_x, x_test, y_test, "test")
    else:
        f = found.files[0]
        a = read_npz(f, ("x_train", "y_train", "x_test", "y_test"), _pickle_sha(f))
        x_train, x_test = a["x_train"], a["x_test"]
        _check_images(f, x_train, a["y_train"], "train")
        _check_images(f, x_test, a["y_test"], "test")
        y_train, y_test = a["y_train"].astype(np.uint8), a["y_test"].astype(np.uint8)
    return Split(name, x_train, y_train, x_test, y_test, class_names, (), found.files)


def load_mnist(path: str | os.PathLike | None = None, *, download: bool = True) -> Split:
    """MNIST handwritten digits.

    Read from the four IDX files (``mnist/train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, gzipped or not) or from the Keras ``mnist.npz``.

    Parameters
    ----------
    path : path-like, optional
        A folder holding those files, or an ``.npz`` file; by default the lookup order of
        :mod:`initlab.datasets`.
    download : bool
        Download (and verify) the canonical files into the cache when they are nowhere else.

    Returns
    -------
    Split
        ``x_train`` uint8 (60000, 28, 28), ``y_train`` uint8 (60000,), ``x_test`` uint8 (10000, 28, 28),
        ``y_test`` uint8 (10000,); pixels 0..255, labels 0..9 (the canonical files; other sizes are
        accepted when the files are consistent).
    """
    return _load_images("mnist", path, download, MNIST_CLASSES)


def load_fashion_mnist(path: str | os.PathLike | None = None, *, download: bool = True) -> Split:
    """Fashion-MNIST (Zalando): same formats, shapes and dtypes as :func:`load_mnist`.

    Files under ``fashion-mnist/`` (same IDX file names as MNIST) or ``fashion-mnist.npz``; the class
    names are in :data:`FASHION_MNIST_CLASSES`.
    """
    return _load_images("fashion-mnist", path, download, FASHION_MNIST_CLASSES)


def load_pima(path: str | os.PathLike | None = None, *, download: bool = True) -> Table:
    """Pima Indians diabetes (UCI), ``pima-indians-diabetes.csv`` (no header, 768 rows x 9 columns).

    Returns
    -------
    Table
        ``x`` float64 (768, 8) (:data:`PIMA_FEATURES`), ``y`` int64 (768,) with the 0/1 outcome.
    """
    found = locate(get_info("pima"), path, download=download)
    f = found.files[0]
    v, _ = read_csv(f, 9, 768)
    y = v[:, 8]
    if not np.isin(y, (0.0, 1.0)).all():
        raise DatasetError(f"{f}: the outcome column (9th) holds values other than 0 and 1")
    return Table("pima", v[:, :8].copy(), y.astype(np.int64), ("0", "1"), PIMA_FEATURES, found.files)


def load_boston_housing(path: str | os.PathLike | None = None, *, test_split: float = 0.2, seed: int = 113,
                        download: bool = True) -> Split:
    """Boston housing with Keras' train/test split.

    Read from ``boston-housing.csv`` (506 rows x 14 columns, original order, no header) or the Keras
    ``boston_housing.npz`` (``x`` (506, 13), ``y`` (506,)). The split is Keras'
    ``boston_housing.load_data(test_split, seed)``: ``idx = arange(506)`` shuffled in place by
    ``np.random.RandomState(seed).shuffle``, rows reordered by ``idx``, then the first
    ``int(506 * (1 - test_split))`` rows are train and the rest test.

    Returns
    -------
    Split
        With the defaults ``x_train`` float64 (404, 13), ``y_train`` float64 (404,) (median value, k$),
        ``x_test`` (102, 13), ``y_test`` (102,); ``feature_names`` :data:`BOSTON_FEATURES`.
    """
    if not 0.0 <= test_split < 1.0:
        raise ConfigError(f"test_split must be in [0, 1), got {test_split}")
    found = locate(get_info("boston-housing"), path, download=download)
    f = found.files[0]
    if found.kind == "csv":
        v, _ = read_csv(f, 14, 506)
        x, y = v[:, :13], v[:, 13]
    else:
        a = read_npz(f, ("x", "y"), _pickle_sha(f))
        x, y = np.asarray(a["x"], dtype=np.float64), np.asarray(a["y"], dtype=np.float64)
        if x.shape != (506, 13) or y.shape != (506,):
            raise DatasetError(f"{f}: arrays x {x.shape} and y {y.shape}, expected (506, 13) and (506,)")
    idx = np.arange(len(x))
    np.random.RandomState(seed).shuffle(idx)
    x, y = x[idx], y[idx]
    n_train = int(len(x) * (1 - test_split))
    return Split("boston-housing", x[:n_train], y[:n_train], x[n_train:], y[n_train:], (), BOSTON_FEATURES,
                 found.files)


def load_iris(path: str | os.PathLike | None = None, *, download: bool = True) -> Table:
    """Fisher's iris, ``iris.csv`` (the UCI ``iris.data``: 150 rows, 4 numbers and the species name).

    Returns
    -------
    Table
        ``x`` float64 (150, 4) (:data:`IRIS_FEATURES`, cm), ``y`` int64 (150,) in 0..2, ``class_names``
        the species in order of first appearance with any ``Iris-`` prefix removed
        (``("setosa", "versicolor", "virginica")``).
    """
    found = locate(get_info("iris"), path, download=download)
    f = found.files[0]
    x, names = read_csv(f, 5, 150, text_last=True)
    classes = tuple(dict.fromkeys(names))
    if len(classes) != 3:
        raise DatasetError(f"{f}: {len(classes)} species in the 5th column, expected 3")
    code = {c: i for i, c in enumerate(classes)}
    y = np.array([code[n] for n in names], dtype=np.int64)
    class_names = tuple(c.removeprefix("Iris-") for c in classes)
    return Table("iris", x, y, class_names, IRIS_FEATURES, found.files)
