"""Every code block of README.md runs here, and what it prints is what the README shows (see readme_blocks).

Blocks tagged ``slow`` (minutes of training or simulation) run with ``INITLAB_README_SLOW=1 python -m pytest -n 0
tests/test_readme.py``; that is the command that checks, and on a mismatch prints, the README's long results.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import subprocess

import matplotlib
import pytest
from click.testing import CliRunner

from initlab.cli import main
from readme_blocks import Block, commands_of, output_matches, readme_blocks

matplotlib.use("Agg")

BLOCKS = readme_blocks()
SLOW = bool(os.environ.get("INITLAB_README_SLOW"))
NO_RUN_ALLOWED = 2  # the set-up commands and the cluster's commands
SHELL = ("echo", "mkdir", "touch")  # what a block may run besides initlab: setting up a user's files


def _skip_reason(block: Block) -> str | None:
    if "no-run" in block.tags:
        return "runs on another machine (set-up or cluster commands)"
    if "slow" in block.tags and not SLOW:
        return "slow: INITLAB_README_SLOW=1 python -m pytest -n 0 tests/test_readme.py"
    if "data" in block.tags and not os.environ.get("INITLAB_DATA"):
        return "needs the datasets ($INITLAB_DATA)"
    return None


def test_the_readme_blocks_are_all_known():
    """Every block has a language this runner knows; only the set-up and cluster blocks are never run."""
    assert {b.lang for b in BLOCKS} <= {"console", "bash", "python", "text"}, sorted({b.lang for b in BLOCKS})
    for i, b in enumerate(BLOCKS):  # a text block is what the python block before it prints
        assert b.lang != "text" or (i and BLOCKS[i - 1].lang == "python"), b.id
    assert sum("no-run" in b.tags for b in BLOCKS) <= NO_RUN_ALLOWED
    assert not any(b.tags - {"slow", "no-run", "data", "continues"} for b in BLOCKS)
    for b in BLOCKS:
        if b.lang in ("console", "bash") and "no-run" not in b.tags:
            assert all(c.argv[:1] == ["initlab"] or c.argv[0] in SHELL for c in commands_of(b)), b.id


def test_the_matcher_is_not_vacuous():
    assert output_matches(["q*  0.418037", "phase ordered"], ["q* 0.418037", "phase ordered"])
    assert output_matches(["q*  0.418037"], ["q*  0.418038"])  # one unit of the last digit
    assert not output_matches(["q*  0.418037"], ["q*  0.418040"])
    assert not output_matches(["chi1 0.94"], ["chi1 0.93", "extra"])
    assert output_matches(["a", "...", "z 1.5%"], ["a", "b", "c", "z 1.51%"], rtol=0.01)
    assert not output_matches(["x 1.5%"], ["x 1.5"])
    assert output_matches(["done — 0.19 s"], ["done — 12.7 s"])
    assert output_matches(["(66.4 s; width 400, ...)"], ["(8.3 s; width 400, 4 samples)"])
    assert not output_matches(["(66.4 s; width 400, ...)"], ["(8.3 s; width 200, 4 samples)"])
    assert output_matches(["Error: unknown 'x'; ...(valid: a, ...)"], ["Error: unknown 'x'; did you mean (valid: a, b)"])


def _run_console(block: Block, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for cmd in commands_of(block):
        if cmd.argv[0] in SHELL:
            subprocess.run(["bash", "-c", cmd.text], check=True, cwd=tmp_path, timeout=30)
            continue
        env = dict(cmd.env)
        if env.get("INITLAB_DATA"):
            env["INITLAB_DATA"] = os.environ["INITLAB_DATA"]
        env.setdefault("MPLBACKEND", "Agg")
        result = CliRunner().invoke(main, cmd.argv[1:], env=env)
        shown = " ".join(shlex.quote(a) for a in cmd.argv)
        wants_error = any(line.startswith("Error:") for line in cmd.expected)
        if wants_error:
            assert result.exit_code != 0, f"{shown}: expected an error, got exit 0"
        else:
            assert result.exit_code == 0, f"{shown}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
        if block.lang == "console" and any(line.strip() for line in cmd.expected):
            candidates = [result.stdout.splitlines(), result.output.splitlines()]
            if wants_error:
                candidates.append([line for line in result.stderr.splitlines() if line.startswith("Error:")])
            assert any(output_matches(cmd.expected, c, block.rtol) for c in candidates), (
                f"README line {block.line}: `{shown}` printed\n{result.output}\n--- the README shows ---\n"
                + "\n".join(cmd.expected))


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block(block: Block, tmp_path, monkeypatch):
    reason = _skip_reason(block)
    if reason:
        pytest.skip(reason)
    if block.lang in ("console", "bash"):
        _run_console(block, tmp_path, monkeypatch)
        return
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    if block.lang == "text":
        pytest.skip("the output of the python block before it (checked there)")
    i = BLOCKS.index(block)
    shown = BLOCKS[i + 1] if i + 1 < len(BLOCKS) and BLOCKS[i + 1].lang == "text" else None
    namespace: dict = {"__name__": "__readme__"}
    if "continues" in block.tags:
        previous = [b for b in BLOCKS if b.lang == "python" and b.line < block.line][-1]
        exec(compile(previous.source, f"README.md:{previous.line}", "exec"), namespace)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(block.source, f"README.md:{block.line}", "exec"), namespace)
    finally:
        plt.close("all")
    if shown is not None:
        assert output_matches(shown.source.splitlines(), out.getvalue().splitlines(), shown.rtol), (
            f"README line {block.line} printed\n{out.getvalue()}\n--- the README shows (line {shown.line}) ---\n"
            + shown.source)
