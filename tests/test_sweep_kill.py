"""Killing a sweep's coordinator (issue 19): no pool worker outlives it, and the same command resumes the store.

Each case starts ``initlab sweep --workers 2`` in a subprocess, waits until both workers run and some points are
stored, kills the coordinator (SIGKILL: no chance to clean up; SIGTERM: Python's default, no handler), then
checks within a few seconds that every worker it had is gone, and resumes the sweep to completion.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import initlab

ROOT = Path(__file__).resolve().parents[1]
GRID = dict(act="tanh", sigma_w2="0.5:2.5:24", depth=4, width=24, batch=8)


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _done(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM points WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_coordinator_leaves_no_workers_and_resumes(tmp_path, sig):
    store = tmp_path / "k.sqlite"
    args = [sys.executable, "-m", "initlab.cli", "sweep", "--workers", "2", "--batch-size", "1", "--blas-threads",
            "1", "--no-progress", "--store", str(store)]
    for k, v in GRID.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid)
            if len(workers) >= 2 and _done(store) >= 2:
                break
            time.sleep(0.02)
    finally:
        proc.send_signal(sig)
        proc.wait()
    assert proc.returncode == -sig and len(workers) >= 2, (proc.returncode, workers)
    t0 = time.monotonic()
    while any(_alive(w) for w in workers) and time.monotonic() - t0 < 5:
        time.sleep(0.05)
    orphans = [w for w in workers if _alive(w)]
    for w in orphans:  # leave nothing running when this fails
        os.kill(w, signal.SIGKILL)
    assert not orphans, "orphaned workers"
    assert 2 <= _done(store) < 24
    res = initlab.sweep(store, workers=1, blas_threads=1, progress=False, **GRID)
    pts = res.points
    assert len(pts) == 24 and pts["key"].is_unique and (pts["status"] == "done").all()
