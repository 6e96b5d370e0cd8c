"""initlab compare's init-time theory (issue 12 §3): χ₁, ξ_c and the phase of each compared initializer's stack."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from initlab.labs import get_lab
from initlab.labs.compare import INIT_THEORY, Comparison, simulate_at_init
from initlab.theory.meanfield import fixed_point


@pytest.mark.parametrize("init, sigma_w2", [("he_normal", 2.0), ("lecun_normal", 1.0), ("normal:0.01", 32 * 1e-4)])
def test_init_stats_carry_the_theory_of_the_stack(init, sigma_w2):
    cfg = get_lab("iris-mlp")  # hidden (32, 32, 32), relu, zero biases
    layers = simulate_at_init(cfg, init, np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32))
    comp = Comparison(cfg, [init], [0], pd.DataFrame(), pd.DataFrame({"init": [init], "seed": [0]}), layers, "", 0.0)
    row = comp.init_stats().iloc[0]
    fp = fixed_point("relu", sigma_w2, 0.0)
    assert set(INIT_THEORY) <= set(row.index)
    assert row["sigma_w2"] == pytest.approx(sigma_w2, rel=1e-9)
    assert row["chi1"] == pytest.approx(fp.chi1, rel=1e-9) and row["phase"] == fp.phase
    assert row["phase"] == {"he_normal": "critical", "lecun_normal": "ordered", "normal:0.01": "ordered"}[init]
    assert "chi1" in comp.table().columns
