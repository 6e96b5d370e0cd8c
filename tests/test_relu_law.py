"""The exact ReLU law (Hanin & Nica) against seeded Monte Carlo of our own forward passes, and internal identities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import digamma, polygamma
from scipy.stats import binom, norm

from initlab.theory.relu_law import ReLULaw, relu_law


def _forward_matrices(n: int, depth: int, trials: int, rng: np.random.Generator):
    """Real Gaussian matrices: log ||x_L||^2/||x_0||^2 and log ||J u||^2/||u||^2, trials at once (n x n layers)."""
    x = rng.standard_normal((trials, n))
    u = rng.standard_normal((trials, n))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    lx = np.zeros(trials)
    lu = np.zeros(trials)
    for _ in range(depth):
        w = rng.standard_normal((trials, n, n)) * math.sqrt(2.0 / n)
        z = np.einsum("tij,tj->ti", w, x)
        on = z > 0
        x_new = np.where(on, z, 0.0)
        u_new = np.where(on, np.einsum("tij,tj->ti", w, u), 0.0)
        nx, nu = np.linalg.norm(x_new, axis=1), np.linalg.norm(u_new, axis=1)
        with np.errstate(divide="ignore"):
            lx += 2 * np.log(nx)
            lu += 2 * np.log(nu)
        x = x_new / np.where(nx > 0, nx, 1.0)[:, None]  # renormalise (the law is scale free)
        u = u_new / np.where(nu > 0, nu, 1.0)[:, None]
    return lx, lu


def _forward_pair(n: int, depth: int, trials: int, rng: np.random.Generator):
    """The same without n x n matrices: W's action on span{x, u} is two independent Gaussian vectors (exact in law)."""
    x = np.ones((trials, n)) / math.sqrt(n)
    u = rng.standard_normal((trials, n))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    lx = np.zeros(trials)
    lu = np.zeros(trials)
    s = math.sqrt(2.0 / n)
    for _ in range(depth):
        a = (x * u).sum(1, keepdims=True)  # u = a x + b e,  e a unit vector orthogonal to x
        b = np.sqrt(np.maximum(1.0 - a * a, 0.0))
        g1, g2 = rng.standard_normal((2, trials, n))
        z = s * g1
        on = z > 0
        x_new = np.where(on, z, 0.0)
        u_new = np.where(on, s * (a * g1 + b * g2), 0.0)
        nx, nu = np.linalg.norm(x_new, axis=1), np.linalg.norm(u_new, axis=1)
        with np.errstate(divide="ignore"):
            lx += 2 * np.log(nx)
            lu += 2 * np.log(nu)
        x = x_new / np.where(nx > 0, nx, 1.0)[:, None]
        u = u_new / np.where(nu > 0, nu, 1.0)[:, None]
    return lx, lu


def _check_against(law: ReLULaw, sample: np.ndarray):
    """Mean, variance and three CDF values within 3 standard errors (the dead samples, -inf, are dropped)."""
    y = sample[np.isfinite(sample)]
    t = y.size
    m, v = y.mean(), y.var(ddof=1)
    se_m = math.sqrt(v / t)
    se_v = math.sqrt(max(((y - m) ** 4).mean() - v * v, 0.0) / t)
    assert abs(m - law.mean) < 3 * se_m, (m, law.mean, se_m)
    assert abs(v - law.var) < 3 * se_v, (v, law.var, se_v)
    qs = law.quantile(np.array([0.1, 0.5, 0.9]))
    for p, qv in zip((0.1, 0.5, 0.9), qs):
        assert abs(np.mean(y <= qv) - p) < 3 * math.sqrt(p * (1 - p) / t)


def test_matrices_n16_depth_2n_forward_and_jacobian():
    law = relu_law(16, 32)
    lx, lu = _forward_matrices(16, 32, 4000, np.random.default_rng(2019))
    _check_against(law, lx)
    _check_against(law, lu)
    mean_ln, var_ln = law.lognormal  # the exact law is far from the log-normal here, and the sample says so
    y = lx[np.isfinite(lx)]
    assert abs(y.mean() - mean_ln) > 6 * math.sqrt(y.var() / y.size)


@pytest.mark.slow
@pytest.mark.parametrize("n, depth, trials", [(64, 128, 3000), (256, 64, 2000)])
def test_exact_pair_sampler_wider(n, depth, trials):
    law = relu_law(n, depth)
    lx, lu = _forward_pair(n, depth, trials, np.random.default_rng(n))
    _check_against(law, lx)
    _check_against(law, lu)


def test_unequal_widths_matrices():
    widths = (7, 24, 9, 30, 12, 16)
    rng = np.random.default_rng(5)
    trials = 12000
    y = np.zeros(trials)
    x = rng.standard_normal((trials, widths[0]))
    y -= np.log((x ** 2).sum(1))
    for a, b in zip(widths[:-1], widths[1:]):
        x = np.maximum(np.einsum("tij,tj->ti", rng.standard_normal((trials, b, a)) * math.sqrt(2.0 / a), x), 0.0)
    with np.errstate(divide="ignore"):
        y += np.log((x ** 2).sum(1))
    _check_against(ReLULaw(widths), y)


def test_issue_numbers_and_one_layer_by_direct_sum():
    law = relu_law(100, 40)
    assert law.var == pytest.approx(2.078, abs=1e-3)  # the issue's 2.08 holds
    assert law.mean == pytest.approx(-1.017, abs=1e-3)  # the issue's -1.04 does not
    assert law.lognormal == pytest.approx((-1.0, 2.0))
    # one layer, by an independent direct sum over K (no truncation of the tails)
    n = 9
    k = np.arange(1, n + 1)
    p = binom.pmf(k, n, 0.5) / (1 - 0.5 ** n)
    mean = math.log(4 / n) + p @ digamma(k / 2)
    var = p @ polygamma(1, k / 2) + p @ (digamma(k / 2) - p @ digamma(k / 2)) ** 2
    one = relu_law(n, 1)
    assert one.mean == pytest.approx(mean, rel=1e-12)
    assert one.var == pytest.approx(var, rel=1e-12)
    assert one.dead_probability == pytest.approx(0.5 ** n)


def test_density_cdf_quantiles_consistent():
    law = ReLULaw((10, 20, 5, 40))
    sd = math.sqrt(law.var)
    y = np.linspace(law.mean - 39 * sd, law.mean + 15 * sd, 12001)
    f = law.pdf(y)
    h = y[1] - y[0]
    assert f.sum() * h == pytest.approx(1.0, abs=1e-9)
    assert (f * y).sum() * h == pytest.approx(law.mean, abs=1e-8)
    assert (f * (y - law.mean) ** 2).sum() * h == pytest.approx(law.var, rel=1e-8)
    for y0 in (law.mean - 2 * sd, law.mean + 1.5 * sd):  # the CDF is the integral of the density
        upper = quad(lambda v: law.pdf(np.array([v]))[0], y0, law.mean + 30 * sd, limit=200, epsabs=1e-13)[0]
        assert law.cdf(y0) == pytest.approx(1.0 - upper, abs=1e-11)
    q = law.quantile(np.array([0.01, 0.5, 0.99]))
    assert law.cdf(q) == pytest.approx([0.01, 0.5, 0.99], abs=1e-9)


def test_one_layer_density_closed_form():
    """One layer of width 3: the density of log R is a 3-term mixture of log-chi-square densities."""
    law = relu_law(3, 1)
    y = np.linspace(-4, 2, 13)
    x = np.exp(y) * 3 / 2  # R = (2/3) chi2_K  ->  chi2 value
    from scipy.stats import chi2

    k = np.arange(1, 4)
    p = binom.pmf(k, 3, 0.5) / (1 - 1 / 8)
    want = sum(pk * chi2.pdf(x, kk) * x for pk, kk in zip(p, k))
    assert law.pdf(y) == pytest.approx(want, rel=1e-8, abs=1e-12)


def test_lognormal_limit_and_bad_input():
    law = relu_law(4096, 64)
    m, v = law.lognormal
    assert law.var == pytest.approx(v, rel=2e-3)
    assert law.mean == pytest.approx(m, abs=2e-3)
    assert law.cdf(law.mean) == pytest.approx(norm.cdf(0.0), abs=2e-3)
    with pytest.raises(ValueError):
        ReLULaw((5,))
    with pytest.raises(ValueError):
        law.quantile(1.0)
    with pytest.raises(ValueError):
        relu_law(10)


def test_readout_law_of_q_hat():
    """log(q_hat^l / G^1) with q_hat = ||z^l||^2/n: the law of l - 1 layers plus the chi2_n/n readout."""
    n, layers, trials = 16, 8, 6000
    rng = np.random.default_rng(99)
    G = np.ones(trials)
    for _ in range(layers - 1):
        z = np.sqrt(G)[:, None] * rng.standard_normal((trials, n))
        G = 2.0 * (np.maximum(z, 0.0) ** 2).mean(1)
    z = np.sqrt(G)[:, None] * rng.standard_normal((trials, n))
    with np.errstate(divide="ignore"):
        y = np.log((z * z).mean(1))
    law = ReLULaw((n,) * layers, readout=n)
    _check_against(law, y)
    sd = math.sqrt(law.var)
    grid = np.linspace(law.mean - 39 * sd, law.mean + 15 * sd, 8001)
    assert law.pdf(grid).sum() * (grid[1] - grid[0]) == pytest.approx(1.0, abs=1e-8)
    first = ReLULaw((n,), readout=n)  # no ReLU layer: chi2_n / n alone
    assert first.var == pytest.approx(float(polygamma(1, n / 2)))
    assert first.lognormal == pytest.approx((-1 / n, 2 / n))
