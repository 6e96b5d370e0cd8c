"""Issue 3's acceptance check: the engine's measurements agree with the finite-depth mean-field prediction.

Width 1000, depth 20, float64, averaged over 40 independent weight draws, in the ordered phase with a bias
(χ₁ ≈ 0.5–0.65, so finite-width noise does not compound with depth). The input batch is given, so the
prediction starts from its actual second moment. Stated tolerances: q^l within 3% (relative) and c^l within
0.03 (absolute) at every layer. Measured while writing this: 1.8–2.4% and ≤ 0.004 over two seeds.
"""

import numpy as np
import pytest

import initlab

CASES = [("tanh", 0.8, 0.05), ("relu", 1.0, 0.5), ("gelu", 1.2, 0.3)]


@pytest.mark.parametrize("act, sigma_w2, sigma_b2", CASES)
def test_simulated_q_and_c_match_the_prediction_within_three_percent(act, sigma_w2, sigma_b2):
    x = np.random.default_rng(0).standard_normal((8, 1000))
    res = initlab.simulate(
        x=x, init=f"variance_scaling:scale={sigma_w2},mode=fan_in,distribution=untruncated_normal",
        bias_init=f"normal:{np.sqrt(sigma_b2)}", act=act, depth=20, width=1000, trials=40, dtype="float64",
        bins=10, seed=0, progress=False)
    summary = initlab.config_summary(res.config)
    assert summary.phase.iloc[0] == "ordered"
    per_layer = res.layers.groupby("layer")[["pre_q", "theory_pre_q", "pre_corr", "theory_pre_corr"]].mean()
    q_err = (per_layer.pre_q / per_layer.theory_pre_q - 1).abs()
    c_err = (per_layer.pre_corr - per_layer.theory_pre_corr).abs()
    assert q_err.max() < 0.03, q_err.round(4).to_dict()
    assert c_err.max() < 0.03, c_err.round(4).to_dict()
