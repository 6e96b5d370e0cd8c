"""The finite-width study: measure() against torch autograd, the result's contract, the CLI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from initlab._spec import ConfigError
from initlab.schema import FINITE_WIDTH_COLUMNS, FINITE_WIDTH_POINT_COLUMNS
from initlab.study.finite_width import FWPoint, FiniteWidthResult, _layer, finite_width_study, measure, parse_acts

from cli_helpers import one_line_error, run


@pytest.mark.parametrize("act, sb2", [("tanh", 0.1), ("gelu", 0.0)])
def test_measure_matches_torch_autograd(act, sb2):
    torch = pytest.importorskip("torch")
    p = FWPoint(act, 1.7, sb2, 0.8, 12, 4)
    rows = measure(p, 123)
    assert [tuple(r) for r in rows] == [FINITE_WIDTH_COLUMNS] * 4
    rng0 = np.random.default_rng([123, 0])
    x = rng0.standard_normal(12)
    x *= math.sqrt(12 * 0.8) / np.linalg.norm(x)
    r = torch.tensor(rng0.standard_normal(12))
    fn = {"tanh": torch.tanh, "gelu": torch.nn.functional.gelu}[act]
    h = torch.tensor(x, requires_grad=True)
    zs = []
    for layer in range(1, 5):
        w, b = _layer(p, 123, layer)
        z = torch.tensor(w) @ h + torch.tensor(b)
        z.retain_grad()
        zs.append(z)
        h = fn(z)
    (r * h).sum().backward()
    for row, z in zip(rows, zs):
        assert row["q_hat"] == pytest.approx(float((z.detach() ** 2).mean()), rel=1e-12)
        assert row["grad_sq"] == pytest.approx(float((z.grad ** 2).sum()), rel=1e-10)
    assert measure(p, 123) == rows  # a pure function of (point, seed)
    assert measure(p, 124) != rows


def test_study_result_contract(tmp_path):
    res = finite_width_study("relu:2:0,tanh:1:0", (8, 16), depth_ratio=0.5, trials=12, seed=3)
    assert tuple(res.rows.columns) == FINITE_WIDTH_COLUMNS
    assert tuple(res.points.columns) == FINITE_WIDTH_POINT_COLUMNS
    assert len(res.rows) == 12 * (4 + 8) * 2
    assert set(res.agreement["act"]) == {"relu", "tanh"}
    assert (res.agreement[["slope_q_se", "slope_grad_se"]] > 0).all().all()  # bootstrap over networks
    relu = res.points[res.points["act"] == "relu"]
    assert np.isfinite(relu["exact_q"]).all() and res.points[res.points["act"] == "tanh"]["exact_q"].isna().all()
    assert (res.points["mean_field"] == 0).all()
    assert "within 3se" in res.summary() and "FiniteWidthResult(relu, tanh" in repr(res)
    back = FiniteWidthResult.from_dir(res.to_dir(tmp_path / "fw"))
    assert back.settings == res.settings and back.seconds == res.seconds
    for name in ("rows", "points", "agreement"):  # bit for bit
        pd.testing.assert_frame_equal(getattr(back, name), getattr(res, name), check_exact=True)
    assert (tmp_path / "fw" / "collapse.png").stat().st_size > 0
    assert list(res.figures()) == ["collapse", "relu_law"]  # ReLU without bias has the exact law
    pdf = res.report(tmp_path / "fw.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    with pytest.raises(ConfigError):
        FiniteWidthResult.from_dir(tmp_path)


def test_bad_input_before_work():
    for acts in ("relu", "relu:x:0", "maxout:2:1:0", "relu:-1:0", "tanh:critical:-1"):
        with pytest.raises(ConfigError):
            parse_acts(acts)
    with pytest.raises(ConfigError):
        finite_width_study("relu:2:0", (8,), trials=2)
    with pytest.raises(ConfigError):
        FWPoint("relu", 2.0, 0.0, 1.0, 1, 3)


def test_cli(tmp_path):
    out = tmp_path / "out"
    r = run("study", "finite-width", "--act", "relu:2:0", "--width", "8", "--trials", "5", "--quiet",
            "--out", out, "--report", tmp_path / "r.pdf")
    assert r.exit_code == 0, r.output
    assert (out / "collapse.png").is_file() and (out / "points.csv").is_file() and (tmp_path / "r.pdf").is_file()
    assert "within 3se" in r.output
    assert "act" in one_line_error(run("study", "finite-width", "--act", "relu:2"))
    assert "--width" in one_line_error(run("study", "finite-width", "--width", "1"))
    (tmp_path / "mine.pdf").write_text("not a pdf")
    assert "--force" in one_line_error(run("study", "finite-width", "--report", tmp_path / "mine.pdf"))


def test_jacobian_deviation_contract_and_slope():
    import pandas as pd

    from initlab.study.jacobian_width import deviation_slope, jacobian_deviation

    f = jacobian_deviation("tanh", "orthogonal", widths=(16, 24), depths=(2, 4), samples=3)
    assert list(f["width"]) == [16, 16, 24, 24] and np.allclose(f["l_over_n"], f["depth"] / f["width"])
    assert np.allclose(f["rel_dev"], f["var"] / f["var_pred"] - 1) and (f["rel_dev_se"] > 0).all()
    synthetic = pd.DataFrame({"l_over_n": [0.1, 0.2, 0.4], "rel_dev": [0.03, 0.06, 0.12], "rel_dev_se": [0.01] * 3})
    a, se = deviation_slope(synthetic)
    assert a == pytest.approx(0.3) and se == pytest.approx(0.01 / math.sqrt(0.21))
    with pytest.raises(ConfigError):
        jacobian_deviation("tanh,relu", "orthogonal", widths=(8,), depths=(2,))


def test_the_study_runs_on_the_experiment_engine(tmp_path):
    """Every network is a task: a pool gives the serial rows bit for bit, and a rerun on the store measures
    nothing again (the stored rows come back)."""
    import sqlite3

    kw = dict(acts="relu:2:0", widths=(8,), depth_ratio=0.5, trials=4, seed=1, progress=False)
    serial = finite_width_study(**kw, workers=1, store=tmp_path / "a.sqlite")
    pool = finite_width_study(**kw, workers=2)
    pd.testing.assert_frame_equal(serial.rows, pool.rows, check_exact=True)
    with sqlite3.connect(tmp_path / "a.sqlite") as db:
        before = db.execute("SELECT key, seconds FROM points ORDER BY key").fetchall()
    again = finite_width_study(**kw, workers=1, store=tmp_path / "a.sqlite")
    with sqlite3.connect(tmp_path / "a.sqlite") as db:
        assert db.execute("SELECT key, seconds FROM points ORDER BY key").fetchall() == before
    pd.testing.assert_frame_equal(serial.rows, again.rows, check_exact=True)
