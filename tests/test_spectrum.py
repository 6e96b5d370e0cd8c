"""initlab spectrum (issue 12 §2): the free-probability prediction against closed forms and against the exact
Jacobian of sampled networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (loaded before the thread limit below, so that it applies to its LAPACK)
from click.testing import CliRunner
from threadpoolctl import threadpool_limits

from initlab.cli import main
from initlab.study.freeprob import critical_at_q, d2_law, jacobian_theory
from initlab.study.spectrum import spectrum


@pytest.fixture(autouse=True)
def one_thread():
    """One BLAS thread: the measurements are small matrix products, and oversubscribed cores slow LAPACK's QR
    by an order of magnitude."""
    with threadpool_limits(1):
        yield


def _density_moments(th, depth, points=3000):
    x = th.grid(depth, points=points, decades=16)
    rho, ok = th.density(depth, x)
    if (~ok).any():  # Newton may fail only in the gap below the spectrum's lower edge
        assert x[~ok].max() < x[ok & (rho * x > 1e-10)].min()
    f = np.where(ok, rho, 0.0) * x
    lx = np.log(x)
    return [float(np.trapezoid(f * x ** k, lx)) for k in (0, 1, 2)]


def test_d2_law_exact_for_relu_and_moments_for_tanh():
    lam, p = d2_law("relu", 0.7)
    assert np.allclose(lam, [0.0, 1.0]) and np.allclose(p, [0.5, 0.5])
    lam, p = d2_law("tanh", 0.3)
    z, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / w.sum()
    for k in (1, 2):
        ref = float(w @ (1 - np.tanh(math.sqrt(0.3) * z) ** 2) ** (2 * k))
        assert float(p @ lam ** k) == pytest.approx(ref, rel=1e-10)


def test_critical_at_q_puts_chi1_at_one():
    from initlab.theory.meanfield import fixed_point

    sw2, sb2 = critical_at_q("tanh", 1 / 64)
    fp = fixed_point("tanh", sw2, sb2)
    assert fp.q_star == pytest.approx(1 / 64, rel=1e-6) and fp.chi1 == pytest.approx(1.0, abs=1e-9)


def test_linear_gaussian_is_marchenko_pastur_and_fuss_catalan():
    """Linear activation, Gaussian weights: L = 1 is Marchenko–Pastur at ratio 1, L layers have the
    Fuss–Catalan moments m_k = C((L+1)k, k)/(Lk + 1) (times σ_w^(2Lk))."""
    th = jacobian_theory("linear", "gaussian", 1.0)
    x = np.linspace(0.05, 3.95, 40)
    rho, ok = th.density(1, x)
    assert ok.all()
    np.testing.assert_allclose(rho, np.sqrt(x * (4 - x)) / (2 * np.pi * x), rtol=1e-4)
    th = jacobian_theory("linear", "gaussian", 1.3)
    for L in (2, 3):
        mass, m1, m2 = _density_moments(th, L)
        assert mass == pytest.approx(1.0, abs=5e-3)
        assert m1 == pytest.approx(1.3 ** L, rel=5e-3)
        assert m2 == pytest.approx(math.comb(2 * (L + 1), 2) / (2 * L + 1) * 1.3 ** (2 * L), rel=1e-2)
        assert th.variance(L) == pytest.approx(L * 1.3 ** (2 * L))


@pytest.mark.parametrize("act, weights", [("tanh", "orthogonal"), ("tanh", "gaussian"),
                                          ("relu", "orthogonal"), ("relu", "gaussian")])
def test_density_integrates_to_the_closed_form_moments(act, weights):
    sw2, sb2 = critical_at_q(act, 0.25) if act == "tanh" else (2.0, 0.0)
    th = jacobian_theory(act, weights, sw2, sb2, 0.25 if act == "tanh" else None)
    mass, m1, m2 = _density_moments(th, 6)
    assert 0 <= (1.0 - th.zero_mass) - mass < 2e-2  # Gaussian products keep ~1% below 16 decades
    assert m1 == pytest.approx(th.mean(6), rel=1e-2)
    assert m2 - m1 ** 2 == pytest.approx(th.variance(6), rel=2e-2)


@pytest.mark.parametrize("act, weights, q", [("tanh", "orthogonal", 1 / 64), ("tanh", "gaussian", 1 / 64),
                                             ("relu", "orthogonal", None)])
def test_measured_moments_match_free_probability_at_width_800(act, weights, q):
    """Mean and variance of the eigenvalues of JJᵀ at width 800 against the prediction, within 4 standard errors
    of the spread over samples; the same measurement rejects the other weight ensemble's prediction."""
    kw = {"q_star": q} if q else {}
    res = spectrum(act, weights, depth=(2, 3), width=800, samples=3, seed=1, **kw)
    for r in res.moments.itertuples():
        assert abs(r.mean - r.mean_pred) <= 4 * r.mean_se + 1e-3, r
        assert abs(r.var - r.var_pred) <= 4 * r.var_se, r
        other = jacobian_theory(r.act, "gaussian" if weights == "orthogonal" else "orthogonal", r.sigma_w2,
                                r.sigma_b2, r.q_star)
        assert abs(r.var - other.variance(r.depth)) > 4 * r.var_se
        assert r.tv <= 2 * r.tv_null + 0.02, r  # histogram vs integrated density, against the sampling floor


def test_frames_deterministic_and_figures(no_global_style):
    from matplotlib.figure import Figure

    from initlab.plots.spectrum import spectrum_histograms, spectrum_moments

    a = spectrum("tanh", "gaussian", depth=(2, 3), width=40, samples=2, seed=3)
    b = spectrum("tanh", "gaussian", depth=(2, 3), width=40, samples=2, seed=3)
    for name in ("values", "moments", "bins", "density"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert len(a.values) == 2 * 2 * 40
    assert np.allclose(a.bins.groupby(["label", "depth"])["measured"].sum(), 1.0)
    assert np.allclose(a.bins.groupby(["label", "depth"])["predicted"].sum(), 1.0)
    assert isinstance(spectrum_histograms(a.bins, a.density, a.moments), Figure)
    assert isinstance(spectrum_moments(a.moments), Figure)


@pytest.mark.parametrize("args, msg", [
    (["--act", "tanhh"], "did you mean 'tanh'"),
    (["--init", "orthogonl"], "did you mean 'orthogonal'"),
    (["--depth", "2,x"], "--depth: 'x' is not a number"),
    (["--depth", "2:9"], "--depth: grid '2:9' must look like a:b:n"),
    (["--depth", "2.5"], "--depth: values must be integers"),
    (["--sigma-w2", "abc"], "--sigma-w2 must be a number"),
    (["--q-star", "0.1", "--sigma-b2", "0.05"], "--q-star applies"),
    (["--act", "tanh", "--sigma-w2", "critical", "--q-star", "0.01", "--report", "x.png"], "must end in .pdf"),
])
def test_cli_bad_input(args, msg):
    r = CliRunner().invoke(main, ["spectrum", *args])
    assert r.exit_code == 2 and msg in r.output and "Traceback" not in r.output


def test_cli_writes_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    args = ["spectrum", "--act", "relu", "--init", "gaussian", "--depth", "2", "--width", "30", "--samples", "2",
            "--workers", "1", "--quiet", "--out", str(tmp_path / "o"), "--report", str(tmp_path / "s.pdf")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert {p.name for p in (tmp_path / "o").iterdir()} >= {"moments.csv", "bins.csv", "spectrum_histograms.png"}
    pdf = (tmp_path / "s.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-" and b"D:20231114" in pdf  # dated SOURCE_DATE_EPOCH (2023-11-14), not the clock
    assert b"Run time" not in pdf
    r = CliRunner().invoke(main, args)  # the same run again: its own files and PDF are replaced
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.pdf").read_bytes() == pdf


def test_cli_refuses_to_replace_a_users_files_before_any_work(tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "moments.csv").write_text("mine")
    (tmp_path / "o" / "notes.txt").write_text("mine")
    (tmp_path / "r.pdf").write_text("not a pdf")
    base = ["spectrum", "--act", "relu", "--init", "gaussian", "--depth", "2", "--width", "10", "--samples", "1",
            "--workers", "1", "--quiet"]
    for extra in (["--out", str(tmp_path / "o")], ["--report", str(tmp_path / "r.pdf")]):
        r = CliRunner().invoke(main, base + extra)
        assert r.exit_code == 2 and "--force" in r.output, r.output
    assert (tmp_path / "o" / "moments.csv").read_text() == "mine" and (tmp_path / "r.pdf").read_text() == "not a pdf"
    r = CliRunner().invoke(main, base + ["--out", str(tmp_path / "o"), "--force"])
    assert r.exit_code == 0 and not (tmp_path / "o" / "notes.txt").exists()  # --force: the folder is replaced


def test_result_round_trips_bit_for_bit(tmp_path, no_global_style):
    import pandas as pd

    from initlab.study.spectrum import SpectrumResult

    a = spectrum("tanh", "gaussian,orthogonal", depth=(2, 3), width=12, samples=2, seed=3, workers=1)
    assert a.points is a.moments and isinstance(a.summary(), str)
    assert set(a.figures()) == {"spectrum_histograms", "spectrum_moments"}
    b = SpectrumResult.from_dir(a.to_dir(tmp_path / "run"))
    for name in ("values", "moments", "bins", "density"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert (a.settings, a.seconds) == (b.settings, b.seconds) and a.summary() == b.summary()


def test_a_store_resumes_without_redoing_a_stored_sample(tmp_path, monkeypatch):
    """Samples stored by an interrupted run (here: a run of the first config only) are read back, not redone;
    only the missing ones are measured, and the result is that of one uninterrupted run."""
    from initlab.study import jacobian as sp

    store = tmp_path / "s.sqlite"
    kw = dict(depth=(2, 3), width=16, samples=2, seed=5, workers=1)
    full = spectrum("tanh", "gaussian,orthogonal", **kw)
    spectrum("tanh", "gaussian", store=store, **kw)
    calls = []
    real = sp.measure_jacobian
    monkeypatch.setattr(sp, "measure_jacobian", lambda cfg, *a: calls.append(cfg.weights) or real(cfg, *a))
    resumed = spectrum("tanh", "gaussian,orthogonal", store=store, **kw)
    assert calls == ["orthogonal", "orthogonal"]  # the two gaussian samples came from the store
    for name in ("values", "moments"):
        assert getattr(full, name).equals(getattr(resumed, name)), name
    calls.clear()
    spectrum("tanh", "gaussian,orthogonal", store=store, **kw)
    assert calls == []


def test_critical_at_a_given_sigma_b2():
    from initlab.study.spectrum import _configs

    (cfg,) = _configs("tanh", "gaussian", "critical", 0.05, None)
    assert cfg.sigma_w2 == pytest.approx(1.7609, abs=1e-3) and cfg.q_star == pytest.approx(0.57, abs=0.01)
