"""Weights redrawn in the backward pass, the memory estimate, LSUV's copy and the activation fast-path hook."""

import numpy as np
import pytest

from initlab._spec import ConfigError

from initlab.activations import ACTIVATIONS, get_activation
from initlab.sim.config import SimConfig
from initlab.sim.draws import LayerWeights, draw_params, make_input
from initlab.sim.engine import forward_backward, simulate
from initlab.sim.memory import check_memory, estimate_bytes, keep_weights


@pytest.mark.parametrize("act", ["relu", "tanh", "linear"])
def test_redrawing_the_weights_gives_the_same_bytes(act):
    kw = dict(init="he,lsuv", act=act, depth=5, width=24, batch=16, trials=2, progress=False)
    kept = simulate(keep_weights=True, **kw)
    redrawn = simulate(keep_weights=False, **kw)
    assert kept.layers.equals(redrawn.layers)
    for k in ("pre", "act"):
        want = getattr(kept.histograms, f"{k}_counts")
        np.testing.assert_array_equal(getattr(redrawn.histograms, f"{k}_counts"), want)


@pytest.mark.parametrize("act", ["relu", "maxout:2"])
def test_a_redrawing_pass_draws_each_layer_twice_and_keeps_none(act):
    cfg = SimConfig(inits="xavier", acts=act, depth=4, width=10, batch=6)
    p = draw_params(cfg, 0, keep=False)
    assert isinstance(p.weights, LayerWeights) and p.weights.draws == 0
    out = forward_backward(cfg, p, make_input(cfg))
    assert p.weights.draws == 2 * cfg.depth and not p.weights._kept
    kept = draw_params(cfg, 0)
    assert kept.weights.draws == cfg.depth
    ref = forward_backward(cfg, kept, make_input(cfg))
    assert kept.weights.draws == cfg.depth  # nothing drawn again
    for c in out.columns:
        np.testing.assert_array_equal(out.columns[c], ref.columns[c])
    np.testing.assert_array_equal(p.weights[2], kept.weights[-2])
    assert len(kept.weights[1:3]) == 2
    with pytest.raises(IndexError):
        kept.weights[4]
    with pytest.raises(TypeError):
        p.weights[0] = kept.weights[0]


def test_lsuv_does_not_write_into_the_callers_params():
    cfg = SimConfig(inits="lsuv", acts="tanh", depth=3, width=12, batch=20)
    p = draw_params(cfg, 0)
    before = [w.copy() for w in p.weights]
    out = forward_backward(cfg, p, make_input(cfg))
    assert (out.columns["lsuv_passes"] > 0).any()
    for a, b in zip(before, p.weights):
        np.testing.assert_array_equal(a, b)
    again = forward_backward(cfg, p, make_input(cfg))  # the same params give the same trial twice
    np.testing.assert_array_equal(again.columns["act_std"], out.columns["act_std"])


def test_memory_estimate_and_the_choice_to_redraw():
    cfg = SimConfig(inits="he", acts="relu", depth=8, width=1000, batch=100)
    deeper = cfg.replace(depth=16)
    kept = estimate_bytes(deeper) - estimate_bytes(cfg)
    redrawn = estimate_bytes(deeper, keep_weights=False) - estimate_bytes(cfg, keep_weights=False)
    # keeping: 8 more layers of weights; redrawing: only the 8 layers' activations (Z, H, relu mask), and for
    # both the 8 layers' histogram tables and frame rows; the estimate carries a 10% margin
    assert kept - redrawn == pytest.approx(1.1 * 8 * 1000 * 1000 * 4, abs=2)
    assert redrawn == pytest.approx(1.1 * (8 * 100 * 1000 * (2 * 4 + 1) + 8 * 2 * 8 * cfg.bins + 8 * 3 * 8 * 48), abs=2)
    room = (estimate_bytes(cfg) + estimate_bytes(cfg, keep_weights=False)) // 2
    assert keep_weights(cfg, limit=estimate_bytes(cfg)) and not keep_weights(cfg, limit=room)
    assert check_memory(cfg, limit=room) == estimate_bytes(cfg, keep_weights=False)  # runs, redrawing
    with pytest.raises(ConfigError, match="needs about"):
        check_memory(cfg, limit=estimate_bytes(cfg, keep_weights=False) - 1)


def test_cli_runs_with_redrawn_weights_what_would_not_fit_kept():
    from click.testing import CliRunner

    from initlab.cli import main

    args = ["simulate", "--init", "he", "--depth", "6", "--width", "600", "--batch", "4", "--format", "csv"]
    cfg = SimConfig(inits="he", acts="relu", depth=6, width=600, batch=4)
    room = (estimate_bytes(cfg) + estimate_bytes(cfg, keep_weights=False)) // 2
    redrawn = CliRunner().invoke(main, args + ["--max-memory", str(room)])
    kept = CliRunner().invoke(main, args)
    assert redrawn.exit_code == 0 and kept.exit_code == 0, redrawn.output
    assert redrawn.stdout == kept.stdout


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_engine_fast_path_is_only_claimed_by_that_function(name):
    act = get_activation(name)
    assert act.engine_path in ("relu", "linear", "generic")
    z = np.random.default_rng(0).standard_normal((7, 12 * act.pieces)).astype(np.float32)
    if act.engine_path == "relu":
        np.testing.assert_array_equal(act.fn(z), np.maximum(z, 0))
    elif act.engine_path == "linear":
        np.testing.assert_array_equal(act.fn(z), z)
