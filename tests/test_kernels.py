"""Branches of the statistics and quadrature kernels checked against independent references.

``hist_counts`` has three index widths (int8 / int16 / int32 bin indices) and two counting paths (pair codes
packed in int16 with one ``bincount`` when (B+1)² fits, a plain offset ``bincount`` otherwise): each is compared
with ``np.histogram`` of the clipped values. Values are drawn away from bin edges so that the two must agree
exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy import special as sp

from initlab.nn.regularizers import L1L2
from initlab.nn.softmax import log_softmax, softmax_and_log
from initlab.sim.stats import Scratch, hist_counts, moments, pair_corr, relu_counts_from_pre
from initlab.theory.quadrature import radial_rule


def _off_edge(rng, shape, R, bins, dtype):
    """Values at bin centres ± 0.4 bin, a few beyond ±R (they go to the edge bins)."""
    width = 2 * R / bins
    centres = -R + width * (rng.integers(0, bins, size=shape) + 0.5)
    x = centres + width * rng.uniform(-0.4, 0.4, size=shape)
    far = rng.random(shape) < 0.02
    x[far] = np.sign(x[far]) * R * rng.uniform(1.01, 3.0, size=int(far.sum()))
    return x.astype(dtype)


def _reference(x, R, bins):
    return np.stack([np.histogram(np.clip(layer.ravel(), -R, R), bins=bins, range=(-R, R))[0] for layer in x])


@pytest.mark.parametrize("bins", [9, 126, 150, 180, 200, 1000, 40000])
@pytest.mark.parametrize("shape", [(3, 37, 11), (1, 40, 8)])  # odd and even entries per layer
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hist_counts_matches_numpy_on_every_code_path(bins, shape, dtype):
    rng = np.random.default_rng([bins, shape[1]])
    R = 2.5
    x = _off_edge(rng, shape, R, bins, dtype)
    got = hist_counts(x, R, bins, Scratch())
    assert got.dtype == np.int64 and got.shape == (shape[0], bins)
    np.testing.assert_array_equal(got, _reference(x, R, bins))
    inside = np.abs(x) <= R
    fast = hist_counts(np.where(inside, x, 0).astype(dtype), R, bins, Scratch(), clip=False)
    np.testing.assert_array_equal(fast, _reference(np.where(inside, x, 0), R, bins))


@pytest.mark.parametrize("bins", [8, 9, 41, 200])
def test_relu_counts_from_pre_is_the_histogram_of_the_relu(bins):
    rng = np.random.default_rng(bins)
    R = 3.0
    z = _off_edge(rng, (2, 50, 7), R, bins, np.float64)
    pre = hist_counts(z, R, bins, Scratch())
    got = relu_counts_from_pre(pre)
    np.testing.assert_array_equal(got, hist_counts(np.maximum(z, 0.0), R, bins, Scratch()))
    assert (got.sum(axis=1) == pre.sum(axis=1)).all()


def test_pair_correlation_is_the_mean_cosine_of_disjoint_pairs():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 6))
    x[:, 1] = 0.7 * x[:, 0] + 0.3 * x[:, 1]  # pair (0, 1) strongly correlated
    x[1, 5] = 0.0  # a zero row: pair (4, 5) of layer 1 is skipped
    m = moments(x, Scratch())
    got = pair_corr(x, m.rownorm2)
    for layer in range(2):
        cos = []
        for a in range(0, 8, 2):
            u, v = x[layer, a], x[layer, a + 1]
            if np.linalg.norm(u) > 0 and np.linalg.norm(v) > 0:
                cos.append(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
        assert got[layer] == pytest.approx(np.mean(cos), rel=1e-12)
    assert math.isnan(pair_corr(np.zeros((1, 4, 3)), np.zeros((1, 4)))[0])


@pytest.mark.parametrize("F, exact", [
    (lambda r: np.ones_like(r), 1.0),
    (lambda r: r * r, 2.0),
    (lambda r: np.cos(r), None),
    (lambda r: np.minimum(r, 1.3) ** 3, None),  # a kink at 1.3: the rule must split there
])
def test_radial_rule_integrates_against_the_rayleigh_weight(F, exact):
    if exact is None:
        exact = integrate.quad(lambda r: r * math.exp(-r * r / 2) * float(F(np.array(r))), 0, np.inf,
                               points=None, limit=200, epsabs=1e-13, epsrel=1e-13)[0]
    nodes, weights = radial_rule(np.array([0.4, 1.3, 2.5]), 24)
    assert float(np.sum(weights * F(nodes))) == pytest.approx(exact, rel=1e-10, abs=1e-13)


def test_radial_rule_ignores_breaks_outside_the_range():
    a = radial_rule(np.array([np.nan, -1.0, 1.0, 1e9]), 20)
    b = radial_rule(np.array([0.0, 0.0, 0.0, 1.0]), 20)
    assert float(np.sum(a[1])) == pytest.approx(1.0, rel=1e-12)
    assert float(np.sum(a[1] * a[0] ** 2)) == pytest.approx(float(np.sum(b[1] * b[0] ** 2)), rel=1e-12)


def test_l1l2_penalty_and_gradient():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 3))
    reg = L1L2(l1=0.03, l2=0.2)
    assert reg(w) == pytest.approx(0.03 * np.abs(w).sum() + 0.2 * (w * w).sum(), rel=1e-12)
    g = np.zeros_like(w)
    reg.add_grad(w, g)
    num = np.zeros_like(w)
    h = 1e-6
    for idx in np.ndindex(w.shape):
        wp, wm = w.copy(), w.copy()
        wp[idx] += h
        wm[idx] -= h
        num[idx] = (reg(wp) - reg(wm)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("scale", [1.0, 1e3, 1e300])
def test_log_softmax_matches_scipy_without_overflow(scale):
    rng = np.random.default_rng(7)
    z = rng.standard_normal((5, 4)) * scale
    np.testing.assert_allclose(log_softmax(z), sp.log_softmax(z, axis=-1), rtol=1e-12, atol=1e-12)
    p, logp = softmax_and_log(z)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.isfinite(logp).all() and (logp <= 0).all()


def test_input_moments_use_the_engine_kernels():
    from initlab.sim.predict import input_moments

    rng = np.random.default_rng(11)
    x = rng.standard_normal((7, 5)) + 0.3
    q0, c0, mu0 = input_moments(x)
    pairs = [x[a] @ x[a + 1] / (np.linalg.norm(x[a]) * np.linalg.norm(x[a + 1])) for a in (0, 2, 4)]
    assert q0 == pytest.approx(np.mean(x * x), rel=1e-12)
    assert c0 == pytest.approx(np.mean(pairs), rel=1e-12)
    assert mu0 == pytest.approx(np.mean(x), rel=1e-12)
    assert input_moments(np.zeros((4, 3)))[1] == 1.0  # no pair with a norm: taken as fully correlated
