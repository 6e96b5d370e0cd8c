"""Issue 10, outputs: files and folders written as units, nothing overwritten that initlab did not write,
run folders validated, the same run giving the same bytes, progress and Ctrl-C.

In-process (click's runner) for speed; the real processes (SIGKILL, Ctrl-C, a full disk) are in
``test_reliability_proc.py``.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from initlab._io import atomic_write_text, check_writable, clean_stale, OutputError, staged_dir, temp_name
from cli_helpers import one_line_error, run

TINY = ["--depth", "3", "--width", "6", "--batch", "8"]


@pytest.fixture
def fast_figures(monkeypatch):
    """One small figure instead of the standard eight (the figure phase is not what these tests are about)."""
    from matplotlib.figure import Figure

    import initlab.report.sim as report_sim

    def plan(result):
        def make():
            fig = Figure(figsize=(1, 1), dpi=30)
            fig.add_subplot().plot([0, 1])
            return fig
        return [("gradients", "gradient norms", make)]

    monkeypatch.setattr(report_sim, "figure_plan", plan)


# -- files and folders ------------------------------------------------------------------------------
def test_temp_names_are_recognisable_and_stale_ones_are_removed(tmp_path):
    target = tmp_path / "t6.pdf"
    name = temp_name(target.name)
    assert name.startswith(".t6.pdf.initlab-") and name.endswith(".tmp") and f"-{os.getpid()}-" in name
    dead = tmp_path / f".t6.pdf.initlab-{2**22 + 12345}-deadbeef.tmp"  # above the default pid_max: never alive
    alive = tmp_path / f".t6.pdf.initlab-{os.getpid()}-0badf00d.tmp"
    other = tmp_path / f".other.pdf.initlab-{2**22 + 12345}-deadbeef.tmp"
    dead_dir = tmp_path / f".t6.pdf.initlab-old-{2**22 + 12345}-cafe0000.tmp"
    for p in (dead, alive, other):
        p.write_text("x")
    dead_dir.mkdir()
    (dead_dir / "layers.csv").write_text("x")
    atomic_write_text(target, "new")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([target.name, alive.name, other.name])
    assert clean_stale(target) == []


def test_staged_dir_replaces_a_folder_as_a_unit_or_not_at_all(tmp_path):
    d = tmp_path / "run"
    with staged_dir(d) as tmp:
        (tmp / "a.txt").write_text("old")
        (tmp / "b.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with staged_dir(d) as tmp:
            (tmp / "a.txt").write_text("new")
            raise RuntimeError("disk full, say")
    assert sorted(p.name for p in d.iterdir()) == ["a.txt", "b.txt"] and (d / "a.txt").read_text() == "old"
    with staged_dir(d) as tmp:
        (tmp / "c.txt").write_text("new")
    assert [p.name for p in d.iterdir()] == ["c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary or old folder left


def test_a_writer_killed_between_the_fallback_renames_gets_its_old_folder_back(tmp_path):
    d = tmp_path / "run"
    old = tmp_path / f".run.initlab-old-{2**22 + 7}-00aa11bb.tmp"
    new = tmp_path / f".run.initlab-{2**22 + 7}-22cc33dd.tmp"
    for folder, text in ((old, "old"), (new, "half")):
        folder.mkdir()
        (folder / "layers.csv").write_text(text)
    clean_stale(d)
    assert (d / "layers.csv").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_check_writable_refuses_before_any_work(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    for path, folder, msg in ((f / "sub", True, "is a file"), (f, True, "not a folder"),
                              (tmp_path / ("a" * 300), True, "name is 300 bytes"),
                              (tmp_path, False, "is a folder")):
        with pytest.raises(OutputError, match=msg):
            check_writable(path, folder=folder)
    if Path("/proc/self").exists():
        with pytest.raises(OutputError):
            check_writable(Path("/proc/x/run"), folder=True)
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        try:
            with pytest.raises(OutputError, match="ermission"):
                check_writable(ro / "x", folder=True)
        finally:
            ro.chmod(0o755)


def test_report_never_destroys_a_file_initlab_did_not_write(tmp_path, fast_figures):
    precious = tmp_path / "precious.csv"
    precious.write_text("a,b\n1,2\n")
    msg = one_line_error(run("simulate", *TINY, "--report", precious))
    assert "not a PDF initlab wrote" in msg and precious.read_text() == "a,b\n1,2\n"
    out = tmp_path / "o1"
    r = run("simulate", *TINY, "--out", out)
    assert r.exit_code == 0, r.output
    before = (out / "layers.csv").read_bytes()
    for name in ("layers.csv", "config.json", "gradients.png"):
        msg = one_line_error(run("simulate", *TINY, "--out", out, "--report", out / name, "--force"))
        assert "the run's own file" in msg
    assert (out / "layers.csv").read_bytes() == before
    from initlab.cli._outputs import check_pdf, is_initlab_pdf

    assert run("simulate", *TINY, "--report", precious, "--force").exit_code == 0  # --force: replaced
    assert precious.read_bytes()[:5] == b"%PDF-" and is_initlab_pdf(precious)
    check_pdf(precious, force=False)  # a PDF initlab wrote may be replaced without --force


def test_out_folder_is_replaced_whole_and_a_foreign_folder_only_with_force(tmp_path, fast_figures):
    out = tmp_path / "run"
    assert run("simulate", *TINY, "--out", out, "--report", out / "report.pdf").exit_code == 0
    first = sorted(p.name for p in out.iterdir())
    assert "report.pdf" in first and "layers.csv" in first
    r = run("simulate", *TINY, "--seed", "3", "--out", out)  # a run of ours: replaced, old PDF gone with it
    assert r.exit_code == 0, r.output
    assert "report.pdf" not in {p.name for p in out.iterdir()}
    assert json.loads((out / "config.json").read_text())["seed"] == 3
    (out / "notes.txt").write_text("mine")
    msg = one_line_error(run("simulate", *TINY, "--out", out))
    assert "notes.txt" in msg and "--force" in msg
    assert run("simulate", *TINY, "--out", out, "--force").exit_code == 0
    assert not (out / "notes.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]

@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A saved run (the run files only: report validation needs no figures)."""
    from initlab.sim.engine import simulate

    out = tmp_path_factory.mktemp("saved") / "run"
    simulate(init="xavier,he", act="tanh", depth=3, width=6, batch=8, trials=2, progress=False).to_dir(out)
    return out


@pytest.mark.parametrize("damage", ["depth", "huge_depth", "labels", "trials", "bins", "nested", "columns",
                                    "rows", "not_bool"])
def test_report_validates_the_run_folder(tmp_path, damage, saved):
    import shutil

    run_dir = saved
    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad)
    cfg = json.loads((bad / "config.json").read_text())
    csv = (bad / "layers.csv").read_text()
    if damage == "depth":
        cfg["depth"] = 2
    elif damage == "huge_depth":
        cfg["depth"] = 1_000_000_000
    elif damage == "labels":
        cfg["inits"] = ["he_normal", "xavier_normal"]
    elif damage == "trials":
        cfg["trials"] = 1
    elif damage == "bins":
        cfg["bins"] = 20
    elif damage == "columns":
        csv = csv.replace("pre_corr", "pre_correlation", 1)
    elif damage == "rows":
        csv = "\n".join(csv.splitlines()[:-1]) + "\n"
    elif damage == "not_bool":
        lines = csv.splitlines()
        head = lines[0].split(",")
        k = head.index("diverged")
        row = lines[1].split(",")
        row[k] = "maybe"
        lines[1] = ",".join(row)
        csv = "\n".join(lines) + "\n"
    if damage == "nested":
        (bad / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    else:
        (bad / "config.json").write_text(json.dumps(cfg))
    (bad / "layers.csv").write_text(csv)
    msg = one_line_error(run("report", bad, "-o", tmp_path / "r.pdf"))
    assert "cannot read run" in msg and not (tmp_path / "r.pdf").exists()


def test_report_of_a_saved_run_is_the_same_bytes_twice(tmp_path, monkeypatch, fast_figures, saved):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    run_dir = saved
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    assert run("report", run_dir, "-o", a).exit_code == 0
    assert run("report", run_dir, "-o", b).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    stamp = pd.Timestamp(int((run_dir / "config.json").stat().st_mtime), unit="s", tz="UTC")
    assert f"D:{stamp:%Y%m%d%H%M%S}".encode() in a.read_bytes()  # dated by the run, not the clock
    c = tmp_path / "c.pdf"
    r = run("report", run_dir, "-o", c, env={"SOURCE_DATE_EPOCH": "86400"})
    assert r.exit_code == 0 and b"D:19700102000000" in c.read_bytes()
    precious = tmp_path / "notes.pdf"
    precious.write_bytes(b"%PDF-1.4 someone else's\n")
    one_line_error(run("report", run_dir, "-o", precious))
    assert precious.read_bytes() == b"%PDF-1.4 someone else's\n"

def test_progress_on_a_non_tty_is_a_few_plain_lines():
    from initlab.progress import Progress

    buf = io.StringIO()
    clock = iter(np.arange(0.0, 100.0, 0.5))
    import initlab.progress as P

    real = P.time.perf_counter
    P.time.perf_counter = lambda: float(next(clock))
    try:
        with Progress(100, "work", stream=buf, delay=1.0, interval=10.0) as bar:
            for _ in range(100):
                bar.update(1)
    finally:
        P.time.perf_counter = real
    lines = buf.getvalue().splitlines()
    assert "\r" not in buf.getvalue() and 3 <= len(lines) <= 7  # ~50 s of work: one line per 10 s, and a final
    assert lines[-1].startswith("work: 100/100 done in")


def test_threads_option_limits_blas_and_keeps_results(tmp_path):
    pytest.importorskip("threadpoolctl")
    a = run("simulate", *TINY, "--threads", "1", "--format", "csv")
    b = run("simulate", *TINY, "--format", "csv")
    assert a.exit_code == 0 and a.stdout == b.stdout  # tiny products: one block, the same sums


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch):
    import initlab.sim.engine as engine

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "simulate", interrupted)
    msg = one_line_error(run("simulate", *TINY), code=130)
    assert "interrupted" in msg
