"""The user's spelling is kept beside the canonical spec, and ``--gain`` labels what ran or refuses a conflict."""

from __future__ import annotations

import json
import math

import pytest

from cli_helpers import one_line_error, run
from initlab import simulate
from initlab._spec import ConfigError
from initlab.sim.config import SimConfig
from initlab.sim.result import SimResult


def test_frame_keeps_the_users_spelling_beside_the_canonical_spec(tmp_path):
    res = simulate(init="xavier,kaiming:gain=1", act="swish", depth=2, width=8, batch=4, progress=False)
    df = res.layers
    assert list(df.columns[:6]) == ["config", "label", "init_spec", "init", "act_spec", "act"]
    first = df.drop_duplicates("config")
    assert list(first["init_spec"]) == ["xavier", "kaiming:gain=1"]
    assert list(first["init"]) == ["xavier_normal", "kaiming_normal:gain=1"]
    assert set(df["act_spec"]) == {"swish"} and set(df["act"]) == {"silu"}
    assert list(first["label"]) == ["xavier_normal / silu", "kaiming_normal:gain=1 / silu"]  # labels stay canonical
    res.to_dir(tmp_path / "run")
    back = SimResult.from_dir(tmp_path / "run")
    assert back.layers["init_spec"].tolist() == df["init_spec"].tolist()
    assert back.config.init_specs == ("xavier", "kaiming:gain=1") and back.config == res.config


def test_spelling_is_recorded_only_where_it_differs_and_follows_a_replace():
    assert "init_specs" not in SimConfig(inits="xavier_normal").to_dict()
    cfg = SimConfig(inits="xavier,he", acts="relu")
    assert cfg.to_dict()["init_specs"] == ["xavier", "he"] and cfg == SimConfig(inits="xavier_normal,he_normal")
    assert [r.config.init_specs for r in cfg.runs()] == [("xavier",), ("he",)]
    assert cfg.replace(inits="glorot").init_specs == ("glorot",)
    assert SimConfig.from_json(cfg.to_json()).init_specs == ("xavier", "he")


def test_a_saved_run_without_spelling_columns_still_loads(tmp_path):
    res = simulate(init="he", act="tanh", depth=2, width=6, batch=4, progress=False)
    res.to_dir(tmp_path / "run")
    csv = tmp_path / "run" / "layers.csv"
    import pandas as pd

    pd.read_csv(csv).drop(columns=["init_spec", "act_spec"]).to_csv(csv, index=False)
    back = SimResult.from_dir(tmp_path / "run")
    assert set(back.layers["init_spec"]) == {"he"} and set(back.layers["act_spec"]) == {"tanh"}


def test_gain_labels_the_initializer_that_ran():
    r = run("simulate", "--init", "he", "--act", "relu", "--depth", "1", "--width", "400", "--batch", "400",
            "--gain", "3", "--dtype", "float64", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["config"]["inits"] == ["he_normal"] and data["config"]["init_specs"] == ["he"]
    row = data["layers"][0]
    assert row["label"] == "he_normal:gain=3 / relu" and row["init"] == "he_normal:gain=3"
    # layer 1 of a unit Gaussian input: pre std = gain (fan_in variance gain^2/n times n inputs of variance 1)
    assert row["theory_pre_std"] == pytest.approx(3.0)
    se = 3.0 / math.sqrt(2 * 400 * 400)  # std of a std estimate over n*m (nearly independent) entries
    assert abs(row["pre_std"] - 3.0) < 6 * se + 0.05 * 3.0  # the input batch's own spread, 1/sqrt(batch) order


@pytest.mark.parametrize("spec", ["orthogonal:2", "orthogonal:gain=1", "variance_scaling:gain=2", "he:gain=1.5"])
def test_a_spec_with_its_own_gain_conflicting_with_gain_is_refused(spec):
    line = one_line_error(run("simulate", "--init", spec, "--gain", "3", "--depth", "2", "--width", "4"))
    assert spec in line and "gain" in line
    with pytest.raises(ConfigError):
        SimConfig(inits=spec, gain=3.0)


def test_a_spec_whose_gain_agrees_with_gain_runs():
    cfg = SimConfig(inits="orthogonal:3,xavier", gain=3.0)
    assert cfg.run_inits() == ("orthogonal:gain=3", "xavier_normal:gain=3")
    assert cfg.labels() == ["orthogonal:gain=3 / relu", "xavier_normal:gain=3 / relu"]
    assert SimConfig.from_dict(cfg.to_dict()) == cfg


def test_a_sweep_over_gain_builds_its_points():
    from initlab.sweep.axes import build_grid, point_config

    grid = build_grid({"init": "he,xavier", "gain": "1,2", "depth": 2, "width": 4, "batch": 2})
    assert grid.fields["init"] == ("he_normal", "xavier_normal")
    cfg = point_config(grid, {"init": "he_normal", "gain": 2.0})
    assert cfg.inits == ("he_normal",) and cfg.labels() == ["he_normal:gain=2 / relu"]
