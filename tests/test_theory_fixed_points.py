"""Issue 9 §1–§2: the fixed point is the limit of the iteration from q0, every fixed point can be listed, and
the critical line is where χ₁ crosses 1 along that fixed point (or a reported jump), all checked against
brute-force iteration of the q-map."""

import math

import numpy as np
import pytest

from initlab.activations import ACTIVATIONS, get_activation
from initlab.theory import critical_point, fixed_point, fixed_points, phase_grid, q_map, solve
from initlab.theory.fixedpoints import Q_MAX, scan_table
from initlab.theory.gaussian import gaussian_kernel


def iterate(k, sw2, sb2, q0=1.0, steps=4000):
    """Brute force: q ← σ_w² E[φ(√q z)²] + σ_b² for every cell at once, until it stops moving.

    Returns the last iterate, the last step and whether each cell converged (|Δq| <= 1e-13 q), decayed below
    1e-250 (q* = 0), or passed Q_MAX (divergent: inf)."""
    sw2, sb2 = np.broadcast_arrays(np.asarray(sw2, float), np.asarray(sb2, float))
    sw2, sb2 = sw2.ravel(), sb2.ravel()
    q = np.full(sw2.size, float(q0))
    step = np.full(sw2.size, np.inf)
    live = np.arange(sw2.size)
    for _ in range(steps):
        if not live.size:
            break
        new = sw2[live] * k.m2(q[live]) + sb2[live]
        step[live] = new - q[live]
        q[live] = new
        done = (np.abs(step[live]) <= 1e-13 * new) | (new < 1e-250) | (new > Q_MAX)
        live = live[~done]
    q = np.where(q > Q_MAX, np.inf, np.where(q < 1e-250, 0.0, q))
    return q, step, ~np.isin(np.arange(sw2.size), live)


def test_the_q_map_is_non_decreasing_for_every_activation():
    """The solver's premise: V(q) is monotone, so the iteration from q0 moves monotonically to the nearest root."""
    for name in ACTIVATIONS.names():
        qg, m2 = scan_table(gaussian_kernel(name))
        assert (np.diff(m2) >= -1e-15 * np.abs(m2[1:])).all(), name


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_solver_is_the_limit_of_brute_force_iteration(name):
    k = gaussian_kernel(name)
    sw2 = np.concatenate([np.geomspace(0.3, 4.0, 9), np.linspace(1.8, 2.4, 13)])
    sb2 = np.array([0.0, 0.05, 0.3, 0.7, 1.0])
    SW, SB = np.meshgrid(sw2, sb2)
    q_it, last, conv = iterate(k, SW, SB)
    r = solve(k, SW.ravel(), SB.ravel(), correlations=False)
    qs = r["q_star"]
    assert conv.mean() > 0.85, conv.mean()
    ok = conv & np.isfinite(q_it)
    np.testing.assert_allclose(qs[ok], q_it[ok], rtol=1e-9, atol=1e-200)
    np.testing.assert_array_equal(np.isinf(qs[conv]), np.isinf(q_it[conv]))  # divergent exactly where it grows
    # cells still moving after 4000 steps (V' close to 1): the iterate is on the way to the solver's q*
    slow = ~conv
    assert (np.sign(last[slow]) == np.sign(qs[slow] - q_it[slow])).all()


@pytest.mark.parametrize("act, sw2, sb2, q, chi, phase", [
    ("silu", 1.996, 0.5, 4.466, 0.941, "ordered"),  # issue 9: initlab reported q* 146.69, chaotic
    ("silu", 2.0, 0.5, 5.197, 0.956, "ordered"),  # reported q* = inf, divergent
    ("gelu", 2.0, 0.15, 1.0168, 0.914, "ordered"),  # reported q* = inf, divergent
])
def test_issue_cases_with_three_fixed_points(act, sw2, sb2, q, chi, phase):
    fp = fixed_point(act, sw2, sb2)
    assert fp.q_star == pytest.approx(q, abs=1e-3) and fp.chi1 == pytest.approx(chi, abs=1e-3)
    assert fp.phase == phase and fp.finite and fp.q_slope < 1
    it = 1.0
    for _ in range(3000):
        it = q_map(it, act, sw2, sb2)
    assert fp.q_star == pytest.approx(it, rel=1e-10)
    branches = fixed_points(act, sw2, sb2)
    assert [b.stability for b in branches][:2] == ["stable", "unstable"]
    assert [b.q_star for b in branches if b.reached] == [pytest.approx(fp.q_star, rel=1e-12)]
    for b in branches:
        if math.isfinite(b.q_star):
            assert q_map(b.q_star, act, sw2, sb2) == pytest.approx(b.q_star, rel=1e-12)
            h = 1e-6 * b.q_star  # the slope by central differences decides stability
            slope = (q_map(b.q_star + h, act, sw2, sb2) - q_map(b.q_star - h, act, sw2, sb2)) / (2 * h)
            assert slope == pytest.approx(b.q_slope, rel=1e-5)
            assert (b.stability == "stable") == (slope < 1)


def test_all_fixed_points_of_relu_and_tanh():
    relu = fixed_points("relu", 1.5, 0.1)
    assert [(b.stability, b.reached) for b in relu] == [("stable", True)]
    assert relu[0].q_star == pytest.approx(0.4, rel=1e-13)
    assert [b.stability for b in fixed_points("relu", 2.5, 0.1)] == ["divergent"]
    zero = fixed_points("tanh", 2.0, 0.0)  # q = 0 unstable, the positive root stable
    assert [b.stability for b in zero] == ["unstable", "stable"] and zero[0].q_star == 0.0 and zero[1].reached


def test_phase_grid_uses_the_same_solver():
    """The issue's SiLU grid (σ_w² 1.8–2.4 × σ_b² 0–1) had 32 of 3,111 cells in the wrong phase."""
    sw, sb = np.linspace(1.8, 2.4, 31), np.linspace(0.0, 1.0, 21)
    g = phase_grid("silu", sw, sb)
    SW, SB = np.meshgrid(sw, sb)
    q_it, _, conv = iterate(gaussian_kernel("silu"), SW, SB)
    q_it = q_it.reshape(SW.shape)
    ok = conv.reshape(SW.shape)
    np.testing.assert_allclose(g.q_star[ok], q_it[ok], rtol=1e-9)
    assert (g.phase[np.isinf(q_it)] == "divergent").all() and not g.divergent[np.isfinite(q_it)].any()


# -- the critical line -------------------------------------------------------------------------------------------
SMOOTH = [n for n in ACTIVATIONS.names() if not get_activation(n).kernel_method and not {"hard"} & set(n.split("_"))]


def brute_critical(k, sb2, grid):
    """First σ_w² of ``grid`` where χ₁ = σ_w² E[φ'(√q z)²] at the iterated q reaches 1: ``(i, chi1, q)``."""
    q, _, _ = iterate(k, grid, sb2, steps=3000)
    chi = grid * np.where(np.isinf(q), k.g2(Q_MAX), k.g2(np.where(np.isinf(q), 1.0, q)))
    above = np.flatnonzero(chi >= 1)
    return (int(above[0]) if above.size else -1), chi, q


@pytest.mark.parametrize("name", SMOOTH)
def test_critical_line_against_a_brute_force_scan(name):
    k = gaussian_kernel(name)
    for sb2 in (0.0, 0.2, 0.5, 1.0):
        cp = critical_point(name, sb2)
        centre = cp.sigma_w2 if cp.kind in ("crossing", "degenerate") else cp.jump_sigma_w2
        assert math.isfinite(centre), (name, sb2, cp)
        grid = centre * np.linspace(0.97, 1.03, 61)  # brute force: the first grid point with χ₁ >= 1
        i, chi, q = brute_critical(k, sb2, grid)
        assert 0 < i, (name, sb2, cp)
        assert grid[i - 1] <= centre * (1 + 1e-12) and centre <= grid[i] * (1 + 1e-12), (name, sb2, grid[i], cp)
        gap = chi[i] - chi[i - 1]
        if cp.kind == "jump":
            assert gap > 1e-3 and cp.chi1_below < 1 <= cp.chi1_above
        else:
            assert gap < 0.01 and cp.chi1 == pytest.approx(1.0, abs=1e-9)
            assert cp.q_star == pytest.approx(float(solve(k, cp.sigma_w2, sb2, correlations=False)["q_star"]), rel=1e-6)


@pytest.mark.parametrize("sb2, sw2, q", [(0.2, 1.9707, 4.47), (0.3, 1.9562, 8.77)])
def test_gelu_has_a_genuine_critical_point_with_a_bias(sb2, sw2, q):
    cp = critical_point("gelu", sb2)
    assert cp.kind == "crossing" and cp.sigma_w2 == pytest.approx(sw2, abs=1e-4) and cp.q_star == pytest.approx(q, abs=0.01)


def test_jumps_are_reported_not_solved():
    silu = critical_point("silu", 0.5)  # χ₁ 0.956 → 1.005 between σ_w² 2.0 and 2.01
    assert silu.kind == "jump" and math.isnan(silu.sigma_w2) and "jumps" in silu.reason
    assert 2.0 < silu.jump_sigma_w2 < 2.01 and silu.chi1_below == pytest.approx(0.956, abs=2e-3)
    gelu = critical_point("gelu", 0.0)  # from q0 = 1: q* switches from 0 to ∞ at the second-moment gain
    assert gelu.kind == "jump" and math.isinf(gelu.q_above) and gelu.q_below == 0.0
    assert gelu.degenerate_sigma_w2 == pytest.approx(4.0, rel=1e-9) and "degenerate" in gelu.reason
    tanh = critical_point("tanh", 0.0)  # the q* = 0 point is reached from q0 = 1
    assert tanh.kind == "degenerate" and tanh.sigma_w2 == pytest.approx(1.0, abs=1e-9)
