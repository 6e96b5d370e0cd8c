"""Shared fixtures of the test suite (helpers that are plain functions live in the *_fixtures modules)."""

from __future__ import annotations

import copy
import urllib.error

import matplotlib
import pytest

from initlab.datasets import _lookup


@pytest.fixture
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


@pytest.fixture
def no_global_style():
    """The test must leave matplotlib's rcParams exactly as it found them (figures touch no global style)."""
    before = copy.deepcopy(dict(matplotlib.rcParams))
    yield
    assert dict(matplotlib.rcParams) == before
