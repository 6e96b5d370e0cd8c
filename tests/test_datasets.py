"""Dataset loaders, format validation, lookup order and verified downloads (no network).

Every test runs with an empty temporary cache, ``$INITLAB_DATA`` unset and a network opener that fails;
the real-data tests at the end use the ``$INITLAB_DATA`` given when pytest started (skipped if unset).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import re
import struct
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import initlab.datasets as D
from initlab._spec import SpecError
from initlab.datasets import _lookup, _sources, text
from initlab.datasets._sources import Remote

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


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Empty cache, no $INITLAB_DATA, downloads allowed but the network is unreachable."""
    monkeypatch.delenv("INITLAB_DATA", raising=False)
    monkeypatch.delenv("INITLAB_OFFLINE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    calls = []

    def no_network(url, timeout):
        calls.append(url)
        raise urllib.error.URLError("network unreachable (test)")

    monkeypatch.setattr(_lookup, "_open_url", no_network)
    return calls


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


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


# ---------------------------------------------------------------- IDX / MNIST
def test_mnist_idx_gzipped_and_raw(tmp_path):
    arrays = mnist_arrays()
    write_idx_set(tmp_path / "m", arrays, gz=(True, False, False, True))
    s = D.load_mnist(tmp_path / "m")
    for got, want in zip((s.x_train, s.y_train, s.x_test, s.y_test), arrays):
        assert got.dtype == np.uint8 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    (xtr, ytr), (xte, yte) = s  # Keras-style unpacking
    assert xtr is s.x_train and yte is s.y_test
    assert s.class_names == tuple("0123456789")


def test_fashion_mnist_has_its_own_folder(tmp_path, monkeypatch):
    mn, fa = mnist_arrays(0), mnist_arrays(9)
    write_idx_set(tmp_path / "data" / "mnist", mn)
    write_idx_set(tmp_path / "data" / "fashion-mnist", fa, gz=(False,) * 4)
    monkeypatch.setenv("INITLAB_DATA", str(tmp_path / "data"))
    np.testing.assert_array_equal(D.load_mnist().x_train, mn[0])
    f = D.load_fashion_mnist()
    np.testing.assert_array_equal(f.x_test, fa[2])
    assert f.class_names[0] == "T-shirt/top" and len(f.class_names) == 10


def test_mnist_npz(tmp_path):
    arrays = mnist_arrays(5)
    np.savez(tmp_path / "mnist.npz", x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    s = D.load_mnist(tmp_path / "mnist.npz")
    np.testing.assert_array_equal(s.x_test, arrays[2])
    np.testing.assert_array_equal(s.y_train, arrays[1])
    # the same file found by folder
    assert D.load_mnist(tmp_path).files == (tmp_path / "mnist.npz",)


@pytest.mark.parametrize("fault, pattern", [
    ("swap", r"train-images-idx3-ubyte\.gz: IDX magic number 2049, expected 2051"),
    ("truncate_raw", r"t10k-images-idx3-ubyte: truncated: the header says \(7, 28, 28\)"),
    ("truncate_gz", r"train-images-idx3-ubyte\.gz: truncated gzip stream"),
    ("trailing", r"t10k-labels-idx1-ubyte: 3 unexpected bytes"),
    ("shape", r"train-images-idx3-ubyte\.gz: IDX item shape \(28, 27\), expected \(28, 28\)"),
    ("count", r"train-images-idx3-ubyte\.gz: 12 train images but 11 labels"),
    ("labels", r"t10k-images-idx3-ubyte: test labels outside 0\.\.9"),
    ("header", r"t10k-labels-idx1-ubyte: truncated IDX header"),
    ("corrupt_gz", r"train-images-idx3-ubyte\.gz: corrupt gzip data"),
])
def test_idx_faults_are_one_line_errors(tmp_path, fault, pattern):
    arrays = list(mnist_arrays())
    if fault == "shape":
        arrays[0] = arrays[0][:, :, :27]
    if fault == "count":
        arrays[1] = arrays[1][:11]
    if fault == "labels":
        arrays[3][2] = 10
    tri, trl, tei, tel = write_idx_set(tmp_path, arrays)
    if fault == "swap":
        tri.write_bytes(trl.read_bytes())
    elif fault == "truncate_raw":
        tei.write_bytes(tei.read_bytes()[:-100])
    elif fault == "truncate_gz":
        tri.write_bytes(tri.read_bytes()[:-30])
    elif fault == "trailing":
        tel.write_bytes(tel.read_bytes() + b"xyz")
    elif fault == "header":
        tel.write_bytes(tel.read_bytes()[:6])
    elif fault == "corrupt_gz":
        data = bytearray(tri.read_bytes())
        data[12:40] = b"\xff" * 28
        tri.write_bytes(bytes(data))
    with pytest.raises(D.DatasetError) as exc:
        D.load_mnist(tmp_path)
    assert re.search(pattern, one_line(exc)), str(exc.value)
    assert isinstance(exc.value, SpecError)


@pytest.mark.parametrize("fault, pattern", [
    ("truncated", r"corrupt or truncated \.npz"),
    ("not_zip", r"not an \.npz \(zip\) archive"),
    ("missing", r"missing array\(s\) y_test"),
    ("object", r"holds pickled objects .* refusing to unpickle"),
    ("dtype", r"train images are float64 \(12, 28, 28\), expected uint8"),
])
def test_npz_faults(tmp_path, fault, pattern):
    a = dict(zip(("x_train", "y_train", "x_test", "y_test"), mnist_arrays()))
    p = tmp_path / "mnist.npz"
    if fault == "missing":
        del a["y_test"]
    if fault == "object":
        a["y_test"] = np.array([[1], [2, 3]], dtype=object)
    if fault == "dtype":
        a["x_train"] = a["x_train"].astype(float)
    np.savez(p, **a)
    if fault == "truncated":
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    if fault == "not_zip":
        p.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(D.DatasetError) as exc:
        D.load_mnist(p)
    assert re.search(pattern, one_line(exc)) and str(p) in str(exc.value)


# ---------------------------------------------------------------- CSV: Pima, Boston, iris
def test_pima(tmp_path):
    p = tmp_path / "pima-indians-diabetes.csv"
    p.write_text("preg,glu,bp,skin,ins,bmi,dpf,age,outcome\n" + pima_text())  # a header line is skipped
    t = D.load_pima(p)
    x, y = t
    assert x.shape == (768, 8) and x.dtype == np.float64
    assert y.shape == (768,) and y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    want = np.loadtxt(io.StringIO(pima_text()), delimiter=",")
    np.testing.assert_array_equal(x, want[:, :8])
    np.testing.assert_array_equal(y, want[:, 8])
    assert t.feature_names[1] == "glucose"


@pytest.mark.parametrize("fault, pattern", [
    ("columns", r"pima-indians-diabetes\.csv:5: 8 columns, expected 9"),
    ("rows", r"767 data rows, expected 768"),
    ("number", r"pima-indians-diabetes\.csv:3: a value that is not a number"),
    ("outcome", r"outcome column \(9th\) holds values other than 0 and 1"),
    ("nan", r"pima-indians-diabetes\.csv:2: a value that is not finite"),
])
def test_pima_faults(tmp_path, fault, pattern):
    lines = pima_text().splitlines()
    if fault == "columns":
        lines[4] = lines[4].rsplit(",", 1)[0]
    if fault == "rows":
        lines = lines[:-1]
    if fault == "number":
        lines[2] = "x" + lines[2]
    if fault == "outcome":
        lines[7] = lines[7].rsplit(",", 1)[0] + ",2"
    if fault == "nan":
        lines[1] = "nan" + lines[1][lines[1].index(","):]
    p = tmp_path / "pima-indians-diabetes.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(D.DatasetError) as exc:
        D.load_pima(p)
    assert re.search(pattern, one_line(exc)), str(exc.value)


def test_boston_keras_split_from_csv_and_npz(tmp_path):
    data = boston_array()
    csv = tmp_path / "boston-housing.csv"
    csv.write_text("\n".join(",".join(f"{v:.3f}" for v in row) for row in data) + "\n")
    np.savez(tmp_path / "boston_housing.npz", x=data[:, :13], y=data[:, 13])
    a = D.load_boston_housing(csv)
    b = D.load_boston_housing(tmp_path / "boston_housing.npz")
    # Keras: idx = arange(506) shuffled in place by RandomState(113), then first int(506 * 0.8) = 404 rows
    perm = np.arange(506)
    np.random.RandomState(113).shuffle(perm)
    assert list(perm[:5]) == [22, 202, 368, 335, 461]  # numpy's legacy stream is frozen by policy
    for s in (a, b):
        assert s.x_train.shape == (404, 13) and s.x_test.shape == (102, 13)
        assert s.y_train.shape == (404,) and s.y_test.shape == (102,) and s.x_train.dtype == np.float64
        np.testing.assert_allclose(s.x_train, data[perm[:404], :13], rtol=0, atol=5e-4)
        np.testing.assert_allclose(s.y_test, data[perm[404:], 13], rtol=0, atol=5e-4)
    c = D.load_boston_housing(csv, test_split=0.1, seed=7)
    assert c.x_train.shape == (455, 13)  # int(506 * 0.9)
    with pytest.raises(D.DatasetError, match=r"505 data rows, expected 506"):
        csv.write_text("\n".join(",".join(f"{v:.3f}" for v in row) for row in data[:-1]))
        D.load_boston_housing(csv)


def test_iris(tmp_path):
    p = tmp_path / "iris.csv"
    p.write_text(iris_text())
    t = D.load_iris(p)
    assert t.x.shape == (150, 4) and t.x.dtype == np.float64
    assert t.class_names == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(np.bincount(t.y), [50, 50, 50])
    assert t.y[0] == 0 and t.y[-1] == 2
    p.write_text(iris_text().replace("Iris-virginica", "Iris-setosa"))
    with pytest.raises(D.DatasetError, match=r"2 species in the 5th column, expected 3"):
        D.load_iris(p)


def test_train_test_indices_and_table_split(tmp_path):
    train, test = D.train_test_indices(150, 0.3, 1234)
    assert len(test) == 45 and len(train) == 105  # n_test = ceil(0.3 * 150)
    perm = np.random.RandomState(1234).permutation(150)
    np.testing.assert_array_equal(test, perm[:45])
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(150))
    p = tmp_path / "iris.csv"
    p.write_text(iris_text())
    t = D.load_iris(p)
    s = t.split(0.3, seed=1234)
    np.testing.assert_array_equal(s.x_test, t.x[perm[:45]])
    np.testing.assert_array_equal(s.y_train, t.y[perm[45:]])
    with pytest.raises(SpecError, match="test_fraction"):
        D.train_test_indices(10, 1.0, 0)


# ---------------------------------------------------------------- text: movie reviews, IMDB, multi-hot
def test_tokenize_and_multi_hot():
    assert D.tokenize("It's a GREAT film, isn't it? 10/10") == ["it's", "a", "great", "film", "isn't", "it", "10", "10"]
    m = D.multi_hot([[1, 3, 3], [], [0, 4]], 5)
    np.testing.assert_array_equal(m, [[0, 1, 0, 1, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 1]])
    assert m.dtype == np.float32
    with pytest.raises(SpecError, match=r"word index 5 is outside 0\.\.4"):
        D.multi_hot([[5]], 5)


def test_movie_reviews(tmp_path):
    p = polarity_tar(tmp_path / "review_polarity.tar.gz")
    s = D.load_movie_reviews(p, num_words=12, test_fraction=0.2, seed=0)
    assert s.x_train.shape == (16, 12) and s.x_test.shape == (4, 12) and s.x_train.dtype == np.float32
    assert np.bincount(s.y_train).tolist() == [8, 8] and np.bincount(s.y_test).tolist() == [2, 2]
    assert set(np.unique(s.x_train)) <= {0.0, 1.0}
    assert (s.x_train[:, 1] == 1).all()  # every review starts with start_char 1
    assert (s.x_train[:, 2] == 1).all()  # num_words=12 leaves rare words out-of-vocabulary (oov_char 2)
    assert s.class_names == ("negative", "positive")
    # ranks by training counts: the 4 common words (about 30 * 4/7 times per review) lead; unique words last
    assert set(list(s.word_index)[:4]) == {"the", "film", "a", "plot"}
    assert set(list(s.word_index)[4:10]) == {"great", "superb", "fun", "awful", "boring", "bad"}
    assert s.word_index["don't"] == 11  # once in each of the 16 training reviews: after the 10 sampled words
    assert all(r > 11 for w, r in s.word_index.items() if w.startswith("unique"))
    seq = D.load_movie_reviews(p, num_words=None, test_fraction=0.2, seed=0, as_multi_hot=False)
    inv = {r + 3: w for w, r in seq.word_index.items()}
    first = seq.x_train[0]
    assert first[0] == 1 and "unique" in " ".join(inv[i] for i in first[1:])
    # unseen test words (each review's unique word) are skipped: no index past the training vocabulary
    assert max(int(x.max()) for x in seq.x_test) < len(seq.word_index) + 4
    assert not any("unique" in inv.get(int(i), "") for x in seq.x_test for i in x[1:])
    # seeded: same seed same split, another seed another split
    again = D.load_movie_reviews(p, num_words=12, test_fraction=0.2, seed=0)
    np.testing.assert_array_equal(again.x_test, s.x_test)
    other = D.load_movie_reviews(p, num_words=12, test_fraction=0.2, seed=1)
    assert not np.array_equal(other.x_test, s.x_test)


def test_movie_reviews_plain_tar_and_faults(tmp_path):
    plain = polarity_tar(tmp_path / "review_polarity.tar", gz=False)
    assert D.load_movie_reviews(plain, num_words=20).x_train.shape == (16, 20)
    gz = polarity_tar(tmp_path / "review_polarity.tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(gz.read_bytes()[:-200])
    with pytest.raises(D.DatasetError) as exc:
        D.load_movie_reviews(cut)
    assert re.search(r"cut\.tar\.gz: corrupt or truncated tar archive", one_line(exc))
    for i, bad in enumerate(("../evil.txt", "/etc/evil.txt", "link")):
        info = tarfile.TarInfo(bad)
        data = b"x"
        if bad == "link":
            info.type, info.linkname, data = tarfile.SYMTYPE, "/etc/passwd", None
        else:
            info.size = 1
        p = polarity_tar(tmp_path / f"evil{i}.tar.gz", extra=[(info, data)])
        with pytest.raises(D.DatasetError, match="unsafe archive member"):
            D.load_movie_reviews(p)
    assert not (tmp_path.parent / "evil.txt").exists()
    empty = tmp_path / "nopos.tar.gz"
    with tarfile.open(empty, "w:gz") as tar:
        info = tarfile.TarInfo("txt_sentoken/neg/a.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(D.DatasetError, match=r"no txt_sentoken/pos/\*\.txt reviews"):
        D.load_movie_reviews(empty)


def test_imdb_refuses_an_unverified_pickle(tmp_path, monkeypatch):
    p = tmp_path / "imdb.npz"
    imdb_fixture(p)
    unpickled = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: (unpickled.append(k.get("allow_pickle")), real_load(*a, **k))[1])
    with pytest.raises(D.HashMismatchError) as exc:
        D.load_imdb(p)
    assert re.search(r"imdb\.npz: holds pickled objects and its SHA-256 [0-9a-f]{64} is not the canonical "
                     r"69664113be75", one_line(exc))
    assert True not in unpickled  # np.load never ran with allow_pickle=True


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


# ---------------------------------------------------------------- lookup order and downloads
PIMA_URL = "https://example.invalid/pima.csv"


def pima_everywhere(tmp_path, monkeypatch):
    """Pima with a distinct first value in each place: explicit 1, env 2, cache 3, download 4."""
    for where, v in (("explicit", 1), ("env", 2)):
        (tmp_path / where).mkdir()
        (tmp_path / where / "pima-indians-diabetes.csv").write_text(pima_text(first=v))
    cache = D.cache_dir()
    cache.mkdir(parents=True)
    (cache / "pima-indians-diabetes.csv").write_text(pima_text(first=3))
    payload = pima_text(first=4).encode()
    info = _sources.DATASETS["pima"]
    monkeypatch.setitem(_sources.DATASETS, "pima", dataclasses.replace(
        info, downloads=(Remote("pima-indians-diabetes.csv", (PIMA_URL,), sha(payload)),)))
    monkeypatch.setenv("INITLAB_DATA", str(tmp_path / "env"))
    return cache / "pima-indians-diabetes.csv", payload


def test_lookup_order(tmp_path, monkeypatch):
    cached, payload = pima_everywhere(tmp_path, monkeypatch)
    calls = serve(monkeypatch, {PIMA_URL: payload})
    assert D.load_pima(tmp_path / "explicit").x[0, 0] == 1
    assert D.locate("pima", tmp_path / "explicit").origin == "path"
    assert D.load_pima().x[0, 0] == 2
    assert D.locate("pima").origin == "INITLAB_DATA"
    monkeypatch.delenv("INITLAB_DATA")
    assert D.load_pima().x[0, 0] == 3
    assert D.locate("pima").origin == "cache"
    assert calls == []
    cached.unlink()
    found = D.locate("pima")
    assert found.origin == "download" and found.files == (cached,) and calls == [PIMA_URL]
    assert cached.read_bytes() == payload and D.load_pima().x[0, 0] == 4


def test_env_may_list_several_folders(tmp_path, monkeypatch):
    pima_everywhere(tmp_path, monkeypatch)
    monkeypatch.setenv("INITLAB_DATA", os.pathsep.join([str(tmp_path / "nowhere"), str(tmp_path / "env")]))
    assert D.load_pima().x[0, 0] == 2


def test_explicit_path_is_never_skipped(tmp_path, monkeypatch):
    pima_everywhere(tmp_path, monkeypatch)
    with pytest.raises(D.DatasetError, match=r"pima: .*missing does not exist"):
        D.load_pima(tmp_path / "missing")
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(D.DatasetError, match=r"emptydir does not hold pima-indians-diabetes\.csv"):
        D.load_pima(tmp_path / "emptydir")


def test_offline_error_is_one_clear_line(tmp_path, monkeypatch, isolated):
    with pytest.raises(D.DatasetError) as exc:
        D.load_mnist()
    msg = one_line(exc)
    assert msg.startswith("mnist not found: put mnist/train-images-idx3-ubyte.gz, mnist/train-labels-idx1-ubyte.gz")
    assert "$INITLAB_DATA (unset)" in msg and str(D.cache_dir()) in msg and "network unreachable" in msg
    assert len(isolated) == 3  # the three mirrors of the first file were tried
    monkeypatch.setenv("INITLAB_OFFLINE", "1")
    with pytest.raises(D.DatasetError, match=r"imdb not found: put imdb\.npz .*INITLAB_OFFLINE is set") as exc:
        D.load_imdb()
    assert len(isolated) == 3  # no network call when offline
    with pytest.raises(D.DatasetError, match=r"download=False"):
        D.load_iris(download=False)
    assert not D.cache_dir().exists() or not any(D.cache_dir().rglob("*"))


def test_download_renames_only_after_the_hash_matches(tmp_path, monkeypatch):
    payload = pima_text(first=7).encode() * 1  # ~23 kB, read in one chunk
    dest = D.cache_dir() / "pima-indians-diabetes.csv"
    seen = []

    def during_read():
        seen.append((dest.exists(), sorted(p.name for p in dest.parent.iterdir())))

    serve(monkeypatch, {"https://a.invalid/x": payload}, on_read=during_read)
    remote = Remote("pima-indians-diabetes.csv", ("https://down.invalid/x", "https://a.invalid/x"), sha(payload))
    assert _lookup.download_file(remote, dest, progress=False) == dest
    assert seen and all(not exists for exists, _ in seen)  # the final name appears only after the check
    assert all(len(names) == 1 and names[0].startswith(".pima-indians-diabetes.csv.") and names[0].endswith(".tmp")
               for _, names in seen)
    assert dest.read_bytes() == payload and [p.name for p in dest.parent.iterdir()] == [dest.name]


def test_download_with_a_wrong_hash_leaves_nothing(tmp_path, monkeypatch):
    payload = b"not the file you are looking for\n" * 100
    calls = serve(monkeypatch, {"https://a.invalid/x": payload, "https://b.invalid/x": payload})
    dest = D.cache_dir() / "iris.csv"
    remote = Remote("iris.csv", ("https://a.invalid/x", "https://b.invalid/x"), "0" * 64)
    with pytest.raises(D.HashMismatchError) as exc:
        _lookup.download_file(remote, dest, progress=False)
    assert re.search(r"https://a\.invalid/x: SHA-256 [0-9a-f]{64} is not the expected 0{64}; download discarded",
                     one_line(exc))
    assert calls == ["https://a.invalid/x"]  # a mismatch is not retried on a mirror
    assert not dest.exists() and list(dest.parent.iterdir()) == []
    # through a loader, with the real table: the canonical hash rejects the fixture bytes
    serve(monkeypatch, {_sources.DATASETS["iris"].downloads[0].urls[0]: iris_text().encode()})
    with pytest.raises(D.HashMismatchError, match="6f608b71a7317216319b4d27b4d9bc84e6abd734eda7872b71a458569e2656c0"):
        D.load_iris()
    assert list(D.cache_dir().iterdir()) == []


def test_remote_without_verified_hash_is_refused(tmp_path, isolated):
    with pytest.raises(D.DatasetError, match=r"no verified SHA-256 is known for x\.csv; refusing to download"):
        _lookup.download_file(Remote("x.csv", ("https://a.invalid/x",), None), tmp_path / "x.csv")
    assert isolated == []


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert D.cache_dir() == tmp_path / "c" / "initlab"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert D.cache_dir() == Path.home() / ".cache" / "initlab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert D.cache_dir() == Path.home() / ".cache" / "initlab"


def test_table_of_sources_is_consistent():
    assert list(D.DATASETS) == ["mnist", "fashion-mnist", "pima", "boston-housing", "iris", "imdb", "movie-reviews"]
    for info in D.DATASETS.values():
        assert info.downloads
        for r in info.downloads:
            assert re.fullmatch(r"[0-9a-f]{64}", r.sha256), (info.name, r.relpath)
            assert r.urls and all(u.startswith(("https://", "http://")) for u in r.urls)
        relpaths = {r.relpath for r in info.downloads}
        # the downloads fill exactly the first choice of every slot of one layout
        assert any(relpaths == {slot[0] for slot in lay.slots} for lay in info.layouts), info.name
    assert _sources.PICKLE_SHA256["imdb.npz"] == D.DATASETS["imdb"].downloads[0].sha256
    with pytest.raises(SpecError, match=r"unknown dataset 'minst'; did you mean 'mnist'"):
        D.get_info("minst")
    assert D.get_info("Fashion_MNIST").name == "fashion-mnist"


# ---------------------------------------------------------------- real data (skipped without $INITLAB_DATA)
real = pytest.mark.skipif(not REAL_DATA, reason="INITLAB_DATA not set: real datasets absent")


@pytest.fixture
def real_env(monkeypatch):
    monkeypatch.setenv("INITLAB_DATA", REAL_DATA)
    monkeypatch.setenv("INITLAB_OFFLINE", "1")


def _present(name):
    return REAL_DATA and any(_lookup._in_dir(_sources.DATASETS[name], Path(d), "x") for d in REAL_DATA.split(os.pathsep))


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
    np.testing.assert_allclose(s.x_train[0], [1.23247, 0.0, 8.14, 0.0, 0.538, 6.142, 91.7, 3.9769, 4.0, 307.0,
                                              21.0, 396.9, 18.72], rtol=0, atol=1e-9)
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
