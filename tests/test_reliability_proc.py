"""Issue 10 with real processes: SIGKILL at seeded random moments, Ctrl-C, a full disk.

After every kill the run folder must be one whole run (the old one or the new one, never a mix), and
the next write must remove what the killed process left behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--init", "xavier", "--act", "tanh", "--depth", "3", "--width", "8", "--batch", "8"]


def _env(**extra):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(extra)
    return env


def _as_from_a_terminal():
    """In the child before exec: SIGINT's default disposition, as a shell gives a foreground command (a test
    process may run with SIGINT ignored, e.g. in a background job, and a child would inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cmd(*args):
    return [sys.executable, "-m", "initlab.cli", *[str(a) for a in args]]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _seed_of(folder: Path) -> int:
    import json

    return json.loads((folder / "config.json").read_text())["seed"]


def _staging(parent: Path, name: str) -> bool:
    return any(p.name.startswith(f".{name}.initlab-") for p in parent.iterdir())


def _run_timed(args, env, parent: Path, name: str) -> tuple[float, float]:
    """Run to completion; (seconds until the new folder's staging began, seconds of the writing phase)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    start = None
    while p.poll() is None:
        if start is None and _staging(parent, name):
            start = time.perf_counter() - t0
        time.sleep(0.01)
    assert p.returncode == 0, p.stderr.read()
    total = time.perf_counter() - t0
    return (start if start is not None else total), total - (start if start is not None else total)


def test_sigkill_never_leaves_a_mixed_run_folder(tmp_path):
    """D holds a whole run (seed 0); runs writing seed 1 there are SIGKILLed at seeded random moments of
    their writing phase (from the moment the new folder's staging begins to about when it is swapped in).

    Same seed, same bytes (``SOURCE_DATE_EPOCH`` fixes the PDF's date), so after every kill D must hold
    exactly the files of the seed-0 run or exactly those of the seed-1 run (built once, elsewhere).
    """
    from initlab._io import clean_stale

    env = _env(SOURCE_DATE_EPOCH="0")
    d, ref = tmp_path / "D", tmp_path / "ref"
    _t, phase = _run_timed(_cmd("simulate", *SMALL, "--seed", 0, "--out", d, "--report", d / "r.pdf"), env,
                           tmp_path, "D")
    _run_timed(_cmd("simulate", *SMALL, "--seed", 1, "--out", ref, "--report", ref / "r.pdf"), env, tmp_path, "ref")
    runs = {0: _digest(d), 1: _digest(ref)}
    shutil.rmtree(ref)
    rng = np.random.default_rng(10)
    for k in range(3):
        p = subprocess.Popen(_cmd("simulate", *SMALL, "--seed", 1, "--out", d, "--report", d / "r.pdf"),
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while p.poll() is None and not _staging(tmp_path, "D"):
            time.sleep(0.005)
        time.sleep(float(rng.uniform(0.0, 1.1)) * phase)
        p.send_signal(signal.SIGKILL)
        p.wait()
        now = _digest(d)
        assert now in (runs[0], runs[1]), f"kill {k}: D mixes runs: {sorted(now)}"
    clean_stale(d)  # what the next write to D does first
    assert [p.name for p in tmp_path.iterdir()] == ["D"]  # what the killed runs left is removed


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path):
    d = tmp_path / "D"
    p = subprocess.Popen(_cmd("simulate", "--depth", "60", "--width", "400", "--batch", "400", "--trials", "200",
                              "--out", d), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         preexec_fn=_as_from_a_terminal)
    time.sleep(4.0)
    p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("simulate")]
    assert len(lines) == 1 and "interrupted" in lines[0] and "Traceback" not in err, err
    assert not d.exists() and list(tmp_path.iterdir()) == []


def _tiny_fs_script(tmp_path: Path) -> Path | None:
    """A 3 MiB tmpfs mounted at tmp_path/fs in a private mount namespace (unshare -rm), or None."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return None
    fs = tmp_path / "fs"
    fs.mkdir()
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=3m tmpfs {fs} && echo ok"],
                           capture_output=True, text=True, timeout=30)
    return fs if probe.stdout.strip() == "ok" else None


def test_full_disk_leaves_the_old_run_whole(tmp_path):
    fs = _tiny_fs_script(tmp_path)
    if fs is None:
        pytest.skip("cannot mount a tiny filesystem here (needs unshare -rm and tmpfs)")
    py = sys.executable
    d = fs / "D"
    filler = (f"{py} -c \"import os; s=os.statvfs('{fs}'); "
              f"open('{fs}/filler','wb').write(bytes(max(s.f_bavail*s.f_frsize-40000, 0)))\"")
    digest = (f"{py} -c \"import hashlib,pathlib,sys; print(sorted((p.name, "
              f"hashlib.sha256(p.read_bytes()).hexdigest()) for p in pathlib.Path('{d}').iterdir()))\"")
    env_prefix = " ".join(f"{k}='{v}'" for k, v in _env().items() if k in ("OPENBLAS_NUM_THREADS", "MPLBACKEND",
                                                                            "PYTHONPATH", "OMP_NUM_THREADS"))
    sim = f"env {env_prefix} {' '.join(_cmd('simulate', *SMALL))}"
    script = "\n".join([
        f"mount -t tmpfs -o size=3m tmpfs {fs} || exit 99",
        f"{sim} --seed 0 --out {d} > /dev/null 2>&1 || exit 98",
        f"{digest} > {tmp_path}/before.txt",
        filler,
        f"{sim} --seed 1 --out {d} --report {d}/r.pdf > /dev/null 2> {tmp_path}/err.txt; echo $? > {tmp_path}/rc.txt",
        f"{digest} > {tmp_path}/after.txt",
        f"ls -a {fs} > {tmp_path}/ls.txt",
    ])
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rc = int((tmp_path / "rc.txt").read_text())
    err = (tmp_path / "err.txt").read_text()
    lines = [line for line in err.splitlines() if line.startswith("Error:")]
    assert rc == 1 and len(lines) == 1 and "Traceback" not in err and "No space left" in lines[0], err
    assert (tmp_path / "before.txt").read_text() == (tmp_path / "after.txt").read_text()
    assert sorted((tmp_path / "ls.txt").read_text().split()) == [".", "..", "D", "filler"]


def test_a_closed_pipe_ends_the_command_quietly():
    """``initlab simulate … | head -1``: the reader goes away; no 'Error:' line, no traceback, exit code 141.

    The table (about 150 kB) is larger than a pipe's buffer, so the writer is still writing when the pipe closes.
    """
    args = ("simulate", "--act", "tanh", "--depth", "2000", "--width", "4", "--batch", "4")
    proc = subprocess.Popen(_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=ROOT)
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert first.startswith(b"initlab simulate")
    assert err == ""
