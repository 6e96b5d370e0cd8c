"""Issue 10, inputs: NaN never without a flag, every bad input a one-line error before any work (numbers,
sizes, paths, datasets, weights files)."""

from __future__ import annotations

import gzip
import io
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from initlab.activations import ACTIVATIONS, get_activation
from cli_helpers import one_line_error, run

TINY = ["--depth", "3", "--width", "6", "--batch", "8"]



# -- NaN never without a flag ---------------------------------------------------------------------
def test_forward_statistics_stay_finite_when_float32_products_overflow():
    r = run("simulate", "--init", "normal:1", "--act", "linear", "--depth", "36", "--width", "100",
            "--batch", "100", "--format", "csv")
    df = pd.read_csv(io.StringIO(r.stdout))
    assert not df["diverged"].any() and df["pre_max"].max() > 1e30  # squares overflow float32 from layer ~19
    assert np.isfinite(df["pre_corr"]).all() and np.isfinite(df[["pre_std", "act_q"]]).all().all()
    # the correlation is scale-free: the scaled float64 result equals a direct float64 computation
    from initlab.sim.stats import pair_corr

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 10, 7))
    big = (x * 1e30).astype(np.float32)
    rn = np.full((1, 10), np.inf, dtype=np.float32)
    want = np.mean([(a @ b) / np.sqrt((a @ a) * (b @ b)) for a, b in zip(x[0, 0::2], x[0, 1::2])])
    with np.errstate(all="ignore"):  # as the engine calls it
        got = pair_corr(big, rn)[0]
    assert got == pytest.approx(want, rel=1e-5)


def test_backward_overflow_is_flagged_per_layer_and_counted(monkeypatch):
    import initlab.sim.engine as engine

    monkeypatch.setattr(engine, "predict_layers", lambda *a, **k: None)  # the theory is not the subject here
    # the case: every gradient column was NaN with diverged=False; now every gradient is finite
    r = run("simulate", "--init", "normal:10", "--bias-init", "normal:1e30", "--act", "gelu_tanh", "--depth", "5",
            "--width", "32", "--batch", "32", "--format", "csv")
    df = pd.read_csv(io.StringIO(r.stdout))
    grads = ["grad_pre_norm", "grad_w_norm", "grad_pre_ratio", "grad_w_ratio"]
    assert not df["diverged"].any() and np.isfinite(df[grads]).all().all() and not df["grad_diverged"].any()
    # MSE on a finite but huge output: the backward overflows float32 in every layer, the forward does not
    res = engine.simulate(init="normal:1e4", act="linear", depth=5, width=20, batch=8, loss="mse", progress=False)
    flagged = res.layers["grad_diverged"]
    bad = ~(np.isfinite(res.layers["grad_pre_norm"]) & np.isfinite(res.layers["grad_w_norm"]))
    assert not res.layers["diverged"].any() and flagged.all() and (flagged == bad).all()
    assert res.grad_diverged_layers == {res.labels[0]: 5} and "gradient overflowed in 5 layers" in res.summary()
    # a forward divergence skips the backward: every layer's NaN gradient is flagged (before the divergence too,
    # where diverged is False), but no overflow of a backward pass is counted
    res = engine.simulate(init="normal:1e6", act="linear", depth=8, width=20, batch=8, progress=False)
    lay = res.layers
    nan_grad = ~(np.isfinite(lay["grad_pre_norm"]) & np.isfinite(lay["grad_w_norm"]))
    assert lay["diverged"].any() and not lay["diverged"].all() and nan_grad.all()
    assert (lay["grad_diverged"] == nan_grad).all() and not (nan_grad & ~lay["diverged"] & ~lay["grad_diverged"]).any()
    assert res.grad_diverged_layers == {res.labels[0]: 0} and "gradient overflowed" not in res.summary()


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS.names() if n != "maxout"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_activation_grad_is_finite_where_fn_is(name, dtype):
    big = np.finfo(dtype).max
    x = np.array([big, -big, big / 10, -big / 10, 1e30, -1e30, 1e10, -1e10, 20.0, -20.0, 0.0], dtype=dtype)
    act = get_activation(name)
    with np.errstate(all="ignore"):
        f, g = act.fn(x), act.grad(x)
        f2, g2 = act.fn_grad(x)
    assert np.all(np.isfinite(g[np.isfinite(f)])) and np.all(np.isfinite(g2[np.isfinite(f2)]))
    np.testing.assert_allclose(g, g2, rtol=1e-5, atol=1e-6)


def test_maxout_grad_is_finite_where_fn_is():
    act = get_activation("maxout:2")
    x = np.array([[3.4e38, -3.4e38, 1e30, -1e30]], dtype=np.float32)
    with np.errstate(all="ignore"):
        f, ctx = act.forward(x)
        g = act.backward(ctx, np.ones_like(f))
    assert np.isfinite(f).all() and np.isfinite(g).all()


def test_terminate_on_nan_stops_at_the_first_nonfinite_loss():
    from initlab import nn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential([nn.Dense(8, act="relu", input_dim=4), nn.Dense(2, act="softmax")], seed=0)
    import dataclasses

    from initlab.nn.optimizers import get_optimizer

    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=dataclasses.replace(get_optimizer("sgd"), learning_rate=1e30))
    cb = nn.TerminateOnNaN()
    with np.errstate(all="ignore"), pytest.raises(nn.TrainingDiverged, match=r"at epoch 1, step \d+"):
        model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[cb])
    e, s = cb.stopped
    assert e == 1 and 1 <= s <= 8 and model.stop_training


def test_train_stops_at_the_first_nan_with_one_line(tmp_path, monkeypatch):
    from lab_fixtures import write_fixture_data

    data = write_fixture_data(tmp_path / "data")
    monkeypatch.setenv("INITLAB_DATA", str(data))
    out = tmp_path / "run"
    for extra in (["--lr", "1e30"], ["--init", "normal:1e30"]):
        r = run("train", "iris-mlp", "--epochs", "3", "--quiet", "--out", out, *extra)
        msg = one_line_error(r, code=1)
        assert "epoch 1, step" in msg and not out.exists()
    for bad in (["--seed", "-1"], ["--set", "hidden=-5"], ["--set", "validation=holdout:1000"]):
        one_line_error(run("train", "iris-mlp", "--epochs", "1", "--quiet", "--out", out, *bad))
    assert not out.exists()


# -- one-line errors before any work -----------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["theory", "--act", "tanh", "--sigma-w2", "nan"], ["theory", "--act", "tanh", "--sigma-w2", "inf"],
    ["theory", "--act", "tanh", "--sigma-w2", "1", "--sigma-b2", "nan"],
    ["theory", "--act", "tanh", "--sigma-w2", "1", "--q0", "inf"],
    ["theory", "phase", "--act", "tanh", "-o", "x.png", "--sigma-w2-max", "inf"],
    ["theory", "phase", "--act", "tanh", "-o", "x.png", "--sigma-b2-max", "nan"],
    ["recommend", "--act", "tanh", "--sigma-b2", "NaN"],
    ["simulate", "--gain", "1e300"], ["simulate", "--init", "normal:1e300"], ["simulate", "--gain", "nan"],
    ["simulate", "--dropout", "inf"], ["simulate", "--width", "2000000", "--depth", "2"],
    ["simulate", "--depth", "2147483648"],
    ["simulate", "--width", "20000", "--depth", "5", "--batch", "5000", "--max-memory", "4G"],
    ["simulate", "--max-memory", "lots"], ["simulate", "--threads", "0"],
    ["simulate", "--out", "/proc/initlab-x"], ["bench", "--what", "engine", "--shape", "100000x100000x3"],
    ["train", "iris-mlp", "--lr", "nan"], ["train", "iris-mlp", "--seed", "-1"],
])
def test_bad_numbers_are_one_line_errors(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line_error(run(*args))
    assert not (tmp_path / "x.png").exists()


def test_memory_estimate_names_the_need_and_the_limit():
    msg = one_line_error(run("simulate", "--width", "2000000", "--depth", "2"))
    assert "needs about" in msg and "available" in msg
    msg = one_line_error(run("simulate", *TINY, "--max-memory", "1K"))
    assert "needs about" in msg and "1.0 KiB" in msg
    assert run("simulate", *TINY, "--max-memory", "1G").exit_code == 0


def test_memory_estimate_bounds_the_measured_peak():
    """The estimate is an upper bound of what the engine allocates (numpy's traced peak), within 3x."""
    import tracemalloc

    from initlab.sim.config import SimConfig
    from initlab.sim.engine import simulate
    from initlab.sim.memory import estimate_bytes

    cases = (dict(act="relu", width=300, depth=4, batch=200), dict(act="tanh", width=200, depth=3, batch=150,
                                                                     dropout=0.2))
    for kw in cases:  # warm up: imports and caches are not the run's memory
        simulate(SimConfig.build(**dict(kw, width=4, depth=2, batch=4)), progress=False)
    for kw in cases:
        cfg = SimConfig.build(**kw)
        tracemalloc.start()
        simulate(cfg, progress=False)
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        est = estimate_bytes(cfg)
        assert peak <= est <= 3 * peak + (8 << 20), (kw, peak, est)


def test_output_paths_are_checked_before_the_work(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    msg = one_line_error(run("simulate", *TINY, "--out", f / "sub"))
    assert "is a file" in msg
    one_line_error(run("simulate", *TINY, "--out", tmp_path / ("n" * 300)))
    one_line_error(run("simulate", *TINY, "--report", tmp_path / ("n" * 300 + ".pdf")))

def test_load_weights_validates_before_allocating(tmp_path):
    from initlab import nn
    from initlab._spec import ConfigError

    def model():
        m = nn.Sequential([nn.Dense(4, act="relu", input_dim=3), nn.Dense(2)], seed=0)
        return m

    good = tmp_path / "w.npz"
    m = model()
    m.build((3,))
    m.save_weights(good)
    fresh = nn.Sequential([nn.Dense(4, act="relu"), nn.Dense(2)], seed=1)
    fresh.load_weights(good)
    np.testing.assert_array_equal(fresh.get_weights()[0], m.get_weights()[0])
    # a crafted input shape that would need terabytes
    with zipfile.ZipFile(good) as z:
        arrays = {n[:-4]: np.load(io.BytesIO(z.read(n))) for n in z.namelist()}
    arrays["__input_shape__"] = np.array([4_000_000_000], dtype=np.int64)
    crafted = tmp_path / "crafted.npz"
    np.savez(crafted, **arrays)
    with pytest.raises(ConfigError, match="fits none of the saved weights"):
        nn.Sequential([nn.Dense(4, act="relu"), nn.Dense(2)], seed=1).load_weights(crafted)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ConfigError, match="not a readable weights file"):
        model().load_weights(truncated)
    arrays = {k: v for k, v in arrays.items() if k != "__input_shape__"}
    arrays[next(iter(arrays))] = np.zeros((5, 5), np.float32)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, **arrays)
    m2 = model()
    m2.build((3,))
    with pytest.raises(ConfigError, match="shape"):
        m2.load_weights(wrong)


def test_decompression_stops_at_the_declared_size(tmp_path):
    from initlab.datasets import DatasetError
    from initlab.datasets._formats import read_idx, read_tar_texts

    labels = np.arange(10, dtype=np.uint8)
    head = struct.pack(">BBBB", 0, 0, 8, 1) + struct.pack(">I", 10)
    bomb = tmp_path / "labels.gz"
    bomb.write_bytes(gzip.compress(head + labels.tobytes() + bytes(50_000_000), 9))  # ~50 KB on disk
    assert bomb.stat().st_size < 100_000
    with pytest.raises(DatasetError, match="unexpected bytes"):
        read_idx(bomb, 2049)
    ok = tmp_path / "ok.gz"
    ok.write_bytes(gzip.compress(head + labels.tobytes()))
    np.testing.assert_array_equal(read_idx(ok, 2049), labels)
    liar = tmp_path / "liar.gz"
    liar.write_bytes(gzip.compress(struct.pack(">BBBB", 0, 0, 8, 1) + struct.pack(">I", 4_000_000_000)))
    with pytest.raises(DatasetError, match="more than"):
        read_idx(liar, 2049)
    import tarfile

    tar = tmp_path / "t.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        info = tarfile.TarInfo("txt_sentoken/pos/big.txt")
        info.size = 20_000_000
        t.addfile(info, io.BytesIO(bytes(info.size)))
    with pytest.raises(DatasetError, match="more than"):
        read_tar_texts(tar, r"txt_sentoken/(pos|neg)/", max_member=1_000_000)


def test_data_verify_catches_a_flipped_label_byte(tmp_path, monkeypatch):
    from initlab.datasets.verify import CONTENT_SHA256, verify_file
    from initlab.datasets import get_info

    info = get_info("mnist")
    # a stand-in with a known content hash: register the hash of our own file, then flip one byte
    data = struct.pack(">BBBB", 0, 0, 8, 1) + struct.pack(">I", 5) + bytes([7, 2, 1, 0, 4])
    import hashlib

    monkeypatch.setitem(CONTENT_SHA256, "t10k-labels-idx1-ubyte", hashlib.sha256(data).hexdigest())
    folder = tmp_path / "mnist"
    folder.mkdir()
    p = folder / "t10k-labels-idx1-ubyte.gz"
    p.write_bytes(gzip.compress(data, 1))
    assert verify_file(info, p).status == "ok"
    p.write_bytes(gzip.compress(data[:-1] + bytes([5]), 9))
    assert verify_file(info, p).status == "MISMATCH"
    real = Path("/work/shared/datasets")
    if os.environ.get("INITLAB_DATA") and (Path(os.environ["INITLAB_DATA"]) / "mnist").is_dir():
        real = Path(os.environ["INITLAB_DATA"])
    if (real / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file():
        monkeypatch.undo()
        assert verify_file(info, real / "mnist" / "t10k-labels-idx1-ubyte.gz").status == "ok"
