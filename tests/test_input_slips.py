"""Inputs that ended in a traceback or a silent NaN (issue 19): each is now one line and exit 2 before any work,
or a flagged value."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from cli_helpers import one_line_error, run


@pytest.mark.parametrize("args, msg", [
    (["spectrum", "--sigma-b2", "nan"], "not a finite number"),
    (["spectrum", "--q-star", "nan"], "not a finite number"),
    (["spectrum", "--sigma-w2", "1e-300", "--depth", "2"], "outside float64's range"),
    (["spectrum", "--act", "tanh", "--sigma-w2", "0.5", "--depth", "2000"], "outside float64's range"),
    (["spectrum", "--act", "maxout:2", "--depth", "2"], "elementwise activation"),
    (["study", "trainability", "--sigma-b2", "nan"], "not a finite number"),
    (["study", "trainability", "--threshold", "nan"], "not a finite number"),
    (["study", "trainability", "--lr", "inf"], "not a finite number"),
    (["train", "iris-mlp", "--set", "seed=-5"], "seed must be an integer in [0, 2**63)"),
    (["simulate", "--act", "leaky_relu:1e300", "--depth", "2", "--width", "4", "--batch", "4"], "|alpha| <= 1e+06"),
])
def test_bad_inputs_are_one_line_before_any_work(tmp_path, args, msg):
    assert msg in one_line_error(run(*args, "--report", tmp_path / "r.pdf") if args[0] != "train" else run(*args))
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.parametrize("cmd", [["spectrum", "--act", "tanh", "--depth", "2", "--width", "12", "--samples", "1"],
                                 ["study", "trainability"]])
def test_spectrum_and_study_reports_do_not_replace_a_users_file(tmp_path, cmd):
    notes = tmp_path / "notes.pdf"
    notes.write_text("my notes\n")
    assert "give --force" in one_line_error(run(*cmd, "--report", notes))
    assert notes.read_text() == "my notes\n"


def test_relu_with_an_ordered_fixed_point_at_zero_has_a_prediction():
    """σ_w² = 1.2, σ_b² = 0: q* = 0, where ReLU'(0) = 0 would make χ₁ = 0 (a division by zero before); the law
    of φ'² of a homogeneous activation is the same at every q > 0, so χ₁ = σ_w²/2."""
    from initlab.study.freeprob import jacobian_theory

    th = jacobian_theory("relu", "gaussian", 1.2, 0.0)
    assert th.chi1 == pytest.approx(0.6, rel=1e-12) and th.zero_mass == pytest.approx(0.5, rel=1e-12)


def test_report_refuses_nan_histogram_edges(tmp_path):
    out = tmp_path / "run"
    assert run("simulate", "--depth", "3", "--width", "8", "--batch", "8", "--out", out).exit_code == 0
    hist = dict(np.load(out / "histograms.npz"))
    hist["pre_edges"] = hist["pre_edges"] * np.nan
    np.savez(out / "histograms.npz", **hist)
    assert "must be finite and increasing" in one_line_error(run("report", out, "-o", tmp_path / "r.pdf"))
    assert not (tmp_path / "r.pdf").exists()


def test_load_weights_refuses_nan_and_inf(tmp_path):
    from initlab._spec import ConfigError
    from initlab.nn import Dense, Sequential

    m = Sequential([Dense(3, activation="relu"), Dense(2)], seed=0)
    m.build((4,))
    m.save_weights(tmp_path / "w.npz")
    arrays = dict(np.load(tmp_path / "w.npz"))
    key = next(k for k in arrays if k != "__input_shape__")
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] = np.inf
    np.savez(tmp_path / "bad.npz", **arrays)
    other = Sequential([Dense(3, activation="relu"), Dense(2)], seed=1)
    with pytest.raises(ConfigError, match="NaN or infinite"):
        other.load_weights(tmp_path / "bad.npz")
    other.load_weights(tmp_path / "w.npz")  # the good file still loads


def test_a_killed_checkpoint_writes_temp_file_is_removed(tmp_path):
    """A dead writer's ``.w-03.npz.initlab-PID-XXXX.tmp`` is removed when training starts, although the next
    checkpoint has another name."""
    from initlab.nn import Dense, ModelCheckpoint, Sequential

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".w-03.npz.initlab-{dead.pid}-0badc0de.tmp"
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / f".w-05.npz.initlab-{os.getpid()}-00c0ffee.tmp"  # a live writer's: kept
    live.write_bytes(b"being written")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.integers(0, 2, 16)
    m = Sequential([Dense(3, activation="relu"), Dense(2)], seed=0)
    m.compile("sgd", "sparse_categorical_crossentropy")
    m.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "w-{epoch:02d}.npz")])
    assert not stale.exists() and live.exists() and (tmp_path / "w-01.npz").exists()


@pytest.mark.slow
def test_dask_local_ctrl_c_is_quiet(tmp_path):
    """SIGINT to the whole process group (as a terminal's Ctrl-C): one line, exit 130, no worker traceback."""
    pytest.importorskip("distributed")
    store = tmp_path / "c.sqlite"
    args = [sys.executable, "-m", "initlab.cli", "sweep", "--act", "tanh", "--sigma-w2", "0.5:2.5:400", "--depth",
            "200", "--width", "128", "--batch", "64", "--dask-local", "2", "--no-progress", "--store", str(store)]
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal starts it
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (store.exists() and store.stat().st_size > 0):
        time.sleep(0.1)
    time.sleep(1.0)  # the cluster is up and points are running (400 points of depth 200: tens of seconds of work)
    os.killpg(p.pid, 2)
    _, err = p.communicate(timeout=60)
    text = err.decode()
    assert p.returncode == 130, text[-2000:]
    assert "Traceback" not in text and "Port 8787" not in text, text[-2000:]
