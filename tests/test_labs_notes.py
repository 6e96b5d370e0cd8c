"""The labs as the notes ran them: the dead-output redraw, Fashion-MNIST, settings that differ from the notes',
options checked before data, and reproducible lab reports."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from initlab.cli import main
from initlab.labs import get_lab, lab_names
from initlab.labs.data import load_lab_data
from initlab.labs.result import setting_differences
from initlab.labs.runs import run_lab
from initlab.labs.training import draw_live_model, output_dead_at_init


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("INITLAB_OFFLINE", "1")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def _write_idx(path: Path, arr: np.ndarray, magic: int) -> None:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def fashion_dir(tmp_path_factory) -> str:
    """60 + 20 'clothes' in Fashion-MNIST's IDX files: class c is a bright bar at row 2c."""
    root = tmp_path_factory.mktemp("fashion")
    (root / "fashion-mnist").mkdir()
    rng = np.random.default_rng(5)
    for part, n in (("train", 60), ("t10k", 20)):
        y = np.arange(n) % 10
        x = rng.integers(0, 40, size=(n, 28, 28))
        for i, c in enumerate(y):
            x[i, 2 * c + 2: 2 * c + 5, 4:24] = 240
        _write_idx(root / "fashion-mnist" / f"{part}-images-idx3-ubyte.gz", x, 2051)
        _write_idx(root / "fashion-mnist" / f"{part}-labels-idx1-ubyte.gz", y, 2049)
    return str(root)


def _boston(tmp_path: Path) -> str:
    rng = np.random.default_rng(1)
    x = np.abs(rng.normal(size=(506, 13))) * 5
    y = 20 + 2 * x[:, 5] - 0.5 * x[:, 12] + rng.normal(size=506)
    np.savetxt(tmp_path / "boston-housing.csv", np.column_stack([x, y]), delimiter=",", fmt="%.4f")
    return str(tmp_path)


def test_a_dead_output_at_init_is_said_and_redrawn_with_the_next_seed(tmp_path):
    data = load_lab_data(get_lab("boston-regression"), _boston(tmp_path))
    # find, on this data, a seed whose network is dead at init followed by a live one
    cfg = get_lab("boston-regression", epochs=2, bias_init="normal:2")
    dead = [output_dead_at_init(cfg.replace(seed=s, redraw_dead=0), data) for s in range(40)]
    start = next(s for s in range(39) if dead[s] and not dead[s + 1])
    lines = []
    kept, _, draws = draw_live_model(cfg.replace(seed=start), data, log=lines.append)
    assert kept.seed == start + 1 and list(draws["seed"]) == [start, start + 1] and list(draws["dead"]) == [True, False]
    assert len(lines) == 1 and lines[0].startswith(f"seed {start}: dead output at init")
    assert f"seed {start + 1}" in lines[0]
    res = run_lab(cfg.replace(seed=start), data=data, progress=False)
    assert res.seed == start + 1 and res.metrics["dead_draws"] == 1 and res.metrics["output_dead_at_init"] == 0
    assert list(res.tables["init_draws"]["dead"]) == [True, False]
    # without redraws the dead network is kept and predicts 0 for everything
    off = run_lab(cfg.replace(seed=start, redraw_dead=0), data=data, progress=False)
    assert off.seed == start and off.metrics["output_dead_at_init"] == 1
    assert np.all(off.extras["model"].predict(data.x_train) == 0)
    assert off.metrics["train_mse"] == pytest.approx(float(np.mean(data.y_train.astype(np.float64) ** 2)), rel=1e-5)
    # a network that stays dead through every draw is kept after the stated number of tries
    lines.clear()
    _, _, draws = draw_live_model(cfg.replace(bias_init="constant:-1000", redraw_dead=3), data, log=lines.append)
    assert len(draws) == 3 and draws["dead"].all() and "no live draw in 3" in lines[-1]


def test_fashion_mnist_trains_the_softmax_lab(fashion_dir):
    cfg = get_lab("mnist-softmax", epochs=2).with_overrides(["dataset=fashion-mnist"])  # --set dataset=...
    res = run_lab(cfg, data_path=fashion_dir, progress=False)
    assert res.source == "Fashion-MNIST (60 / 20)" and res.class_names[0] == "T-shirt/top"
    assert res.images.shape == (20, 28, 28) and res.proba.shape == (20, 10) and set(res.labels) == set(range(10))
    assert 0 <= res.metrics["test_accuracy"] <= 1 and cfg.is_image
    notes = res.notes_table()  # the notes' 0.927 is MNIST's: not comparable
    assert not notes["comparable"].any() and notes["difference"].isna().all()
    assert "dataset fashion-mnist (notes: mnist)" in notes["settings"][0]


def test_setting_differences_name_what_differs():
    assert setting_differences(get_lab("iris-mlp")) == []
    assert setting_differences(get_lab("iris-mlp", seed=5, redraw_dead=3)) == []
    assert setting_differences(get_lab("iris-mlp", epochs=3, hidden=(8,))) == ["hidden 8 (notes: 32,32,32)",
                                                                               "epochs 3 (notes: 200)"]
    he = get_lab("mnist-mlp", init="variance_scaling:scale=2")
    note = he.applicable_notes()[0]
    assert setting_differences(he, note) == [] and setting_differences(he) == [
        "init variance_scaling:scale=2 (notes: xavier_uniform)"]
    # a point of the loss curve is comparable whenever the run reached it
    pima = get_lab("pima-logreg", epochs=100)
    curve = {n.metric: n for n in pima.notes}
    assert setting_differences(pima, curve["loss@100"]) == [] and setting_differences(pima, curve["train_loss"])


def test_options_are_checked_before_the_data(tmp_path):
    run = CliRunner()
    missing = str(tmp_path / "nothing-here")
    for args, msg in ((["--optimizer", "adamm"], "unknown optimizer 'adamm'; did you mean 'adam'?"),
                      (["--init", "xavir"], "unknown initializer 'xavir'"),
                      (["--set", "act=rellu"], "unknown activation 'rellu'"),
                      (["--set", "loss=mse2"], "unknown loss"),
                      (["--set", "dataset=fashion"], "unknown dataset 'fashion'; did you mean 'fashion-mnist'?")):
        r = run.invoke(main, ["train", "mnist-mlp", "--data", missing, *args])
        assert r.exit_code == 2, (args, r.output)
        assert msg in r.output and "mnist" not in r.output.split("Error:")[1].split(msg)[0], r.output
        assert len(r.output.strip().splitlines()) == 1
    r = run.invoke(main, ["compare", "iris-mlp", "--data", missing, "--optimizer", "adamm"])
    assert r.exit_code == 2 and "did you mean 'adam'" in r.output
    r = run.invoke(main, ["labs", "reproduce", "--labs", "iris-mlp", "--data", missing, "--set", "optimizer=adamm",
                          "--out", str(tmp_path / "repro")])
    assert r.exit_code == 2 and "did you mean 'adam'" in r.output and not (tmp_path / "repro.csv").exists()


def test_train_help_lists_every_lab():
    out = CliRunner().invoke(main, ["train", "--help"]).output
    for name in lab_names():
        assert name in out
    assert "Labs (initlab labs shows their settings)" in out


def test_lab_report_bytes_are_reproducible(tmp_path, monkeypatch):
    import datetime as dt

    from initlab.labs.result import RunResult
    from initlab.report.labs import write_run_report
    from initlab.report.pdf import report_date

    res = RunResult(get_lab("loss-comparison"), pd.DataFrame(), {})  # a title page only: fast
    a = write_run_report(res, tmp_path / "a.pdf").read_bytes()
    b = write_run_report(res, tmp_path / "b.pdf").read_bytes()
    assert a == b  # dated by the time recorded with the run
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    assert report_date(res.started) == dt.datetime(1970, 1, 2, tzinfo=dt.timezone.utc)
    c = write_run_report(res, tmp_path / "c.pdf").read_bytes()
    assert c != a and b"D:19700102000000" in c
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        report_date()


def test_reproduce_says_when_the_settings_differ(tmp_path):
    from initlab.labs.reproduce import format_table, reproduce

    df = reproduce(["boston-tf"], seeds=1, data_path=_boston(tmp_path), sets=["epochs=2"])
    row = df.set_index("metric").loc["test_mse"]
    assert not row["comparable"] and "settings differ: epochs 2 (notes: 200)" in row["condition"]
    assert "(94.78: settings differ)" in format_table(df)
