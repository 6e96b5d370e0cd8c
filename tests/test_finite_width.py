"""The 1/n theory (initlab.theory.finite_width) against closed forms, universality, and seeded Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from initlab._spec import ConfigError
from initlab.activations import get_activation
from initlab.theory.finite_width import finite_width, layer_moments
from initlab.theory.gaussian import gaussian_kernel

GELU_CRIT = (1.9706718097816112, 0.2, (4.47095030961553 - 0.2) / 1.9706718097816112)  # critical line at 0.2
CASES = {"relu": (2.0, 0.0, 0.5), "tanh": (1.0, 0.0, 1.0), "erf": (math.pi / 4, 0.0, 1.0), "gelu": GELU_CRIT}


def test_relu_and_linear_closed_forms():
    n, L = 50, 12
    th = finite_width("relu", 2.0, 0.0, width=n, depth=L, q_in=0.7)
    layers = np.arange(1, L + 1)
    assert th.G == pytest.approx(np.full(L, 1.4))
    assert th.nvar_G == pytest.approx(5 * (layers - 1) / n, abs=1e-12)
    assert th.nvar_q == pytest.approx(5 * (layers - 1) / n + 2 / n)
    assert th.kurtosis == pytest.approx(15 * (layers - 1) / n, abs=1e-12)
    assert th.nvar_grad == pytest.approx(5 * (L - layers + 1) / n)
    assert th.increment == pytest.approx(np.full(L - 1, 5.0))
    assert np.abs(th.mean_shift).max() < 1e-12
    lin = finite_width("linear", 1.0, 0.0, width=n, depth=L)
    assert lin.increment == pytest.approx(np.full(L - 1, 2.0))  # <z^4>/<z^2>^2 - 1 = 2
    assert lin.nvar_grad == pytest.approx(2 * (L - layers + 1) / n)
    widths = (9, 30, 12, 50, 7)
    uneq = finite_width("relu", 2.0, 0.0, width=widths)
    inv = np.concatenate([[0.0], np.cumsum(5.0 / np.array(widths[1:-1]))])
    assert uneq.nvar_G == pytest.approx(inv, abs=1e-12)


def test_moments_against_closed_forms_and_finite_differences():
    g = 0.8
    m = layer_moments("relu", g)
    want = {"m2": g / 2, "m2p": 0.5, "m2pp": 0.0, "m4": 1.5 * g * g, "g2": 0.5, "g2p": 0.0, "d4": 0.5,
            "m2g2": g / 2, "m2z": 1.5 * g * g, "g2z": g / 2}
    for k, v in want.items():
        assert m[k] == pytest.approx(v, abs=1e-12), k
    for act in ("erf", "tanh", "gelu", "softplus"):
        m = layer_moments(act, g)
        kern = gaussian_kernel(act)  # closed form for erf, quadrature otherwise
        m2, slope, g2 = (float(v) for v in kern.moments(g))
        assert m["m2"] == pytest.approx(m2, rel=1e-10)
        assert m["m2p"] == pytest.approx(slope, rel=1e-9)
        assert m["g2"] == pytest.approx(g2, rel=1e-10)
        h = 1e-3
        lo, mid, hi = (float(kern.moments(g + d)[0]) for d in (-h, 0.0, h))
        assert m["m2pp"] == pytest.approx((hi - 2 * mid + lo) / h ** 2, rel=1e-5, abs=1e-8)
        g_lo, g_hi = (float(kern.moments(g + d)[2]) for d in (-h, h))
        assert m["g2p"] == pytest.approx((g_hi - g_lo) / (2 * h), rel=1e-5, abs=1e-8)
    # E[phi^4] of erf by brute-force quadrature of the activation itself
    from scipy.integrate import quad

    phi = get_activation("erf")
    m4 = quad(lambda u: float(phi.fn(np.array([math.sqrt(g) * u]))[0]) ** 4 * math.exp(-u * u / 2) / math.sqrt(2 * math.pi),
              -12, 12, epsabs=1e-14)[0]
    assert layer_moments("erf", g)["m4"] == pytest.approx(m4, rel=1e-10)


@pytest.mark.parametrize("act, sw2", [("tanh", 1.0), ("erf", math.pi / 4)])
def test_k_star_zero_universality_two_thirds(act, sw2):
    th = finite_width(act, sw2, 0.0, width=10_000, depth=2000)
    assert th.increment[-1] == pytest.approx(2 / 3, abs=0.005)
    assert 2 * 2000 * th.G[-1] == pytest.approx(1.0, rel=0.02)  # G^l ~ 1/(2l) from m2 = G - 2G^2 + ...
    assert th.increment[0] < th.increment[-1]  # approached from below, only for l >> 1


def _conditional_forward(act, sw2, sb2, q_in, n, depth, trials, rng):
    """Exact-in-law single-input forward pass: given layer l, z^{l+1} = sqrt(G_hat) * N(0, I_n) (W Gaussian)."""
    a = get_activation(act)
    G = np.full(trials, sb2 + sw2 * q_in)
    q = np.empty((trials, depth))
    z4 = np.empty((trials, depth))
    for l in range(depth):
        z = np.sqrt(G)[:, None] * rng.standard_normal((trials, n))
        q[:, l] = (z * z).mean(1)
        z4[:, l] = (z ** 4).mean(1)
        G = sb2 + sw2 * (a.fn(z) ** 2).mean(1)
    return q, z4


def _batch_stat(stat, arrays, batches=20):
    """The statistic on all trials and its standard error from ``batches`` batch means."""
    full = stat(*arrays)
    parts = [stat(*(x[i::batches] for x in arrays)) for i in range(batches)]
    return full, np.std(parts, axis=0, ddof=1) / math.sqrt(batches)


@pytest.mark.slow
@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "gelu"])
def test_monte_carlo_two_widths_richardson(act):
    """Each statistic is X(n) = A/n + B/n^2 + ...: the Richardson value 2 (2n X_2n) - n X_n = A + O(1/n^2) must
    equal the theory's n X (width-free for equal widths) within 3 standard errors (+1.5% for the O(1/n^2) left).
    Checked: Var log q_hat^l, the relative shift of E q_hat^l, one unit's excess kurtosis across networks."""
    sw2, sb2, q_in = CASES[act]
    depth, trials = 5, 24_000
    stats = {
        "var": lambda x, y, g: np.log(x).var(0),
        "shift": lambda x, y, g: x.mean(0) / g - 1,
        "kurt": lambda x, y, g: y.mean(0) / x.mean(0) ** 2 - 3,  # units are exchangeable: pooled
    }
    est: dict[str, list] = {k: [] for k in stats}
    for n in (32, 64):
        th = finite_width(act, sw2, sb2, width=n, depth=depth, q_in=q_in)
        pred = {"var": th.nvar_q, "shift": th.mean_shift, "kurt": th.kurtosis}
        q, z4 = _conditional_forward(act, sw2, sb2, q_in, n, depth, trials, np.random.default_rng([21, n]))
        for key, fn in stats.items():
            val, se = _batch_stat(lambda x, y: fn(x, y, th.G), (q, z4))
            est[key].append((n * val, n * se, n * pred[key]))
    for key, ((a1, s1, p1), (a2, s2, p2)) in est.items():
        assert p1 == pytest.approx(p2, abs=1e-12)
        rich, se = 2 * a2 - a1, np.sqrt(4 * s2 ** 2 + s1 ** 2)
        assert np.all(np.abs(rich - p2) < 3 * se + 0.015 * np.abs(p2)), (key, rich, p2, se)


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_gradient_variance_real_matrices(act):
    """Var log ||dL/dz^l||^2 from real Gaussian matrices, forward and backward, against the linear-noise result."""
    sw2, sb2, q_in = CASES[act]
    n, depth, trials = 64, 5, 1200
    a = get_activation(act)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((trials, n))
    x *= np.sqrt(n * q_in) / np.linalg.norm(x, axis=1, keepdims=True)
    ws, ds = [], []
    for _ in range(depth):
        w = rng.standard_normal((trials, n, n)) * math.sqrt(sw2 / n)
        z = np.einsum("tij,tj->ti", w, x)
        x, d = a.fn_grad(z)
        ws.append(w)
        ds.append(d)
    delta = rng.standard_normal((trials, n)) * ds[-1]
    logs = [np.log((delta ** 2).sum(1))]
    for l in range(depth - 2, -1, -1):
        delta = np.einsum("tij,ti->tj", ws[l + 1], delta) * ds[l]
        logs.append(np.log((delta ** 2).sum(1)))
    y = np.array(logs[::-1]).T
    c = y - y.mean(0)
    v = c.var(0, ddof=1)
    se = np.sqrt(((c ** 4).mean(0) - v ** 2) / trials)
    th = finite_width(act, sw2, sb2, width=n, depth=depth, q_in=q_in)
    assert np.all(np.abs(v - th.nvar_grad) < 3 * se), (v, th.nvar_grad, se)


def test_bad_input():
    with pytest.raises(ConfigError):
        finite_width("maxout:2", 1.0, 0.0, width=8, depth=2)
    with pytest.raises(ConfigError):
        finite_width("relu", -1.0, 0.0, width=8, depth=2)
    with pytest.raises(ConfigError):
        finite_width("relu", 2.0, 0.0, width=8)
    with pytest.raises(ConfigError):
        finite_width("relu", 40.0, 0.0, width=8, depth=40)  # the metric leaves [1e-12, 1e12]


@pytest.mark.slow
def test_residual_falls_like_one_over_n_squared():
    """Var log q_hat^L (tanh at criticality, L = 5) minus the 1/n prediction, at n = 16, 32, 64: the weighted slope
    of log|residual| against log n is -2 (measured -2.00 +- 0.05 with 2e5 networks per width; here 1.2e5)."""
    sw2, sb2, q_in = CASES["tanh"]
    widths, depth, trials = (16, 32, 64), 5, 120_000
    res, se = [], []
    for n in widths:
        q, _ = _conditional_forward("tanh", sw2, sb2, q_in, n, depth, trials, np.random.default_rng([5, n]))
        y = np.log(q[:, -1])
        c = y - y.mean()
        v = c.var(ddof=1)
        res.append(v - finite_width("tanh", sw2, sb2, width=n, depth=depth, q_in=q_in).nvar_q[-1])
        se.append(math.sqrt(((c * c - v) ** 2).mean() / trials))
    res, se = np.array(res), np.array(se)
    assert np.all(res > 3 * se)  # a real, positive O(1/n^2) residual
    x, yl, w = np.log(widths), np.log(res), (res / se) ** 2
    A = np.vstack([np.ones(3), x]).T
    cov = np.linalg.inv(A.T @ (w[:, None] * A))
    slope = (cov @ (A.T @ (w * yl)))[1]
    assert abs(slope + 2.0) < max(0.3, 3 * math.sqrt(cov[1, 1])), slope
