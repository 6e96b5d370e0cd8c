"""Running sweeps: every executor gives the same bits, resume after SIGKILL, extension, refusals, export, report."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import initlab
from initlab._spec import ConfigError
from initlab.cli import main
from initlab.sweep import SweepResult

TINY = dict(act="tanh", sigma_w2="0.8,1.6", sigma_b2="0.05,0.2", depth=4, width=16, batch=8, trials=2)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dask_client():
    """One loopback LocalCluster of 2 worker processes for the module."""
    distributed = pytest.importorskip("distributed")
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def serial_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "serial.sqlite"
    initlab.sweep(path, workers=1, blas_threads=1, keep="layers", progress=False, **TINY)
    return path


def _rows(res: SweepResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    return res.points.drop(columns=["seconds"]), res.layers


@pytest.mark.slow
def test_serial_equals_pool_equals_dask_local_cluster(serial_store, dask_client, tmp_path):
    ref_points, ref_layers = _rows(SweepResult(serial_store))
    assert len(ref_points) == 4 and (ref_points["status"] == "done").all() and len(ref_layers) == 4 * 2 * 4
    pool = initlab.sweep(tmp_path / "pool.sqlite", workers=2, blas_threads=1, keep="layers", progress=False, **TINY)
    dask = initlab.sweep(tmp_path / "dask.sqlite", scheduler=dask_client, blas_threads=1, keep="layers",
                         progress=False, batch_size=1, **TINY)
    for res in (pool, dask):
        points, layers = _rows(res)
        pd.testing.assert_frame_equal(points, ref_points, check_exact=True)
        pd.testing.assert_frame_equal(layers, ref_layers, check_exact=True)
    # the points really differ from one another (each seeds itself), and the theory is there
    assert ref_points["key"].is_unique and ref_points["q_last"].nunique() == 4
    assert ref_points["theory_chi1"].notna().all()


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    store = tmp_path / "killed.sqlite"
    args = [sys.executable, "-m", "initlab.cli", "sweep", "--act", "tanh", "--sigma-w2", "0.5:2.5:20", "--depth", "4",
            "--width", "24", "--batch", "8", "--trials", "2", "--keep", "layers", "--workers", "1",
            "--batch-size", "1", "--blas-threads", "1", "--no-progress", "--store", str(store)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if store.exists():
                try:
                    with sqlite3.connect(store, timeout=5) as db:
                        done = db.execute("SELECT COUNT(*) FROM points WHERE status = 'done'").fetchone()[0]
                except sqlite3.OperationalError:  # tables not made yet
                    done = 0
                if done >= 3:
                    break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(store) as db:
        status = dict(db.execute("SELECT status, COUNT(*) FROM points GROUP BY status").fetchall())
        per_point = db.execute("SELECT p.status, COUNT(l.point) FROM points p LEFT JOIN layers l ON l.point = p.key "
                               "GROUP BY p.key").fetchall()
    assert 3 <= status.get("done", 0) < 20, status  # killed part-way
    # no half-written point: a done point has all of its 2 x 4 layer rows, any other point none
    assert all(n == (8 if s == "done" else 0) for s, n in per_point)
    res = initlab.sweep(store, act="tanh", sigma_w2="0.5:2.5:20", depth=4, width=24, batch=8, trials=2,
                        keep="layers", workers=1, batch_size=4, blas_threads=1, progress=False)
    pts = res.points
    assert len(pts) == 20 and pts["key"].is_unique and (pts["status"] == "done").all()
    assert sorted(pts["sigma_w2"].round(12)) == sorted(pd.Series([0.5 + 2.0 * i / 19 for i in range(20)]).round(12))
    lay = res.layers
    assert len(lay) == 20 * 8 and not lay.duplicated(["point", "trial", "layer"]).any()


def test_rerun_skips_and_extension_adds_points(tmp_path):
    store = tmp_path / "ext.sqlite"
    base = dict(act="tanh", depth=3, width=8, batch=4, workers=1, blas_threads=1, progress=False)
    first = initlab.sweep(store, sigma_w2="1,2", **base).points
    again = initlab.sweep(store, sigma_w2="1,2", **base).points
    pd.testing.assert_frame_equal(again, first)  # nothing recomputed (seconds unchanged)
    ext = initlab.sweep(store, sigma_w2="1,2,3", **base).points
    assert len(ext) == 3 and list(ext["sigma_w2"]) == [1.0, 2.0, 3.0]
    pd.testing.assert_frame_equal(ext.iloc[:2], first)
    before = store.read_bytes()
    runner = CliRunner()
    res = runner.invoke(main, ["sweep", "--act", "tanh", "--sigma-w2", "1,2", "--depth", "5", "--width", "8",
                               "--batch", "4", "--store", str(store), "--workers", "1"])
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert "holds a different sweep (--depth is 5 here but 3 in the store)" in res.output
    assert store.read_bytes() == before


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("args, msg", [
    (["--act", "tanh", "--sigma-w", "1:2:3"], "unknown axis 'sigma-w'; did you mean 'sigma_w2'?"),
    (["--act", "tanh", "--sigma-w2", "1:2:0"], "is empty"),
    (["--act", "tanh", "--sigma-w2", "1", "--init", "he"], "--init contradicts"),
    (["--act", "tanh", "--sigma-b2", "0.1", "--bias-init", "normal:0.3"], "--bias-init contradicts"),
    (["--act", "tanh", "--depth"], "--depth needs a value"),
    (["--act", "tanh", "--workers", "2", "--dask-local", "2"], "not workers and dask-local"),
    ([], "no axes"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, args, msg):
    store = tmp_path / "s.sqlite"
    res = CliRunner().invoke(main, ["sweep", *args, "--store", str(store)])
    assert res.exit_code == 2, res.output
    assert msg in res.output and res.output.count("\n") == 1
    assert not store.exists()


def test_unreachable_scheduler_fails_fast(tmp_path):
    t0 = time.monotonic()
    res = CliRunner().invoke(main, ["sweep", "--act", "tanh", "--sigma-w2", "1", "--store", str(tmp_path / "s.sqlite"),
                                    "--scheduler", f"tcp://127.0.0.1:{_closed_port()}"])
    assert time.monotonic() - t0 < 10
    assert res.exit_code == 2 and "cannot reach the Dask scheduler" in res.output and res.output.count("\n") == 1
    assert not (tmp_path / "s.sqlite").exists()


def test_foreign_files_are_refused_and_left_alone(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("my notes\n")
    for argv in (["sweep", "--act", "tanh", "--sigma-w2", "1", "--store", str(text)],
                 ["sweep", "export", str(text), "-o", str(tmp_path / "x.csv")],
                 ["sweep", "report", str(tmp_path / "missing.sqlite")]):
        res = CliRunner().invoke(main, argv)
        assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert text.read_text() == "my notes\n"


def test_export_csv_and_parquet(serial_store, tmp_path, monkeypatch):
    res = SweepResult(serial_store)
    out = CliRunner().invoke(main, ["sweep", "export", str(serial_store), "-o", str(tmp_path / "p.csv")])
    assert out.exit_code == 0
    from initlab._result import exact_floats

    back = pd.read_csv(tmp_path / "p.csv", **exact_floats())  # every digit written, read back bit for bit
    assert list(back.columns) == list(res.points.columns) and len(back) == 4
    pd.testing.assert_series_equal(back["chi1"], res.points["chi1"], check_exact=True)
    lay = CliRunner().invoke(main, ["sweep", "export", str(serial_store), "-o", str(tmp_path / "l.csv"),
                                    "--table", "layers"])
    assert lay.exit_code == 0 and len(pd.read_csv(tmp_path / "l.csv")) == len(res.layers)
    from initlab.sweep import export as export_mod

    if export_mod.have_pyarrow():
        export_mod.export(serial_store, tmp_path / "p.parquet")
        pd.testing.assert_series_equal(pd.read_parquet(tmp_path / "p.parquet")["xi_c"], res.points["xi_c"])
    monkeypatch.setattr(export_mod, "have_pyarrow", lambda: False)  # refused, naming the CSV, before any work
    out = CliRunner().invoke(main, ["sweep", "export", str(serial_store), "-o", str(tmp_path / "q.parquet")])
    assert out.exit_code == 2 and out.output.count("\n") == 1 and f"-o {tmp_path / 'q.csv'}" in out.output
    assert not (tmp_path / "q.parquet").exists() and not (tmp_path / "q.csv").exists()
    with pytest.raises(ConfigError, match="needs pyarrow"):
        export_mod.export(serial_store, tmp_path / "q.parquet")


def test_report_pages_and_same_bytes(serial_store, tmp_path):
    from initlab.report.sim import count_pdf_pages

    out = CliRunner().invoke(main, ["sweep", "report", str(serial_store), "-o", str(tmp_path / "full.pdf")])
    assert out.exit_code == 0
    # definition (with the agreement numbers), phase diagram, depth profile, points; all on one page size
    full = (tmp_path / "full.pdf").read_bytes()
    assert count_pdf_pages(full) == 4  # the agreement is no longer a page of its own
    assert set(re.findall(rb"/MediaBox \[\s*([\d.\s]+)\]", full)) == {b"0 0 792 612 "}
    small = initlab.sweep(tmp_path / "small.sqlite", act="tanh", sigma_w2="1,2", depth=3, width=8, batch=4,
                          workers=1, progress=False)
    when = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    a = small.report(tmp_path / "a.pdf", date=when).read_bytes()
    b = small.report(tmp_path / "b.pdf", date=when).read_bytes()
    assert a == b and count_pdf_pages(a) == 2  # definition and points only: no σ_b² axis, no layers kept
    assert len(small.layers) == 0 and len(small.points) == 2
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def _marker(key: str) -> Path:
    import tempfile

    return Path(tempfile.gettempdir()) / f"initlab-test-dies-once-{key}"


def _dies_once(task, batch, keep, blas):
    """run_batch, except that a worker that gets an armed batch exits abruptly, as a killed worker would (the
    first to rename the ``.armed`` file beside the system's temporary files; works forked or forkserver)."""
    from initlab.sweep.task import run_batch

    marker = _marker(batch[0][0])
    try:
        os.rename(marker.with_suffix(".armed"), marker)
    except FileNotFoundError:
        return run_batch(task, batch, keep, blas)
    os._exit(1)


@pytest.mark.slow
def test_a_dead_pool_worker_loses_only_its_batch(tmp_path, monkeypatch):
    from initlab.sweep import executors

    from initlab.sweep.axes import build_grid, point_config, point_key
    from initlab.sweep.run import DEFAULT_INPUT

    axes = dict(act="tanh", sigma_w2="0.5:2:6", depth=2, width=8, batch=4)
    grid = build_grid(axes, defaults={"input": DEFAULT_INPUT})
    marker = _marker(point_key(point_config(grid, next(grid.points()))))
    marker.unlink(missing_ok=True)
    marker.with_suffix(".armed").write_text("armed")
    monkeypatch.setattr(executors, "run_batch", _dies_once)
    try:
        res = initlab.sweep(tmp_path / "s.sqlite", workers=2, batch_size=1, progress=False, **axes)
        assert marker.exists()  # a worker did die
    finally:
        marker.unlink(missing_ok=True)
        marker.with_suffix(".armed").unlink(missing_ok=True)
    assert len(res.points) == 6 and (res.points["status"] == "done").all()


def test_cli_resume_prints_the_agreement(serial_store):
    from initlab.plots.sweep import phase_agreement

    before = SweepResult(serial_store).points
    args = ["sweep", "--act", "tanh", "--sigma-w2", "0.8,1.6", "--sigma-b2", "0.05,0.2", "--depth", "4",
            "--width", "16", "--batch", "8", "--trials", "2", "--keep", "layers", "--workers", "1",
            "--store", str(serial_store)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    a = phase_agreement(before)
    assert f"4 points in {serial_store} (4 done, 0 failed)" in res.output
    assert f"same phase in {a['same_phase']:.1%} of 4 cells" in res.output
    pd.testing.assert_frame_equal(SweepResult(serial_store).points, before)  # nothing recomputed
