"""The example notebooks run top to bottom in a fresh kernel, and show what they promise.

Executed with nbclient (the ``test`` extra installs it, nbformat and ipykernel); skipped where they are not
installed. The kernel starts in the repository root, so it imports this checkout's ``initlab``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart.ipynb"


def _outputs(cell) -> str:
    """Every text and HTML output of a cell, joined."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        data = out.get("data", {})
        for kind in ("text/plain", "text/html"):
            if kind in data:
                parts.append(data[kind] if isinstance(data[kind], str) else "".join(data[kind]))
    return "\n".join(parts)


def test_quickstart_notebook_runs_and_shows_its_results():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(QUICKSTART, as_version=4)
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env_path) if p)
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        if env_path:
            os.environ["PYTHONPATH"] = env_path
        else:
            os.environ.pop("PYTHONPATH", None)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not any(o.get("output_type") == "error" for o in c.get("outputs", [])) for c in code)
    sim, frame, theory, spectrum = (_outputs(c) for c in code)
    # the simulation shows itself: facts, the summary table with the user's spelling, and the figure inline
    assert "SimResult(4 configs × 1 trial × 10 layers" in sim
    assert "xavier_normal / tanh" in sim and "he_normal / relu" in sim
    assert "<table" in sim and "data:image/png;base64," in sim
    assert "xavier" in frame and "he_normal" in frame and "theory_pre_std" in frame
    assert "critical" in theory and "ordered" in theory  # he/relu sits at chi1 = 1, xavier/relu below it
    assert "SpectrumResult(1 config(s) × 2 depth(s)" in spectrum and "data:image/png;base64," in spectrum
