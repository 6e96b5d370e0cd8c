"""Where each dataset's files live: local layouts, canonical URLs and their SHA-256.

Every dataset has one or more *layouts*, the sets of files it can be read from (for MNIST: the four IDX
files, gzipped or not, or the Keras ``mnist.npz``), and a *download*: the canonical files with the SHA-256
they must have. Local files are validated by their format when read (the shared copies of the data are
re-compressed, so their hashes differ); only downloads, and the Keras ``imdb.npz`` before it is unpickled,
are checked against a hash.

Provenance of the hashes (each read from public source code, cross-checked where possible):

* ``mnist/*.gz``: the SHA-256 of the four original IDX archives (yann.lecun.com), served by the
  TensorFlow and PyTorch mirrors; the same four values appear in several independent projects.
* ``fashion-mnist/*.gz``: the values in Keras' ``keras/src/datasets/fashion_mnist.py`` (``FILE_HASHES``),
  also listed by TensorFlow Datasets-style checksum tables.
* ``imdb.npz``, ``boston_housing.npz``, ``mnist.npz``: the ``file_hash`` values of Keras'
  ``load_data`` functions (``keras/src/datasets/{imdb,boston_housing,mnist}.py``).
* ``pima-indians-diabetes.csv``: the SHA-256 of ``jbrownlee/Datasets`` ``pima-indians-diabetes.data.csv``
  as pinned by several independent projects (it is also the hash of the shared copy).
* ``iris.csv``: the SHA-256 of the UCI ``iris.data`` as pinned by Julia's UCIData.jl / PreprocessData.jl.
* ``review_polarity.tar.gz``: the SHA-256 pinned by scikit-learn's text-analytics tutorial fetch script
  (it is also the hash of the shared copy).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._spec import SpecError, UnknownNameError

__all__ = ["DatasetError", "HashMismatchError", "Remote", "Layout", "DatasetInfo", "DATASETS", "get_info",
           "IMDB_SHA256", "PICKLE_SHA256"]


class DatasetError(SpecError):
    """A dataset that cannot be found, downloaded or read (one-line message; the CLI exits with code 2)."""


class HashMismatchError(DatasetError):
    """A downloaded (or to-be-unpickled) file whose SHA-256 is not the canonical one."""


@dataclass(frozen=True)
class Remote:
    """One canonical file: where it goes in the cache, where to download it, and its SHA-256.

    ``urls`` are mirrors tried in order when the connection fails; a hash mismatch is never retried.
    ``sha256`` is ``None`` when no verified canonical hash is known: such a file is never downloaded.
    """

    relpath: str
    urls: tuple[str, ...]
    sha256: str | None


@dataclass(frozen=True)
class Layout:
    """One way of holding a dataset on disk.

    ``kind`` says how to read it (``"idx"``, ``"npz"``, ``"csv"``, ``"tar"``). ``slots`` lists the files
    needed; each slot is a tuple of acceptable relative paths (for example gzipped or not), the first
    existing one is used.
    """

    kind: str
    slots: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset: its name, a one-line description, its layouts and its canonical download."""

    name: str
    title: str
    layouts: tuple[Layout, ...]
    downloads: tuple[Remote, ...]

    @property
    def expected(self) -> str:
        """The files of the first layout, for messages (``mnist/train-images-idx3-ubyte.gz, ...``)."""
        return ", ".join(slot[0] for slot in self.layouts[0].slots)


_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

_MNIST_SHA = {
    "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_FASHION_SHA = {
    "train-images-idx3-ubyte": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
_FASHION_MIRRORS = (_KERAS, "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")

# The canonical SHA-256 of the Keras IMDB file: ``imdb.npz`` holds pickled object arrays, so it is
# unpickled only when its hash is this one.
IMDB_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"

# Keras ``.npz`` files that may be unpickled (``allow_pickle``) once their SHA-256 is one of these.
PICKLE_SHA256: dict[str, str] = {
    "imdb.npz": IMDB_SHA256,
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    "boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
}


def _idx_layouts(folder: str, npz: str) -> tuple[Layout, ...]:
    slots = tuple((f"{folder}/{n}.gz", f"{folder}/{n}") for n in _IDX_NAMES)
    return (Layout("idx", slots), Layout("npz", ((npz, f"{folder}/{npz}"),)))


def _idx_remotes(folder: str, mirrors: tuple[str, ...], hashes: dict[str, str]) -> tuple[Remote, ...]:
    return tuple(Remote(f"{folder}/{n}.gz", tuple(m + n + ".gz" for m in mirrors), hashes[n]) for n in _IDX_NAMES)


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo(
            "mnist",
            "MNIST handwritten digits: 60,000 + 10,000 28x28 uint8 images, labels 0-9",
            _idx_layouts("mnist", "mnist.npz"),
            _idx_remotes("mnist", _MNIST_MIRRORS, _MNIST_SHA),
        ),
        DatasetInfo(
            "fashion-mnist",
            "Fashion-MNIST (Zalando): 60,000 + 10,000 28x28 uint8 clothing images, 10 classes",
            _idx_layouts("fashion-mnist", "fashion-mnist.npz"),
            _idx_remotes("fashion-mnist", _FASHION_MIRRORS, _FASHION_SHA),
        ),
        DatasetInfo(
            "pima",
            "Pima Indians diabetes (UCI): 768 x 8 features, 0/1 outcome",
            (Layout("csv", (("pima-indians-diabetes.csv", "pima-indians-diabetes.data.csv"),)),),
            (Remote(
                "pima-indians-diabetes.csv",
                ("https://raw.githubusercontent.com/jbrownlee/Datasets/master/pima-indians-diabetes.data.csv",),
                "6bfe5d0f379d17a0e0819b996407e3c09bf80febd4287f2ed212190dfff154af",
            ),),
        ),
        DatasetInfo(
            "boston-housing",
            "Boston housing (Harrison & Rubinfeld 1978): 506 x 13 features, median value; Keras 404/102 split",
            (
                Layout("csv", (("boston-housing.csv",),)),
                Layout("npz", (("boston_housing.npz",),)),
            ),
            (Remote(
                "boston_housing.npz",
                (_KERAS + "boston_housing.npz",),
                "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
            ),),
        ),
        DatasetInfo(
            "iris",
            "Fisher's iris: 150 x 4 features, 3 species",
            (Layout("csv", (("iris.csv", "iris.data"),)),),
            (Remote(
                "iris.csv",
                ("https://archive.ics.uci.edu/ml/machine-learning-databases/iris/iris.data",),
                "6f608b71a7317216319b4d27b4d9bc84e6abd734eda7872b71a458569e2656c0",
            ),),
        ),
        DatasetInfo(
            "imdb",
            "Keras IMDB reviews: 25,000 + 25,000 word-index sequences, 0/1 sentiment",
            (Layout("npz", (("imdb.npz",),)),),
            (Remote("imdb.npz", (_KERAS + "imdb.npz",), IMDB_SHA256),),
        ),
        DatasetInfo(
            "movie-reviews",
            "Movie-review polarity v2.0 (Pang & Lee 2004): 1,000 positive + 1,000 negative texts",
            (Layout("tar", (("review_polarity.tar.gz", "review_polarity.tar"),)),),
            (Remote(
                "review_polarity.tar.gz",
                ("https://www.cs.cornell.edu/people/pabo/movie-review-data/review_polarity.tar.gz",),
                "fc0dccc2671af5db3c5d8f81f77a1ebfec953ecdd422334062df61ede36b2179",
            ),),
        ),
    )
}


def get_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name`` (``UnknownNameError`` listing the valid names otherwise)."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise UnknownNameError("dataset", key, list(DATASETS))
    return DATASETS[key]
