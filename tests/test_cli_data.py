"""``initlab data list|fetch|path`` through click's CliRunner (no network)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import struct
import urllib.error

import numpy as np
import pytest
from click.testing import CliRunner

from initlab.cli import main
from initlab.datasets import _lookup, _sources
from initlab.datasets._sources import Remote


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.delenv("INITLAB_DATA", raising=False)
    monkeypatch.delenv("INITLAB_OFFLINE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    calls: list[str] = []

    def no_network(url, timeout):
        calls.append(url)
        raise urllib.error.URLError("network unreachable (test)")

    monkeypatch.setattr(_lookup, "_open_url", no_network)
    return calls


def run(*args: str):
    return CliRunner().invoke(main, ["data", *args])


def _idx(arr: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A small $INITLAB_DATA with MNIST (4 IDX files) and iris; the other datasets are missing."""
    d = tmp_path / "data"
    (d / "mnist").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, shape in (("train-images-idx3-ubyte", (5, 28, 28)), ("train-labels-idx1-ubyte", (5,)),
                        ("t10k-images-idx3-ubyte", (3, 28, 28)), ("t10k-labels-idx1-ubyte", (3,))):
        arr = rng.integers(0, 10, shape).astype(np.uint8)
        (d / "mnist" / f"{name}.gz").write_bytes(gzip.compress(_idx(arr)))
    rows = [f"5.1,3.5,1.4,0.2,Iris-{sp}" for sp in ("setosa", "versicolor", "virginica") for _ in range(50)]
    (d / "iris.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setenv("INITLAB_DATA", str(d))
    return d


def test_list_shows_present_and_missing_with_paths(data_dir):
    r = run("list")
    assert r.exit_code == 0, r.output
    lines = {ln.split()[0]: ln for ln in r.output.splitlines() if ln.startswith("  ")}
    assert list(lines) == ["mnist", "fashion-mnist", "pima", "boston-housing", "iris", "imdb", "movie-reviews"]
    assert "present" in lines["mnist"] and "[INITLAB_DATA]" in lines["mnist"]
    assert f"{data_dir / 'mnist'}{os.sep} (idx: 4 files)" in lines["mnist"]
    assert "present" in lines["iris"] and str(data_dir / "iris.csv") in lines["iris"]
    for name in ("fashion-mnist", "pima", "boston-housing", "imdb", "movie-reviews"):
        assert "missing" in lines[name], lines[name]
    assert "expected imdb.npz" in lines["imdb"]
    assert f"INITLAB_DATA: {data_dir}" in r.output and f"cache: {_lookup.cache_dir()}" in r.output


def test_list_check_flags_an_invalid_file(data_dir):
    assert "present" in run("list", "--check").output
    p = data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-10])
    r = run("list", "--check")
    assert r.exit_code == 0
    line = next(ln for ln in r.output.splitlines() if ln.strip().startswith("mnist"))
    assert "INVALID" in line and "truncated gzip stream" in line


def test_list_without_data(isolated):
    r = run("list")
    assert r.exit_code == 0
    assert "INITLAB_DATA: (unset)" in r.output and r.output.count("missing") == 7
    assert isolated == []  # listing never downloads


def test_path(data_dir):
    r = run("path")
    assert r.exit_code == 0 and r.output.splitlines() == [str(data_dir), str(_lookup.cache_dir())]
    r = run("path", "mnist")
    assert r.exit_code == 0
    assert r.output.splitlines() == [str(data_dir / "mnist" / f"{n}.gz") for n in (
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
    r = run("path", "imdb")
    assert r.exit_code == 2
    assert r.output.strip().startswith("Error: imdb is not present: expected imdb.npz")
    assert len(r.output.strip().splitlines()) == 1


def test_fetch_offline_error_exits_2_with_one_line(isolated):
    r = run("fetch", "pima")
    assert r.exit_code == 2
    out = r.output.strip()
    assert len(out.splitlines()) == 1
    assert out.startswith("Error: pima not found: put pima-indians-diabetes.csv in the folder named by $INITLAB_DATA")
    assert "network unreachable" in out and str(_lookup.cache_dir()) in out
    assert len(isolated) == 1


def test_fetch_unknown_name_and_offline_switch(monkeypatch, isolated):
    r = run("fetch", "minst")
    assert r.exit_code == 2 and "unknown dataset 'minst'; did you mean 'mnist'" in r.output
    monkeypatch.setenv("INITLAB_OFFLINE", "1")
    r = run("fetch", "iris")
    assert r.exit_code == 2 and "INITLAB_OFFLINE is set" in r.output and isolated == []


def test_fetch_downloads_verifies_and_then_reports_present(monkeypatch, data_dir):
    payload = b"5.1,3.5,1.4,0.2,0\n" * 768
    url = "https://example.invalid/pima.csv"
    info = _sources.DATASETS["pima"]
    monkeypatch.setitem(_sources.DATASETS, "pima", dataclasses.replace(
        info, downloads=(Remote("pima-indians-diabetes.csv", (url,), hashlib.sha256(payload).hexdigest()),)))
    calls = []
    monkeypatch.setattr(_lookup, "_open_url", lambda u, timeout: (calls.append(u), FakeResponse(payload))[1])
    r = run("fetch", "-q", "pima", "iris")
    assert r.exit_code == 0, r.output
    dest = _lookup.cache_dir() / "pima-indians-diabetes.csv"
    assert f"pima: downloaded and verified into {dest}" in r.output
    assert f"iris: already present [INITLAB_DATA] {data_dir / 'iris.csv'}" in r.output
    assert dest.read_bytes() == payload and calls == [url]
    r = run("fetch", "pima")
    assert r.exit_code == 0 and f"pima: already present [cache] {dest}" in r.output and calls == [url]


def test_fetch_wrong_hash_exits_2(monkeypatch):
    info = _sources.DATASETS["iris"]
    monkeypatch.setattr(_lookup, "_open_url", lambda u, timeout: FakeResponse(b"tampered\n"))
    r = run("fetch", "iris")
    assert r.exit_code == 2
    assert f"is not the expected {info.downloads[0].sha256}; download discarded" in r.output
    assert not (_lookup.cache_dir() / "iris.csv").exists()
