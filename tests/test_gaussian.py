"""Gaussian expectations (initlab.theory.quadrature, initlab.theory.gaussian): rules, closed forms vs quadrature, identities."""

import math

import numpy as np
import pytest
from scipy.special import ndtr

from initlab.activations import ACTIVATIONS, get_activation
from initlab.theory.gaussian import ClosedFormKernel, QuadratureKernel, gaussian_kernel
from initlab.theory.quadrature import expect, expect2, half_line_rule, hermite_rule, kinks, piecewise_rule

Q = np.array([0.0, 0.05, 0.5, 1.0, 3.0])
C = np.array([-0.95, -0.3, 0.0, 0.4, 0.9, 0.999, 1.0])
QQ, CC = np.meshgrid(Q, C)


# -- rules ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [4, 16, 48])
@pytest.mark.parametrize("power", [0, 1])
def test_half_line_rule_is_exact_for_polynomials(n, power):
    x, w = half_line_rule(n, power)
    assert x.shape == w.shape == (n,) and (x > 0).all() and (w > 0).all()
    norm = 2 ** ((power - 1) / 2) * math.gamma((power + 1) / 2)
    for k in range(2 * n):  # ∫ x^(k+p) e^{-x²/2} / ∫ x^p e^{-x²/2}
        exact = 2 ** ((k + power - 1) / 2) * math.gamma((k + power + 1) / 2) / norm
        assert (w * x**k).sum() == pytest.approx(exact, rel=1e-12)


def test_hermite_rule_normalised_and_exact():
    x, w = hermite_rule(20)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    assert (w * x**4).sum() == pytest.approx(3.0, rel=1e-13)  # E z^4
    assert (w * x**10).sum() == pytest.approx(945.0, rel=1e-12)  # 9!!


def test_piecewise_rule_integrates_kinks_and_jumps_exactly():
    breaks = np.array([[0.0, -1.3, 0.7]])
    z, w = piecewise_rule(breaks, 16)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    assert (w * np.abs(z)).sum() == pytest.approx(math.sqrt(2 / math.pi), abs=1e-14)  # E|z|
    assert (w * (z > 0.7)).sum() == pytest.approx(ndtr(-0.7), abs=1e-14)  # a jump at a breakpoint
    assert (w * np.clip(z, -1.3, 0.7) ** 2).sum() == pytest.approx(_clip_second_moment(-1.3, 0.7), abs=1e-13)


def _clip_second_moment(a, b):
    """E[clip(z, a, b)²] in closed form (truncated-normal moments)."""
    pdf = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    inner = (ndtr(b) - ndtr(a)) - (b * pdf(b) - a * pdf(a))
    return inner + a * a * ndtr(a) + b * b * ndtr(-b)


def test_kinks_found_from_grad_alone():
    assert kinks(get_activation("hard_tanh")) == pytest.approx((-1.0, 1.0), abs=1e-12)
    assert kinks(get_activation("hard_sigmoid")) == pytest.approx((-3.0, 3.0), abs=1e-12)
    for name in ("tanh", "gelu", "relu", "selu", "elu", "softsign", "mish", "sigmoid"):
        assert kinks(get_activation(name)) == ()  # smooth, or kinked only at 0 (every rule splits at 0)


# -- closed forms against quadrature ------------------------------------------------------------------------------
CLOSED_FORMS = [n for n in ACTIVATIONS.names() if get_activation(n).kernel_method and n != "maxout"]


def test_closed_forms_live_on_the_activations():
    assert CLOSED_FORMS == ["linear", "relu", "leaky_relu", "erf"]
    for name in ACTIVATIONS.names():
        k = gaussian_kernel(name)
        assert isinstance(k, ClosedFormKernel) == bool(get_activation(name).kernel_method)
        assert k.method == (get_activation(name).kernel_method or k.method)


@pytest.mark.parametrize("spec", CLOSED_FORMS + ["leaky_relu:0.2"])
def test_closed_forms_match_quadrature_to_1e6(spec):
    exact = gaussian_kernel(spec)
    quad = gaussian_kernel(spec, degree_2d=32, closed_form=False)
    assert isinstance(exact, ClosedFormKernel) and isinstance(quad, QuadratureKernel)
    for a, b in zip(exact.moments(Q), quad.moments(Q)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    np.testing.assert_allclose(exact.m1(Q), quad.m1(Q), rtol=0, atol=1e-6)
    for a, b in zip(exact.cross_grad(QQ, CC), quad.cross_grad(QQ, CC)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_textbook_hermite_rules_match_the_erf_closed_form():
    """The plain hermegauss expect/expect2 (Cholesky construction) agree with Williams' kernel for a smooth φ."""
    erf = get_activation("erf")
    k = gaussian_kernel("erf")
    q = np.array([0.1, 0.5, 1.0])
    np.testing.assert_allclose(expect(lambda u: erf.fn(u) ** 2, q, 64), k.m2(q), atol=1e-6)
    c = np.array([-0.5, 0.3, 0.8])
    np.testing.assert_allclose(expect2(erf.fn, erf.fn, q, q, q * c, 48), k.cross(q, c), atol=1e-6)


def test_relu_family_known_values():
    k = gaussian_kernel("relu")
    assert float(k.m2(1.0)) == 0.5 and float(k.g2(7.0)) == 0.5
    assert float(k.cross(2.0, 0.0)) == pytest.approx(2.0 / (2 * math.pi), abs=1e-15)  # E[relu]² = q/2π
    assert float(k.cross_grad(1.0, 0.0)[1]) == pytest.approx(0.25, abs=1e-15)  # P(both > 0)
    assert float(k.m1(2 * math.pi)) == pytest.approx(1.0, abs=1e-15)


# -- identities for every activation -----------------------------------------------------------------------------
SMOOTH_OR_KINKED = [n for n in ACTIVATIONS.names() if n != "maxout"]


@pytest.mark.parametrize("name", SMOOTH_OR_KINKED)
def test_kernel_identities(name):
    """K(q,1) = m2, K(q,0) = m1², Price (∂K/∂c = q K'), Stein (m2' by differences), for every activation."""
    k = gaussian_kernel(name, closed_form=False)
    q = np.array([0.2, 1.0, 2.5])
    m2, slope, g2 = k.moments(q)
    K1, Kg1 = k.cross_grad(q, 1.0)
    np.testing.assert_allclose(K1, m2, rtol=1e-5, atol=1e-12)  # the 2-D rule at c = 1 against the 1-D rule
    np.testing.assert_allclose(Kg1, g2, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(k.cross(q, 0.0), k.m1(q) ** 2, rtol=1e-7, atol=1e-12)
    h = 1e-4
    dm2 = (k.m2(q + h) - k.m2(q - h)) / (2 * h)
    np.testing.assert_allclose(slope, dm2, rtol=1e-6, atol=1e-9)
    c = np.array([-0.4, 0.3, 0.7])
    dK = (k.cross(q, c + h) - k.cross(q, c - h)) / (2 * h)
    np.testing.assert_allclose(dK, q * k.cross_grad(q, c)[1], rtol=1e-6, atol=1e-9)


def test_at_zero_limits():
    assert gaussian_kernel("relu").at_zero() == (0.5, 0.5)
    lam, alpha = 1.0507009873554805, 1.6732632423543772  # SELU: slopes λ and λα at 0
    s, g = gaussian_kernel("selu").at_zero()
    assert s == pytest.approx(lam**2 * (1 + alpha**2) / 2, abs=1e-9)
    assert g == pytest.approx(lam**2 * (1 + alpha**2) / 2, abs=1e-9)
    assert gaussian_kernel("tanh").at_zero()[1] == pytest.approx(1.0, abs=1e-10)


def test_maxout_moments_exact_by_order_statistics():
    """E[max], E[max²] of k normals: closed forms for k = 2, 3; adaptive quad of the order-statistic density for k = 5."""
    from scipy import integrate
    from scipy.stats import norm

    k2, k3 = gaussian_kernel("maxout:2"), gaussian_kernel("maxout:3")
    assert isinstance(k2, ClosedFormKernel)
    assert float(k2.m2(1.0)) == pytest.approx(1.0, abs=1e-14)  # E[max(z1, z2)²] = 1
    assert float(k2.m2(2.5)) == pytest.approx(2.5, abs=1e-13) and float(k2.g2(7.0)) == 1.0
    assert float(k2.m1(1.0)) == pytest.approx(1 / math.sqrt(math.pi), abs=1e-14)
    assert float(k3.m1(1.0)) == pytest.approx(1.5 / math.sqrt(math.pi), abs=1e-14)
    assert float(k3.m2(1.0)) == pytest.approx(1 + math.sqrt(3) / (2 * math.pi), abs=1e-14)
    k5 = gaussian_kernel("maxout:5")
    dens = lambda x, p: x**p * 5 * norm.cdf(x) ** 4 * norm.pdf(x)  # noqa: E731
    for p, got in ((1, k5.m1(1.0)), (2, k5.m2(1.0))):
        ref = sum(
            integrate.quad(dens, a, b, args=(p,), epsabs=0, epsrel=1e-13)[0] for a, b in ((-np.inf, 0), (0, np.inf))
        )
        assert float(got) == pytest.approx(ref, abs=1e-13)


def test_maxout2_cross_kernel_closed_form_and_qmc_for_k3():
    k = gaussian_kernel("maxout:2")
    c = np.linspace(-1, 1, 41)
    np.testing.assert_allclose(k.cross(1.0, 1.0), 1.0, atol=1e-15)
    np.testing.assert_allclose(k.cross(1.0, 0.0), 1 / math.pi, atol=1e-15)  # m1² = (1/√π)²
    np.testing.assert_allclose(k.cross_grad(1.0, c)[1], 1 - np.arccos(c) / np.pi, atol=1e-15)
    k3 = gaussian_kernel("maxout:3")  # quasi-Monte Carlo cross kernel, exact at c = 1
    assert float(k3.cross(2.0, 1.0)) == pytest.approx(float(k3.m2(2.0)), rel=1e-14)
    assert float(k3.cross(1.0, 0.0)) == pytest.approx(float(k3.m1(1.0)) ** 2, abs=5e-4)


def test_kernel_inputs_broadcast_and_stay_finite_at_large_q():
    k = gaussian_kernel("softplus")
    out = k.cross(np.array([[1.0], [1e8]]), np.array([0.0, 0.5, 1.0]))
    assert out.shape == (2, 3) and np.isfinite(out).all()
    assert float(k.m2(1e8)) / 1e8 == pytest.approx(0.5, rel=1e-3)


def test_huge_q_kernel_keeps_its_limit_without_repeated_rays():
    """At q = 1e60 the graded rays finer than float64's angle resolution are left out (issue 19: a deep
    normal:10 / selu run spent minutes there); SELU's kernel then still meets its q -> inf limit, the scaled
    ReLU arc-cosine kernel (the negative side is bounded, so it adds O(1/sqrt q))."""
    import math

    from initlab.activations import get_activation
    from initlab.theory.gaussian import gaussian_kernel

    act = get_activation("selu")
    lam2 = 1.0507009873554805 ** 2  # Klambauer et al.'s lambda
    q, c = 1e60, np.array([0.5, -0.3, 0.9])
    k, kg = gaussian_kernel(act).cross_grad(np.full(3, q), c)
    th = np.arccos(c)
    np.testing.assert_allclose(k / q, lam2 * (np.sqrt(1 - c * c) + (math.pi - th) * c) / (2 * math.pi), rtol=1e-12)
    np.testing.assert_allclose(kg, lam2 * (math.pi - th) / (2 * math.pi), rtol=1e-12)
