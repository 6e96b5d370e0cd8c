import dataclasses
import json

import pytest

from initlab._spec import ConfigError, SpecError, UnknownNameError
from initlab.sim.config import SimConfig


def test_defaults_and_canonical_specs():
    cfg = SimConfig(inits="xavier,he,normal:0.01", acts=["relu", "leaky_relu:0.2"])
    assert cfg.inits == ("xavier_normal", "he_normal", "normal:std=0.01")
    assert cfg.acts == ("relu", "leaky_relu:alpha=0.2")
    assert cfg.depth == 10 and cfg.width == 500 and cfg.batch == 1000 and cfg.dtype == "float32"
    assert cfg.widths == (500,) * 10 and cfg.in_dim == 500
    assert cfg.n_runs == 6


def test_cross_product_runs_are_init_major_with_labels():
    cfg = SimConfig(inits="xavier,normal:1", acts="tanh,relu", depth=3, width=4)
    runs = cfg.runs()
    assert [r.index for r in runs] == [0, 1, 2, 3]
    assert [r.label for r in runs] == ["xavier_normal / tanh", "xavier_normal / relu",
                                       "normal:std=1 / tanh", "normal:std=1 / relu"]
    assert runs[3].config.inits == ("normal:std=1",) and runs[3].config.acts == ("relu",)
    assert runs[3].config.depth == 3 and cfg.labels() == [r.label for r in runs]


def test_per_layer_widths_and_input_dim():
    cfg = SimConfig(depth=3, width=(8, 6, 6), input_dim=5, residual=True)
    assert cfg.widths == (8, 6, 6) and cfg.in_dim == 5
    assert cfg.residual_layers() == (3,)
    assert SimConfig(depth=3, width="8,6,6").width == (8, 6, 6)
    assert SimConfig(depth=2, width=4, residual=True).residual_layers() == (1, 2)


@pytest.mark.parametrize("kwargs", [
    dict(depth=0), dict(depth=2.5), dict(width=0), dict(width=(4, 4)), dict(batch=1), dict(trials=0),
    dict(dropout=1.0), dict(dropout=-0.1), dict(dtype="float16"), dict(input="cauchy"), dict(loss="hinge"),
    dict(bins=0), dict(seed=-1), dict(gain=-1.0), dict(batchnorm="yes"), dict(inits=""),
    dict(inits="xavier,xavier_normal"), dict(input_dim=0), dict(gain=float("nan")),
])
def test_bad_values_are_one_line_config_errors(kwargs):
    with pytest.raises(ConfigError) as info:
        SimConfig(**kwargs)
    assert "\n" not in str(info.value)


def test_unknown_names_raise_with_closest_match():
    with pytest.raises(UnknownNameError, match="did you mean 'relu'"):
        SimConfig(acts="rellu")
    with pytest.raises(UnknownNameError):
        SimConfig(bias_init="zeroes_please")
    with pytest.raises(SpecError):
        SimConfig(inits="normal:std=-1")


def test_gain_needs_initializers_with_a_gain():
    cfg = SimConfig(inits="he,xavier", gain=2.0)
    assert [i.gain for i in cfg.initializers()] == [2.0, 2.0]
    with pytest.raises(SpecError, match="gain"):
        SimConfig(inits="normal:0.1", gain=2.0)


def test_json_round_trip_is_exact():
    cfg = SimConfig(inits="variance_scaling:scale=2,mode=fan_in,xavier", acts="maxout:3,tanh", depth=3,
                    width=(7, 5, 3), input_dim=4, trials=2, dropout=0.25, gain=1.5, seed=7, bins=20,
                    bias_init="constant:0.1", batchnorm=True, residual=True, loss="mse", input="uniform")
    text = cfg.to_json()
    back = SimConfig.from_json(text)
    assert back == cfg and back.to_json() == text
    assert json.loads(text)["width"] == [7, 5, 3]
    assert SimConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown config field"):
        SimConfig.from_dict({**cfg.to_dict(), "nope": 1})


def test_frozen_and_build_accepts_short_names():
    cfg = SimConfig.build(init="he", act="tanh", depth=3)
    assert cfg.inits == ("he_normal",) and cfg.acts == ("tanh",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.depth = 4  # type: ignore[misc]
    assert SimConfig.build(cfg, depth=5).depth == 5 and SimConfig.build(cfg) is cfg
    with pytest.raises(ConfigError, match="unknown simulation option"):
        SimConfig.build(deepth=3)
    with pytest.raises(ConfigError, match="re-validated|depth"):
        cfg.replace(depth=0)
