"""The Box–Muller block sampler: its distribution, its stream, and its independence of the thread count."""

import copy
import math

import numpy as np
import pytest
from scipy import stats

from initlab.initializers import get_initializer
from initlab.initializers.sampler import BLOCK, PART, fill_standard_normal, parallel_map, standard_normal


def _moments_ok(x: np.ndarray, k: float = 4.0) -> None:
    """Mean, variance, third and fourth moments within k standard errors of N(0, 1)'s 0, 1, 0, 3."""
    x = x.astype(np.float64).ravel()
    n = x.size
    # standard errors of the sample moments of N(0,1): Var[x^j] = E[x^2j] - E[x^j]^2
    for j, want, var in ((1, 0.0, 1.0), (2, 1.0, 2.0), (3, 0.0, 15.0), (4, 3.0, 96.0)):
        got = float(np.mean(x**j))
        assert abs(got - want) <= k * math.sqrt(var / n), (j, got)


def test_distribution_ks_moments_and_tails():
    x = standard_normal(np.random.default_rng(20261201), (600, 1000))  # 600k samples, 3 parts
    assert x.dtype == np.float32 and x.shape == (600, 1000)
    assert stats.kstest(x.ravel().astype(np.float64), "norm").pvalue > 1e-3
    _moments_ok(x)
    # tail mass beyond 3 sigma, and the radius of each (cos, sin) pair: R^2 ~ Exp(1/2) exactly
    p3 = 2 * stats.norm.sf(3.0)
    n = x.size
    assert abs(np.mean(np.abs(x) > 3) - p3) <= 4 * math.sqrt(p3 * (1 - p3) / n)
    blk = x.ravel()[:BLOCK].astype(np.float64)
    h = BLOCK // 2
    r2 = blk[:h] ** 2 + blk[h:] ** 2
    assert stats.kstest(r2, stats.expon(scale=2.0).cdf).pvalue > 1e-3


def test_the_two_halves_of_a_pair_and_neighbouring_parts_are_uncorrelated():
    x = standard_normal(np.random.default_rng(7), 2 * PART).astype(np.float64)
    h = BLOCK // 2
    a, b = x[:h], x[h:BLOCK]  # cos and sin of the same words
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / math.sqrt(h)
    assert abs(np.corrcoef(a**2, b**2)[0, 1]) < 4 / math.sqrt(h)  # independent, not only uncorrelated
    p0, p1 = x[:PART], x[PART:]
    assert abs(np.corrcoef(p0, p1)[0, 1]) < 4 / math.sqrt(PART)
    assert not np.array_equal(p0[:100], p1[:100])


def test_values_follow_from_the_words_by_box_muller_in_float64():
    # an independent float64 evaluation of the documented map from the generator's words
    rng = np.random.default_rng(11)
    ref = copy.deepcopy(rng)
    x = standard_normal(rng, 1001)  # odd: the last sine is dropped
    ref.bit_generator.random_raw(2)  # the key words
    words = ref.bit_generator.random_raw(501)
    halves = np.concatenate([[int(w) & 0xFFFFFFFF, int(w) >> 32] for w in words])  # low half first
    lo = halves[:501].astype(np.float32).astype(np.float64)
    hi = halves[501:].astype(np.float32).astype(np.float64)
    u1 = (lo + 0.5) * 2.0**-32
    theta = hi * (2 * math.pi * 2.0**-32)
    r = np.sqrt(-2 * np.log(u1))
    want = np.concatenate([r * np.cos(theta), (r * np.sin(theta))[:500]])
    np.testing.assert_allclose(x, want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("n", [0, 1, 2, 3, BLOCK - 1, BLOCK + 1, PART + 5])
def test_same_generator_state_same_bytes_whatever_the_threads(n):
    one = standard_normal(np.random.default_rng(3), n, threads=1)
    for threads in (2, 3):
        assert standard_normal(np.random.default_rng(3), n, threads=threads).tobytes() == one.tobytes()
    assert one.shape == (n,) and np.isfinite(one).all()
    if n > 1:
        assert standard_normal(np.random.default_rng(4), n).tobytes() != one.tobytes()


def test_fill_checks_its_array_and_float64_keeps_numpys_stream():
    with pytest.raises(ValueError, match="float32"):
        fill_standard_normal(np.random.default_rng(0), np.empty(4))
    with pytest.raises(ValueError, match="float32"):
        standard_normal(np.random.default_rng(0), 4, np.int32)
    want = np.random.default_rng(5).standard_normal(10)
    assert standard_normal(np.random.default_rng(5), 10, np.float64).tobytes() == want.tobytes()


def test_parallel_map_keeps_order_and_does_not_nest():
    out = parallel_map(lambda i: parallel_map(lambda j: (i, j), range(3), threads=2), range(4), threads=2)
    assert out == [[(i, j) for j in range(3)] for i in range(4)]


@pytest.mark.parametrize("spec", ["normal:1", "kaiming_normal", "he_normal", "truncated_normal:1",
                                  "variance_scaling:distribution=untruncated_normal"])
def test_normal_initializers_use_the_sampler(spec):
    init = get_initializer(spec)
    w = init.sample((300, 400), np.random.default_rng(9))
    assert w.dtype == np.float32
    ref = standard_normal(np.random.default_rng(9), (300, 400))
    if spec in ("truncated_normal:1", "he_normal"):  # Keras' he_normal is truncated at 2 std too
        keep = np.abs(ref) <= 2  # the entries inside ±2 are kept (scaled), the others redrawn
        ratio = w[keep].astype(np.float64) / ref[keep]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)
        assert np.abs(w).max() <= 2 * ratio[0] * (1 + 1e-6) and not np.array_equal(w[~keep], ref[~keep] * ratio[0])
    else:
        s = math.sqrt(init.variance((300, 400)))
        np.testing.assert_allclose(w, ref * np.float32(s), rtol=1e-6)
