"""Tests of initlab.plots: every figure builds from synthetic tidy frames (1 and 3 configs, with and
without theory, with a diverged config), touches no global matplotlib state, and draws what it says."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch

from initlab.activations import ACTIVATIONS, get_activation
from initlab.plots import (
    PALETTE,
    activation_gallery,
    correlation_vs_layer,
    figures_for,
    grad_vs_layer,
    histogram_grid,
    moments_vs_layer,
    pick_layers,
    saturation_vs_layer,
)
from initlab.plots.gallery import activation_curve
from initlab.plots.hist import PANEL_PITCH
from synthetic_runs import CONFIGS3, FakeResult, synthetic

@pytest.fixture(scope="module")
def three():
    return synthetic()


@pytest.fixture(scope="module")
def three_theory_diverged():
    return synthetic(theory=True, diverge=(1, 5))


@pytest.fixture(scope="module")
def one():
    return synthetic(configs=CONFIGS3[:1], trials=1)


pytestmark = pytest.mark.usefixtures("no_global_style")  # every test leaves matplotlib's rcParams as it found them


def _render(fig: Figure) -> None:
    """Draw for real (layout, mathtext, every artist): errors that only appear at draw time surface here."""
    fig.savefig(io.BytesIO(), format="png", dpi=30)


def _config_lines(ax, color, solid_only=False):
    out = []
    for ln in ax.get_lines():
        if not matplotlib.colors.same_color(ln.get_color(), color):
            continue
        if solid_only and (ln.get_marker() not in ("None", None, "") or ln.get_linestyle() != "-"):
            continue
        out.append(ln)
    return out


def _vlines_at(ax, x):
    return [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 2 and np.allclose(ln.get_xdata(), x)
            and ln.get_linestyle() != "-"]


def _legend_texts(fig):
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


# --------------------------------------------------------------------------------- layer plots

LAYER_PLOTS = {
    "moments_act": (lambda df: moments_vs_layer(df, "std", "act"), 2),
    "moments_pre_q": (lambda df: moments_vs_layer(df, "q", "pre"), 2),
    "gradients": (grad_vs_layer, 2),
    "saturation": (saturation_vs_layer, 2),
    "correlation": (correlation_vs_layer, 1),
}


@pytest.mark.parametrize("name", list(LAYER_PLOTS))
@pytest.mark.parametrize("data", ["one", "three", "three_theory_diverged"])
def test_layer_plot_structure(name, data, request):
    df, _ = request.getfixturevalue(data)
    make, n_axes = LAYER_PLOTS[name]
    fig = make(df)
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert len(axes) == n_axes
    n_cfg = df["config"].nunique()
    for ax in axes:  # every config is drawn in its palette colour on every panel
        for c in range(n_cfg):
            assert _config_lines(ax, PALETTE[c]) or any(
                matplotlib.colors.same_color(col.get_edgecolor()[0], PALETTE[c]) for col in ax.collections
                if len(col.get_edgecolor())), (name, c)
    labels = _legend_texts(fig)
    assert sum(any(t.startswith(lab) for t in labels) for lab in df["label"].unique()) == n_cfg
    if data == "three_theory_diverged":
        assert any("diverged at layer 5" in t for t in labels)
        for ax in axes:  # dotted line at the first diverged layer, in that config's colour
            v = _vlines_at(ax, 5.0)
            assert v and matplotlib.colors.same_color(v[0].get_color(), PALETTE[1])
        assert any(t.get_text() == "diverged at layer 5" for t in axes[0].texts)
        _render(fig)


def test_measured_values_are_the_trial_means(three):
    df, _ = three
    fig = moments_vs_layer(df, "std", "act")
    ax_std = fig.get_axes()[1]
    for c in range(3):
        (line,) = _config_lines(ax_std, PALETTE[c])
        want = df[df.config == c].groupby("layer")["act_std"].mean().to_numpy()
        np.testing.assert_allclose(line.get_ydata(), want, rtol=1e-12)
        # shifted a little along x so coinciding configs stay visible: -0.08, 0, +0.08
        np.testing.assert_allclose(line.get_xdata(), np.arange(1, 9) + (c - 1) * 0.08, rtol=1e-12)
    # a min–max band across the 2 trials for each config
    assert len(ax_std.collections) == 3


@pytest.mark.parametrize("make, theory_col", [
    (lambda df: moments_vs_layer(df, "std", "pre"), "theory_pre_std"),
    (lambda df: moments_vs_layer(df, "q", "pre"), "theory_pre_q"),
    (grad_vs_layer, "theory_grad_ratio"),
    (correlation_vs_layer, "theory_pre_corr"),
])
@pytest.mark.parametrize("with_theory", [False, True])
def test_theory_lines_only_when_present(make, theory_col, with_theory, three, three_theory_diverged):
    df = (three_theory_diverged if with_theory else three)[0]
    fig = make(df)
    ax = fig.get_axes()[-1] if theory_col.startswith("theory_pre_") and len(fig.get_axes()) == 2 else fig.get_axes()[0]
    solid = [ln for c in range(3) for ln in _config_lines(ax, PALETTE[c], solid_only=True)]
    if with_theory:
        assert len(solid) == 3  # one theory line per config, measurement as points with bars
        want = df[df.config == 0].groupby("layer")[theory_col].mean().to_numpy()
        np.testing.assert_allclose(solid[0].get_ydata(), want, rtol=1e-12)
        assert any("mean-field theory" in t for t in _legend_texts(fig))
    else:
        assert solid == []
        assert not any("theory" in t for t in _legend_texts(fig))


def test_log_scale_only_when_values_span_decades(three, one):
    assert moments_vs_layer(three[0], "std", "pre").get_axes()[1].get_yscale() == "log"  # N(0, 0.01) collapses
    assert moments_vs_layer(one[0], "std", "act").get_axes()[1].get_yscale() == "linear"
    assert grad_vs_layer(three[0]).get_axes()[0].get_yscale() == "log"
    sat = saturation_vs_layer(three[0]).get_axes()
    assert [a.get_ylim() for a in sat] == [(-3, 103), (-3, 103)]


def test_symlog_mean_when_one_config_explodes():
    df, _ = synthetic(configs=(("xavier_normal", "tanh", 1.0), ("normal:1", "linear", 16.0)), depth=10, trials=1)
    ax_mean = moments_vs_layer(df, "std", "act").get_axes()[0]
    assert ax_mean.get_yscale() == "symlog"
    df, _ = synthetic(configs=CONFIGS3[:2], depth=4, trials=1)
    assert moments_vs_layer(df, "std", "act").get_axes()[0].get_yscale() == "linear"


def test_fully_diverged_config_and_all_nan_columns_do_not_crash():
    df, hist = synthetic(configs=CONFIGS3[:2], depth=4, trials=1, diverge=(1, 1))
    df = df.copy()
    df["pre_corr"] = np.nan
    for make, _ in LAYER_PLOTS.values():
        fig = make(df)
        assert any("diverged at layer 1" in t for t in _legend_texts(fig))
    _render(correlation_vs_layer(df))
    fig = histogram_grid(hist, df=df)
    assert sum(t.get_text() == "diverged" for ax in fig.get_axes() for t in ax.texts) == 4
    _render(fig)


def test_bad_input_is_a_clear_error(three):
    df, hist = three
    with pytest.raises(ValueError, match="stat"):
        moments_vs_layer(df, stat="var")
    with pytest.raises(ValueError, match="kind"):
        moments_vs_layer(df, kind="post")
    with pytest.raises(ValueError, match="grad_pre_ratio"):
        grad_vs_layer(df.drop(columns="grad_pre_ratio"))
    with pytest.raises(ValueError, match="empty"):
        saturation_vs_layer(df.iloc[:0])
    with pytest.raises(ValueError, match="layers"):
        histogram_grid(hist, layers=[0, 3])
    with pytest.raises(ValueError, match="kind"):
        histogram_grid(hist, kind="grad")


def test_draws_into_a_given_figure_or_axes(three):
    df, _ = three
    fig = Figure()
    assert moments_vs_layer(df, fig=fig) is fig and len(fig.get_axes()) == 2
    fig2 = Figure()
    ax = fig2.add_subplot(1, 2, 2)
    assert correlation_vs_layer(df, ax=ax) is fig2 and fig2.get_axes() == [ax]


# --------------------------------------------------------------------------------- histograms

def test_pick_layers():
    assert pick_layers(7) == list(range(1, 8))
    p = pick_layers(100)
    assert len(p) == 10 and p[0] == 1 and p[-1] == 100 and p == sorted(set(p))
    assert pick_layers(30, 4) == [1, 11, 20, 30]


def _steps(ax):
    """The step histograms of a histogram-grid row, in column order."""
    return [a for a in ax.patches if isinstance(a, StepPatch)]


def _panel_range(ax, patch, column):
    """The value range that panel ``column`` of the row shows, read back from the patch's transform."""
    aff = patch.get_transform() - ax.transData
    lo, hi = (aff.inverted().transform((column * PANEL_PITCH + d, 0.0))[0] for d in (0.0, 1.0))
    return round(lo, 12), round(hi, 12)


def _layer_titles(ax):
    return [t.get_text() for t in ax.texts if t.get_text().startswith("layer")]


@pytest.mark.parametrize("data, n_rows", [("one", 1), ("three", 3)])
@pytest.mark.parametrize("kind", ["act", "pre"])
def test_histogram_grid_panels(data, n_rows, kind, request):
    df, hist = request.getfixturevalue(data)
    fig = histogram_grid(hist, kind=kind, df=df)
    axes = fig.get_axes()
    assert len(axes) == n_rows  # one axes per config row, its 8 layer panels side by side
    counts = getattr(hist, f"{kind}_counts").sum(axis=1)
    for cfg, ax in enumerate(axes):
        steps = _steps(ax)  # one filled step histogram per panel
        assert [p.get_gid() for p in steps] == [f"layer {l}" for l in range(1, 9)]
        for layer, patch in enumerate(steps):
            vals = patch.get_data().values
            want = counts[cfg, layer] / counts[cfg, layer].sum()
            np.testing.assert_allclose(vals.sum(), 1.0, rtol=1e-12)  # fractions of the entries
            np.testing.assert_allclose(vals[vals > 0], want[want > 0], rtol=1e-12)  # empty bins may be cut
            assert matplotlib.colors.same_color(patch.get_facecolor()[:3], PALETTE[cfg])
        # x-range shared along each row
        assert len({_panel_range(ax, p, c) for c, p in enumerate(steps)}) == 1
    # mean and std of each panel in its title; layer numbers on the top row
    titles = [t.get_text() for t in axes[0].texts if "σ" in t.get_text()]
    assert len(titles) == 8 and titles[0].startswith("layer 1\nμ ")
    assert sum("σ" in t.get_text() for t in axes[-1].texts) == 8
    assert bool(_layer_titles(axes[-1])) == (n_rows == 1)


def test_histogram_grid_deep_stack_and_subsets():
    df, hist = synthetic(configs=CONFIGS3[:1], depth=30, trials=1, width=16, batch=16)
    fig = histogram_grid(hist)
    (ax,) = fig.get_axes()
    assert len(_steps(ax)) == 10 and _layer_titles(ax)[-1] == "layer 30"
    fig = histogram_grid(hist, layers=[2, 5], configs=[0])
    assert _layer_titles(fig.get_axes()[0]) == ["layer 2", "layer 5"]
    assert fig.get_size_inches()[0] < histogram_grid(hist).get_size_inches()[0]  # the size follows the grid


def test_histogram_grid_diverged_and_rendered(three_theory_diverged):
    df, hist = three_theory_diverged
    fig = histogram_grid(hist, df=df)
    row = fig.get_axes()[1]  # config 1 diverged at layer 5
    assert [p.get_gid() for p in _steps(row)] == [f"layer {l}" for l in range(1, 5)]
    diverged = [t for t in row.texts if t.get_text() == "diverged"]
    assert [round(t.get_position()[0] / PANEL_PITCH - 0.5) for t in diverged] == [4, 5, 6, 7]  # columns
    _render(fig)


def test_relu_spike_is_clipped_and_labelled(three):
    _, hist = three
    row = histogram_grid(hist).get_axes()[2]  # he_normal / relu, layer 1: about half the outputs are 0
    labels = [t.get_text() for t in row.texts]
    assert labels and labels[0].endswith("%") and 35 <= float(labels[0][:-1]) <= 65
    first = _steps(row)[0]
    aff = first.get_transform() - row.transData
    assert aff.transform((0.0, max(first.get_data().values)))[1] > row.get_ylim()[1]  # cut at the panel top


# ---------------------------------------------------------------------------------- gallery

@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_gallery_covers_every_activation(name):
    act = get_activation(name)
    fig = activation_gallery([name])
    (ax,) = [a for a in fig.get_axes() if a.get_visible()]
    assert ax.get_title().startswith(act.spec)
    assert ("can die" in ax.get_title()) == bool(act.can_die)
    x = np.linspace(-5, 5, 801)
    phi, dphi, pieces = activation_curve(act, x)
    assert np.isfinite(phi).all() and np.isfinite(dphi).all()
    solid = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata()) == 801]
    np.testing.assert_allclose(solid[-1].get_ydata(), phi)
    if pieces is None:
        np.testing.assert_allclose(phi, act.fn(x), rtol=1e-12)
        np.testing.assert_allclose(dphi, act.grad(x), rtol=1e-12)
        sat = np.abs(act.grad(x)) < act.saturation_threshold()
        # one shaded band per run of saturated grid points
        runs = int(np.sum(np.diff(np.concatenate([[0], sat.astype(int)])) == 1))
        assert len(ax.patches) == runs
    else:  # maxout: the largest tangent piece, slope of the winner
        np.testing.assert_allclose(phi, pieces.max(axis=1))
        assert len(ax.patches) == 0


def test_gallery_default_is_the_whole_registry():
    fig = activation_gallery()
    visible = [a for a in fig.get_axes() if a.get_visible()]
    assert len(visible) == len(ACTIVATIONS.names())
    assert sorted(a.get_title().split()[0] for a in visible) == sorted(
        get_activation(n).spec for n in ACTIVATIONS.names())
    _render(activation_gallery(["tanh", "maxout:3"]))  # legend mathtext and the maxout extras draw


# ----------------------------------------------------------------------------------- figures_for

def test_figures_for_in_report_order():
    df, hist = synthetic(configs=CONFIGS3[1:], depth=4, trials=2, width=16, batch=16, theory=True, diverge=(0, 3))
    figs = figures_for(FakeResult(df, hist))
    assert list(figs) == ["histograms_act", "histograms_pre", "moments_act", "moments_pre", "gradients",
                          "saturation", "correlation", "activations"]
    assert all(isinstance(f, Figure) for f in figs.values())
    assert len([a for a in figs["activations"].get_axes() if a.get_visible()]) == 2  # tanh and relu
    no_hist = figures_for(FakeResult(df, None))
    assert "histograms_act" not in no_hist and len(no_hist) == 6
    for key in ("moments_pre", "gradients"):
        _render(figs[key])


# ---------------------------------------------------------------------------- with the real engine

def test_real_simulation_with_a_diverging_config():
    from initlab.sim.engine import simulate

    res = simulate(init="xavier,normal:1000", act="linear,tanh", depth=12, width=16, batch=16, seed=0,
                   progress=False)
    assert res.diverged_at_layer["normal:std=1000 / linear"] == 11  # float32 overflow
    figs = figures_for(res)
    assert len(figs) == 8
    for key in ("moments_act", "gradients", "saturation", "correlation"):
        texts = _legend_texts(figs[key])
        assert any(t.startswith("normal:std=1000 / linear") and "diverged at layer 11" in t for t in texts)
    hist_axes = figs["histograms_act"].get_axes()
    assert len(hist_axes) == 4  # 4 configs × 10 of 12 layers
    row = hist_axes[2]  # config 2 = normal:1000 / linear; layers 1, 2, 3, 5, 6, 7, 8, 10, 11, 12
    assert [p.get_gid() for p in _steps(row)] == [f"layer {l}" for l in (1, 2, 3, 5, 6, 7, 8, 10)]
    assert sum(t.get_text() == "diverged" for t in row.texts) == 2
    _render(figs["histograms_act"])


def test_histogram_grid_takes_a_result_or_its_histograms():
    from initlab import simulate

    res = simulate(init="he", act="relu", depth=3, width=16, batch=16, progress=False)
    from_result = histogram_grid(res)
    from_parts = histogram_grid(res.histograms, df=res.layers)
    assert [t.get_text() for t in from_result.axes[0].texts] == [t.get_text() for t in from_parts.axes[0].texts]
    assert any("σ" in t.get_text() for t in from_result.axes[0].texts)  # the frame's moments reached the titles


def test_histogram_rows_whose_layer_ranges_differ_get_their_own_x_ranges():
    from initlab.schema import Histograms

    B, L = 40, 3
    edges = np.linspace(-1000.0, 1000.0, B + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    counts = np.zeros((2, 1, L, B), dtype=np.int64)
    for layer, scale in enumerate((10.0, 200.0, 900.0)):  # the scale grows 90x through the stack
        counts[0, 0, layer] = np.round(1000 * np.exp(-0.5 * (centres / scale) ** 2))
        counts[1, 0, layer] = np.round(1000 * np.exp(-0.5 * (centres / 500.0) ** 2))  # one scale throughout
    hist = Histograms(("grows", "steady"), np.stack([edges, edges]), counts, np.stack([edges, edges]), counts)
    fig = histogram_grid(hist)
    own, shared = (ax.get_xticks() for ax in fig.axes)
    assert max(own) > 2 * PANEL_PITCH and max(shared) < 1.0  # ticks under every panel vs under the first only
    # each panel zoomed to its own values: layer 1's ticks span a much narrower range than layer 3's
    labels = [float(t.get_text().replace("−", "-")) for t in fig.axes[0].get_xticklabels()]
    pos = fig.axes[0].get_xticks()
    first = [v for v, p in zip(labels, pos) if p < 1.0]
    last = [v for v, p in zip(labels, pos) if p > 2 * PANEL_PITCH]
    assert max(map(abs, first)) * 5 < max(map(abs, last))
