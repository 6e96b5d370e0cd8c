import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from initlab.cli import main
from initlab.sim.result import SimResult

SMALL = ["--depth", "3", "--width", "6", "--batch", "8"]


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_table_is_the_default_output():
    r = run("simulate", "--init", "xavier", "--act", "relu", *SMALL)
    assert r.exit_code == 0, r.output
    assert "xavier_normal / relu" in r.stdout and "saturated" in r.stdout
    assert len([line for line in r.stdout.splitlines() if line.strip().startswith(("1 ", "2 ", "3 "))]) == 3


def test_csv_is_the_tidy_frame():
    r = run("simulate", "--init", "xavier,he", "--act", "tanh,relu", "--trials", "2", *SMALL, "--format", "csv")
    assert r.exit_code == 0, r.output
    df = pd.read_csv(io.StringIO(r.stdout))
    assert len(df) == 4 * 2 * 3 and df["label"].nunique() == 4


def test_json_has_config_divergence_and_rows():
    r = run("simulate", "--init", "normal:10", "--act", "linear", "--depth", "40", "--width", "60", "--batch", "8",
            "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)  # NaN became null: strict JSON
    assert data["config"]["depth"] == 40 and len(data["layers"]) == 40
    k = data["diverged_at_layer"]["normal:std=10 / linear"]
    assert isinstance(k, int) and data["layers"][k - 1]["pre_std"] is None


def test_options_reach_the_config(tmp_path):
    r = run("simulate", "--init", "he", "--act", "maxout:2", "--depth", "3", "--width", "6,5,5", "--batch", "8",
            "--input-dim", "4", "--input", "uniform", "--seed", "3", "--dtype", "float64", "--bias-init", "normal:0.1",
            "--gain", "1.2", "--batchnorm", "--dropout", "0.1", "--residual", "--loss", "mse", "--bins", "9",
            "--trials", "2", "--format", "json")
    assert r.exit_code == 0, r.output
    cfg = json.loads(r.stdout)["config"]
    assert cfg == {"inits": ["he_normal"], "acts": ["maxout"], "depth": 3, "width": [6, 5, 5], "batch": 8,
                   "input_dim": 4, "input": "uniform", "seed": 3, "trials": 2, "dtype": "float64",
                   "bias_init": "normal:std=0.1", "gain": 1.2, "batchnorm": True, "dropout": 0.1, "residual": True,
                   "loss": "mse", "bins": 9, "init_specs": ["he"], "act_specs": ["maxout:2"]}


@pytest.mark.parametrize("args,needle", [
    (["--depth", "0"], "depth"),
    (["--init", "normal:-1"], "std"),
    (["--dropout", "1"], "dropout"),
    (["--width", "5,5"], "width"),
    (["--batch", "1"], "batch"),
    (["--act", "rellu"], "did you mean 'relu'"),
    (["--init", "xavir"], "did you mean 'xavier'"),
    (["--init", "normal:0.1", "--gain", "2"], "gain"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, needle):
    r = run("simulate", *args)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and needle in lines[0]
    assert r.stdout == ""


def test_out_saves_a_run_and_figures(tmp_path):
    out = tmp_path / "run"
    r = run("simulate", "--init", "xavier,he", "--act", "tanh", *SMALL, "--out", str(out))
    assert r.exit_code == 0, r.output
    for name in ("layers.csv", "config.json", "histograms.npz"):
        assert (out / name).is_file()
    assert len(list(out.glob("*.png"))) >= 3
    res = SimResult.from_dir(out)
    assert res.labels == ["xavier_normal / tanh", "he_normal / tanh"]
    assert "saved run" in r.stderr


def test_report_writes_a_pdf(tmp_path):
    pdf = tmp_path / "r.pdf"
    r = run("simulate", "--init", "xavier", "--act", "tanh", "--depth", "2", "--width", "4", "--batch", "4",
            "--report", str(pdf))
    assert r.exit_code == 0, r.output
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("cmd", ["simulate", "list", "bench"])
def test_help_has_an_example(cmd):
    r = run(cmd, "--help")
    assert r.exit_code == 0 and "Example" in r.stdout and f"initlab {cmd}" in r.stdout


def test_list_shows_every_name():
    r = run("list")
    assert r.exit_code == 0
    for name in ("xavier_normal", "lsuv", "relu", "maxout"):
        assert name in r.stdout
