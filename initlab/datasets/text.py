"""Text datasets as word-index sequences: the Keras IMDB set and the movie-review polarity set.

Both use Keras' encoding: a word's index is its frequency rank (1 = most frequent) plus ``index_from``
(3), sequences start with ``start_char`` (1), and words ranked past ``num_words`` become ``oov_char`` (2);
0 is padding. :func:`multi_hot` turns sequences into the 0/1 bag-of-words matrix of the course notes.
"""

from __future__ import annotations

import itertools
import os
import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from .._spec import ConfigError
from ._formats import read_npz, read_tar_texts
from ._lookup import locate
from ._sources import IMDB_SHA256, DatasetError, get_info
from .loaders import Split

__all__ = ["load_imdb", "load_movie_reviews", "multi_hot", "tokenize", "SENTIMENT_CLASSES"]

SENTIMENT_CLASSES = ("negative", "positive")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
_POLARITY_MEMBER = r"(?:^|/)txt_sentoken/(pos|neg)/[^/]+\.txt$"


def tokenize(text: str) -> list[str]:
    """Lower-case words: runs of letters and digits, with inner apostrophes kept (``"don't"``)."""
    return _TOKEN.findall(text.lower())


def multi_hot(sequences: Iterable[Sequence[int]], num_words: int, dtype=np.float32) -> np.ndarray:
    """The multi-hot (bag-of-words) matrix of word-index sequences.

    .. math:: M_{ij} = 1 \\text{ if word index } j \\text{ occurs in sequence } i \\text{ else } 0

    Parameters
    ----------
    sequences : iterable of int sequences
        ``n`` sequences of word indices in ``0 .. num_words - 1``.
    num_words : int
        The number of columns.
    dtype : numpy dtype

    Returns
    -------
    ndarray of shape (n, num_words)
    """
    if int(num_words) < 1:
        raise ConfigError(f"num_words must be positive, got {num_words}")
    seqs = [np.asarray(s, dtype=np.int64).ravel() for s in sequences]
    out = np.zeros((len(seqs), int(num_words)), dtype=dtype)
    if not seqs:
        return out
    cols = np.concatenate(seqs)
    if cols.size and (cols.min() < 0 or cols.max() >= num_words):
        raise ConfigError(f"word index {int(cols.max()) if cols.max() >= num_words else int(cols.min())} "
                          f"is outside 0..{int(num_words) - 1}")
    rows = np.repeat(np.arange(len(seqs)), [len(s) for s in seqs])
    out[rows, cols] = 1
    return out


def _to_flat(x: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """An object array of int lists → (flat int64 values, lengths)."""
    try:
        lengths = np.fromiter((len(s) for s in x), dtype=np.int64, count=len(x))
        flat = np.fromiter(itertools.chain.from_iterable(x), dtype=np.int64, count=int(lengths.sum()))
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: sequences that are not lists of integers") from None
    if flat.size and flat.min() < 0:
        raise DatasetError(f"{where}: negative word indices")
    return flat, lengths


def _as_sequences(flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    out = np.empty(len(lengths), dtype=object)
    if len(lengths):
        for i, s in enumerate(np.split(flat.astype(np.int32), np.cumsum(lengths)[:-1])):
            out[i] = s
    return out


def _prepend(flat: np.ndarray, lengths: np.ndarray, value: int) -> tuple[np.ndarray, np.ndarray]:
    new_len = lengths + 1
    starts = np.cumsum(new_len) - new_len
    out = np.empty(int(new_len.sum()), dtype=np.int64)
    mask = np.ones(out.size, dtype=bool)
    mask[starts] = False
    out[starts] = value
    out[mask] = flat
    return out, new_len


def _keep_rows(flat: np.ndarray, lengths: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return flat[np.repeat(keep, lengths)], lengths[keep]


def load_imdb(path: str | os.PathLike | None = None, *, num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2,
              index_from: int = 3, as_multi_hot: bool = False, download: bool = True) -> Split:
    """The Keras IMDB reviews (``imdb.npz``, 25,000 train + 25,000 test), with ``keras.datasets.imdb.load_data``
    semantics.

    ``imdb.npz`` holds pickled lists, so it is unpickled only after its SHA-256 equals the canonical
    ``69664113…`` (any other file is refused). Then, as Keras does: one ``np.random.RandomState(seed)``
    shuffles the train order, then the test order; every index becomes ``w + index_from`` and sequences
    get ``start_char`` in front; with ``maxlen`` only sequences shorter than ``maxlen`` are kept; with
    ``num_words = None`` it becomes the largest index present; an index ``w`` outside
    ``skip_top <= w < num_words`` becomes ``oov_char`` (or is dropped when ``oov_char`` is None).

    Returns
    -------
    Split
        ``x_*`` object arrays of int32 sequences (or, with ``as_multi_hot``, float32 (n, num_words)
        matrices from :func:`multi_hot`); ``y_*`` int64 0/1 (``class_names`` negative, positive).
    """
    found = locate(get_info("imdb"), path, download=download)
    f = found.files[0]
    a = read_npz(f, ("x_train", "y_train", "x_test", "y_test"), IMDB_SHA256)
    parts = []
    rng = np.random.RandomState(seed)
    for part in ("train", "test"):
        x, y = a[f"x_{part}"], np.asarray(a[f"y_{part}"]).astype(np.int64)
        if x.ndim != 1 or y.shape != (len(x),):
            raise DatasetError(f"{f}: x_{part} {x.shape} and y_{part} {y.shape} do not match")
        idx = np.arange(len(x))
        rng.shuffle(idx)
        flat, lengths = _to_flat(x[idx], f"{f} x_{part}")
        flat = flat + index_from
        if start_char is not None:
            flat, lengths = _prepend(flat, lengths, start_char)
        y = y[idx]
        if maxlen:
            keep = lengths < maxlen
            flat, lengths = _keep_rows(flat, lengths, keep)
            y = y[keep]
            if not len(y):
                raise ConfigError(f"no {part} sequence is shorter than maxlen={maxlen}; increase maxlen")
        parts.append((flat, lengths, y))
    if not num_words:
        num_words = int(max(p[0].max(initial=0) for p in parts))
    out = []
    for flat, lengths, y in parts:
        bad = (flat < skip_top) | (flat >= num_words)
        if oov_char is not None:
            flat = np.where(bad, oov_char, flat)
        else:
            rows = np.repeat(np.arange(len(lengths)), lengths)
            lengths = lengths - np.bincount(rows[bad], minlength=len(lengths))
            flat = flat[~bad]
        seqs = _as_sequences(flat, lengths)
        out.append((multi_hot(seqs, num_words) if as_multi_hot else seqs, y))
    (xtr, ytr), (xte, yte) = out
    return Split("imdb", xtr, ytr, xte, yte, SENTIMENT_CLASSES, (), found.files)


def load_movie_reviews(path: str | os.PathLike | None = None, *, num_words: int | None = 10000,
                       test_fraction: float = 0.2, seed: int = 113, as_multi_hot: bool = True,
                       start_char: int = 1, oov_char: int = 2, index_from: int = 3,
                       download: bool = True) -> Split:
    """Movie-review polarity v2.0 (``review_polarity.tar.gz``: ``txt_sentoken/pos|neg/*.txt``).

    The archive is read in memory (never extracted; unsafe members are refused). Each review is
    :func:`tokenize`-d. The split is stratified and seeded: within each class, in member-name order,
    ``np.random.default_rng(seed)`` permutes the reviews and the first ``round(test_fraction * n_class)``
    go to test; train and test are then shuffled by the same generator. With the canonical archive and
    the defaults that is **1,600 train (800 + 800) and 400 test (200 + 200)**.

    The vocabulary is ranked by word count over the *training* reviews (ties by the word), and reviews
    are encoded as in :func:`load_imdb`: ``start_char``, then ``rank + index_from`` for each word seen in
    training (unseen words are skipped, as in Keras' IMDB), ``oov_char`` for indices ``>= num_words``.

    Returns
    -------
    Split
        With ``as_multi_hot`` (default) ``x_*`` float32 (n, num_words) multi-hot matrices; otherwise
        object arrays of int32 sequences. ``y_*`` int64, 1 = positive; ``word_index`` maps each training
        word to its rank.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if num_words is not None and num_words <= index_from:
        raise ConfigError(f"num_words must exceed index_from={index_from}, got {num_words}")
    found = locate(get_info("movie-reviews"), path, download=download)
    f = found.files[0]
    items = read_tar_texts(f, _POLARITY_MEMBER)
    labels = np.array([1 if lab == "pos" else 0 for lab, _, _ in items], dtype=np.int64)
    for c, cname in ((0, "neg"), (1, "pos")):
        if not (labels == c).any():
            raise DatasetError(f"{f}: no txt_sentoken/{cname}/*.txt reviews in the archive")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(test_fraction * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    train_idx, test_idx = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    if not len(train_idx) or not len(test_idx):
        raise ConfigError(f"test_fraction {test_fraction} leaves an empty train or test set")
    tokens = [tokenize(text) for _, _, text in items]
    counts = Counter(itertools.chain.from_iterable(tokens[i] for i in train_idx))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    word_index = {w: r for r, (w, _) in enumerate(ranked, 1)}
    limit = num_words if num_words is not None else len(word_index) + index_from + 1

    def encode(doc: list[str]) -> np.ndarray:
        ids = [start_char] + [word_index[w] + index_from for w in doc if w in word_index]
        arr = np.asarray(ids, dtype=np.int32)
        return np.where(arr >= limit, oov_char, arr).astype(np.int32)

    def part(sel: np.ndarray):
        seqs = np.empty(len(sel), dtype=object)
        for k, i in enumerate(sel):
            seqs[k] = encode(tokens[i])
        return (multi_hot(seqs, limit) if as_multi_hot else seqs), labels[sel]

    (xtr, ytr), (xte, yte) = part(train_idx), part(test_idx)
    return Split("movie-reviews", xtr, ytr, xte, yte, SENTIMENT_CLASSES, (), found.files, word_index)
