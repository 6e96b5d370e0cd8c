"""Dataset lookup order (path, $INITLAB_DATA, cache, download), verified downloads, wrong hashes, offline errors.

No network: every test runs with an empty temporary cache, ``$INITLAB_DATA`` unset and a network opener that fails
(the ``isolated`` fixture of ``conftest.py``); ``serve`` routes chosen URLs to in-memory payloads.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest
from dataset_fixtures import iris_text, one_line, pima_text, serve, sha  # noqa: F401

import initlab.datasets as D
from initlab._spec import SpecError
from initlab.datasets import _lookup, _sources
from initlab.datasets._sources import Remote


# ---------------------------------------------------------------- lookup order and downloads

pytestmark = pytest.mark.usefixtures("isolated")

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
