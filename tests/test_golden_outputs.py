"""Saved runs against recorded ones: numbers within tolerances on any machine, bytes only on this one.

``simulate --out D`` writes ``layers.csv``, ``config.json`` and ``histograms.npz``. The reference runs in
``tests/data/golden/<case>/`` were written by the same command; a test here compares a fresh run with them:

* structure exactly: file names, columns and their order, dtypes, shapes, labels, the config, which cells are
  NaN or infinite, every integer, boolean and string cell;
* floating-point cells within a tolerance derived from the dtype and the depth: BLAS kernels (the CPU,
  ``OPENBLAS_CORETYPE``, the library version) sum the products of a layer in other orders, which moves the last
  bits of each layer by about ``eps * sqrt(fan_in)`` relative, and those errors add up over the forward and the
  backward pass. So a float column of a run of depth ``L`` and width ``n`` may differ by
  ``K * eps * 2L * sqrt(n)`` relative to the row's scale, with ``K = 16``; a changed seed, sampler or kernel
  moves the numbers by O(1) and fails by orders of magnitude;
* histogram counts up to a few values crossing a bin edge (same totals exactly).

Bytes (PNG, PDF and the run files) are compared only between two runs on this machine: the same command twice
gives the same bytes. Nothing here depends on a hash recorded elsewhere.

Regenerate the reference runs (only when a change of the numbers is intended, say so in the commit) with
``INITLAB_REGEN_GOLDEN=1 python -m pytest -n 0 tests/test_golden_outputs.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

GOLDEN = Path(__file__).parent / "data" / "golden"
K = 16

# Each case covers other engine branches: saturating/collapsing inits, He, LSUV, orthogonal, maxout,
# batchnorm + dropout + residual in float64, a bias, per-layer widths, MSE loss, a diverging stack.
CASES = {
    "classic": ["--init", "normal:0.01,xavier,he", "--act", "tanh,relu", "--depth", "6", "--width", "64",
                "--batch", "50", "--trials", "2"],
    "branches": ["--init", "lsuv,orthogonal", "--act", "maxout:2,gelu,selu", "--depth", "4", "--width", "24,20,20,16",
                 "--batch", "32", "--dtype", "float64", "--bias-init", "normal:0.1", "--batchnorm", "--dropout",
                 "0.2", "--residual", "--loss", "mse", "--bins", "17", "--seed", "7"],
    "diverge": ["--init", "normal:10", "--act", "linear,leaky_relu:0.1", "--depth", "30", "--width", "40",
                "--batch", "8", "--input", "uniform"],
}
RUN_FILES = ("config.json", "histograms.npz", "layers.csv")
_PDF_DATES = re.compile(rb"/(CreationDate|ModDate) \(D:[^)]*\)")


def _env() -> dict[str, str]:
    return dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                MPLBACKEND="Agg", SOURCE_DATE_EPOCH="0")


def _run_cli(args: list[str], out: Path, pdf: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "initlab.cli", "simulate", *args, "--out", str(out),
                           "--report", str(pdf)], env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def _run_in_process(args: list[str], out: Path) -> None:
    """The run files of ``simulate`` with the CLI's options, written by ``SimResult.to_dir`` on one BLAS thread."""
    from threadpoolctl import threadpool_limits

    from initlab import simulate

    kw: dict = {}
    it = iter(args)
    for flag in it:
        key = flag[2:].replace("-", "_")
        if key in ("batchnorm", "residual"):
            kw[key] = True
            continue
        value = next(it)
        kw[key] = int(value) if key in ("depth", "batch", "bins", "seed", "trials") else value
    if "dropout" in kw:
        kw["dropout"] = float(kw["dropout"])
    if "width" in kw:
        widths = [int(w) for w in kw["width"].split(",")]
        kw["width"] = widths if len(widths) > 1 else widths[0]
    with threadpool_limits(limits=1, user_api="blas"):
        res = simulate(progress=False, **kw)
    res.to_dir(out)


def _run(case: str, out: Path, pdf: Path) -> None:
    if case == "classic":
        _run_cli(CASES[case], out, pdf)
    else:
        _run_in_process(CASES[case], out)


# --- numbers within tolerances ------------------------------------------------------------------------------

def _scale_columns(frame: pd.DataFrame, col: str) -> np.ndarray:
    """The scale a cell's error is relative to: the row's rms for moments, the value itself elsewhere."""
    ref = frame[col].to_numpy(dtype=float)
    for prefix in ("pre_", "act_"):
        if col in (prefix + "mean", prefix + "min", prefix + "max", prefix + "std"):
            return np.sqrt(np.abs(frame[prefix + "q"].to_numpy(dtype=float)))
    if col in ("pre_corr", "theory_pre_corr"):
        return np.ones_like(ref)
    return np.abs(ref)


def rtol_for(config: dict, dtype: str) -> float:
    """``K * eps * 2L * sqrt(widest layer)``: the tolerance of a run's float cells (see the module docstring)."""
    width = config["width"]
    n = max(width) if isinstance(width, list) else width
    return K * float(np.finfo(dtype).eps) * 2 * config["depth"] * np.sqrt(n)


def compare_layers(got: pd.DataFrame, want: pd.DataFrame, config: dict) -> list[str]:
    """Every difference between two ``layers.csv`` frames that the tolerances cannot explain."""
    problems: list[str] = []
    if list(got.columns) != list(want.columns):
        return [f"columns differ: {list(got.columns)} vs {list(want.columns)}"]
    if got.shape != want.shape:
        return [f"shape {got.shape} vs {want.shape}"]
    rtol = rtol_for(config, config["dtype"])
    batch = config["batch"]
    for col in want.columns:
        a, b = got[col], want[col]
        if str(a.dtype) != str(b.dtype):
            problems.append(f"{col}: dtype {a.dtype} vs {b.dtype}")
            continue
        if not pd.api.types.is_float_dtype(b.dtype):
            if not a.equals(b):
                problems.append(f"{col}: values differ at rows {list(np.flatnonzero(a.to_numpy() != b.to_numpy()))[:5]}")
            continue
        x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        if not (np.array_equal(np.isnan(x), np.isnan(y)) and np.array_equal(np.isposinf(x), np.isposinf(y))
                and np.array_equal(np.isneginf(x), np.isneginf(y))):
            problems.append(f"{col}: NaN/inf cells differ")
            continue
        ok = np.isfinite(y)
        if col.startswith("theory_"):
            tol = 1e-9 * np.abs(y) + 1e-12  # float64 quadrature, independent of the sample stream
        elif col == "saturated":
            tol = 3.0 / (batch * want["width"].to_numpy()) + rtol  # a value or two crossing the threshold
        elif col == "dead":
            tol = 1.0 / want["width"].to_numpy() + rtol  # one unit crossing
        else:
            tol = rtol * _scale_columns(want, col) + 1e-300
        bad = ok & ~(np.abs(x - y) <= tol)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(f"{col}: {int(bad.sum())} cell(s) beyond tolerance, e.g. row {i}: {x[i]!r} vs {y[i]!r} "
                            f"(tolerance {np.broadcast_to(tol, x.shape)[i]:.3g})")
    return problems


def compare_histograms(got: Path, want: Path, config: dict) -> list[str]:
    problems: list[str] = []
    rtol = rtol_for(config, config["dtype"])
    with np.load(got, allow_pickle=False) as g, np.load(want, allow_pickle=False) as w:
        if sorted(g.files) != sorted(w.files):
            return [f"histogram arrays {sorted(g.files)} vs {sorted(w.files)}"]
        if list(g["labels"]) != list(w["labels"]):
            problems.append("histogram labels differ")
        for kind in ("pre", "act"):
            ge, we = g[f"{kind}_edges"], w[f"{kind}_edges"]
            gc, wc = g[f"{kind}_counts"], w[f"{kind}_counts"]
            if ge.shape != we.shape or gc.shape != wc.shape or gc.dtype != wc.dtype:
                problems.append(f"{kind}: shapes/dtypes differ")
                continue
            if not np.allclose(ge, we, rtol=rtol, atol=0, equal_nan=True):
                problems.append(f"{kind}_edges beyond tolerance")
            if not np.array_equal(gc.sum(axis=-1), wc.sum(axis=-1)):
                problems.append(f"{kind}_counts totals differ")
            moved = np.abs(gc.astype(np.int64) - wc).sum(axis=-1)
            if moved.max(initial=0) > 4:  # each value that crosses an edge moves the L1 distance by 2
                problems.append(f"{kind}_counts: up to {moved.max()} counts moved in one histogram")
    return problems


@pytest.mark.parametrize("case", sorted(CASES))
def test_saved_run_matches_the_recorded_numbers(case, tmp_path):
    out = tmp_path / "run"
    _run(case, out, tmp_path / "run.pdf")
    ref = GOLDEN / case
    if os.environ.get("INITLAB_REGEN_GOLDEN"):
        ref.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:
            shutil.copyfile(out / name, ref / name)
        pytest.skip("golden runs regenerated")
    assert {p.name for p in out.iterdir()} >= set(RUN_FILES)
    config = json.loads((out / "config.json").read_text())
    assert config == json.loads((ref / "config.json").read_text())
    got = pd.read_csv(out / "layers.csv")
    want = pd.read_csv(ref / "layers.csv")
    problems = compare_layers(got, want, config) + compare_histograms(out / "histograms.npz",
                                                                      ref / "histograms.npz", config)
    assert not problems, f"{case}: " + "; ".join(problems)


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: _PDF_DATES.sub(rb"/\1 (D:masked)", p.read_bytes()) for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_run_twice_gives_the_same_bytes(case, tmp_path):
    """Same seed, same machine, same thread count, same libraries: the same bytes, figures and PDF included."""
    runs = []
    for i in range(2):
        _run(case, tmp_path / f"run{i}" / "out", tmp_path / f"run{i}" / "report.pdf")
        runs.append(_bytes(tmp_path / f"run{i}"))
    assert sorted(runs[0]) == sorted(runs[1])
    changed = [name for name in runs[0] if runs[0][name] != runs[1][name]]
    assert not changed, f"{case}: {changed} differ between two identical runs"


def test_the_tolerances_catch_a_changed_sample_stream(tmp_path):
    """The comparison is not vacuous: another seed fails it, the recorded run passes it against itself."""
    ref = GOLDEN / "diverge"
    config = json.loads((ref / "config.json").read_text())
    want = pd.read_csv(ref / "layers.csv")
    assert compare_layers(want.copy(), want, config) == []
    _run_in_process([*CASES["diverge"], "--seed", "1"], tmp_path / "run")
    got = pd.read_csv(tmp_path / "run" / "layers.csv")
    assert compare_layers(got, want, config)
    nudged = want.copy()
    nudged.loc[3, "pre_std"] *= 1 + 100 * rtol_for(config, config["dtype"])
    assert any(p.startswith("pre_std") for p in compare_layers(nudged, want, config))
