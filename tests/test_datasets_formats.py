"""Dataset file formats: IDX/MNIST, npz, CSV (Pima, Boston, iris), tar (movie reviews), IMDB npz; faults.

Corrupt, truncated or malformed files must give one-line ``DatasetError``s naming the file. Every test runs with an
empty temporary cache, ``$INITLAB_DATA`` unset and a network opener that fails (the ``isolated`` fixture of ``conftest.py``).
"""

from __future__ import annotations

import io
import re
import tarfile

import numpy as np
import pytest
from dataset_fixtures import (
    boston_array,
    imdb_fixture,
    iris_text,
    mnist_arrays,  # noqa: F401
    one_line,
    pima_text,
    polarity_tar,
    write_idx_set,
)

import initlab.datasets as D
from initlab._spec import SpecError


# ---------------------------------------------------------------- IDX / MNIST

pytestmark = pytest.mark.usefixtures("isolated")


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


@pytest.mark.parametrize(
    "fault, pattern",
    [
        ("swap", r"train-images-idx3-ubyte\.gz: IDX magic number 2049, expected 2051"),
        ("truncate_raw", r"t10k-images-idx3-ubyte: truncated: the header says \(7, 28, 28\)"),
        ("truncate_gz", r"train-images-idx3-ubyte\.gz: truncated gzip stream"),
        ("trailing", r"t10k-labels-idx1-ubyte: 3 unexpected bytes"),
        ("shape", r"train-images-idx3-ubyte\.gz: IDX item shape \(28, 27\), expected \(28, 28\)"),
        ("count", r"train-images-idx3-ubyte\.gz: 12 train images but 11 labels"),
        ("labels", r"t10k-images-idx3-ubyte: test labels outside 0\.\.9"),
        ("header", r"t10k-labels-idx1-ubyte: truncated IDX header"),
        ("corrupt_gz", r"train-images-idx3-ubyte\.gz: corrupt gzip data"),
    ],
)
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


@pytest.mark.parametrize(
    "fault, pattern",
    [
        ("truncated", r"corrupt or truncated \.npz"),
        ("not_zip", r"not an \.npz \(zip\) archive"),
        ("missing", r"missing array\(s\) y_test"),
        ("object", r"holds pickled objects .* refusing to unpickle"),
        ("dtype", r"train images are float64 \(12, 28, 28\), expected uint8"),
    ],
)
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


@pytest.mark.parametrize(
    "fault, pattern",
    [
        ("columns", r"pima-indians-diabetes\.csv:5: 8 columns, expected 9"),
        ("rows", r"767 data rows, expected 768"),
        ("number", r"pima-indians-diabetes\.csv:3: a value that is not a number"),
        ("outcome", r"outcome column \(9th\) holds values other than 0 and 1"),
        ("nan", r"pima-indians-diabetes\.csv:2: a value that is not finite"),
    ],
)
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
        lines[1] = "nan" + lines[1][lines[1].index(",") :]
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
    assert re.search(
        r"imdb\.npz: holds pickled objects and its SHA-256 [0-9a-f]{64} is not the canonical "
        r"69664113be75",
        one_line(exc),
    )
    assert True not in unpickled  # np.load never ran with allow_pickle=True
