"""Tests of initlab.report and `initlab report`: page counts, atomic writes, determinism, PNG export,
text pages and the command's error paths."""

from __future__ import annotations

import copy
import datetime as dt
import io
import multiprocessing as mp
import os
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

import initlab
import initlab.report.sim as report
from initlab.cli import main
from initlab.sim.config import SimConfig
from initlab.report import (
    THEORY_TABLE_COLUMNS,
    count_pdf_pages,
    save_figures,
    summary_pages,
    theory_page,
    title_page,
    write_report,
)
from synthetic_runs import FakeResult, synthetic

DATE = dt.datetime(2024, 5, 17, 12, 30, tzinfo=dt.timezone.utc)


def tiny_config() -> SimConfig:
    return SimConfig.build(None, inits="xavier,he", acts="tanh", depth=4, width=16, batch=16, trials=1, bins=41)


@dataclass
class Result(FakeResult):
    config: SimConfig
    summary_lines: int = 10

    def summary(self):
        return "\n".join(f"layer {i:3d}   std {0.5 + i:.3f}" for i in range(self.summary_lines))


def theory_table(labels):
    n = len(labels)
    return pd.DataFrame(dict(label=labels, sigma_w2=[1.0] * n, sigma_b2=[0.0] * n, q_star=[0.0] * n,
                             chi1=np.linspace(0.5, 2.0, n), c_star=[1.0] * n, xi_q=[np.inf] * n,
                             xi_c=np.linspace(3, 9, n), phase=["ordered"] * (n - 1) + ["chaotic"]))


@pytest.fixture(scope="module")
def small():
    df, hist = synthetic(configs=(("xavier_normal", "tanh", 1.0), ("he_normal", "tanh", 2.0)), depth=4,
                         trials=1, width=16, batch=16)
    return Result(df, hist, tiny_config())


@pytest.fixture
def cheap_plan(monkeypatch):
    """Replace the figure set by two tiny figures: tests of report assembly need not draw the real ones."""
    def plan(result):
        def make(i):
            def build():
                fig = Figure(figsize=(3, 2))
                fig.add_subplot().plot([0, 1], [i, i + 1])
                fig.suptitle(f"tiny {i}")
                return fig
            return build
        return [(f"fig{i}", f"tiny figure {i}", make(i)) for i in range(2)]
    monkeypatch.setattr(report, "figure_plan", plan)


@pytest.fixture(autouse=True)
def no_global_state():
    before = copy.deepcopy(dict(matplotlib.rcParams))
    yield
    assert dict(matplotlib.rcParams) == before


def _pdf_with_pages(n: int) -> bytes:
    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        for i in range(n):
            fig = Figure(figsize=(2, 2))
            fig.text(0.5, 0.5, f"page {i}")
            pdf.savefig(fig)
    return buf.getvalue()


@pytest.mark.parametrize("n", [1, 3, 7])
def test_page_counter_on_known_pdfs(n):
    data = _pdf_with_pages(n)
    assert data.count(b"/Type /Pages") == 1  # the page-tree node, which must not be counted
    assert count_pdf_pages(data) == n


def test_full_report_pages_and_theory(small, tmp_path, cheap_plan):
    out = tmp_path / "sub" / "r.pdf"
    path = write_report(small, out, title="two tanh stacks", date=DATE,
                        theory=lambda cfg: theory_table(["xavier_normal / tanh", "he_normal / tanh"]))
    assert path == out
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    # title + 1 summary page + 2 figures + theory page (the real figure set: test_cli_report_end_to_end)
    assert count_pdf_pages(data) == 1 + 1 + 2 + 1
    assert sorted(os.listdir(out.parent)) == ["r.pdf"]  # no temporary file left behind
    assert b"two tanh stacks" in data and b"D:20240517123000" in data


def test_one_result_or_a_list_and_theory_page_optional(small, tmp_path, cheap_plan):
    a = count_pdf_pages(write_report(small, tmp_path / "a.pdf", date=DATE, theory=None).read_bytes())
    assert a == 1 + 1 + 2
    b = write_report([small, small], tmp_path / "b.pdf", date=DATE, names=["x", "y"],
                     theory=lambda cfg: theory_table(["xavier_normal / tanh", "he_normal / tanh"]))
    assert count_pdf_pages(b.read_bytes()) == 1 + 2 * (1 + 2 + 1)
    none = write_report(small, tmp_path / "c.pdf", date=DATE, theory=lambda cfg: None)
    assert count_pdf_pages(none.read_bytes()) == a
    with pytest.raises(ValueError, match="names"):
        write_report([small, small], tmp_path / "d.pdf", names=["only one"])
    with pytest.raises(ValueError, match="no results"):
        write_report([], tmp_path / "e.pdf")


def test_long_summary_is_paginated(small, tmp_path, cheap_plan):
    # 400 lines of 21 characters at 8 pt: 45 lines per column, 5 columns side by side → 9 columns, 2 pages
    long = Result(small.layers, small.histograms, tiny_config(), summary_lines=400)
    pages = summary_pages(long, "run")
    assert len(pages) == 2
    shown = [ln for fig in pages for t in fig.texts if "std" in t.get_text() for ln in t.get_text().split("\n")]
    assert shown == long.summary().splitlines()  # every line once, in order
    pdf = write_report(long, tmp_path / "long.pdf", date=DATE, theory=None)
    assert count_pdf_pages(pdf.read_bytes()) == 1 + 2 + 2


def test_summary_columns_keep_config_blocks_whole():
    from initlab.report.pages import _columns

    lines = []
    for b in range(5):
        lines += [f"config {b}"] + [f"  row {i}" for i in range(9)] + [""]
    cols = _columns(lines, 25)
    assert [len(c) for c in cols] == [21, 21, 10]  # two blocks of 10 and a blank line per column
    assert all(c[0].startswith("config") for c in cols)
    long = _columns([f"r{i}" for i in range(60)], 25)  # one block longer than a column is split
    assert [len(c) for c in long] == [25, 25, 10]


def test_same_inputs_and_date_give_same_bytes(small, tmp_path, cheap_plan):
    a = write_report(small, tmp_path / "a.pdf", date=DATE).read_bytes()
    b = write_report(small, tmp_path / "b.pdf", date=DATE).read_bytes()
    assert a == b
    c = write_report(small, tmp_path / "c.pdf", date=DATE + dt.timedelta(days=1)).read_bytes()
    assert c != a


def test_failed_report_leaves_the_old_file_untouched(small, tmp_path, monkeypatch):
    target = tmp_path / "r.pdf"
    target.write_bytes(b"previous report")

    def broken(result):
        def boom():
            raise RuntimeError("figure failed")
        return [("ok", "fine", lambda: Figure()), ("bad", "broken", boom)]

    monkeypatch.setattr(report, "figure_plan", broken)
    with pytest.raises(RuntimeError, match="figure failed"):
        write_report(small, target, date=DATE)
    assert target.read_bytes() == b"previous report"
    assert sorted(os.listdir(tmp_path)) == ["r.pdf"]


def test_save_figures_writes_pngs_atomically(small, tmp_path, cheap_plan):
    paths = save_figures(small, tmp_path / "run")
    assert [p.name for p in paths] == ["fig0.png", "fig1.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path / "run")) == ["fig0.png", "fig1.png"]


def test_title_page_shows_version_date_config_and_contents(small):
    fig = title_page([small], "My title", DATE, ["run_a"], [("summary", 2), ("gradient norms", 3)])
    texts = [t.get_text() for t in fig.texts]
    assert "My title" in texts
    assert any(initlab.__version__ in t and "2024-05-17" in t for t in texts)
    assert "run_a" in texts and "xavier_normal, he_normal" in texts and "projection" in texts and "41" in texts
    assert "gradient norms" in texts and "3" in texts


def test_theory_page(small):
    assert theory_page(None) is None
    assert theory_page(pd.DataFrame(columns=list(THEORY_TABLE_COLUMNS))) is None
    with pytest.raises(ValueError, match="chi1"):
        theory_page(theory_table(["a"]).drop(columns="chi1"))
    fig = theory_page(theory_table(["xavier_normal / tanh", "he_normal / tanh"]), "run")
    texts = [t.get_text() for t in fig.texts]
    assert {"ordered", "chaotic", "∞", "q*", "χ₁"} <= set(texts)
    (ax,) = fig.get_axes()  # χ₁ per config against the boundary χ₁ = 1
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["xavier_normal / tanh", "he_normal / tanh"]


def test_default_theory_hook_returns_the_fixed_point_table(small):
    table = report.default_theory_table(small.config)
    assert list(table["label"]) == ["xavier_normal / tanh", "he_normal / tanh"]
    xavier, he = table.iloc[0], table.iloc[1]
    # tanh without bias: chi1 = sigma_w2 at q* = 0; Xavier on equal widths gives sigma_w2 = 1 (critical), He 2 (chaotic)
    assert xavier["sigma_w2"] == pytest.approx(1.0) and he["sigma_w2"] == pytest.approx(2.0)
    assert he["phase"] == "chaotic" and he["q_star"] > 0 and he["chi1"] > 1


# ---------------------------------------------------------------------------------------- CLI

def test_cli_help_has_an_example():
    res = CliRunner().invoke(main, ["report", "--help"])
    assert res.exit_code == 0
    assert "Example" in res.output and "initlab report" in res.output


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "does not exist"),
    (lambda p: p.write_text("x"), "not a directory"),
    (lambda p: (p.mkdir(), (p / "layers.csv").write_text("")), "missing config.json, histograms.npz"),
])
def test_cli_bad_run_dir_is_one_line_exit_2(tmp_path, setup, message):
    run = tmp_path / "run"
    setup(run)
    res = CliRunner().invoke(main, ["report", str(run), "-o", str(tmp_path / "r.pdf")])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0]
    assert not (tmp_path / "r.pdf").exists()


def test_cli_needs_run_dirs_and_output(tmp_path):
    assert CliRunner().invoke(main, ["report", "-o", str(tmp_path / "r.pdf")]).exit_code == 2
    assert CliRunner().invoke(main, ["report", str(tmp_path)]).exit_code == 2


# ------------------------------------------------------------------------- with the real engine

@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    from initlab.sim.engine import simulate

    res = simulate(init="xavier,normal:0.01", act="tanh", depth=3, width=16, batch=16, seed=1, progress=False)
    return res, res.to_dir(tmp_path_factory.mktemp("runs") / "tiny")


def test_cli_report_end_to_end(saved_run, tmp_path):
    res, run = saved_run
    out = tmp_path / "out" / "tiny.pdf"
    cli = CliRunner().invoke(main, ["report", str(run), "-o", str(out), "--title", "Tiny"])
    assert cli.exit_code == 0, cli.output
    n_theory = int(report.theory_page(report.default_theory_table(res.config)) is not None)
    n_pages = 1 + len(summary_pages(res, "tiny")) + 8 + n_theory
    assert count_pdf_pages(out.read_bytes()) == n_pages
    assert cli.stdout.strip() == f"wrote {out} ({n_pages} pages, 1 run)"
    assert sorted(os.listdir(out.parent)) == ["tiny.pdf"]


def test_cli_report_corrupt_run_is_one_line_exit_2(saved_run, tmp_path):
    import shutil

    _, run = saved_run
    for name, junk in (("config.json", "{not json"), ("histograms.npz", "PK\x03\x04 broken"),
                       ("layers.csv", "a,b\n1,2\n")):
        bad = tmp_path / f"bad_{name}"
        shutil.copytree(run, bad)
        (bad / name).write_text(junk)
        res = CliRunner().invoke(main, ["report", str(bad), "-o", str(tmp_path / "r.pdf")])
        assert res.exit_code == 2, (name, res.output)
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: cannot read run '{bad}'"), res.output
    assert not (tmp_path / "r.pdf").exists()


def test_many_runs_list_one_contents_line_per_run(small, tmp_path, cheap_plan, monkeypatch):
    seen = {}
    real = report.title_page

    def spy(results, title, date, names, contents=()):
        seen["contents"] = list(contents)
        return real(results, title, date, names, contents)

    monkeypatch.setattr(report, "title_page", spy)
    monkeypatch.setattr(report, "_MAX_CONTENTS", 8)
    pdf = write_report([small] * 3, tmp_path / "many.pdf", date=DATE, theory=None)
    assert count_pdf_pages(pdf.read_bytes()) == 1 + 3 * 3
    assert seen["contents"] == [(f"run {i + 1}: summary, figures, theory (pages {2 + 3 * i}–{4 + 3 * i})", 2 + 3 * i)
                                for i in range(3)]
    write_report([small] * 2, tmp_path / "two.pdf", date=DATE, theory=None)  # 6 entries: one per page
    assert seen["contents"][:2] == [("run 1: summary", 2), ("run 1: tiny figure 0", 3)]


# ------------------------------------------------------------------ figures built once, drawn twice

def test_simulate_out_and_report_build_each_figure_once(tmp_path, monkeypatch):
    import initlab.plots.plan as plots

    calls = {}

    def counting(name):
        real = getattr(plots, name)

        def wrapper(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)
        return wrapper

    builders = ("histogram_grid", "moments_vs_layer", "grad_vs_layer", "saturation_vs_layer",
                "correlation_vs_layer", "activation_gallery")
    for name in builders:
        monkeypatch.setattr(plots, name, counting(name))
    out, pdf = tmp_path / "run", tmp_path / "r.pdf"
    res = CliRunner().invoke(main, ["simulate", "--init", "xavier,he", "--act", "tanh,relu", "--depth", "3",
                                    "--width", "16", "--batch", "16", "--out", str(out), "--report", str(pdf)])
    assert res.exit_code == 0, res.output
    # one call per figure of the plan (act and pre histograms, act and pre moments), not one per file
    assert calls == {"histogram_grid": 2, "moments_vs_layer": 2, "grad_vs_layer": 1, "saturation_vs_layer": 1,
                     "correlation_vs_layer": 1, "activation_gallery": 1}
    assert len(list(out.glob("*.png"))) == 8 and count_pdf_pages(pdf.read_bytes()) >= 1 + 1 + 8


def test_shared_figures_give_the_same_pngs_and_pdf(small, tmp_path):
    fresh_pngs = save_figures(small, tmp_path / "a")
    fresh_pdf = write_report(small, tmp_path / "a.pdf", date=DATE, theory=None).read_bytes()
    # each figure built once, drawn at 120 dpi for the PNGs and into the PDF, in one process (the default)
    # and with the PNGs drawn in a forked child
    for name, parallel in (("b", False), ("c", True)):
        pngs, pdf = report.save_figures_and_report(small, tmp_path / name, tmp_path / f"{name}.pdf", date=DATE,
                                                   theory=None, parallel=parallel)
        assert pdf.read_bytes() == fresh_pdf  # byte for byte the same report
        assert [p.name for p in pngs] == [p.name for p in fresh_pngs]
        assert [p.read_bytes() for p in pngs] == [p.read_bytes() for p in fresh_pngs]


def test_save_figures_and_report_in_one_process_and_failures(small, tmp_path, cheap_plan, monkeypatch):
    pngs, pdf = report.save_figures_and_report(small, tmp_path / "run", tmp_path / "r.pdf", parallel=False,
                                               date=DATE, theory=None)
    assert [p.name for p in pngs] == ["fig0.png", "fig1.png"] and all(p.exists() for p in pngs)
    assert count_pdf_pages(pdf.read_bytes()) == 1 + 1 + 2

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "save_figures", broken)
    with pytest.raises(OSError, match="disk full"):
        report.save_figures_and_report(small, tmp_path / "x", tmp_path / "x.pdf", parallel=False, theory=None)
    if "fork" in mp.get_all_start_methods():  # the child's error comes back; the PDF is written all the same
        with pytest.raises(RuntimeError, match="could not write the PNG figures .*: OSError: disk full"):
            report.save_figures_and_report(small, tmp_path / "y", tmp_path / "y.pdf", parallel=True, date=DATE,
                                           theory=None)
        assert count_pdf_pages((tmp_path / "y.pdf").read_bytes()) == 1 + 1 + 2


def test_shared_figures_in_a_multi_run_report_keep_their_titles(small, tmp_path, cheap_plan):
    plan = report.figure_plan(small)
    figs = [{key: make() for key, _, make in plan} for _ in range(2)]
    titles = [f.get_suptitle() for d in figs for f in d.values()]
    drawn = []
    for d in figs:
        for f in d.values():  # PdfPages.savefig calls fig.savefig: note the title it draws
            f.savefig = lambda *a, f=f, **k: (drawn.append(f.get_suptitle()), Figure.savefig(f, *a, **k))
    pdf = write_report([small, small], tmp_path / "two.pdf", date=DATE, names=["x", "y"], theory=None,
                       figures=figs)
    assert count_pdf_pages(pdf.read_bytes()) == 1 + 2 * (1 + 2)
    assert drawn == ["x: tiny 0", "x: tiny 1", "y: tiny 0", "y: tiny 1"]
    assert [f.get_suptitle() for d in figs for f in d.values()] == titles  # the prefix only while drawn
    with pytest.raises(ValueError, match="figure sets"):
        write_report([small, small], tmp_path / "bad.pdf", figures=figs[:1])
