"""Byte-identity of saved runs across refactors: ``simulate --out D --report R.pdf``.

The ``classic`` case runs the command line in a fresh interpreter (run files, PNG figures and a PDF); the other
cases cover the engine's other branches through ``simulate(...).to_dir`` in this process, which writes the same
run files at a fraction of the cost (no figures).

The hashes in ``tests/data/golden_simulate.json`` were recorded from the release before the package was
regrouped into wings (commit 8a18490). CSV, NPZ and config files must match byte for byte; PNG files must
match byte for byte under the matplotlib version they were recorded with (another matplotlib may
rasterise differently, so there only the run files are compared). The PDF's title page shows the
date it was written, so its bytes are checked for reproducibility elsewhere, not against a recording.

Regenerate (only when a change of the sample stream is intended) with
``INITLAB_REGEN_GOLDEN=1 python -m pytest tests/test_golden_outputs.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

GOLDEN = Path(__file__).parent / "data" / "golden_simulate.json"

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

_PDF_DATES = re.compile(rb"/(CreationDate|ModDate) \(D:[^)]*\)")


def _digest(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".pdf":
        data = _PDF_DATES.sub(rb"/\1 (D:masked)", data)
    return hashlib.sha256(data).hexdigest()


def _run_case(args: list[str], tmp: Path) -> dict[str, str]:
    out, pdf = tmp / "run", tmp / "run.pdf"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               MPLBACKEND="Agg", SOURCE_DATE_EPOCH="0")
    proc = subprocess.run([sys.executable, "-m", "initlab.cli", "simulate", *args, "--out", str(out),
                           "--report", str(pdf)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    files = {p.name: _digest(p) for p in sorted(out.iterdir())}
    assert pdf.stat().st_size > 0
    return files


def _run_in_process(args: list[str], tmp: Path) -> dict[str, str]:
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
    out = res.to_dir(tmp / "run")
    return {p.name: _digest(p) for p in sorted(out.iterdir())}


@pytest.mark.parametrize("case", sorted(CASES))
def test_saved_run_is_byte_identical(case, tmp_path):
    got = _run_case(CASES[case], tmp_path) if case == "classic" else _run_in_process(CASES[case], tmp_path)
    if os.environ.get("INITLAB_REGEN_GOLDEN"):
        data = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
        data["matplotlib"] = matplotlib.__version__
        data.setdefault("cases", {})[case] = got
        GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        pytest.skip("golden hashes regenerated")
    golden = json.loads(GOLDEN.read_text())
    want = golden["cases"][case]
    assert sorted(got) == sorted(want)
    same_mpl = golden["matplotlib"] == matplotlib.__version__
    for name, digest in want.items():
        if name.endswith((".png", ".pdf")) and not same_mpl:
            continue
        assert got[name] == digest, f"{case}: {name} changed"
