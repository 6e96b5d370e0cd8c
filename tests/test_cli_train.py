"""`initlab labs`, `initlab train`, `initlab compare` through click's CliRunner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from initlab.cli import main
from initlab.labs import lab_names

from lab_fixtures import write_fixture_data


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> str:
    real = os.environ.get("INITLAB_DATA")
    if real and (Path(real) / "mnist").exists() and (Path(real) / "iris.csv").exists():
        return real
    return str(write_fixture_data(tmp_path_factory.mktemp("clidata")))


@pytest.fixture
def run(monkeypatch):
    monkeypatch.setenv("INITLAB_OFFLINE", "1")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_labs_lists_every_lab_with_settings(run):
    r = run("labs")
    assert r.exit_code == 0
    for name in lab_names():
        assert name in r.output
    assert "0.9805" in r.output and "settings:" in r.output
    data = json.loads(run("labs", "--format", "json").output)
    assert data["mnist-softmax"]["init"] == "normal:0.05"
    shown = json.loads(run("labs", "show", "iris-mlp").output)
    assert shown["split_seed"] == 1234 and shown["test_split"] == 0.3


def test_train_writes_run_dir_and_pdf(run, data_dir, tmp_path):
    out, pdf = tmp_path / "run", tmp_path / "lab.pdf"
    r = run("train", "mnist-softmax", "--subset", "150", "--epochs", "1", "--data", data_dir, "--quiet",
            "--out", str(out), "--report", str(pdf))
    assert r.exit_code == 0, r.output
    assert "test_accuracy" in r.output and "0.9270" in r.output  # ours beside the notes'
    hist = pd.read_csv(out / "history.csv")
    assert list(hist["epoch"]) == [1] and {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(hist.columns)
    meta = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= meta["metrics"]["test_accuracy"] <= 1.0
    assert json.loads((out / "config.json").read_text())["subset"] == 150
    pngs = {p.stem for p in (out / "figures").glob("*.png")}
    assert {"learning_curves", "sample_predictions", "confusion_matrix", "misclassified"} <= pngs
    preds = pd.read_csv(out / "predictions.csv")
    assert len(preds) == 150 and {"label", "predicted", "p_9"} <= set(preds.columns)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


def test_train_overrides_and_seed(run, data_dir, tmp_path):
    r = run("train", "pima-logreg", "--epochs", "3", "--lr", "0.5", "--seed", "4", "--data", data_dir,
            "--set", "bias_init=zeros", "--out", str(tmp_path / "p"))
    assert r.exit_code == 0, r.output
    cfg = json.loads((tmp_path / "p" / "config.json").read_text())
    assert (cfg["epochs"], cfg["lr"], cfg["seed"], cfg["bias_init"]) == (3, 0.5, 4, "zeros")
    assert "train_accuracy" in r.output and "0.7200" in r.output


def test_compare_tiny(run, data_dir, tmp_path):
    pdf = tmp_path / "cmp.pdf"
    r = run("compare", "iris-mlp", "--init", "xavier,normal:0.01", "--seeds", "2", "--epochs", "2",
            "--data", data_dir, "--quiet", "--report", str(pdf), "--out", str(tmp_path / "c"))
    assert r.exit_code == 0, r.output
    assert "normal:0.01" in r.output and "±" in r.output
    final = pd.read_csv(tmp_path / "c" / "final.csv")
    assert len(final) == 4 and set(final["seed"]) == {0, 1}
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_reproduce_writes_its_table(run, tmp_path):
    r = run("labs", "reproduce", "--labs", "loss-comparison", "--seeds", "1", "--out", str(tmp_path / "rep"))
    assert r.exit_code == 0, r.output
    assert "| loss-comparison | ce_model_b | 0.6400 |" in r.output
    assert (tmp_path / "rep.csv").exists() and (tmp_path / "rep.md").exists()


@pytest.mark.parametrize("args, hint", [
    (("train", "mnist-sofmax"), "did you mean 'mnist-softmax'"),
    (("train", "iris-mlp", "--init", "hee"), "did you mean 'he'"),
    (("train", "iris-mlp", "--epochs", "0"), "epochs must be >= 1"),
    (("train", "iris-mlp", "--set", "epoch=2"), "did you mean 'epochs'"),
    (("train", "iris-mlp", "--set", "epochs"), "expected key=value"),
    (("compare", "iris-mlp", "--inits", "xavier,normal:-1"), "std"),
    (("compare", "activations", "--seeds", "1"), "study"),
    (("labs", "reproduce", "--labs", "irismlp"), "did you mean 'iris-mlp'"),
    (("labs", "show", "nope-lab"), "unknown lab"),
])
def test_bad_input_is_one_line_and_exit_2(run, args, hint):
    r = run(*args)
    assert r.exit_code == 2
    assert hint in r.output
    assert len([ln for ln in r.output.splitlines() if ln.startswith("Error")]) == 1


def test_bench_help_names_its_default_shapes(run):
    from initlab.sim.bench import TARGETS

    out = run("bench", "--help").output
    assert "the issue's" not in out
    for b, w, d in TARGETS:
        assert f"{b}x{w}x{d}" in out.replace("\n", " ")


def test_compare_takes_simulates_init_and_the_old_inits(run):
    """One vocabulary (issue 22): compare's initializers are --init, as simulate's; --inits still works alone."""
    for args, hint in ((("--init", "normal:-1"), "std"), (("--inits", "normal:-1"), "std"),
                       (("--init", "xavier", "--inits", "he"), "--init only")):
        r = run("compare", "iris-mlp", *args)
        assert r.exit_code == 2 and hint in r.output, r.output
        assert len([ln for ln in r.output.splitlines() if ln.startswith("Error")]) == 1
