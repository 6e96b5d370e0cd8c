"""Fuzz the newer commands (issue 19): ``sweep``, ``spectrum`` and ``study trainability``.

Every case exits 0 or with one ``Error:`` line (exit 2, or 1 for a failed point), never with a traceback or a
RuntimeWarning (pytest makes it an error), and leaves no temporary file. Seeded (``derandomize``) and bounded:
tiny sizes that run in a fraction of a second, mixed with values that must be refused before any work
(non-finite, negative, absurdly large, garbage text). A study case always carries one bad value, so that it is
refused before training starts (a good one trains on MNIST for minutes). The counts are printed at the end
(``-s``) and checked: every command got cases of both kinds.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from initlab.cli import main

# option -> (values that should run, values that must be refused before any work)
SWEEP_AXES = {
    "--act": (["tanh", "relu", "tanh,relu", "selu", "leaky_relu:0.2"], ["bogus", "", "maxout:0", "leaky_relu:1e300"]),
    "--sigma-w2": (["1", "0.5,2", "1:2:3", "log:0.5:2:2"], ["nan", "-1", "0", "1:2:0", "1:inf:3", "x", "1:2:1e12"]),
    "--sigma-b2": (["0", "0.05,0.1"], ["-0.1", "inf", "nan", "a,b"]),
    "--depth": (["2", "3", "2,4"], ["0", "1.5", "1e30", "-2", "2:3:1000000000"]),
    "--width": (["4", "6,8"], ["0", "1e12", "x"]),
    "--batch": (["4", "8"], ["1", "1e15", "-4"]),
    "--trials": (["1", "2"], ["0", "1e9"]),
    "--seed": (["0", "1,2"], ["-1", "0:999999:1000000000"]),
    "--dropout": (["0", "0.2"], ["1", "nan", "-0.5"]),
    "--input": (["pairs:c0=0.5", "gaussian"], ["given", "pairs:c0=2", "x"]),
}
SWEEP_FLAGS = {
    "--zip": (["sigma_w2,sigma_b2"], ["sigma_w2,sigma_w2", "a,a", "sigma_w2"]),
    "--batch-size": (["1", "3"], ["0", "-1"]),
    "--max-points": (["100"], ["0", "-5"]),
    "--keep": (["summary", "layers"], ["all"]),
}
SPECTRUM_OPTIONS = {
    "--act": (["tanh", "relu", "tanh,relu", "erf"], ["maxout:2", "bogus", ""]),
    "--init": (["orthogonal", "gaussian", "orthogonal,gaussian"], ["xavier", ""]),
    "--depth": (["1", "2,4", "3"], ["0", "1.5", "x", "100000000"]),
    "--sigma-w2": (["critical", "1.2", "0.9"], ["nan", "1e-300", "-1", "inf", "1e300"]),
    "--sigma-b2": (["0.05", "0"], ["nan", "-1", "inf"]),
    "--samples": (["1", "2"], ["0", "-1"]),
    "--seed": (["0", "3"], ["-1", "x"]),
}
STUDY_OPTIONS = {
    "--act": (["tanh"], ["bogus", "maxout:0"]),
    "--sigma-b2": (["0.05"], ["nan", "-1", "inf"]),
    "--sigma-w2": (["1:2:2", "1.5"], ["0", "nan", "x", "-1,2"]),
    "--depth": (["2,3"], ["0", "1.5", "x"]),
    "--width": (["8"], ["0", "-1", "1e6"]),
    "--lr": (["0.01"], ["0", "nan", "-1", "inf"]),
    "--threshold": (["0.5"], ["nan", "2", "-0.1"]),
    "--dropout": (["0.1"], ["1", "nan"]),
    "--steps": (["10"], ["0", "x"]),
}

pytestmark = pytest.mark.slow
COUNTS: dict[str, dict[str, int]] = {}


def _case(options: dict, always_bad: bool = False) -> st.SearchStrategy[list[str]]:
    names = sorted(options)

    @st.composite
    def build(draw):
        chosen = [n for n in names if draw(st.booleans())] or [names[0]]
        values = {n: draw(st.sampled_from(options[n][0])) for n in chosen}
        if always_bad or draw(st.booleans()):
            bad = draw(st.sampled_from(chosen))
            values[bad] = draw(st.sampled_from(options[bad][1]))
        return [x for n in chosen for x in (n, values[n])]

    return build()


def _check(cmd: str, args: list[str], folder) -> None:
    before = set(os.listdir(folder))
    r = CliRunner().invoke(main, args)
    c = COUNTS.setdefault(cmd, {"cases": 0, "ok": 0, "refused": 0, "failed_points": 0})
    c["cases"] += 1
    assert r.exit_code in (0, 1, 2), (args, r.exit_code, r.output[-2000:], r.exception)
    assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
    assert "Traceback" not in r.output, args
    if r.exit_code:
        errors = [line for line in r.stderr.splitlines() if line.startswith(("Error:", "first failure:"))]
        assert len(errors) == 1, (args, r.stderr)
        c["refused" if r.exit_code == 2 else "failed_points"] += 1
        if r.exit_code == 2:  # refused before any work: nothing was made
            assert set(os.listdir(folder)) == before, (args, sorted(set(os.listdir(folder)) - before))
    else:
        c["ok"] += 1
    assert not [p for p in os.listdir(folder) if p.endswith(".tmp")], args


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz")
    yield path
    print("\nfuzz counts:", COUNTS)


@settings(max_examples=20, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_case(SWEEP_AXES), _case(SWEEP_FLAGS), st.integers(0, 10**6))
def _sweep_cases(folder, axes, flags, n):
    if "--zip" in flags and ("--sigma-b2" not in axes or "--sigma-w2" not in axes):
        axes = axes + [a for a in ("--sigma-w2", "--sigma-b2") if a not in axes for a in (a, "1,2")]
    store = folder / f"s{n}.sqlite"
    _check("sweep", ["sweep", "--store", str(store), "--workers", "1", "--no-progress", *flags, *axes], folder)
    for p in folder.glob(f"s{n}.sqlite*"):
        p.unlink()


@settings(max_examples=15, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_case(SPECTRUM_OPTIONS))
def _spectrum_cases(folder, opts):
    _check("spectrum", ["spectrum", "--width", "12", *opts], folder)


@settings(max_examples=15, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_case(STUDY_OPTIONS, always_bad=True))
def _study_cases(folder, opts):
    _check("study", ["study", "trainability", "--subset", "10", "--test-subset", "10", *opts], folder)


# Each test checks its own counts (the cases of one command run in one process, wherever xdist puts it): the
# fuzz both ran cases and was refused somewhere, so it is not vacuous.
def test_sweep_options_never_crash(folder):
    _sweep_cases(folder)
    assert COUNTS["sweep"]["refused"] > 0 and COUNTS["sweep"]["ok"] > 0, COUNTS


def test_spectrum_options_never_crash(folder):
    _spectrum_cases(folder)
    assert COUNTS["spectrum"]["refused"] > 0 and COUNTS["spectrum"]["ok"] > 0, COUNTS


def test_study_options_are_refused_before_any_work(folder):
    _study_cases(folder)
    assert COUNTS["study"]["refused"] == COUNTS["study"]["cases"] > 0, COUNTS
