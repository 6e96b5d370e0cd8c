"""Issue 20 §2–§6: one q0 (the engine's), χ_c at the final Newton iterate, saddle-node roots between grid points,
no false softplus critical point, hard_tanh's q* = 0; each against a closed form or brute-force iteration."""

import math

import numpy as np
import pytest

from initlab.theory import critical_point, fixed_point, fixed_points, solve
from initlab.theory.gaussian import gaussian_kernel


def _iterate_q(act, sw2, sb2, q, steps=200_000):
    """Brute force: q <- σ_w² E[φ(√q z)²] + σ_b² until it stops moving (inf past 1e10)."""
    k = gaussian_kernel(act)
    for _ in range(steps):
        new = sw2 * float(k.m2(q)) + sb2
        if new > 1e10:
            return math.inf
        if abs(new - q) <= 1e-15 * max(q, 1e-300):
            return new
        q = new
    return q


def _erf_c_map(sw2, sb2):
    """erf's closed forms: E[erf(u)erf(v)] = (2/π) arcsin(2qc / (1 + 2q)), E[erf'(u)erf'(v)] = (4/π) / √((1+2q)² − (2qc)²)."""
    m2 = lambda q: 2 / math.pi * math.asin(2 * q / (1 + 2 * q))  # noqa: E731
    q = 1.0
    for _ in range(100_000):
        new = sw2 * m2(q) + sb2
        if abs(new - q) <= 1e-16 * q:
            break
        q = new
    c = 0.0
    for _ in range(100_000):
        new = (sw2 * 2 / math.pi * math.asin(2 * q * c / (1 + 2 * q)) + sb2) / q
        if abs(new - c) <= 1e-17:
            break
        c = new
    chi_c = sw2 * 4 / math.pi / math.sqrt((1 + 2 * q) ** 2 - (2 * q * c) ** 2)
    return q, c, chi_c


@pytest.mark.parametrize("sw2, sb2", [(2.0, 0.05), (3.0, 0.5), (6.0, 1.0), (1.2, 0.0)])
def test_chi_c_in_the_chaotic_phase_matches_erf_closed_form(sw2, sb2):
    q, c, chi_c = _erf_c_map(sw2, sb2)
    r = solve("erf", sw2, sb2)
    assert r["phase"] == "chaotic"
    assert float(r["q_star"]) == pytest.approx(q, rel=1e-12)
    assert float(r["c_star"]) == pytest.approx(c, abs=1e-12)
    assert float(r["chi_c"]) == pytest.approx(chi_c, rel=1e-11)


def _c_root(k, q, sw2, sb2):
    """c* < 1 of h(c) = C(c; q*) − c by Brent's method, bracketed on a grid graded towards c = 1."""
    from scipy.optimize import brentq

    grid = 1.0 - np.geomspace(1.0, 1e-12, 600)
    h = (sw2 * np.asarray(k.cross(q, grid)) + sb2) / q - grid
    i = int(np.flatnonzero(h < 0)[0])
    f = lambda c: (sw2 * float(k.cross(q, c)) + sb2) / q - c  # noqa: E731
    return brentq(f, grid[i - 1], grid[i], xtol=1e-16, rtol=1e-15)


@pytest.mark.parametrize("act, sw2, sb2", [("selu", 0.5, 0.0), ("mish", 1.98, 1.0), ("tanh", 3.0, 0.5)])
def test_chi_c_is_the_slope_at_the_fixed_point(act, sw2, sb2):
    """Issue 20 §3 (main took χ_c one Newton step early: up to 1.7e-3 in ξ_c): the slope at Brent's c*."""
    k = gaussian_kernel(act)
    r = solve(act, sw2, sb2)
    assert r["phase"] == "chaotic"
    q = float(r["q_star"])
    c = _c_root(k, q, sw2, sb2)
    chi_c = sw2 * float(k.cross_grad(q, c)[1])
    assert float(r["c_star"]) == pytest.approx(c, abs=1e-10)
    assert float(r["chi_c"]) == pytest.approx(chi_c, rel=1e-9)
    assert float(r["xi_c"]) == pytest.approx(-1 / math.log(chi_c), rel=1e-5)


def test_a_saddle_node_pair_inside_one_grid_step_is_found():
    """Issue 20 §4: SiLU σ_b² 0.3 at σ_w² 2.130075 from q = 1 converges to q* = 2.2998 (main called it divergent).

    Brute force: the iterates from 1 increase (a monotone map), pass 2.28 and stay below the solver's q*, and
    V(q) > q on a fine grid between the last iterate and q*: so they converge to it."""
    k = gaussian_kernel("silu")
    sw2, sb2 = 2.130075, 0.3
    V = lambda q: sw2 * np.asarray(k.m2(q)) + sb2  # noqa: E731
    fp = fixed_point("silu", sw2, sb2, q1=1.0)
    assert fp.finite and fp.q_star == pytest.approx(2.2998330, rel=1e-7) and "2 basins" in fp.basin
    assert abs(float(V(fp.q_star)) - fp.q_star) <= 1e-12 and fp.q_slope < 1
    q = [1.0]
    for _ in range(3000):
        q.append(float(V(q[-1])))
    assert np.all(np.diff(q) > 0) and 2.28 < q[-1] < fp.q_star
    between = np.linspace(q[-1], fp.q_star, 2001)[:-1]
    assert np.all(V(between) > between)
    roots = [b.q_star for b in fixed_points("silu", sw2, sb2, q1=1.0)]
    assert len(roots) == 3 and roots[0] == pytest.approx(fp.q_star, rel=1e-9) and 2.30 < roots[1] < 2.31
    assert math.isinf(roots[2])
    # from the engine's q1 = 2.43 (above the unstable root) the iteration escapes, and so does the solver
    assert math.isinf(_iterate_q("silu", sw2, sb2, 2.43)) and math.isinf(fixed_point("silu", sw2, sb2).q_star)


@pytest.mark.parametrize("sb2", [0.0, 0.5])
def test_softplus_has_no_false_critical_point(sb2):
    """Issue 20 §5: χ₁ < 1 wherever q* is finite; it reaches 1 only as q* → ∞ at σ_w² = 2 (main: 2.0000159578)."""
    cp = critical_point("softplus", sb2)
    assert cp.kind != "crossing" and math.isnan(cp.sigma_w2)
    assert cp.jump_sigma_w2 == pytest.approx(2.0, abs=1e-9) and "edge of the divergent phase" in cp.reason
    r = solve("softplus", np.array([1.9, 1.999, 2.00001, 2.2]), sb2, correlations=False)
    assert (r["chi1"][:2] < 1).all() and np.isfinite(r["q_star"][:2]).all()
    np.testing.assert_allclose(r["chi1"][2:], [2.00001 / 2, 1.1], rtol=1e-12)  # the q -> inf limit σ_w²/2


def test_hard_tanh_at_the_critical_point_decays_to_zero():
    """Issue 20 §6: V(q) − q = 2Φ̄(a)(1 − q) − 2qaφ(a) < 0 with a = 1/√q (mpmath), so the only limit is 0;
    in floating point it rounds to 0 near q = 0.01, where main stopped (0.0098)."""
    import mpmath

    mpmath.mp.dps = 40
    for q in (1.0, 0.3, 0.05, 0.0098, 0.004, 1e-3):
        a = 1 / mpmath.sqrt(q)
        assert 2 * mpmath.ncdf(-a) * (1 - q) - 2 * q * a * mpmath.npdf(a) < 0
    assert fixed_point("hard_tanh", 1.0, 0.0).q_star <= 1e-8
    assert [b.q_star for b in fixed_points("hard_tanh", 1.0, 0.0)] == [0.0]


def test_one_q0_the_engines():
    """Issue 20 §2: q0 is the input's second moment, the q-map starts at q1 = σ_w² q0 + σ_b² as in the engine,
    and ``initlab theory``, the simulation summary and the sweep agree, naming the basin (SiLU, 2 attractors)."""
    from initlab.sim.config import SimConfig
    from initlab.sim.predict import config_summary, predict_layers
    from initlab.sweep.measure import theory_at

    fp = fixed_point("silu", 2.6, 0.05)
    assert fp.q1 == pytest.approx(2.65) and math.isinf(fp.q_star) and fp.chi1 == pytest.approx(1.3)
    assert "2 basins" in fp.basin and "goes to q* = inf" in fp.basin
    assert math.isinf(_iterate_q("silu", 2.6, 0.05, 2.65))
    cfg = SimConfig(inits="variance_scaling:scale=2.6,mode=fan_in", acts="silu", depth=30, width=300,
                    bias_init="normal:" + repr(math.sqrt(0.05)), trials=1, batch=8)
    row = config_summary(cfg).iloc[0]
    assert row["phase"] == "divergent" and row["chi1"] == pytest.approx(fp.chi1) and "2 basins" in row["note"]
    sw = theory_at(cfg)
    assert sw["theory_phase"] == "divergent" and sw["theory_chi1"] == pytest.approx(fp.chi1)
    q_layers = predict_layers(cfg)["theory_pre_q"].to_numpy()
    assert q_layers[0] == pytest.approx(fp.q1) and q_layers[-1] > 1e3  # the run's own per-layer theory agrees
    # the ordered basin is reached from a small input
    small = fixed_point("silu", 2.6, 0.05, q0=0.1)
    assert small.q1 == pytest.approx(0.31) and small.q_star == pytest.approx(0.183783, rel=1e-5)
    assert small.phase == "ordered" and "q* = 0.183783" in small.basin


@pytest.mark.parametrize("p", [0.3, 0.9])
def test_dropout_maps_match_brute_force(p):
    """The dropout fixed point (theory.solve): q* of the map with σ_w²/ρ, c* of the c-map over that q*
    (at p = 0.9 from the Mehler series alone, its truncation bounded: issue 19 §10's slow dropout theory)."""
    sw2, sb2 = 2.0, 0.05
    k = gaussian_kernel("tanh")
    q = _iterate_q("tanh", sw2 / (1 - p), sb2, sw2 + sb2)
    c = 0.0
    for _ in range(10_000):
        new = (sw2 * float(k.cross(q, c)) + sb2) / q
        if abs(new - c) <= 1e-16:
            break
        c = new
    r = solve("tanh", sw2, sb2, dropout=p)
    assert float(r["q_star"]) == pytest.approx(q, rel=1e-10) and float(r["c_star"]) == pytest.approx(c, abs=1e-10)
    assert float(r["chi_c"]) == pytest.approx(sw2 * float(k.cross_grad(q, c)[1]), rel=1e-10)
    assert float(r["chi1"]) == pytest.approx(sw2 / (1 - p) * float(k.g2(q)), rel=1e-12)


def test_initlab_theory_prints_q1_and_the_basin():
    from click.testing import CliRunner

    from initlab.cli import main

    r = CliRunner().invoke(main, ["theory", "--act", "silu", "--sigma-w2", "2.6", "--sigma-b2", "0.05"])
    assert r.exit_code == 0, r.output
    assert "q1 (layer 1)  2.65" in r.output and "2 basins" in r.output and "divergent" in r.output
    r = CliRunner().invoke(main, ["theory", "--act", "tanh", "--sigma-w2", "2", "--sigma-b2", "0.05",
                                  "--dropout", "0.3", "--format", "json"])
    import json

    out = json.loads(r.output)
    ref = solve("tanh", 2.0, 0.05, dropout=0.3)
    assert out["dropout"] == 0.3 and out["xi_c"] == pytest.approx(float(ref["xi_c"]), rel=1e-12)
