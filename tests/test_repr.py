"""Every result shows itself: a short text repr (facts and the head of its summary table) and an HTML repr
(the table and the key figure as an inline PNG)."""

from __future__ import annotations

import base64
import inspect
import math
import re

import numpy as np
import pandas as pd
import pytest

import initlab
from initlab._repr import TEXT_ROWS
from initlab.labs.compare import Comparison
from initlab.labs.registry import get_lab
from initlab.labs.result import RunResult
from initlab.study.trainability import TrainabilityResult


def _check(result, facts: str, in_table: list[str], figure: bool = True) -> None:
    text = repr(result)
    assert text.startswith(f"{type(result).__name__}({facts}")
    assert len(text.splitlines()) <= 2 + TEXT_ROWS + 1 and len(text) < 3000
    assert all(s in text for s in in_table), text
    page = result._repr_html_()
    assert "<table" in page and all(s in page for s in in_table)
    imgs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(imgs) == int(figure)
    if figure:
        assert base64.b64decode(imgs[0])[:8] == b"\x89PNG\r\n\x1a\n"


def test_simresult_shows_its_configs_and_figure():
    res = initlab.simulate(init="xavier,he", act="tanh", depth=3, width=16, batch=8, progress=False)
    _check(res, "2 configs × 1 trial × 3 layers", ["xavier_normal / tanh", "he_normal / tanh", "act_std L3"])
    assert "init_spec" in repr(res) and " he " in repr(res)  # the user's spelling beside the label


def test_spectrum_result_repr_is_short():
    res = initlab.spectrum("tanh", "gaussian", depth=(2, 3), width=30, samples=2, seed=0)
    _check(res, "1 config(s) × 2 depth(s)", ["tanh / gaussian", "sv_max_pred"])
    assert len(repr(res)) < 600  # was a dataclass dump of every table


def test_trainability_result_shows_the_accuracy_grid():
    pts = pd.DataFrame({"sigma_w2": [0.5, 2.0, 0.5, 2.0], "depth": [2, 2, 4, 4], "steps": 10,
                        "train_acc": [0.9, 0.8, 0.7, math.nan], "chi1": [0.5, 1.5, 0.5, 1.5],
                        "xi_c": [2.0, 3.0, 2.0, 3.0], "phase": ["ordered", "chaotic"] * 2})
    curves = pd.DataFrame({"sigma_w2": np.linspace(0.5, 2, 5), "chi1": np.linspace(0.5, 1.5, 5),
                           "xi_c": np.linspace(2, 3, 5)})
    res = TrainabilityResult(pts, curves, 1.0, {}, 0.5, pd.Series({10: 0.75}), 0.1)
    _check(res, "2 σ_w² × 2 depths, steps 10", ["σ_w²=0.5", "σ_w²=2", "0.9"])
    assert "—" in repr(res) and "NaN" not in repr(res)  # a missing value is a dash, not NaN


def test_lab_results_show_metrics_and_curves():
    cfg = get_lab("iris-mlp")
    hist = pd.DataFrame({"epoch": [1, 2, 3], "loss": [1.0, 0.7, 0.5], "accuracy": [0.4, 0.6, 0.8]})
    run = RunResult(cfg, hist, {"train_loss": 0.5, "test_accuracy": 0.75}, seconds=1.5)
    _check(run, "iris-mlp, seed 0, 3 epochs", ["test_accuracy", "0.75"])
    history = pd.concat([hist.assign(init=i, seed=s) for i in ("xavier", "he") for s in (0, 1)])
    final = pd.DataFrame({"init": ["xavier", "xavier", "he", "he"], "seed": [0, 1, 0, 1], "seconds": 1.0,
                          "test_accuracy": [0.7, 0.8, 0.9, 0.85]})
    comp = Comparison(cfg, ["xavier", "he"], [0, 1], history, final, None, "fixture", 4.0)
    _check(comp, "iris-mlp, 2 initializer(s) × 2 seed(s)", ["test_accuracy_mean", "xavier"])


def test_sweep_result_shows_its_points(tmp_path):
    res = initlab.sweep(tmp_path / "s.sqlite", workers=1, blas_threads=1, progress=False, act="tanh",
                        sigma_w2="0.8,1.6", sigma_b2="0.05,0.2", depth=3, width=8, batch=4, trials=1)
    _check(res, repr(str(tmp_path / "s.sqlite")) + ", 4 points, 4 done", ["sigma_w2", "theory_chi1"])
    assert "width" not in repr(res).splitlines()[1]  # only the swept axes


def test_facade_is_tidy_in_a_notebook():
    public = [n for n in dir(initlab) if not n.startswith("_")]
    assert "annotations" not in public and "lazy_attributes" not in public
    assert set(initlab.__all__) <= set(dir(initlab))
    params = inspect.signature(initlab.sweep).parameters
    assert "store" in params and "workers" in params  # the function's signature, not (*args, **kwargs)


@pytest.mark.parametrize("cls", [initlab.SimResult, initlab.SpectrumResult, initlab.TrainabilityResult,
                                 initlab.SweepResult, Comparison, RunResult])
def test_every_result_class_shows_itself(cls):
    assert hasattr(cls, "_repr_html_") and cls.__repr__ is not object.__repr__
    assert "__repr__" not in vars(cls)  # the mixin's repr, not a dataclass dump
