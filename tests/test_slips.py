"""Small slips a user met: a progress line that said "done" for work Ctrl-C stopped, and a run saved under a
seed it did not train."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cli_helpers import run
from initlab.progress import Progress


def test_an_interrupted_progress_line_does_not_say_done():
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with Progress(10, "simulate", delay=0.0, stream=out, interval=0.0) as bar:
            bar.update(1)
            raise KeyboardInterrupt
    assert "1/10 after" in out.getvalue() and "done" not in out.getvalue()
    out = io.StringIO()
    with Progress(2, "simulate", delay=0.0, stream=out, interval=0.0) as bar:
        bar.update(2)
    assert out.getvalue().splitlines()[-1].startswith("simulate: 2/2 done in")


REAL = os.environ.get("INITLAB_DATA")


@pytest.mark.slow
@pytest.mark.skipif(not (REAL and (Path(REAL) / "boston-housing.csv").exists()),
                    reason="the real Boston housing data is not in $INITLAB_DATA (seed 0 draws a dead output there)")
def test_a_redrawn_run_is_saved_under_the_seed_that_trained(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("train", "boston-regression", "--epochs", "1", "--quiet", "--data", REAL)
    assert r.exit_code == 0, r.output
    assert "trained seed 3" in r.stdout
    assert (tmp_path / "reports" / "runs" / "boston-regression-seed3").is_dir()
    assert not (tmp_path / "reports" / "runs" / "boston-regression-seed0").exists()
