"""initlab study trainability (issue 12 §1): the theory beside each point, the seeded training point, the grid,
the agreement fraction, the figure, the report and the CLI."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from initlab.cli import main
from initlab.study.trainability import (StudyData, TrainabilityResult, TrainPoint, agreement, theory_at, train_point,
                                        trainability)


def _blobs(n=240, dim=16, seed=0) -> StudyData:
    """Ten Gaussian blobs in [0, 1]-ish coordinates: a shallow network separates them in a few steps."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.2, 0.8, (10, dim))
    y = np.arange(n) % 10
    x = (centres[y] + 0.05 * rng.standard_normal((n, dim))).astype(np.float32)
    return StudyData(x[: n * 3 // 4], y[: n * 3 // 4], x[n * 3 // 4:], y[n * 3 // 4:], "blobs")


def _c_star_reference(sw2, sb2, q, dropout, n=80):
    """c* of the dropout c-map by plain fixed-point iteration on a tensor Gauss–Hermite rule (numpy only)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    z1, z2 = np.meshgrid(z, z)
    ww = np.outer(w, w)
    c = 0.5
    for _ in range(2000):
        ua = math.sqrt(q) * z1
        ub = math.sqrt(q) * (c * z1 + math.sqrt(1 - c * c) * z2)
        c_new = (sw2 * float((ww * np.tanh(ua) * np.tanh(ub)).sum()) + sb2) / q
        if abs(c_new - c) < 1e-13:
            break
        c = c_new
    chic = sw2 * float((ww * (1 - np.tanh(ua) ** 2) * (1 - np.tanh(ub) ** 2)).sum())
    return c, chic


def test_theory_without_dropout_is_the_mean_field_solver():
    from initlab.theory.meanfield import fixed_point

    th = theory_at("tanh", [1.0, 2.5], 0.05)
    for i, sw2 in enumerate((1.0, 2.5)):
        fp = fixed_point("tanh", sw2, 0.05)
        assert th["chi1"][i] == pytest.approx(fp.chi1) and th["xi_c"][i] == pytest.approx(fp.xi_c)


@pytest.mark.parametrize("sw2", [1.2, 1.76, 3.0])
def test_dropout_theory_against_an_independent_iteration(sw2):
    """With dropout c* < 1 everywhere and ξ_c is finite even at the no-dropout critical point."""
    th = theory_at("tanh", [sw2], 0.05, dropout=0.1)
    q = float(th["q_star"][0])
    z, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    assert q == pytest.approx(sw2 / 0.9 * float(w @ np.tanh(math.sqrt(q) * z) ** 2) + 0.05, rel=1e-9)
    c_ref, chic_ref = _c_star_reference(sw2, 0.05, q, 0.1)
    assert th["c_star"][0] == pytest.approx(c_ref, abs=1e-7) and th["c_star"][0] < 1
    assert th["xi_c"][0] == pytest.approx(-1 / math.log(chic_ref), rel=1e-5)
    assert math.isfinite(th["xi_c"][0])


def test_agreement_counts_exactly():
    df = pd.DataFrame({"steps": [10, 10, 10, 10, 20], "train_acc": [0.9, 0.2, 0.9, 0.2, 0.9],
                       "depth": [5, 5, 50, 50, 5], "xi_c": [2.0, 2.0, 2.0, 2.0, 0.5]})
    # 6 xi_c = 12: depth 5 predicted trainable, depth 50 not; step 20: 6 xi_c = 3 < 5, predicted untrainable
    a = agreement(df, 0.5)
    assert a[10] == 0.5 and a[20] == 0.0


def test_train_point_is_seeded_and_learns():
    data = _blobs()
    p = TrainPoint(1.5, 2, seed=3, width=16, steps=(5, 40), batch_size=30, lr=1e-2)
    a, b = train_point(p, data), train_point(p, data)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(a) == strip(b)
    # issue 17 §3: exactly the steps asked for (6 steps an epoch here: 180 images, batches of 30)
    assert [r["steps"] for r in a] == [5, 40] and a[0]["steps_done"] == 5 and a[1]["steps_done"] == 40
    assert a[1]["train_acc"] > 0.9 and a[1]["train_loss"] < a[0]["train_loss"]
    c = train_point(TrainPoint(1.5, 2, seed=4, width=16, steps=(5, 40), batch_size=30, lr=1e-2), data)
    assert c[1]["train_loss"] != a[1]["train_loss"]


def _rows(res):
    return res.points.drop(columns="seconds")


@pytest.mark.slow
def test_serial_pool_and_dask_give_the_same_rows():
    """The training point is a task of the experiment engine: this process, a process pool and a Dask cluster
    give the same rows, bit for bit (one BLAS thread each)."""
    data = _blobs(120)
    kw = dict(data=data, width=8, steps=(4,), batch_size=30, seed=1, threads=1)
    serial = trainability([1.0, 3.0], [2], workers=1, **kw)
    pooled = trainability([1.0, 3.0], [2], workers=2, **kw)
    pytest.importorskip("distributed")
    dask = trainability([1.0, 3.0], [2], dask_local=2, **kw)
    pd.testing.assert_frame_equal(_rows(serial), _rows(pooled), check_exact=True)
    pd.testing.assert_frame_equal(_rows(serial), _rows(dask), check_exact=True)


def test_pool_gives_the_serial_rows():
    data = _blobs(120)
    kw = dict(data=data, width=8, steps=(4,), batch_size=30, seed=1, threads=1)
    serial = trainability([1.0, 3.0], [2], workers=1, **kw)
    pooled = trainability([1.0, 3.0], [2], workers=2, **kw)
    pd.testing.assert_frame_equal(_rows(serial), _rows(pooled), check_exact=True)


def test_a_store_resumes_without_redoing_a_stored_point(tmp_path, monkeypatch):
    """Points stored by an interrupted run (here: a run of half the grid) are read back, not trained again."""
    from initlab.study import trainability as tr

    data = _blobs(120)
    store = tmp_path / "t.sqlite"
    kw = dict(data=data, width=8, steps=(3, 6), batch_size=30, seed=2, workers=1)
    full = trainability([1.0, 3.0], [1, 2], **kw)
    trainability([1.0], [1, 2], store=store, **kw)
    trained = []
    real = tr.train_point
    monkeypatch.setattr(tr, "train_point", lambda p, d: trained.append((p.sigma_w2, p.depth)) or real(p, d))
    resumed = trainability([1.0, 3.0], [1, 2], store=store, **kw)
    assert sorted(trained) == [(3.0, 1), (3.0, 2)]
    pd.testing.assert_frame_equal(_rows(full), _rows(resumed), check_exact=True)
    trained.clear()
    again = trainability([1.0, 3.0], [1, 2], store=store, **kw)
    assert trained == [] and again.points.equals(resumed.points)
    with pytest.raises(Exception, match="holds train points, not spectrum points"):
        from initlab.study.spectrum import spectrum

        spectrum("tanh", "gaussian", depth=2, width=8, samples=1, store=store, workers=1)


def test_grid_frame_figure_and_report(tmp_path, no_global_style):
    from matplotlib.figure import Figure

    from initlab.plots.trainability import trainability_heatmap
    from initlab.report.study import write_trainability_report

    res = trainability([1.0, 2.0], [1, 3], data=_blobs(), width=8, steps=(3, 6), batch_size=60, sigma_b2=0.05,
                       seed=(0, 1), workers=1)
    assert len(res.points) == 2 * 2 * 2 * 2 and list(res.scores["seed"]) == [0, 1, 0, 1]
    assert set(res.agreement.index) == {3, 6} and ((0 <= res.agreement) & (res.agreement <= 1)).all()
    assert res.critical_sigma_w2 == pytest.approx(1.7609, abs=1e-3)
    fig = trainability_heatmap(res.points, res.curves, critical_sigma_w2=res.critical_sigma_w2,
                               scores=res.scores, threshold=res.threshold)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert write_trainability_report(res, tmp_path / "t.pdf").read_bytes()[:5] == b"%PDF-"
    back = TrainabilityResult.from_dir(res.to_dir(tmp_path / "run"))
    assert len(pd.read_csv(tmp_path / "run" / "points.csv")) == 16
    for name in ("points", "curves", "scores"):  # bit for bit
        pd.testing.assert_frame_equal(getattr(res, name), getattr(back, name), check_exact=True)
    pd.testing.assert_series_equal(res.agreement, back.agreement, check_exact=True)
    assert (res.settings, res.threshold, res.critical_sigma_w2, res.seconds) == \
        (back.settings, back.threshold, back.critical_sigma_w2, back.seconds)
    assert back.summary() == res.summary() and list(back.figures()) == ["trainability"]
    assert len(pd.read_csv(tmp_path / "run" / "scores.csv")) == 4 and "always" in res.summary()


@pytest.mark.parametrize("args, msg", [
    (["--sigma-w2", "1:x:3"], "--sigma-w2: grid '1:x:3' needs numbers"),
    (["--sigma-w2", "0,1"], "--sigma-w2: values must be in (0,"),
    (["--sigma-w2", "log:0:1:3"], "needs positive ends"),
    (["--depth", "0"], "--depth: values must be in [1, 2000]"),
    (["--act", "tanx"], "did you mean 'tanh'"),
    (["--report", "out.png"], "must end in .pdf"),
    (["--optimizer", "adam"], "Invalid value"),
])
def test_cli_bad_input(args, msg, isolated):
    r = CliRunner().invoke(main, ["study", "trainability", *args])
    assert r.exit_code == 2 and msg in r.output and "Traceback" not in r.output


@pytest.mark.skipif(not os.environ.get("INITLAB_DATA"), reason="needs the real MNIST ($INITLAB_DATA)")
def test_cli_on_real_mnist(tmp_path):
    r = CliRunner().invoke(main, ["study", "trainability", "--sigma-w2", "1.5", "--depth", "2", "--width", "16",
                                  "--steps", "60", "--subset", "600", "--test-subset", "200", "--quiet", "--seed", "0",
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    pts = pd.read_csv(tmp_path / "o" / "points.csv")
    assert pts["train_acc"].iloc[0] > 0.5 and pts["test_acc"].iloc[0] > 0.4 and pts["steps_done"].iloc[0] == 60
    assert "always" in r.output and "cutoff" in r.output  # the baselines are printed beside the score


def test_cli_refuses_to_replace_a_users_files_before_any_work(tmp_path, isolated):
    """Checked before the data are even loaded: a folder holding a user's file, or a file that is not an
    initlab PDF, is not replaced without --force (one line, exit 2)."""
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "points.csv").write_text("mine")
    (tmp_path / "o" / "mine.txt").write_text("mine")
    (tmp_path / "r.pdf").write_text("mine")
    for extra in (["--out", str(tmp_path / "o")], ["--report", str(tmp_path / "r.pdf")]):
        r = CliRunner().invoke(main, ["study", "trainability", "--data", str(tmp_path / "nowhere"), *extra])
        assert r.exit_code == 2 and "--force" in r.output and "Traceback" not in r.output, r.output
    assert (tmp_path / "o" / "points.csv").read_text() == "mine" and (tmp_path / "r.pdf").read_text() == "mine"


def test_scores_against_the_baselines_count_exactly():
    """Issue 20 §7: a grid where the 6 ξ_c rule is exact beats 'always trainable' and the best in-sample
    cutoff; max trainable depth follows 6 ξ_c with log-log slope 1 and r = 1; a depth-only pattern is won by
    the cutoff."""
    from initlab.study.scores import balanced_accuracy, trainability_scores

    assert balanced_accuracy([1, 1, 0, 0], [1, 0, 0, 0]) == 0.75 and balanced_accuracy([1, 1], [1, 1]) == 1.0
    sw, depth = [1.0, 2.0, 3.0, 4.0], [5, 10, 20, 40, 80]
    xi = {1.0: 1.0, 2.0: 2.0, 3.0: 4.0, 4.0: 8.0}  # 6 xi_c = 6, 12, 24, 48: max depth 5, 10, 20, 40
    rows = [{"steps": 10, "seed": 0, "sigma_w2": s, "depth": d, "xi_c": xi[s],
             "train_acc": 0.9 if d < 6 * xi[s] else 0.1} for s in sw for d in depth]
    sc = trainability_scores(pd.DataFrame(rows), 0.5).iloc[0]
    assert sc["bacc_rule"] == 1.0 and sc["bacc_always"] == 0.5 and sc["acc_always"] == 10 / 20
    assert sc["bacc_cutoff"] < 1.0 and sc["beats_baselines"]
    assert sc["max_depth_r"] == pytest.approx(1.0) and sc["max_depth_slope"] == pytest.approx(1.0)
    depth_only = pd.DataFrame([{**r, "train_acc": 0.9 if r["depth"] < 20 else 0.1} for r in rows])
    sd = trainability_scores(depth_only, 0.5).iloc[0]
    assert sd["cutoff"] == 20 and sd["bacc_cutoff"] == 1.0 and not sd["beats_baselines"]
