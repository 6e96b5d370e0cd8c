"""`initlab theory`, `initlab theory phase` and `initlab recommend` through click's CliRunner."""

import json
import math

import pytest
from click.testing import CliRunner

from initlab.cli import main


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def _rows(output):
    return dict(line.split(None, 1) for line in output.strip().splitlines())


def test_theory_table(run):
    res = run("theory", "--act", "tanh", "--sigma-w2", "1.5", "--sigma-b2", "0.05")
    assert res.exit_code == 0, res.output
    rows = _rows(res.output)
    assert rows["phase"] == "ordered"
    assert float(rows["q*"]) == pytest.approx(0.418037, rel=1e-5)
    assert float(rows["chi1"]) == pytest.approx(0.938636, rel=1e-5)
    assert {"c*", "xi_q", "xi_c", "chi_c"} <= set(rows)


def test_theory_init_he_json(run):
    res = run("theory", "--act", "relu", "--init", "he", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["init"] == "he_normal" and out["sigma_w2"] == pytest.approx(2.0)
    assert out["phase"] == "critical" and out["chi1"] == pytest.approx(1.0)
    assert out["xi_c"] == "inf"  # JSON has no infinity: the string "inf"


def test_theory_init_reads_the_variance_at_the_width(run):
    out = json.loads(
        run("theory", "--act", "tanh", "--init", "normal:0.05", "--width", "400", "--format", "json").output
    )
    assert out["sigma_w2"] == pytest.approx(400 * 0.05**2)
    out = json.loads(run("theory", "--act", "tanh", "--init", "xavier", "--gain", "2", "--format", "json").output)
    assert out["sigma_w2"] == pytest.approx(4.0)


def test_theory_divergent_is_reported_not_raised(run):
    res = run("theory", "--act", "relu", "--sigma-w2", "3", "--format", "json")
    assert res.exit_code == 0
    out = json.loads(res.output)
    assert out["q_star"] == "inf" and out["finite"] is False and out["phase"] == "divergent"
    assert "no finite fixed point" in out["reason"] and out["c_star"] is None


@pytest.mark.parametrize(
    "args",
    [
        ("theory", "--act", "nosuch", "--sigma-w2", "1"),
        ("theory", "--act", "tanh"),
        ("theory", "--act", "tanh", "--sigma-w2", "1", "--init", "he"),
        ("theory", "--act", "tanh", "--init", "lsuv"),
        ("theory", "--act", "tanh", "--sigma-w2", "-1"),
        ("recommend", "--act", "nosuch"),
        ("recommend",),
    ],
)
def test_bad_input_exits_2_with_one_line(args):
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == 2, res.output
    msg = res.output.strip()
    if "Usage:" not in msg:  # our own errors: exactly one line
        assert len(msg.splitlines()) == 1 and msg.startswith("Error:")


def test_unknown_activation_names_the_valid_ones():
    res = CliRunner().invoke(main, ["theory", "--act", "tahn", "--sigma-w2", "1"])
    assert res.exit_code == 2
    assert "tanh" in res.output and len(res.output.strip().splitlines()) == 1


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_theory_phase_writes_a_figure(run, tmp_path, ext, magic):
    out = tmp_path / f"phase.{ext}"
    res = run("theory", "phase", "--act", "tanh", "-o", str(out), "--grid", "12", "--dpi", "50")
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:4] == magic and "12x12 grid" in res.output


def test_theory_phase_relu_divergent_region_and_bad_suffix(run, tmp_path):
    res = run("theory", "phase", "--act", "relu", "-o", str(tmp_path / "r.png"), "--grid", "8", "--dpi", "40")
    assert res.exit_code == 0 and (tmp_path / "r.png").exists()
    bad = CliRunner().invoke(main, ["theory", "phase", "--act", "relu", "-o", str(tmp_path / "r.svg")])
    assert bad.exit_code == 2 and ".png or .pdf" in bad.output


def test_recommend_one(run):
    res = run("recommend", "--act", "relu")
    assert res.exit_code == 0
    rows = _rows(res.output)
    assert float(rows["gain"].split()[0]) == pytest.approx(math.sqrt(2), abs=1e-3)
    assert rows["spec"] == "variance_scaling:scale=2,mode=fan_in"
    assert rows["pytorch_gain"].startswith("1.41421")
    gelu = run("recommend", "--act", "gelu", "--sigma-b2", "0")
    assert "calculate_gain has no value" in gelu.output and "none (" in gelu.output


def test_recommend_json_and_all(run):
    out = json.loads(run("recommend", "--act", "selu", "--format", "json").output)
    assert out["gain"] == pytest.approx(1.0, abs=1e-3) and out["torch_gain"] == 0.75
    res = run("recommend", "--all", "--format", "json")
    rows = json.loads(res.output)
    assert {r["act"] for r in rows} >= {"relu", "tanh", "gelu", "silu", "maxout"}
    table = run("recommend", "--all")
    assert table.exit_code == 0 and "spec (second-moment gain)" in table.output.splitlines()[0]
