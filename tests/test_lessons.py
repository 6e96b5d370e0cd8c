"""The notes' remaining lessons, checked against closed forms and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from initlab import nn
from initlab.labs.data import fit_transform
from initlab.labs.lessons import W_STAR, output_gradients, same_sign_fraction, zigzag
from initlab.labs.lessons_training import batch_stat_noise, dead_units


def test_output_gradients_match_the_closed_forms_and_central_differences():
    t = output_gradients(np.array([0.01, 0.2, 0.5, 0.9]), classes=4)
    np.testing.assert_allclose(t["sigmoid_ce"], t["sigmoid_ce_exact"], rtol=1e-9)
    np.testing.assert_allclose(t["sigmoid_mse"], t["sigmoid_mse_exact"], rtol=1e-9)
    np.testing.assert_allclose(t["softmax_ce"], 1 - t["p"], rtol=1e-9)  # softmax(z) - onehot at the right class
    # softmax + Keras' MSE (mean over the k classes): central differences on the right class's logit
    k, h = 4, 1e-6
    for p, g in zip(t["p"], t["softmax_mse"]):
        def loss(a):
            z = np.zeros(k)
            z[0] = a
            q = np.exp(z - z.max())
            q /= q.sum()
            return np.mean((q - np.eye(k)[0]) ** 2)
        a = np.log(p * (k - 1) / (1 - p))
        assert g == pytest.approx(abs(loss(a + h) - loss(a - h)) / (2 * h), rel=1e-6)
    far = t.iloc[0]  # confidently wrong: p = 0.01
    assert far["sigmoid_ce"] / far["sigmoid_mse"] > 50 and far["softmax_ce"] / far["softmax_mse"] > 50


def test_weight_gradients_after_a_sigmoid_share_one_sign():
    t = same_sign_fraction(("sigmoid", "tanh"), depth=3, width=16, n_in=8, batch=16)
    sig, tanh = t[t["act"] == "sigmoid"], t[t["act"] == "tanh"]
    assert (sig[sig["layer"] > 1]["per_sample"] == 1.0).all()  # inputs h > 0: sign(h_i g_j) = sign(g_j)
    assert (tanh[tanh["layer"] > 1]["per_sample"] < 0.01).all()  # ~2^(1-16) by chance
    assert (t[t["layer"] == 1]["per_sample"] < 0.05).all()  # Gaussian data is centred


def test_the_zigzag_toy():
    path = zigzag(steps=30)
    pos, cen = path[path["kind"] == "positive"], path[path["kind"] == "centred"]
    assert pos["same_sign"].dropna().eq(1.0).all() and cen["same_sign"].dropna().mean() < 0.8
    d10 = {k: float(p.loc[p["step"] == 10, "distance"].iloc[0]) for k, p in path.groupby("kind")}
    assert d10["centred"] < 0.1 < 0.5 < d10["positive"]
    assert pos["distance"].iloc[0] == pytest.approx(np.linalg.norm(W_STAR))


def test_batch_statistics_noise_follows_the_gaussian_formulas():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((20000, 50)) * 3 + 1
    t = batch_stat_noise(z, [4, 16, 64], 400, rng).set_index("batch")
    # mean over 50 columns of an sd estimated from 400 draws: relative standard error ~ 1/sqrt(2*400*50) = 0.5%
    np.testing.assert_allclose(t["mean_noise"], t["mean_noise_gauss"], rtol=0.04)
    np.testing.assert_allclose(t["var_noise"], t["var_noise_gauss"], rtol=0.06)


def test_dead_units_on_a_hand_made_layer():
    m = nn.Sequential([nn.Input((3,)), nn.Dense(4, act="relu", init="constant:1"), nn.Dense(1)], dtype="float64")
    m.layers[0].bias[:2] = -100.0  # units 0 and 1 are off for every input in [0, 1]^3
    x = np.random.default_rng(1).random((50, 3))
    assert dead_units(m, x) == [0.5]


def test_whitening_gives_the_identity_covariance_and_pca_decorrelates():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((400, 5)) @ (rng.standard_normal((5, 5)) + 4 * np.eye(5)) + 10).astype(np.float32)
    for kind in ("pca", "whiten"):
        a, b = fit_transform(kind, x, x[:7])
        c = np.cov(a.astype(np.float64), rowvar=False, bias=True)
        assert np.abs(a.mean(axis=0)).max() < 1e-4 and np.abs(c - np.diag(np.diag(c))).max() < 1e-3 * c.max()
        np.testing.assert_allclose(b, a[:7], rtol=1e-5, atol=1e-5)
    white, = fit_transform("whiten", x)
    np.testing.assert_allclose(np.cov(white.astype(np.float64), rowvar=False, bias=True), np.eye(5), atol=1e-3)


def test_a_diverged_network_has_no_dead_count():
    m = nn.Sequential([nn.Input((2,)), nn.Dense(3, act="relu"), nn.Dense(1)], dtype="float64")
    m.layers[0].kernel[...] = np.nan
    assert np.isnan(dead_units(m, np.ones((4, 2)))[0])
