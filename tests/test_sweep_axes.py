"""Sweep definitions without simulating: grid forms, validation, keys, extensions, the pairs input, and the
measurement kernels on synthetic data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from initlab._spec import ConfigError, SpecError
from initlab.sim.config import SimConfig
from initlab.sim.draws import make_input
from initlab.sim.predict import predict_layers
from initlab.sweep.extension import extension_of
from initlab.sweep.axes import (AXIS_NAMES, build_grid, parse_values, point_config, point_key,
                                point_seed)
from initlab.sweep.measure import empirical_chi1, fit_correlation_tail, jackknife
from initlab.theory import fixed_point
from initlab.theory.propagation import propagate
from initlab.plots.sweep import phase_agreement, width_table


# -- grid forms ----------------------------------------------------------------------------------------------
def test_linspace_log_and_lists():
    assert parse_values("sigma_w2", "1:4:4") == [1.0, 2.0, 3.0, 4.0]
    np.testing.assert_allclose(parse_values("sigma_b2", "log:1e-2:1e2:5"), [1e-2, 1e-1, 1, 10, 100], rtol=1e-12)
    assert parse_values("dropout", "0,0.1,0.1,0.2") == [0.0, 0.1, 0.2]  # repeats dropped
    assert parse_values("width", "log:100:1000:4") == [100, 215, 464, 1000]  # integers rounded
    assert parse_values("depth", "2:3:5") == [2, 3]  # rounding repeats dropped
    assert parse_values("act", "tanh,leaky_relu:0.2,relu") == ["tanh", "leaky_relu:0.2", "relu"]
    assert parse_values("residual", "true,false") == [True, False]
    assert parse_values("width", [64, 128]) == [64, 128]


@pytest.mark.parametrize("name, text, msg", [
    ("sigma_w2", "1:4:0", "empty"), ("sigma_w2", "1:4", "a:b:n"), ("sigma_w2", "log:0:1:3", "positive"),
    ("depth", ",", "empty"), ("sigma_w2", "0,1", "> 0"), ("sigma_b2", "-1", ">= 0"), ("dropout", "a", "not a number"),
    ("residual", "maybe", "true or false"),
])
def test_bad_grids_are_one_line(name, text, msg):
    with pytest.raises(ConfigError, match=msg) as info:
        parse_values(name, text)
    assert "\n" not in str(info.value)


def test_unknown_axis_names_the_closest_match():
    with pytest.raises(ConfigError, match=r"unknown axis 'sigma_w'; did you mean 'sigma_w2'\?") as info:
        build_grid({"sigma_w": "1:2:3"})
    assert "axes: " in str(info.value) and all(a in str(info.value) for a in ("depth", "sigma_b2"))


@pytest.mark.parametrize("axes, msg", [
    ({"sigma_w2": "1", "init": "he"}, "--init contradicts"),
    ({"sigma_w2": "1", "gain": "1.2"}, "--gain contradicts"),
    ({"sigma_b2": "0.1", "bias_init": "normal:0.1"}, "--bias-init contradicts"),
    ({"act": "nope"}, "unknown activation"),
    ({"depth": "0,2"}, "depth must be an integer >= 1"),
])
def test_contradictory_or_bad_axes(axes, msg):
    with pytest.raises(SpecError, match=msg):
        build_grid(axes)


def test_cross_product_and_zip():
    g = build_grid({"act": "tanh,relu", "sigma_w2": "1:2:3", "depth": 5})
    pts = list(g.points())
    assert g.n_points == 6 == len(pts)
    assert pts[0] == {"act": "tanh", "sigma_w2": 1.0, "depth": 5} and pts[1]["sigma_w2"] == 1.5  # last fastest
    z = build_grid({"sigma_w2": "1,2,3", "sigma_b2": "0,0.1,0.2", "depth": "4,8"}, zips=[("sigma_w2", "sigma_b2")])
    pairs = {(p["sigma_w2"], p["sigma_b2"]) for p in z.points()}
    assert z.n_points == 6 and pairs == {(1.0, 0.0), (2.0, 0.1), (3.0, 0.2)}
    with pytest.raises(ConfigError, match="different lengths"):
        build_grid({"sigma_w2": "1,2", "sigma_b2": "0,0.1,0.2"}, zips=[("sigma_w2", "sigma_b2")])
    with pytest.raises(ConfigError, match="not given"):
        build_grid({"sigma_w2": "1,2"}, zips=[("sigma_w2", "sigma_b2")])


@pytest.mark.parametrize("axis", AXIS_NAMES)
def test_every_axis_reaches_the_point_config(axis):
    """Each axis (every SimConfig field and the native ones) changes the config a point runs."""
    values = {"init": "xavier,he", "bias_init": "zeros,normal:0.1", "gain": "1,2", "input_dim": "5,7",
              "act": "tanh,relu", "depth": "3,4", "width": "8,9", "batch": "4,6", "input": "gaussian,pairs:c0=0.3",
              "seed": "0,1", "trials": "1,2", "dtype": "float32,float64", "batchnorm": "false,true",
              "dropout": "0,0.5", "residual": "false,true", "loss": "projection,mse", "bins": "10,20",
              "sigma_w2": "0.5,2", "sigma_b2": "0,0.3"}[axis]
    g = build_grid({axis: values})
    cfgs = [point_config(g, p) for p in g.points()]
    assert len(cfgs) == 2 and cfgs[0] != cfgs[1] and point_key(cfgs[0]) != point_key(cfgs[1])


def test_native_axes_are_the_theory_coordinates():
    from initlab.sim.predict import stack_variances

    g = build_grid({"act": "tanh", "sigma_w2": "1.7", "sigma_b2": "0.09", "width": 50})
    cfg = point_config(g, next(g.points()))
    sw2, sb2 = stack_variances(cfg.initializers()[0], cfg.activations()[0], (cfg.in_dim,) + cfg.widths, cfg.bias_init)
    np.testing.assert_allclose(sw2, 1.7, rtol=1e-12)
    np.testing.assert_allclose(sb2, 0.09, rtol=1e-12)


def test_keys_and_seeds_are_stable_and_distinct():
    a, b = SimConfig(acts="tanh", depth=3), SimConfig(acts="tanh", depth=4)
    assert point_key(a) == point_key(SimConfig(acts=("tanh",), depth=3))  # canonical config, same key
    assert point_key(a) != point_key(b) and point_seed(point_key(a)) != point_seed(point_key(b))
    assert 0 <= point_seed(point_key(a)) < 2**63


def test_extension_rules():
    old = build_grid({"sigma_w2": "1,2", "depth": 5})
    assert extension_of(build_grid({"sigma_w2": "1,2,3", "depth": 5}), old) == ""
    assert extension_of(build_grid({"depth": "5,10", "sigma_w2": "1,2"}), old) == ""  # order does not matter
    assert extension_of(build_grid({"sigma_w2": "1,3", "depth": 5}), old) == \
        "--sigma-w2 is 1.0, 3.0 here but 1.0, 2.0 in the store"
    assert "the store sets the biases by --bias-init zeros, this command by --sigma-b2 0.1" in \
        extension_of(build_grid({"sigma_w2": "1,2", "sigma_b2": "0.1", "depth": 5}), old)
    assert extension_of(build_grid({"sigma_w2": "1,2", "sigma_b2": "0,0.1", "depth": 5}), old) == ""
    assert "keep" in extension_of(build_grid({"sigma_w2": "1,2", "depth": 5}, keep="layers"), old)
    assert "--depth is 6 here but 5" in extension_of(build_grid({"sigma_w2": "1,2", "depth": 6}), old)


# -- the pairs input ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("c0", [-0.4, 0.0, 0.5, 0.99, 1.0])
def test_pairs_input_has_the_exact_correlation(c0):
    cfg = SimConfig(input=f"pairs:c0={c0}", batch=9, width=40, dtype="float64")
    assert cfg.input == f"pairs:c0={float(c0)!r}" and cfg.input_c0 == c0
    x = make_input(cfg)
    np.testing.assert_allclose((x * x).mean(axis=1), 1.0, rtol=1e-12)
    a, b = x[0:8:2], x[1:8:2]
    np.testing.assert_allclose((a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1)), c0, atol=1e-12)
    theory = predict_layers(cfg.replace(acts="linear", depth=2))
    np.testing.assert_allclose(theory["theory_pre_corr"].iloc[0], c0, atol=1e-12)


def test_pairs_input_spec_forms_and_errors():
    assert SimConfig(input="pairs").input_c0 == 0.5
    assert SimConfig(input="pairs:0.25").input == "pairs:c0=0.25"
    assert SimConfig(input="gaussian").input_c0 is None
    for bad, msg in (("pairs:c0=1.5", r"\[-1, 1\]"), ("gaussian:1", "must be one of"), ("cauchy", "must be one of")):
        with pytest.raises(ConfigError, match=msg):
            SimConfig(input=bad)


# -- measurement kernels on synthetic data ----------------------------------------------------------------------
@pytest.mark.parametrize("xi, c_star", [(2.5, 1.0), (7.0, 0.3)])
def test_fit_correlation_tail_recovers_an_exponential(xi, c_star):
    """A geometric approach c* − A e^{−l/ξ} is a linear map: ξ and c* come back exactly, c* without being told."""
    layers = np.arange(1, 41)
    c = c_star - 0.4 * np.exp(-layers / xi)
    cs, x = fit_correlation_tail(c, floor=1e-12)
    assert x == pytest.approx(xi, rel=1e-8) and cs == pytest.approx(c_star, abs=1e-9)
    assert np.isnan(fit_correlation_tail(np.full(40, c_star - 0.2), 1e-12)).all()  # no step above the floor
    assert np.isnan(fit_correlation_tail(c[:3], 1e-12)).all()  # too few layers
    grow = c_star - 0.01 * np.exp(layers / 30.0)  # moving away: slope > 1
    assert fit_correlation_tail(grow, 1e-12)[1] == math.inf


def test_fit_correlation_tail_stops_at_the_floor():
    layers = np.arange(1, 31)
    c = 1.0 - 0.5 * np.exp(-layers / 2.0)
    noisy = c.copy()
    noisy[15:] = noisy[14] + 1e-9 * np.sin(layers[15:])  # below the floor: noise, not decay
    assert fit_correlation_tail(noisy, floor=1e-5)[1] == pytest.approx(2.0, rel=1e-8)


CURVES = [("tanh", 2.0, 0.2), ("tanh", 2.5, 0.5), ("tanh", 3.0, 0.5), ("tanh", 1.5, 0.05), ("tanh", 4.0, 0.05),
          ("erf", 2.0, 0.1), ("selu", 1.2, 0.05), ("relu", 1.5, 0.05)]


@pytest.mark.parametrize("act, sw2, sb2", CURVES)
def test_the_xi_c_estimator_on_the_exact_mean_field_curve(act, sw2, sb2):
    """Issue 20 §1: on the noise-free curve from c0 = 0.5 (the sweep's input), at depth max(4 ξ_c + 20, 60), the
    estimator returns the theory's ξ_c = −1/ln χ_c within 1% and c* within 1e-4 (main's fit over all layers
    with the theory's c*: 11.9, 10.6 and 16.6 for the first three at depth 50, against 14.95, 13.42, 35.04)."""
    fp = fixed_point(act, sw2, sb2)
    depth = int(max(4 * fp.xi_c + 20, 60))
    c = propagate(act, depth, sw2, sb2, q0=1.0, c0=0.5).c
    cs, xi = fit_correlation_tail(c, floor=1e-13)
    assert xi == pytest.approx(fp.xi_c, rel=0.01) and cs == pytest.approx(fp.c_star, abs=1e-4)


def test_jackknife_of_a_mean_is_its_standard_error():
    rows = np.random.default_rng(0).normal(size=(6, 5))
    est, se = jackknife(lambda r: (float(r.mean()),), rows)
    per = rows.mean(axis=1)
    assert est[0] == pytest.approx(rows.mean()) and se[0] == pytest.approx(per.std(ddof=1) / math.sqrt(6), rel=1e-12)
    assert np.isnan(jackknife(lambda r: (float(r.mean()),), rows[:1])[1]).all()


@pytest.mark.parametrize("chi", [0.7, 1.0, 1.3])
def test_empirical_chi1_is_the_per_layer_squared_gradient_ratio(chi):
    L = 20
    g = 3.0 * chi ** ((L - np.arange(1, L + 1)) / 2.0)  # ||delta^l||^2 = chi * ||delta^{l+1}||^2
    assert empirical_chi1(g) == pytest.approx(chi, rel=1e-12)


def test_phase_agreement_counts():
    pts = pd.DataFrame({
        "status": ["done"] * 4, "phase": ["ordered", "ordered", "chaotic", "ordered"],
        "theory_phase": ["ordered", "chaotic", "chaotic", "ordered"],
        "chi1": [0.5, 1.02, 1.5, 0.9], "theory_chi1": [0.4, 0.99, 1.2, 0.5],
        "xi_c": [2.0, 50.0, 4.0, 3.0], "theory_xi_c": [1.0, 80.0, 5.0, 2.0],
    })
    a = phase_agreement(pts)
    assert a["cells"] == 4 and a["same_phase"] == 0.75 and a["cells_away"] == 3  # 0.99 is within 0.05 of 1
    assert a["chi1_median_rel_err"] == pytest.approx(0.25)  # |0.1/0.4|, |0.3/1.2|, |0.4/0.5| -> 0.25
    assert a["xi_c_median_rel_err"] == pytest.approx(0.5)  # 1.0, 0.2, 0.5


def test_width_table_slopes():
    w = np.array([64, 128, 256, 512, 1024])
    pts = pd.DataFrame({"status": "done", "width": np.repeat(w, 2), "theory_q_star": 1.0,
                        "q_tail": 1.0 + np.repeat(3.0 / w, 2) * np.tile([0.9, 1.1], 5),
                        "q_tail_sd": np.repeat(2.0 / np.sqrt(w), 2)})
    tab, slopes = width_table(pts, "q_tail")
    np.testing.assert_allclose(tab["bias"], 3.0 / w, rtol=1e-9)
    assert slopes["bias"] == pytest.approx(-1.0, abs=1e-9) and slopes["spread"] == pytest.approx(-0.5, abs=1e-9)


def test_simulate_cli_takes_the_pairs_input():
    import io

    from click.testing import CliRunner

    from initlab.cli import main

    res = CliRunner().invoke(main, ["simulate", "--act", "linear", "--init", "lecun_normal", "--depth", "2",
                                    "--width", "64", "--batch", "16", "--input", "pairs:c0=0.3", "--dtype", "float64",
                                    "--format", "csv"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(io.StringIO(res.output))
    assert df["theory_pre_corr"].iloc[0] == pytest.approx(0.3, abs=1e-12)
    assert df["pre_corr"].iloc[0] == pytest.approx(0.3, abs=0.15)  # 8 pairs through one random 64 x 64 layer
    bad = CliRunner().invoke(main, ["simulate", "--input", "pairs:c0=3"])
    assert bad.exit_code == 2 and "c0 must be in [-1, 1]" in bad.output


def test_initlab_sweep_stays_callable_after_its_submodules_load():
    import initlab
    import initlab.sweep.store  # noqa: F401 - importing a submodule sets initlab.sweep to the package

    assert callable(initlab.sweep) and initlab.sweep.sweep is initlab.sweep.run.sweep
    assert initlab.SweepResult is initlab.sweep.SweepResult


def test_cli_axis_arguments():
    from initlab.cli import InputError
    from initlab.cli.sweep import parse_axis_args

    got = parse_axis_args(["--sigma-w2", "0.5:4:36", "--act=tanh", "--residual", "--no-batchnorm", "--width", "64"])
    assert got == {"sigma_w2": "0.5:4:36", "act": "tanh", "residual": "true", "batchnorm": "false", "width": "64"}
    assert parse_axis_args(["--residual", "true,false"]) == {"residual": "true,false"}
    for bad, msg in ((["tanh"], "unexpected argument"), (["--depth"], "needs a value"),
                     (["--depth", "3", "--depth", "4"], "given twice")):
        with pytest.raises(InputError, match=msg):
            parse_axis_args(bad)
    with pytest.raises(ConfigError, match="did you mean 'batch'"):
        parse_axis_args(["--bath", "3"])


def test_batcher_sizes_batches_by_measured_point_time():
    from initlab.sweep.executors import Batcher

    items = iter([(str(i), "{}") for i in range(100)])
    b = Batcher(items, 100, workers=2, target=1.0)
    first = b.next()
    assert len(first) == 1  # nothing known yet
    b.observe([{"seconds": 0.1}])
    assert len(b.next()) == 10  # 1 s of 0.1 s points
    b.observe([{"seconds": 0.01}] * 10)  # mean now 0.011 s: 91 points a second, capped at a quarter of what is left
    assert len(b.next()) == 23  # ceil(89 / 4)
    assert sum(len(x) for x in iter(b.next, None)) == 100 - 1 - 10 - 23
    fixed = Batcher(iter([("a", "{}")] * 5), 5, workers=2, size=2)
    assert [len(fixed.next()), len(fixed.next()), len(fixed.next()), fixed.next()] == [2, 2, 1, None]


def test_sweep_figures_from_frames(no_global_style):
    from initlab.plots.sweep import depth_profiles, phase_comparison, width_scaling

    sw, sb = np.meshgrid([0.5, 1.5, 2.5], [0.05, 0.2])
    chi = sw.ravel() * 0.6
    pts = pd.DataFrame({"key": list("abcdef"), "status": "done", "act": "tanh", "sigma_w2": sw.ravel(),
                        "sigma_b2": sb.ravel(), "q_last": 1.0, "chi1": chi, "theory_chi1": chi * 1.01,
                        "xi_c": 1 / np.abs(np.log(chi)), "theory_xi_c": 1.1 / np.abs(np.log(chi)),
                        "phase": np.where(chi < 1, "ordered", "chaotic"),
                        "theory_phase": np.where(chi * 1.01 < 1, "ordered", "chaotic")})
    fig = phase_comparison(pts)
    assert fig.get_suptitle() == "tanh: measured vs mean-field, 6 cells; same phase 100%"
    assert [ax.get_title() for ax in fig.axes[:3]] == ["measured χ₁", "predicted χ₁", "measured − predicted χ₁"]
    w = np.array([64, 256, 1024])
    wf = width_scaling(pd.DataFrame({"status": "done", "width": w, "theory_q_star": 1.0, "q_tail": 1 + 2.0 / w,
                                     "q_tail_sd": 1 / np.sqrt(w)}), "q_tail")
    ax = wf.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "bias |mean − mean field|: slope -1.00", "spread over trials (sd): slope -0.50"]
    lay = pd.DataFrame({"point": ["a"] * 6, "trial": [0, 0, 0, 1, 1, 1], "layer": [1, 2, 3] * 2,
                        "pre_corr": [0.5, 0.7, 0.8, 0.5, 0.6, 0.9], "theory_pre_corr": [0.5, 0.65, 0.85] * 2})
    df = depth_profiles(lay, pts, "pre_corr")
    line = df.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), [0.5, 0.65, 0.85])  # the mean over the two trials


def test_a_points_key_ignores_the_users_spelling():
    """``he`` and ``he_normal`` are one point: one key, one seed, so a store made before the spellings were
    recorded resumes (issue 22's init_spec/act_spec columns label, they do not run)."""
    from initlab.sim.config import SimConfig
    from initlab.sweep.axes import point_key

    assert SimConfig(inits="he").init_specs != SimConfig(inits="he_normal").init_specs
    assert point_key(SimConfig(inits="he", acts="swish")) == point_key(SimConfig(inits="he_normal", acts="silu"))
    assert point_key(SimConfig(inits="he")) != point_key(SimConfig(inits="glorot"))
