"""Keras semantics of the IMDB loader (on a fixture) and the loaders on the real data.

The real-data tests use the ``$INITLAB_DATA`` given when pytest started (skipped if unset); like every dataset
test they otherwise run with an empty temporary cache and no network (the ``isolated`` fixture of ``conftest.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from dataset_fixtures import REAL_DATA, imdb_fixture, sha  # noqa: F401

import initlab.datasets as D
from initlab.datasets import _lookup, _sources, text


# ---------------------------------------------------------------- IMDB: Keras semantics

pytestmark = pytest.mark.usefixtures("isolated")

def keras_imdb_reference(a, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
                         index_from=3):
    """Keras' ``imdb.load_data`` steps, written out with plain lists (the reference for the vectorised code)."""
    rng = np.random.RandomState(seed)
    parts = []
    for part in ("train", "test"):
        idx = np.arange(len(a[f"x_{part}"]))
        rng.shuffle(idx)
        xs = [list(a[f"x_{part}"][i]) for i in idx]
        ys = list(np.asarray(a[f"y_{part}"])[idx])
        if start_char is not None:
            xs = [[start_char] + [w + index_from for w in x] for x in xs]
        else:
            xs = [[w + index_from for w in x] for x in xs]
        if maxlen:
            kept = [(x, y) for x, y in zip(xs, ys) if len(x) < maxlen]
            xs, ys = [k[0] for k in kept], [k[1] for k in kept]
        parts.append((xs, ys))
    if not num_words:
        num_words = max(max(x) for xs, _ in parts for x in xs)
    out = []
    for xs, ys in parts:
        if oov_char is not None:
            xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
        else:
            xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
        out.append((xs, ys))
    return out


@pytest.mark.parametrize("kw", [
    {},
    {"num_words": 30},
    {"num_words": 40, "skip_top": 5, "maxlen": 10},
    {"num_words": 25, "oov_char": None, "seed": 3},
    {"start_char": None, "index_from": 0, "num_words": 50},
])
def test_imdb_matches_keras_semantics(tmp_path, monkeypatch, kw):
    p = tmp_path / "imdb.npz"
    a = imdb_fixture(p)
    monkeypatch.setattr(text, "IMDB_SHA256", sha(p.read_bytes()))
    s = D.load_imdb(p, **kw)
    (rx_tr, ry_tr), (rx_te, ry_te) = keras_imdb_reference(a, **kw)
    assert [list(x) for x in s.x_train] == rx_tr and [list(x) for x in s.x_test] == rx_te
    assert s.y_train.tolist() == [int(v) for v in ry_tr] and s.y_test.tolist() == [int(v) for v in ry_te]
    assert s.y_train.dtype == np.int64 and s.x_train.dtype == object


def test_imdb_multi_hot(tmp_path, monkeypatch):
    p = tmp_path / "imdb.npz"
    imdb_fixture(p)
    monkeypatch.setattr(text, "IMDB_SHA256", sha(p.read_bytes()))
    seqs = D.load_imdb(p, num_words=30)
    hot = D.load_imdb(p, num_words=30, as_multi_hot=True)
    assert hot.x_train.shape == (30, 30) and hot.x_test.shape == (20, 30)
    np.testing.assert_array_equal(hot.x_train, D.multi_hot(seqs.x_train, 30))
    assert hot.x_train[3, seqs.x_train[3]].all() and hot.x_train[3].sum() == len(set(seqs.x_train[3].tolist()))


# ---------------------------------------------------------------- real data (skipped without $INITLAB_DATA)
real = pytest.mark.skipif(not REAL_DATA, reason="INITLAB_DATA not set: real datasets absent")


@pytest.fixture
def real_env(monkeypatch):
    monkeypatch.setenv("INITLAB_DATA", REAL_DATA)
    monkeypatch.setenv("INITLAB_OFFLINE", "1")


def _present(name):
    return REAL_DATA and any(
        _lookup._in_dir(_sources.DATASETS[name], Path(d), "x") for d in REAL_DATA.split(os.pathsep)
    )


@real
def test_real_mnist(real_env):
    if not _present("mnist"):
        pytest.skip("no MNIST under INITLAB_DATA")
    s = D.load_mnist()
    assert s.x_train.shape == (60000, 28, 28) and s.x_test.shape == (10000, 28, 28)
    assert s.x_train.dtype == s.y_train.dtype == np.uint8
    assert np.bincount(s.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert s.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert s.x_train.max() == 255 and s.x_train.min() == 0


@real
def test_real_pima_iris(real_env):
    if _present("pima"):
        x, y = D.load_pima()
        assert x.shape == (768, 8) and int(y.sum()) == 268  # 268 diabetic, 500 not
    if _present("iris"):
        t = D.load_iris()
        assert t.x.shape == (150, 4) and np.bincount(t.y).tolist() == [50, 50, 50]


@real
def test_real_boston_reproduces_keras(real_env):
    if not _present("boston-housing"):
        pytest.skip("no Boston housing under INITLAB_DATA")
    s = D.load_boston_housing()
    assert s.x_train.shape == (404, 13) and s.x_test.shape == (102, 13)
    # Keras boston_housing.load_data(): train_targets[:10] and [-3:], x_train[0] as published
    np.testing.assert_array_equal(s.y_train[:10], [15.2, 42.3, 50.0, 21.1, 17.7, 18.5, 11.3, 15.6, 15.6, 14.4])
    np.testing.assert_array_equal(s.y_train[-3:], [19.4, 19.4, 29.1])
    np.testing.assert_allclose(
        s.x_train[0],
        [1.23247, 0.0, 8.14, 0.0, 0.538, 6.142, 91.7, 3.9769, 4.0, 307.0, 21.0, 396.9, 18.72],
        rtol=0,
        atol=1e-9,
    )
    assert abs(s.y_train.mean() - 22.395049504950496) < 1e-9


@real
def test_real_movie_reviews(real_env):
    if not _present("movie-reviews"):
        pytest.skip("no review_polarity.tar.gz under INITLAB_DATA")
    s = D.load_movie_reviews(num_words=10000)
    assert s.x_train.shape == (1600, 10000) and s.x_test.shape == (400, 10000)
    assert np.bincount(np.concatenate([s.y_train, s.y_test])).tolist() == [1000, 1000]
    assert np.bincount(s.y_test).tolist() == [200, 200]
    assert s.word_index["the"] == 1  # punctuation is not a word; "the" is the most frequent
