"""The experiment engine (issue 18): any task on the executors and the store, one grid syntax, one result
contract, real signatures and a public-only facade."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import initlab
from initlab._spec import ConfigError
from initlab.cli import main
from initlab.sweep.axes import grid_values
from initlab.sweep.run import run_task
from initlab.sweep.task import JsonConfig, Measured, PointsFailed, Task


@dataclass(frozen=True)
class Draw(JsonConfig):
    """A toy point: ``n`` normal draws of its own seed."""

    n: int
    seed: int

    def __post_init__(self):
        if self.n < 1:
            raise ConfigError("n must be >= 1")


class DrawTask(Task):
    schema_name = "spectrum"  # rows (depth, sv): an int and a float per row
    config_type = Draw

    def measure(self, config: Draw, seed: int, rows: bool = True) -> Measured:
        if config.n == 13:
            raise ValueError("unlucky")
        x = np.random.default_rng(seed).standard_normal(config.n)
        return Measured({}, {"depth": np.arange(config.n), "sv": x})


def test_any_task_runs_on_the_serial_and_pool_executors_with_the_same_rows(tmp_path):
    cfgs = [Draw(n, s) for n in (2, 5) for s in (0, 1, 2)]
    _, serial = run_task(DrawTask(), cfgs, workers=1, progress=False)
    _, pooled = run_task(DrawTask(), cfgs, workers=2, threads=1, progress=False)
    pd.testing.assert_frame_equal(serial, pooled, check_exact=True)
    first = serial[serial["point"] == serial["point"].iloc[0]]
    assert np.array_equal(first["sv"].to_numpy(), np.random.default_rng(0).standard_normal(2))
    with pytest.raises(PointsFailed, match="1 of 2 points failed; the first: ValueError: unlucky"):
        run_task(DrawTask(), [Draw(3, 0), Draw(13, 0)], workers=1, progress=False, store=tmp_path / "d.sqlite")
    # the failed point stays in the store (status failed); the done one is not redone
    from initlab.sweep.store import Store

    with Store(tmp_path / "d.sqlite", task="spectrum") as st:
        assert (st.count("done"), st.count("failed")) == (1, 1)


@pytest.mark.parametrize("text, kw, want", [
    ("1:3:3", {}, [1.0, 2.0, 3.0]),
    ("log:1:100:3", {}, [1.0, 10.0, 100.0]),
    ("0.5, 2,0.5", {}, [0.5, 2.0]),
    ("2:10:4", {"integer": True}, [2, 5, 7, 10]),
    ("log:2:128:7", {"integer": True}, [2, 4, 8, 16, 32, 64, 128]),
])
def test_one_grid_syntax(text, kw, want):
    assert grid_values("x", text, **kw) == pytest.approx(want)


@pytest.mark.parametrize("text, kw, msg", [
    ("1:3", {}, "must look like a:b:n"), ("log:0:1:3", {}, "positive ends"), ("1,a", {}, "'a' is not a number"),
    ("2.5", {"integer": True}, "must be integers"), ("0", {"low": 0, "low_open": True}, "values must be > 0"),
    ("5", {"low": 1, "high": 4}, "in [1, 4]"), ("", {}, "empty"),
])
def test_one_grid_syntax_refuses(text, kw, msg):
    with pytest.raises(ConfigError, match=msg.replace("[", r"\[").replace("(", r"\(")):
        grid_values("--x", text, **kw)


def test_sweep_has_a_real_signature_and_the_facade_shows_public_names():
    params = inspect.signature(initlab.sweep).parameters
    assert {"store", "workers", "scheduler", "dask_local", "threads", "keep", "axes"} <= set(params)
    names = dir(initlab)
    assert "annotations" not in names and "lazy_attributes" not in names
    assert {"simulate", "sweep", "spectrum", "trainability", "SweepResult"} <= set(names)
    assert all(n in initlab.__all__ or n in ("sim", "plots", "report", "theory", "activations", "initializers")
               for n in names)


def test_sweep_result_contract_round_trips(tmp_path, no_global_style, monkeypatch):
    res = initlab.sweep(tmp_path / "s.sqlite", act="tanh", sigma_w2="1,2", sigma_b2="0.05,0.2", depth=3, width=8,
                        batch=4, workers=1, threads=1, progress=False)
    assert res.summary().startswith("4 points in") and "same phase in" in res.summary()
    assert list(res.figures()) == ["phase"]
    back = initlab.SweepResult.from_dir(res.to_dir(tmp_path / "run"))
    pd.testing.assert_frame_equal(res.points, back.points, check_exact=True)
    assert back.grid == res.grid
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # the one PDF writer: dated by it, not by the clock
    a = res.report(tmp_path / "a.pdf").read_bytes()
    assert b"D:20231114" in a and res.report(tmp_path / "b.pdf").read_bytes() == a


def test_cli_vocabulary_threads_quiet_and_export_of_a_study_store(tmp_path):
    store = tmp_path / "s.sqlite"
    r = CliRunner().invoke(main, ["sweep", "--act", "tanh", "--depth", "2", "--width", "4", "--batch", "4",
                                  "--workers", "1", "--threads", "1", "--quiet", "--store", str(store)])
    assert r.exit_code == 0, r.output
    spec = tmp_path / "spec.sqlite"
    r = CliRunner().invoke(main, ["spectrum", "--act", "relu", "--init", "gaussian", "--depth", "1:2:2", "--width",
                                  "6", "--samples", "2", "--workers", "1", "--threads", "1", "--quiet",
                                  "--store", str(spec)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["sweep", "export", str(spec), "-o", str(tmp_path / "sv.csv"), "--table", "layers"])
    assert r.exit_code == 0, r.output
    sv = pd.read_csv(tmp_path / "sv.csv")
    assert list(sv.columns) == ["point", "depth", "sv"] and len(sv) == 2 * 2 * 6
    r = CliRunner().invoke(main, ["sweep", "export", str(spec), "-o", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    p = pd.read_csv(tmp_path / "p.csv")
    assert len(p) == 2 and set(p["status"]) == {"done"} and {"act", "weights", "sample", "seed"} <= set(p.columns)
    r = CliRunner().invoke(main, ["spectrum", "--act", "relu", "--init", "gaussian", "--depth", "2", "--width", "6",
                                  "--samples", "1", "--workers", "1", "--quiet", "--store", str(store)])
    assert r.exit_code == 2 and "holds simulate points, not spectrum points" in r.output
    r = CliRunner().invoke(main, ["sweep", "report", str(spec), "-o", str(tmp_path / "x.pdf")])
    assert r.exit_code == 2 and "holds spectrum points, not simulate points" in r.output


def test_a_sweep_point_measures_from_the_engine_arrays_with_the_bits_of_simulate():
    """Parsed once: the point's summary comes from the engine's per-layer arrays (no frame unless the rows are
    kept); the rows it keeps are those of initlab.simulate, bit for bit."""
    from initlab.schema import LAYER_COLUMNS
    from initlab.sim.config import SimConfig
    from initlab.sweep.measure import measure_point

    cfg = SimConfig(inits=("he",), acts=("tanh",), depth=5, width=16, batch=8, trials=2, input="pairs:c0=0.5", seed=3)
    full, lean = measure_point(cfg, rows=True), measure_point(cfg, rows=False)
    assert lean.rows is None
    assert pd.Series(full.summary).equals(pd.Series(lean.summary))
    layers = initlab.simulate(cfg, progress=False).layers
    for c in LAYER_COLUMNS:
        assert pd.Series(full.rows[c]).equals(pd.Series(layers[c].to_numpy())), c


def test_every_result_keeps_one_contract(tmp_path, no_global_style):
    """SimResult too: points, summary() as text, lazy figures and a run folder that reads back (its PDF is
    report.sim.write_report: the report wing sits above the simulation's, so the result does not import it)."""
    res = initlab.simulate(init="he", act="tanh", depth=3, width=8, batch=8, progress=False)
    assert res.points is res.layers and isinstance(res.summary(), str)
    figs = res.figures()
    assert "moments_act" in figs and len(figs._built) == 0  # nothing drawn until asked
    assert figs["moments_act"] is figs["moments_act"]
    assert initlab.SimResult.from_dir(res.to_dir(tmp_path / "run")) == res
