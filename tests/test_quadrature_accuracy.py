"""Issue 9 §3: E[φ²], E[φ'²] and the 2-D kernel to 1e-8 (relative) or better for every registered activation and
q from 1e-12 to 1e8, against independent references: adaptive scipy.integrate.quad per point, mpmath (the
``test`` extra) at high precision, the closed forms, and the kernel identities K(q, 1) = E[φ²], K'(q, 1) = E[φ'²],
K(q, 0) = E[φ]²."""

import math

import numpy as np
import pytest
from scipy import integrate

from initlab.activations import ACTIVATIONS, get_activation
from initlab.theory.gaussian import gaussian_kernel
from initlab.theory.quadrature import kinks

# the reference's pieces ask quad for 1e-13; where rounding stops it a little short it says so (the check still
# holds at 1e-9)
pytestmark = pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")

QUADRATURE = [n for n in ACTIVATIONS.names() if n != "maxout"]  # maxout: exact order statistics, tested elsewhere
Q = np.array([1e-12, 1e-3, 1.0, 30.0, 1e3, 1e5, 1e8])
TOL = 1e-9  # the issue asks for 1e-8; the rules reach about 1e-11


def _quad_reference(act, q, which):
    """E[f(√q z)] by adaptive quad in x = √q z, split at 0, at the kinks and at ±1, ±4, …, ±4^7 (the scales
    on which φ changes), each piece to 1e-13."""
    f = (lambda x: act.fn(np.array([x]))[0] ** 2) if which == "m2" else (lambda x: act.grad(np.array([x]))[0] ** 2)
    s = math.sqrt(q)
    dens = lambda x: f(x) * math.exp(-0.5 * (x / s) ** 2) / (s * math.sqrt(2 * math.pi))  # noqa: E731
    far = 12.0 * s
    pts = {0.0, far, -far} | {p for p in kinks(act) if abs(p) < far}
    pts |= {sign * 4.0**j for j in range(8) for sign in (1, -1) if 4.0**j < far}
    pts = sorted(pts)
    return sum(integrate.quad(dens, a, b, epsabs=0, epsrel=1e-13, limit=200)[0] for a, b in zip(pts[:-1], pts[1:]))


@pytest.mark.parametrize("name", QUADRATURE)
def test_moments_against_adaptive_quad(name):
    act = get_activation(name)
    k = gaussian_kernel(name, closed_form=False)
    m2, _, g2 = k.moments(Q)
    for i, q in enumerate(Q):
        for which, got in (("m2", m2[i]), ("g2", g2[i])):
            ref = _quad_reference(act, float(q), which)
            assert abs(got / ref - 1) <= TOL, (name, q, which, got, ref)


@pytest.mark.parametrize("name, q", [("tanh", 1e4), ("softsign", 1e5), ("gelu", 1e6), ("sigmoid", 3e3)])
def test_moments_against_mpmath(name, q):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    act = get_activation(name)
    fns = {"tanh": (mpmath.tanh, lambda x: 1 - mpmath.tanh(x) ** 2),
           "softsign": (lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2),
           "gelu": (lambda x: x * mpmath.ncdf(x), lambda x: mpmath.ncdf(x) + x * mpmath.npdf(x)),
           "sigmoid": (lambda x: 1 / (1 + mpmath.exp(-x)), lambda x: mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2)}
    s = mpmath.sqrt(q)
    pts = [-12 * s] + [-(4**j) for j in range(9, -1, -1) if 4**j < 12 * s] + [0]
    pts = pts + [-p for p in pts[::-1][1:]]
    got = gaussian_kernel(act).moments(np.array([q]))
    for fn, value in zip(fns[name], (got[0][0], got[2][0])):
        ref = mpmath.quad(lambda x: fn(x) ** 2 * mpmath.npdf(x, 0, s), pts)
        assert abs(value / float(ref) - 1) <= TOL, (name, q, value, ref)


@pytest.mark.parametrize("spec", ["erf", "relu", "leaky_relu:0.2", "linear"])
def test_2d_kernel_against_the_closed_forms_for_large_q(spec):
    exact, quad = gaussian_kernel(spec), gaussian_kernel(spec, closed_form=False)
    q, c = np.meshgrid(Q, [-0.9, 0.0, 0.5, 0.999, 1.0])
    (k1, g1), (k2, g2) = exact.cross_grad(q, c), quad.cross_grad(q, c)
    np.testing.assert_allclose(k2 / exact.m2(q), k1 / exact.m2(q), rtol=0, atol=TOL)  # relative to E[φ²] >= |K|
    np.testing.assert_allclose(g2 / exact.g2(q), g1 / exact.g2(q), rtol=0, atol=TOL)


@pytest.mark.parametrize("name", QUADRATURE)
def test_2d_kernel_identities_for_every_activation_and_q(name):
    k = gaussian_kernel(name, closed_form=False)
    m2, _, g2 = k.moments(Q)
    K1, Kg1 = k.cross_grad(Q, 1.0)
    np.testing.assert_allclose(K1, m2, rtol=TOL)
    np.testing.assert_allclose(Kg1, g2, rtol=TOL)
    np.testing.assert_allclose(k.cross(Q, 0.0), k.m1(Q) ** 2, rtol=0, atol=TOL * m2.max(initial=0) + 1e-300)
    np.testing.assert_allclose(k.cross(Q, 0.0) / m2, k.m1(Q) ** 2 / m2, rtol=0, atol=TOL)


def test_tanh_gradient_ratio_at_large_q():
    """The issue's example: normal:1 weights at width 1000 (σ_w² = 1000, q ≈ 1e3) put theory_grad_ratio 5.5% off.
    Per layer it is √(σ_w² E[φ'²]); the E[φ'²] that sets it is now the adaptive-quad value."""
    from initlab.theory import propagate

    p = propagate("tanh", 5, 1000.0, 0.0)
    ref = np.sqrt([1000.0 * _quad_reference(get_activation("tanh"), float(q), "g2") for q in p.q[:-1]])
    np.testing.assert_allclose(p.grad_ratio[:-1] / p.grad_ratio[1:], ref, rtol=1e-9)
