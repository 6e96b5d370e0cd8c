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
from initlab.theory.quadrature import kinks


def _brute_rule():
    """A fixed composite Gauss–Legendre rule for E[f(z)], z ~ N(0, 1), on [-10, 10], panels graded towards 0
    (down to 1e-4): independent of initlab's rules and accurate to ~1e-10 for q up to ~1e5."""
    edges = np.array([0, 1e-4, 4e-4, 1.6e-3, 6.4e-3, 0.0256, 0.1, 0.3, 0.7, 1.3, 2.2, 3.5, 5.0, 7.0, 10.0])
    edges = np.concatenate([-edges[:0:-1], edges])
    t, v = np.polynomial.legendre.leggauss(20)
    mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    z = (mid[:, None] + half[:, None] * t).ravel()
    w = (half[:, None] * v).ravel() * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return z, w


Z, W = _brute_rule()


class BruteKernel:
    """E[φ(√q z)²] and E[φ'(√q z)²] by the fixed rule above (maxout and the hard_* kinks: initlab's kernel)."""

    def __init__(self, name):
        self.act = get_activation(name)
        self.kernel = gaussian_kernel(self.act) if self.act.pieces > 1 or kinks(self.act) else None

    def m2(self, q):
        q = np.asarray(q, float)
        if self.kernel is not None:  # maxout, and hard_tanh / hard_sigmoid whose kinks move with q
            return self.kernel.m2(q)
        return (self.act.fn(np.sqrt(q)[:, None] * Z) ** 2) @ W

    def g2(self, q):
        if self.kernel is not None:
            return self.kernel.g2(q)
        return (self.act.grad(np.sqrt(np.asarray(q, float))[:, None] * Z) ** 2) @ W


def iterate(k, sw2, sb2, q0=1.0, steps=1000, tol=1e-12):
    """Brute force: q ← σ_w² E[φ(√q z)²] + σ_b² from q1 = σ_w² q0 + σ_b² (``q0`` the input's second moment), for
    every cell at once (``k.m2``), until it stops moving.

    Returns the last iterate, the last step and whether each cell converged (the geometric tail estimate
    |Δq| ρ/(1-ρ), ρ the ratio of successive steps, below ``tol`` q), decayed to 0, or grows without bound
    (inf: passed Q_MAX, or past 1e6 with non-shrinking steps)."""
    sw2, sb2 = np.broadcast_arrays(np.asarray(sw2, float), np.asarray(sb2, float))
    sw2, sb2 = sw2.ravel(), sb2.ravel()
    q = sw2 * float(q0) + sb2  # the first layer sees the input's second moment q0: q1 = σ_w² q0 + σ_b²
    step, prev = np.full(sw2.size, np.inf), np.full(sw2.size, np.inf)
    live = np.arange(sw2.size)
    for _ in range(steps):
        if not live.size:
            break
        new = sw2[live] * k.m2(q[live]) + sb2[live]
        prev[live], step[live] = step[live], new - q[live]
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.clip(step[live] / prev[live], 0.0, 1.0 - 1e-12)
            tail = np.abs(step[live]) * rho / (1 - rho)
        grows = (step[live] > 0) & (prev[live] > 0) & (step[live] >= prev[live]) & (new > 1e6)  # V' >= 1 out there
        new[grows] = np.inf
        gone = (new < 1e-12) & (step[live] < 0)  # decays geometrically to 0 (no bias, phi(0) = 0)
        new[gone] = 0.0
        q[live] = new
        done = (
            ((tail <= tol * new) & np.isfinite(prev[live]))
            | (step[live] == 0)
            | gone
            | ~np.isfinite(new)
            | (new > Q_MAX)
        )
        live = live[~done]
    q = np.where(q > Q_MAX, np.inf, q)
    return q, step, ~np.isin(np.arange(sw2.size), live)


def test_the_brute_force_rule_is_accurate():
    for name in ("tanh", "gelu", "softsign"):
        k, b = gaussian_kernel(name), BruteKernel(name)
        q = np.array([1e-3, 0.5, 3.0, 40.0, 1e3])
        np.testing.assert_allclose(b.m2(q), k.m2(q), rtol=1e-10)
        np.testing.assert_allclose(b.g2(q), k.g2(q), rtol=1e-9)


def test_the_q_map_is_non_decreasing_for_every_activation():
    """The solver's premise: V(q) is monotone, so the iteration from q0 moves monotonically to the nearest root."""
    for name in ACTIVATIONS.names():
        qg, m2 = scan_table(gaussian_kernel(name))
        assert (np.diff(m2) >= -1e-15 * np.abs(m2[1:])).all(), name


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_solver_is_the_limit_of_brute_force_iteration(name):
    sw2 = np.concatenate([np.geomspace(0.3, 4.0, 7), np.linspace(1.8, 2.4, 9)])
    sb2 = np.array([0.0, 0.05, 0.4, 1.0])
    SW, SB = np.meshgrid(sw2, sb2)
    q_it, last, conv = iterate(BruteKernel(name), SW, SB)
    r = solve(name, SW.ravel(), SB.ravel(), correlations=False)
    qs = r["q_star"]
    assert conv.mean() > 0.8, conv.mean()
    ok = conv & np.isfinite(q_it)
    np.testing.assert_allclose(qs[ok], q_it[ok], rtol=1e-7, atol=1e-200)
    np.testing.assert_array_equal(np.isinf(qs[conv]), np.isinf(q_it[conv]))  # divergent exactly where it grows
    # cells still moving after 1000 steps (V' close to 1): the iterate is on the way to the solver's q*
    slow = ~conv
    assert (np.sign(last[slow]) == np.sign(qs[slow] - q_it[slow])).all()


@pytest.mark.parametrize(
    "act, sw2, sb2, q, chi, phase",
    [
        ("silu", 1.996, 0.5, 4.466, 0.941, "ordered"),  # issue 9: initlab reported q* 146.69, chaotic
        ("silu", 2.0, 0.5, 5.197, 0.956, "ordered"),  # reported q* = inf, divergent
        ("gelu", 2.0, 0.15, 1.0168, 0.914, "ordered"),  # reported q* = inf, divergent
    ],
)
def test_issue_cases_with_three_fixed_points(act, sw2, sb2, q, chi, phase):
    fp = fixed_point(act, sw2, sb2)
    assert fp.q_star == pytest.approx(q, abs=1e-3) and fp.chi1 == pytest.approx(chi, abs=1e-3)
    assert fp.phase == phase and fp.finite and fp.q_slope < 1
    it, _, conv = iterate(BruteKernel(act), sw2, sb2, steps=3000, tol=1e-11)
    assert conv[0] and fp.q_star == pytest.approx(it[0], rel=1e-8), (it, conv, fp.q_slope)
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
    sw, sb = np.linspace(1.8, 2.4, 25), np.linspace(0.0, 1.0, 11)
    g = phase_grid("silu", sw, sb)
    SW, SB = np.meshgrid(sw, sb)
    q_it, _, conv = iterate(BruteKernel("silu"), SW, SB)
    q_it = q_it.reshape(SW.shape)
    ok = conv.reshape(SW.shape)
    np.testing.assert_allclose(g.q_star[ok & np.isfinite(q_it)], q_it[ok & np.isfinite(q_it)], rtol=1e-7)
    assert (g.phase[np.isinf(q_it)] == "divergent").all() and not g.divergent[np.isfinite(q_it) & ok].any()


# -- the critical line -------------------------------------------------------------------------------------------
SMOOTH = [n for n in ACTIVATIONS.names() if not get_activation(n).kernel_method and not {"hard"} & set(n.split("_"))]


@pytest.mark.parametrize("name", SMOOTH)
def test_critical_line_against_brute_force_iteration(name):
    """σ_b² = 0, 0.5, 1: χ₁ from the brute-force iterate is below 1 at 0.5, 0.8, 0.97 and 0.99 × the reported
    point and at least 1 at 1.01 and 1.03 × it (the degenerate q* = 0 point: 0.9 and 1.1, where iteration is
    slow), agrees with the solver's χ₁ there, and q* jumps exactly where a jump is reported."""
    k = BruteKernel(name)
    rows = []
    for sb2 in (0.0, 0.5, 1.0):
        cp = critical_point(name, sb2)
        centre = cp.jump_sigma_w2 if cp.kind == "jump" else cp.sigma_w2
        assert math.isfinite(centre) and cp.kind in ("crossing", "jump", "degenerate"), cp
        if cp.kind != "jump":
            assert cp.chi1 == pytest.approx(1.0, abs=1e-9)
        near = (0.9, 1.1) if cp.kind == "degenerate" else (0.99, 1.01)
        rows.append((sb2, cp, centre * np.array([0.5, 0.8, 0.97, near[0], near[1], 1.03])))
    sw2 = np.concatenate([r[2] for r in rows])
    sb2 = np.repeat([r[0] for r in rows], 6)
    q, _, conv = iterate(k, sw2, sb2, steps=2500, tol=1e-9)
    chi = sw2 * k.g2(np.where(np.isinf(q), 1.0, np.maximum(q, 1e-300)))  # q* = 0: the q -> 0+ limit
    solver = solve(name, sw2, sb2, correlations=False)
    chi = np.where(np.isinf(q), solver["chi1"], chi)  # past Q_MAX: the q -> inf limit
    conv = conv.reshape(3, 6)
    assert conv[:, 3].all() and conv[:, 4:].any(axis=1).all(), conv  # the points next to it settle
    ok = conv.ravel() & np.isfinite(q)
    np.testing.assert_allclose(solver["chi1"][ok], chi[ok], rtol=1e-6)
    chi, q = chi.reshape(3, 6), q.reshape(3, 6)
    for i, (b, cp, _) in enumerate(rows):
        below, above = chi[i, :4][conv[i, :4]], chi[i, 4:][conv[i, 4:]]
        assert (below < 1).all() and (above >= 1).all(), (name, b, cp.kind, chi[i])
        if cp.kind == "jump":
            assert q[i, 4] > 1.5 * q[i, 3], (name, b, q[i])


@pytest.mark.parametrize("sb2, sw2, q", [(0.2, 1.9707, 4.47), (0.3, 1.9562, 8.77)])
def test_gelu_has_a_genuine_critical_point_with_a_bias(sb2, sw2, q):
    cp = critical_point("gelu", sb2)
    assert (
        cp.kind == "crossing"
        and cp.sigma_w2 == pytest.approx(sw2, abs=1e-4)
        and cp.q_star == pytest.approx(q, abs=0.01)
    )


def test_jumps_are_reported_not_solved():
    silu = critical_point("silu", 0.5)  # issue 9: χ₁ 0.956 → 1.005 between σ_w² 2.0 and 2.01
    assert silu.kind == "jump" and math.isnan(silu.sigma_w2) and "jumps" in silu.reason
    assert 2.0 < silu.jump_sigma_w2 < 2.01 and 0.956 < silu.chi1_below < 1 <= silu.chi1_above
    assert silu.chi1_above == pytest.approx(silu.jump_sigma_w2 / 2, rel=1e-5) and math.isinf(silu.q_above)
    gelu = critical_point("gelu", 0.0)  # from q0 = 1: q* switches from 0 to ∞ at the second-moment gain
    assert gelu.kind == "jump" and math.isinf(gelu.q_above) and gelu.q_below == 0.0
    assert gelu.degenerate_sigma_w2 == pytest.approx(4.0, rel=1e-9) and "degenerate" in gelu.reason
    tanh = critical_point("tanh", 0.0)  # the q* = 0 point is reached from q0 = 1
    assert tanh.kind == "degenerate" and tanh.sigma_w2 == pytest.approx(1.0, abs=1e-9)


def test_cli_lists_all_fixed_points():
    import json

    from click.testing import CliRunner

    from initlab.cli import main

    args = ["theory", "--act", "silu", "--sigma-w2", "2", "--sigma-b2", "0.5", "--all-fixed-points"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "stable  <-" in out.output and "unstable" in out.output and "divergent" in out.output
    data = json.loads(CliRunner().invoke(main, args + ["--format", "json"]).output)
    reached = [b for b in data["fixed_points"] if b["reached"]]
    assert len(reached) == 1 and reached[0]["q_star"] == pytest.approx(data["q_star"], rel=1e-12)
    assert [b["stability"] for b in data["fixed_points"]] == ["stable", "unstable", "divergent"]
