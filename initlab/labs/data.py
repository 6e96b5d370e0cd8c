"""Data of a lab: load the dataset, split it as the notes do, preprocess, encode the targets.

:func:`load_lab_data` turns a :class:`~initlab.labs.registry.LabConfig` into a :class:`LabData`
(float32 arrays ready for the trainer). Loading goes through :mod:`initlab.datasets`, so the usual
lookup applies (explicit path, ``$INITLAB_DATA``, the cache, a download).

Splits
------
* MNIST, Fashion-MNIST, Keras IMDB: the datasets' own train/test split. Boston housing: Keras' 404/102 split.
* Pima: no split; the notes train and evaluate on all 768 rows.
* Iris: scikit-learn's ``train_test_split(test_size=0.3, random_state=1234)`` order, reproduced without
  scikit-learn: ``perm = RandomState(1234).permutation(150)``, test rows ``perm[:45]``
  (:math:`\\lceil 0.3 \\cdot 150 \\rceil`), training rows ``perm[45:]``. The legacy ``RandomState`` is
  used only for this documented, fixed split (weights and shuffling use ``Generator``).
* Movie-review polarity (the stand-in for Keras IMDB when ``imdb.npz`` is not found): its loader's
  stratified, seeded 1,600 / 400 split; a ``holdout:N`` larger than 40% of the training rows becomes 40%
  (the notes hold out 10,000 of 25,000).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field

import numpy as np

from .._spec import ConfigError
from .config import LabConfig
from .registry import LABS
from .. import datasets as ds

__all__ = ["LabData", "load_lab_data", "train_test_split_indices", "minmax_scale", "fit_transform", "one_hot",
           "WHITEN_EPS"]

MINMAX_EPS = 1e-7


@dataclass
class LabData:
    """Arrays for one lab (float32 inputs; targets as the loss wants them).

    Attributes
    ----------
    x_train, y_train, x_test, y_test : ndarray
        ``y`` is one-hot ``(n, k)`` for multiclass, ``(n, 1)`` 0/1 for binary, ``(n, 1)`` values for regression.
    x_val, y_val : ndarray or None
        The per-epoch validation set (``None`` when the lab monitors nothing).
    labels_test : ndarray of int or None
        Integer class of every evaluated sample (for the mistake analysis).
    images_test : ndarray or None
        The evaluated samples as images (uint8, ``(n, 28, 28)``) for image classifiers.
    class_names : list of str
    source : str
        Which data was used, said in output and report (e.g. the IMDB stand-in).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    labels_test: np.ndarray | None = None
    images_test: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def n_inputs(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.y_train.shape[1])


def train_test_split_indices(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` row indices in scikit-learn's ``train_test_split`` order (no stratification).

    ``perm = np.random.RandomState(seed).permutation(n)``; ``n_test = ceil(test_size * n)``;
    test = ``perm[:n_test]``, train = ``perm[n_test:]``.
    """
    n_test = int(math.ceil(test_size * n))
    if not 0 < n_test < n:
        raise ConfigError(f"test split {test_size} leaves no training or no test rows out of {n}")
    perm = np.random.RandomState(seed).permutation(n)
    return perm[n_test:], perm[:n_test]


def minmax_scale(x: np.ndarray, ref: np.ndarray | None = None, eps: float = MINMAX_EPS) -> np.ndarray:
    """Per-column :math:`(x - \\min) / (\\max - \\min + \\epsilon)`, min and max taken from ``ref``
    (default ``x``), :math:`\\epsilon = 10^{-7}` as in the notes."""
    ref = x if ref is None else ref
    lo, hi = ref.min(axis=0), ref.max(axis=0)
    return ((x - lo) / (hi - lo + eps)).astype(np.float32)


#: Whitening's regulariser, relative to the largest eigenvalue: :math:`\lambda + \epsilon \lambda_{max}`.
WHITEN_EPS = 1e-5


def fit_transform(kind: str, x: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    r"""Fit ``center``, ``standardize``, ``pca`` or ``whiten`` on ``x`` (rows are samples) and apply it to ``x``
    and ``others``; float32 out, statistics in float64.

    ``pca``: :math:`(x - \mu) U` with :math:`U` the eigenvectors of the covariance :math:`C = U \Lambda U^\top`
    (largest first); ``whiten``: :math:`(x - \mu) U (\Lambda + \epsilon\lambda_{max})^{-1/2}`, so the
    training covariance becomes (nearly) the identity.
    """
    x64 = x.astype(np.float64)
    mu = x64.mean(axis=0)
    if kind == "center":
        f = lambda a: a - mu  # noqa: E731
    elif kind == "standardize":
        sd = x64.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        f = lambda a: (a - mu) / sd  # noqa: E731
    elif kind in ("pca", "whiten"):
        c = np.cov(x64 - mu, rowvar=False, bias=True).reshape(x.shape[1], x.shape[1])
        lam, u = np.linalg.eigh(c)
        lam, u = lam[::-1], u[:, ::-1]
        if kind == "whiten":
            u = u / np.sqrt(np.maximum(lam, 0.0) + WHITEN_EPS * max(float(lam[0]), 1e-300))
        f = lambda a: (a - mu) @ u  # noqa: E731
    else:
        raise ConfigError(f"unknown preprocessing '{kind}'")
    return tuple(np.ascontiguousarray(f(a.astype(np.float64)), dtype=np.float32) for a in (x, *others))


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` float32 one-hot rows."""
    out = np.zeros((len(labels), k), dtype=np.float32)
    out[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)] = 1.0
    return out


def _load_raw(cfg: LabConfig, data_path: str | None):
    """``(x_train, y_train, x_test, y_test, class_names, source)`` before preprocessing (cached: the arrays
    are shared between calls and must not be modified in place)."""
    key = (cfg.dataset, cfg.num_words, cfg.test_split, cfg.split_seed,
           None if data_path is None else str(data_path), os.environ.get("INITLAB_DATA"))
    return _load_raw_cached(*key)


@functools.lru_cache(maxsize=4)
def _load_raw_cached(name: str, num_words: int, test_split: float, split_seed: int, data_path: str | None,
                     _env: str | None):

    cfg = LabConfig(name="data", title="", dataset=name, num_words=num_words, test_split=test_split,
                    split_seed=split_seed)

    if name == "mnist":
        (xtr, ytr), (xte, yte) = ds.load_mnist(data_path)
        return xtr, ytr, xte, yte, list(ds.MNIST_CLASSES), f"MNIST ({len(xtr):,} / {len(xte):,})"
    if name == "fashion-mnist":
        (xtr, ytr), (xte, yte) = ds.load_fashion_mnist(data_path)
        return xtr, ytr, xte, yte, list(ds.FASHION_MNIST_CLASSES), f"Fashion-MNIST ({len(xtr):,} / {len(xte):,})"
    if name == "pima":
        x, y = ds.load_pima(data_path)
        source = f"Pima Indians diabetes ({len(x)} rows, trained and evaluated on all)"
        return x, y, x, y, ["no diabetes", "diabetes"], source
    if name == "boston":
        (xtr, ytr), (xte, yte) = ds.load_boston_housing(data_path)
        return xtr, ytr, xte, yte, [], f"Boston housing, Keras split ({len(xtr)} / {len(xte)})"
    if name == "iris":
        x, y, names = _iris(ds, data_path)
        tr, te = train_test_split_indices(len(x), cfg.test_split, cfg.split_seed)
        src = f"iris, {len(te)} test rows (train_test_split order, seed {cfg.split_seed})"
        return x[tr], y[tr], x[te], y[te], names, src
    if name == "imdb":
        return _imdb(ds, cfg, data_path)
    raise ConfigError(f"this lab has no dataset to train on (dataset '{name}')")


def _iris(ds, data_path):
    t = ds.load_iris(data_path)
    return t.x, t.y, list(t.class_names) or ["setosa", "versicolor", "virginica"]


def _imdb(ds, cfg: LabConfig, data_path):
    """Keras IMDB when it is found; otherwise the movie-review polarity set (1,600 / 400, its loader's split)."""
    try:
        sp = ds.load_imdb(data_path, num_words=cfg.num_words, as_multi_hot=True, download=False)
    except ds.DatasetError:
        pass
    else:
        return (sp.x_train, sp.y_train, sp.x_test, sp.y_test, ["negative", "positive"],
                f"Keras IMDB ({len(sp.x_train):,} / {len(sp.x_test):,}), multi-hot {cfg.num_words} words")
    sp = ds.load_movie_reviews(data_path, num_words=cfg.num_words)
    src = (f"Keras IMDB not found: movie-review polarity v2.0 (Pang & Lee 2004) instead, "
           f"{len(sp.x_train):,} train / {len(sp.x_test):,} test reviews, multi-hot {cfg.num_words} words")
    return sp.x_train, sp.y_train, sp.x_test, sp.y_test, ["negative", "positive"], src


def load_lab_data(cfg: LabConfig, data_path: str | None = None) -> LabData:
    """Load, split and preprocess the data of ``cfg`` (its ``subset`` keeps the first training rows)."""
    xtr, ytr, xte, yte, names, source = _load_raw(cfg, data_path)
    same = cfg.eval_on == "train" or xte is xtr
    images = None
    if cfg.subset is not None:
        n = int(cfg.subset)
        xtr, ytr = xtr[:n], ytr[:n]
        if same:
            xte, yte = xtr, ytr
        else:
            xte, yte = xte[:n], yte[:n]
        source += f"; subset: first {len(xtr)} training and {len(xte)} test rows"
    if cfg.is_image:
        images = np.asarray(xte)
    xtr_f = np.array(xtr, dtype=np.float32).reshape(len(xtr), -1)  # copies: the raw arrays are cached
    xte_f = xtr_f if xte is xtr else np.array(xte, dtype=np.float32).reshape(len(xte), -1)
    if cfg.preprocess == "scale255":
        xtr_f /= 255.0
        if xte_f is not xtr_f:
            xte_f /= 255.0
    elif cfg.preprocess == "minmax":
        ref = xtr_f
        xtr_f, xte_f = minmax_scale(xtr_f, ref), minmax_scale(xte_f, ref)
    elif cfg.preprocess in ("center", "standardize", "pca", "whiten"):
        xtr_f, xte_f = fit_transform(cfg.preprocess, xtr_f, xte_f)
    ytr_e, yte_e, labels = _targets(cfg, ytr, yte, len(names))
    xv = yv = None
    head, _, arg = cfg.validation.partition(":")
    if head == "test":
        xv, yv = xte_f, yte_e
    elif head in ("holdout", "split"):
        n_tr = len(xtr_f)
        n_val = int(arg) if head == "holdout" else int(round(float(arg) * n_tr))
        if head == "holdout" and n_val >= n_tr and not _notes_setting(cfg):
            raise ConfigError(f"validation '{cfg.validation}' holds out {n_val} rows but the training set has "
                              f"only {n_tr}")
        if head == "holdout" and n_val > 0.4 * n_tr:  # the notes' holdout on a smaller stand-in dataset
            n_val = int(round(0.4 * n_tr))
            source += f"; {n_val} training rows held out for validation (40%, as 10,000 of 25,000)"
        if not 0 < n_val < n_tr:
            raise ConfigError(f"validation '{cfg.validation}' leaves no training rows out of {n_tr}")
        xv, yv = xtr_f[:n_val], ytr_e[:n_val]
        xtr_f, ytr_e = xtr_f[n_val:], ytr_e[n_val:]
        if same:
            xte_f, yte_e = xtr_f, ytr_e
            labels = labels[n_val:] if labels is not None else None
    return LabData(xtr_f.astype(np.float32, copy=False), ytr_e, xte_f.astype(np.float32, copy=False), yte_e, xv, yv,
                   labels, images, names, source)


def _targets(cfg: LabConfig, ytr, yte, k: int):
    ytr, yte = np.asarray(ytr), np.asarray(yte)
    if cfg.task == "multiclass":
        k = k or int(max(ytr.max(), yte.max())) + 1
        return one_hot(ytr, k), one_hot(yte, k), yte.astype(np.int64).reshape(-1)
    if cfg.task == "binary":
        return (ytr.reshape(-1, 1).astype(np.float32), yte.reshape(-1, 1).astype(np.float32),
                yte.astype(np.int64).reshape(-1))
    return ytr.reshape(-1, 1).astype(np.float32), yte.reshape(-1, 1).astype(np.float32), None


def _notes_setting(cfg) -> bool:
    """True when ``cfg.validation`` is the lab's own (the notes') setting, which may be scaled down to 40% of
    a smaller stand-in dataset; a holdout the user chose must fit the data as given."""
    lab = LABS.get(cfg.name)
    return lab is not None and lab.validation == cfg.validation
