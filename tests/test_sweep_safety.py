"""The sweep store never loses a file (issue 19): outputs that would replace the store or a user's file, tampered
stores, opening without changing, SQLite's errors as one line, extension and narrower commands, huge grids."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

import initlab
from cli_helpers import one_line_error, run
from initlab.sweep import SweepResult
from initlab.sweep import sqlite as sweep_sqlite
from initlab.sweep.store import Store, StoreBusyError, StoreError

TINY = ["--act", "tanh", "--sigma-w2", "1,2", "--depth", "3", "--width", "8", "--batch", "8", "--workers", "1",
        "--no-progress"]


@pytest.fixture(scope="module")
def made_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "s.sqlite"
    r = run("sweep", "--store", path, *TINY)
    assert r.exit_code == 0, r.output
    return path


@pytest.fixture
def store(made_store, tmp_path) -> Path:
    """A fresh copy of the 2-point store for one test."""
    path = tmp_path / made_store.name
    shutil.copy(made_store, path)
    return path


def _digest(path: Path) -> bytes:
    return path.read_bytes()


# -- outputs that would replace the store or a user's file --------------------------------------------------------
@pytest.mark.parametrize("make_args", [
    lambda s, d: ["sweep", "report", s, "-o", s],
    lambda s, d: ["sweep", "report", s, "-o", s, "--force"],
    lambda s, d: ["sweep", "--store", s, "--report", s, *TINY],
    lambda s, d: ["sweep", "--store", s, "--report", s, "--force", *TINY],
    lambda s, d: ["sweep", "export", s, "-o", s, "--force"],
    lambda s, d: ["sweep", "export", s, "-o", Path(f"{s}-wal"), "--force"],
    lambda s, d: ["sweep", "report", s, "-o", d / "notes.pdf"],
    lambda s, d: ["sweep", "export", s, "-o", d / "notes.csv"],
    lambda s, d: ["sweep", "--store", s, "--report", d / "notes.pdf", *TINY],
])
def test_the_store_and_a_users_files_are_never_replaced(store, tmp_path, make_args):
    (tmp_path / "notes.pdf").write_text("my notes\n")
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    before = {p.name: _digest(p) for p in tmp_path.iterdir() if p.is_file()}
    one_line_error(run(*make_args(store, tmp_path)))
    after = {p.name: _digest(p) for p in tmp_path.iterdir() if p.is_file()}
    assert after == before


def test_a_store_named_csv_is_not_replaced_by_its_export(store, tmp_path):
    csv_store = tmp_path / "x.csv"
    store.rename(csv_store)
    before = _digest(csv_store)
    assert "is the input" in one_line_error(run("sweep", "export", csv_store, "-o", csv_store))
    assert _digest(csv_store) == before
    r = run("sweep", "export", csv_store, "-o", tmp_path / "y.csv")  # and it is still a store
    assert r.exit_code == 0 and len(pd.read_csv(tmp_path / "y.csv")) == 2


def test_force_replaces_a_users_file_and_initlab_pdfs_are_replaced(store, tmp_path):
    (tmp_path / "notes.csv").write_text("a\n")
    assert run("sweep", "export", store, "-o", tmp_path / "notes.csv", "--force").exit_code == 0
    assert len(pd.read_csv(tmp_path / "notes.csv")) == 2
    assert run("sweep", "report", store, "-o", tmp_path / "r.pdf").exit_code == 0
    assert run("sweep", "report", store, "-o", tmp_path / "r.pdf").exit_code == 0  # ours: replaced


def test_an_unwritable_report_is_refused_before_the_sweep(tmp_path):
    (tmp_path / "file").write_text("x")
    one_line_error(run("sweep", "--store", tmp_path / "s.sqlite", "--report", tmp_path / "file" / "r.pdf", *TINY))
    assert not (tmp_path / "s.sqlite").exists()


# -- tampered stores: refused in one line, left as they were ----------------------------------------------------
TAMPERINGS = {
    "drop column": "ALTER TABLE points DROP COLUMN chi1",
    "drop points": "DROP TABLE points",
    "drop layers": "DROP TABLE layers",
    "drop meta": "DROP TABLE meta",
    "bad definition": "UPDATE meta SET value = '{not json' WHERE name = 'definition'",
    "definition not a grid": "UPDATE meta SET value = '[1, 2]' WHERE name = 'definition'",
    "bad params": "UPDATE points SET params = '{oops' WHERE rowid = 1",
    "params not a dict": "UPDATE points SET params = '[1]' WHERE rowid = 1",
    "text in a number": "UPDATE points SET q_last = 'abc' WHERE rowid = 1",
    "text in diverged_layer": "UPDATE points SET diverged_layer = 'x' WHERE rowid = 2",
    "wrong format": "UPDATE meta SET value = 'initlab-sweep-0' WHERE name = 'format'",
}


@pytest.mark.parametrize("what", sorted(TAMPERINGS))
def test_tampered_stores_are_one_line_and_untouched(store, tmp_path, what):
    with sqlite3.connect(store) as db:
        db.execute(TAMPERINGS[what])
    db.close()
    before = _digest(store)
    codes = []
    for argv in (["sweep", "export", store, "-o", tmp_path / "x.csv"],
                 ["sweep", "report", store, "-o", tmp_path / "x.pdf"],
                 ["sweep", "--store", store, *TINY]):
        r = run(*argv)
        codes.append(r.exit_code)
        if r.exit_code != 0:
            one_line_error(r)
    # reading a damaged store fails (the sweep itself may still run where it reads no damaged cell)
    assert codes[0] == 2 or what == "text in diverged_layer" and codes[0] in (0, 2)
    assert _digest(store) == before or codes[2] == 0
    assert not (tmp_path / "x.pdf").exists() or codes[1] == 0


def test_another_programs_database_is_refused_without_a_change(tmp_path):
    path = tmp_path / "app.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
    db.close()
    before = _digest(path)
    for argv in (["sweep", "--store", path, *TINY], ["sweep", "export", path, "-o", tmp_path / "x.csv"]):
        assert "not an initlab sweep store" in one_line_error(run(*argv))
    assert _digest(path) == before  # not even switched to WAL mode
    assert sorted(os.listdir(tmp_path)) == ["app.sqlite"]


@pytest.mark.parametrize("content", [b"", b"my notes\n"])
def test_an_empty_or_text_file_is_refused_and_not_rewritten(tmp_path, content):
    path = tmp_path / "s.sqlite"
    path.write_bytes(content)
    for argv in (["sweep", "--store", path, *TINY], ["sweep", "report", path, "-o", tmp_path / "r.pdf"]):
        one_line_error(run(*argv))
    assert path.read_bytes() == content


def test_a_store_on_read_only_media_can_be_read(store, tmp_path):
    """A read-only bind mount in a private mount namespace (skipped where that is not allowed)."""
    if not shutil.which("unshare") or os.geteuid() != 0:
        pytest.skip("needs unshare and root for a read-only bind mount")
    ro = store.parent
    code = (f"mount --bind {ro} {ro} && mount -o remount,ro,bind {ro} && "
            f"{sys.executable} -m initlab.cli sweep export {store} -o {tmp_path.parent / 'ro.csv'} && "
            f"{sys.executable} -m initlab.cli sweep --store {store} {' '.join(TINY)}")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    p = subprocess.run(["unshare", "-m", "sh", "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if "mount" in p.stderr and "permission denied" in p.stderr.lower():
        pytest.skip("bind mounts are not allowed here")
    assert len(pd.read_csv(tmp_path.parent / "ro.csv")) == 2, p.stderr
    assert p.returncode == 2 and "Traceback" not in p.stderr and "Read-only file system" in p.stderr, p.stderr


# -- SQLite's errors --------------------------------------------------------------------------------------------
def test_a_full_disk_is_one_line_and_the_store_stays_consistent(store, monkeypatch):
    real = sweep_sqlite.connect

    def small(target, uri=False):
        db = real(target, uri)
        db.execute("PRAGMA max_page_count = 8")  # this store's size: the next points do not fit
        return db

    monkeypatch.setattr("initlab.sweep.store.connect", small)
    r = run("sweep", "--store", store, *TINY[:2], "--sigma-w2", "1,2,3,4,5,6,7,8,9", *TINY[4:])
    assert "disk is full" in one_line_error(r, code=1)
    monkeypatch.undo()
    res = SweepResult(store).points
    assert len(res) == 2 and (res["status"] == "done").all()  # the two earlier points, nothing half-written
    done = initlab.sweep(store, act="tanh", sigma_w2="1,2,3", depth=3, width=8, batch=8, workers=1, progress=False)
    assert (done.points["status"] == "done").all() and len(done.points) == 3  # and it resumes


def test_a_store_locked_too_long_is_one_line(store, monkeypatch):
    monkeypatch.setattr(sweep_sqlite, "BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(store, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another sweep adding points
    try:
        r = run("sweep", "--store", store, *TINY[:2], "--sigma-w2", "1,2,3", *TINY[4:])
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "stayed locked" in one_line_error(r, code=1)


def test_two_sweeps_creating_one_store_at_once_share_it(tmp_path, monkeypatch):
    """The second creator's link fails (the first made it meanwhile): it opens that store instead of failing with
    'table meta already exists'."""
    path = tmp_path / "s.sqlite"
    real_link = os.link
    made = threading.Event()

    def racing_link(src, dst):
        if not made.is_set():
            made.set()
            Store(path, create=True).close()  # the other sweep wins the race
        return real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    with Store(path, create=True) as st:
        assert st.count() == 0 and st.meta("format")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]


def test_store_errors_translate(tmp_path):
    with pytest.raises(StoreError, match="no sweep store"):
        Store(tmp_path / "missing.sqlite")
    err = sweep_sqlite.translate(sqlite3.OperationalError("database or disk is full"), tmp_path)
    assert isinstance(err, StoreBusyError) and err.errno == 28


# -- extension and narrower commands ----------------------------------------------------------------------------
def test_a_new_axis_keeps_the_old_points_values_and_the_original_command_still_runs(tmp_path):
    path = tmp_path / "s.sqlite"
    base = dict(act="tanh", sigma_w2="1,2", depth=3, width=8, workers=1, progress=False)
    first = initlab.sweep(path, **base).points
    ext = initlab.sweep(path, batch="1000,64", **base).points
    assert len(ext) == 4 and ext["batch"].notna().all()
    assert list(ext.loc[ext["key"].isin(first["key"]), "batch"]) == [1000, 1000]  # not NaN
    again = initlab.sweep(path, **base)  # the original command: its 2 points, nothing recomputed
    assert sorted(again.points["key"]) == sorted(first["key"])
    pd.testing.assert_series_equal(again.points.set_index("key")["q_last"].sort_index(),
                                   first.set_index("key")["q_last"].sort_index())
    wider = initlab.sweep(path, sigma_b2="0,0.1", batch="1000,64", **base).points  # --bias-init zeros is sigma_b2 0
    assert len(wider) == 8 and sorted(set(wider["sigma_b2"])) == [0.0, 0.1]
    assert (wider.loc[wider["key"].isin(first["key"]), "sigma_b2"] == 0.0).all()


def test_a_narrower_command_runs_and_reports_its_subset(tmp_path):
    path = tmp_path / "s.sqlite"
    r = run("sweep", "--store", path, *TINY[:2], "--sigma-w2", "1,2,3", "--act", "tanh,relu", *TINY[6:])
    assert r.exit_code == 2  # --act given twice
    r = run("sweep", "--store", path, "--act", "tanh,relu", "--sigma-w2", "1,2,3", *TINY[4:])
    assert r.exit_code == 0 and "6 points" in r.output
    r = run("sweep", "--store", path, "--act", "tanh", "--sigma-w2", "1,2,3", *TINY[4:],
            "--report", tmp_path / "tanh.pdf")
    assert r.exit_code == 0 and "3 points" in r.output, r.output
    assert (tmp_path / "tanh.pdf").stat().st_size > 0
    assert len(SweepResult(path).points) == 6


@pytest.mark.parametrize("args, msg", [
    (["--act", "tanh", "--sigma-w2", "1,2", "--sigma-b2", "0.1", "--bias-init", "zeros"], "contradicts"),
    (["--act", "tanh", "--sigma-w2", "1,2,3", "--depth", "4", "--width", "8", "--batch", "8"],
     "--sigma-w2 adds 3.0 while --depth leaves out 3"),
    (["--act", "tanh", "--sigma-b2", "0,0.1", "--depth", "3", "--width", "8", "--batch", "8"],
     "the store sets the weights by --sigma-w2"),
])
def test_different_sweeps_are_refused_naming_the_options(store, args, msg):
    before = _digest(store)
    text = one_line_error(run("sweep", "--store", store, *args, "--workers", "1"))
    assert msg in text and "bias_init" not in text.replace("--bias-init", "")
    assert _digest(store) == before


# -- huge grids and impossible points: refused before any work --------------------------------------------------
@pytest.mark.parametrize("args, msg", [
    (["--seed", "0:999:1000", "--depth", "1:1000:1000", "--width", "2:1001:1000"], "1,000,000,000 points"),
    (["--seed", "0:1:1000000000"], "1,000,000,000 values"),
    (["--sigma-w2", "1:2:5", "--max-points", "4"], "more than the 4 points"),
    (["--depth", "1e30"], "of memory"),
    (["--width", "1e12"], "of memory"),
    (["--depth", "1.5"], "depth must be an integer"),
    (["--input", "given"], "input 'given'"),
    (["--sigma-w2", "1,2", "--sigma-b2", "0,1", "--zip", "sigma_w2,sigma_w2"], "two different axes"),
])
def test_huge_grids_and_impossible_points_are_refused_at_once(tmp_path, args, msg):
    assert msg in one_line_error(run("sweep", "--store", tmp_path / "s.sqlite", *args))
    assert not (tmp_path / "s.sqlite").exists()


def test_report_honours_source_date_epoch(store, tmp_path):
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    assert run("sweep", "report", store, "-o", tmp_path / "a.pdf", env=env).exit_code == 0
    assert run("sweep", "report", store, "-o", tmp_path / "b.pdf", env=env).exit_code == 0
    a, b = (tmp_path / "a.pdf").read_bytes(), (tmp_path / "b.pdf").read_bytes()
    assert a == b and b"D:20231114" in a


def test_zipped_sweep_prints_no_nan_percent(tmp_path):
    r = run("sweep", "--store", tmp_path / "z.sqlite", "--act", "tanh", "--sigma-w2", "0.5,1,2", "--sigma-b2",
            "0,0.1,0.2", "--zip", "sigma_w2,sigma_b2", "--depth", "2", "--width", "8", "--batch", "8",
            "--workers", "1", "--no-progress")
    assert r.exit_code == 0 and "nan" not in r.output.lower(), r.output


def test_workers_beyond_the_cores_are_noted(tmp_path):
    r = run("sweep", "--store", tmp_path / "s.sqlite", *TINY[:-3], "--workers", str((os.cpu_count() or 1) + 3),
            "--no-progress")
    assert r.exit_code == 0 and "more than the" in r.stderr


def test_definition_json_round_trips(store):
    with sqlite3.connect(store) as db:
        text = db.execute("SELECT value FROM meta WHERE name = 'definition'").fetchone()[0]
    db.close()
    assert json.loads(text)["given"][:2] == ["act", "sigma_w2"]


def test_pool_starts_at_most_one_worker_per_point(monkeypatch, tmp_path):
    from initlab.sweep.executors import PoolExecutor

    sizes = []
    real = PoolExecutor._pool

    def pool(self, task, n):
        sizes.append(n)
        return real(self, task, n)

    monkeypatch.setattr(PoolExecutor, "_pool", pool)
    res = initlab.sweep(tmp_path / "s.sqlite", act="tanh", sigma_w2="1,2,3", depth=2, width=4, batch=4, workers=64,
                        blas_threads=1, progress=False)
    assert sizes == [3] and (res.points["status"] == "done").all()  # 3 points: 3 workers, not 64 forks


def test_a_store_extended_before_this_fix_reads_the_old_points_value_from_their_config(tmp_path):
    """Stores extended by an earlier version hold old points whose params lack the new axis: read from the
    point's config instead of NaN."""
    path = tmp_path / "s.sqlite"
    base = dict(act="tanh", sigma_w2="1,2", depth=3, width=8, workers=1, progress=False)
    initlab.sweep(path, batch="1000,64", **base)
    with sqlite3.connect(path) as db:  # what the earlier version left: no batch in the first points' params
        for rowid, text in db.execute("SELECT rowid, params FROM points").fetchall():
            p = json.loads(text)
            if p["batch"] == 1000:
                del p["batch"]
                db.execute("UPDATE points SET params = ? WHERE rowid = ?", (json.dumps(p), rowid))
    db.close()
    pts = SweepResult(path).points
    assert sorted(pts["batch"]) == [64, 64, 1000, 1000]


def test_a_store_made_before_the_spelling_and_c_star_columns_still_reads_and_resumes(tmp_path):
    """A store from before issue 20/22 lacks points.c_star(_sd) and layers.init_spec/act_spec: a reader gets NaN
    and the canonical spec, and the next run adds the columns instead of calling the store damaged."""
    path = tmp_path / "s.sqlite"
    base = dict(act="tanh", sigma_w2="1,2", depth=3, width=8, batch=8, workers=1, keep="layers", progress=False)
    initlab.sweep(path, **base)
    with sqlite3.connect(path) as db:
        for table, col in (("points", "c_star"), ("points", "c_star_sd"), ("layers", "init_spec"),
                           ("layers", "act_spec")):
            db.execute(f'ALTER TABLE {table} DROP COLUMN "{col}"')
    old = initlab.SweepResult(path)
    assert old.points["c_star"].isna().all() and len(old.points) == 2
    assert (old.layers["init_spec"] == old.layers["init"]).all()
    again = initlab.sweep(path, **{**base, "sigma_w2": "1,2,3"})  # extends the old store
    assert (again.points["status"] == "done").all() and len(again.points) == 3
    with sqlite3.connect(path) as db:
        cols = {r[1] for r in db.execute('PRAGMA table_info("layers")')}
    assert {"init_spec", "act_spec"} <= cols
