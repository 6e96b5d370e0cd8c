"""Datasets of the course labs as numpy arrays, found locally or downloaded and verified.

Lookup order for every loader (the first that has the files wins): an explicit ``path`` argument →
the folder(s) in ``$INITLAB_DATA`` → the user cache (``$XDG_CACHE_HOME/initlab`` or ``~/.cache/initlab``)
→ a download of the canonical files, kept only when their SHA-256 matches the table in
:mod:`initlab.datasets._sources` → a one-line :class:`DatasetError` saying which files to put where.
``$INITLAB_OFFLINE=1`` (or ``download=False``) skips the download step.

=================== ========================================================== ====================================================
loader              returns                                                    files
=================== ========================================================== ====================================================
load_mnist          Split uint8 (60000|10000, 28, 28), uint8 labels            mnist/*-idx?-ubyte[.gz] or mnist.npz
load_fashion_mnist  same as MNIST, 10 clothing classes                         fashion-mnist/*-idx?-ubyte[.gz] or fashion-mnist.npz
load_pima           Table float64 (768, 8), int64 0/1                          pima-indians-diabetes.csv
load_boston_housing Split float64 (404|102, 13), float64 targets (Keras split) boston-housing.csv or boston_housing.npz
load_iris           Table float64 (150, 4), int64 0..2 + class names           iris.csv
load_imdb           Split of int32 sequences (Keras semantics)                 imdb.npz (SHA-256 checked before unpickling)
load_movie_reviews  Split float32 multi-hot (1600|400, num_words)              review_polarity.tar.gz
=================== ========================================================== ====================================================
"""

from ._lookup import ENV_DATA, ENV_OFFLINE, Found, cache_dir, data_dirs, fetch, find_local, locate
from ._sources import DATASETS, DatasetError, DatasetInfo, HashMismatchError, get_info
from .loaders import (
    BOSTON_FEATURES,
    FASHION_MNIST_CLASSES,
    IRIS_FEATURES,
    MNIST_CLASSES,
    PIMA_FEATURES,
    Split,
    Table,
    load_boston_housing,
    load_fashion_mnist,
    load_iris,
    load_mnist,
    load_pima,
    train_test_indices,
)
from .text import SENTIMENT_CLASSES, load_imdb, load_movie_reviews, multi_hot, tokenize

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "DatasetError",
    "HashMismatchError",
    "get_info",
    "ENV_DATA",
    "ENV_OFFLINE",
    "Found",
    "cache_dir",
    "data_dirs",
    "find_local",
    "locate",
    "fetch",
    "Split",
    "Table",
    "train_test_indices",
    "load_mnist",
    "load_fashion_mnist",
    "load_pima",
    "load_boston_housing",
    "load_iris",
    "load_imdb",
    "load_movie_reviews",
    "multi_hot",
    "tokenize",
    "MNIST_CLASSES",
    "FASHION_MNIST_CLASSES",
    "PIMA_FEATURES",
    "BOSTON_FEATURES",
    "IRIS_FEATURES",
    "SENTIMENT_CLASSES",
]
