"""The engine's measurements against the finite-depth mean-field prediction, and against a plain numpy forward
pass on the same draws.

Theory vs engine (issue 3's acceptance check, issue 8: the same statistical power for less work): ordered
phase with a bias, depth 20, float64, a given input batch so that the prediction starts from its actual second
moment. A trial's cost grows like width² while the variance of its measured q falls like 1/width, so 96 trials
at width 250 give about the standard error of the old 40 trials at width 1000 (0.4-1.5% of q per layer,
measured) for a quarter of the work. The tolerances come from the measured standard error of the trial mean,
layer by layer: |mean/theory - 1| <= 4 SE (a 4-sigma band over 20 layers), and the test asserts SE <= 2% so
that a prediction off by 8% cannot pass.

Engine vs numpy (issue 9 §5): at He + GELU and ReLU criticality the measured q leaves the mean-field line by
tens of percent; re-running the same seeded draws through a 20-line numpy forward pass shows the engine computes
exactly what it should, so the deviation is finite-width physics, not an engine error.
"""

import numpy as np
import pytest
from scipy.special import ndtr

import initlab
from initlab.sim.config import SimConfig
from initlab.sim.draws import draw_params, make_input

CASES = [("tanh", 0.8, 0.05), ("relu", 1.0, 0.5), ("gelu", 1.2, 0.3)]
WIDTH, TRIALS, DEPTH = 250, 96, 20


@pytest.mark.parametrize("act, sigma_w2, sigma_b2", CASES)
def test_simulated_q_and_c_match_the_prediction_within_four_standard_errors(act, sigma_w2, sigma_b2):
    x = np.random.default_rng(0).standard_normal((8, WIDTH))
    res = initlab.simulate(
        x=x, init=f"variance_scaling:scale={sigma_w2},mode=fan_in,distribution=untruncated_normal",
        bias_init=f"normal:{np.sqrt(sigma_b2)}", act=act, depth=DEPTH, width=WIDTH, trials=TRIALS, dtype="float64",
        bins=10, seed=0, progress=False)
    assert initlab.config_summary(res.config).phase.iloc[0] == "ordered"
    g = res.layers.groupby("layer")
    th_q, th_c = g["theory_pre_q"].first(), g["theory_pre_corr"].first()
    dev = g["pre_q"].mean() / th_q - 1
    se = g["pre_q"].std(ddof=1) / np.sqrt(TRIALS) / th_q
    assert se.max() <= 0.02, se.max()  # the power: an 8% error in the prediction is > 4 SE
    assert (dev.abs() <= 4 * se).all(), (dev / se).round(2).to_dict()
    c_dev = g["pre_corr"].mean() - th_c
    c_se = g["pre_corr"].std(ddof=1) / np.sqrt(TRIALS)
    assert (c_dev.abs() <= 4 * c_se + 1e-3).all(), (c_dev / c_se).round(2).to_dict()


def numpy_forward(x, weights, biases, phi):
    """The reference: z = h W + b, h = φ(z), layer by layer; per layer the mean of z², the mean of z and the mean
    cosine similarity of the row pairs (0, 1), (2, 3), … as the engine defines ``pre_corr``."""
    h, out = x, []
    for W, b in zip(weights, biases):
        z = h @ W + (0.0 if b is None else b)
        a, c = z[0::2], z[1::2]
        corr = np.mean((a * c).sum(1) / np.sqrt((a * a).sum(1) * (c * c).sum(1)))
        out.append((np.mean(z * z), np.mean(z), corr))
        h = phi(z)
    return np.array(out)


@pytest.mark.parametrize("act, phi, depth", [
    ("gelu", lambda z: z * ndtr(z), 20),  # He + GELU: measured q far above the prediction by layer 20
    ("relu", lambda z: np.maximum(z, 0.0), 30),  # ReLU criticality: q drifts from the line through fluctuations
])
def test_engine_matches_a_numpy_forward_pass_on_the_same_draws(act, phi, depth):
    kw = dict(init="he", act=act, depth=depth, width=100, batch=16, trials=2, dtype="float64", seed=0)
    res = initlab.simulate(**kw, progress=False)
    cfg = SimConfig.build(**kw).runs()[0].config
    x = make_input(cfg)
    for trial in range(2):
        p = draw_params(cfg, trial)
        ref = numpy_forward(x, p.weights, p.biases, phi)
        got = res.layers[res.layers.trial == trial].sort_values("layer")
        np.testing.assert_allclose(got.pre_q, ref[:, 0], rtol=1e-10)
        np.testing.assert_allclose(got.pre_mean, ref[:, 1], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got.pre_corr, ref[:, 2], rtol=1e-9, atol=1e-12)
    # the deviation the issue reports is real: layer `depth`'s q is off the mean-field line
    last = res.layers[res.layers.layer == depth]
    assert abs(last.pre_q.mean() / last.theory_pre_q.iloc[0] - 1) > 0.02
