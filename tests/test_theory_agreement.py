"""Issue 9 §5: where the measured q leaves the mean-field prediction by more than the trials' spread, the
summary says so; figures that overlay the theory show the spread across trials."""

import numpy as np
import pytest
import pandas as pd
from matplotlib.collections import LineCollection

import initlab
from initlab.plots.layers import correlation_vs_layer, grad_vs_layer, moments_vs_layer
from initlab.sim.finite_width import predicted_spread
from initlab.sim.predict import FLAG_MAX_SHIFT, FLAG_SIGMAS, theory_deviation

HE_GELU = dict(
    init="kaiming", act="gelu", depth=20, width=100, batch=256, trials=12, dtype="float64", seed=0, progress=False
)


def test_he_gelu_deep_layers_are_flagged_and_an_ordered_stack_is_not():
    res = initlab.simulate(**HE_GELU)
    dev = theory_deviation(res.layers)
    assert dev.flag.any() and dev[dev.flag].layer.min() >= 10  # the prediction holds in the first layers
    assert (dev[dev.flag].z > FLAG_SIGMAS).all() and (dev[dev.flag].dev.abs() > 0.01).all()
    # the finite-width theory predicts the trials' spread of log q (issue 21) and explains these deviations:
    spread = predicted_spread(res.config, res.layers)
    fw = theory_deviation(res.layers, spread)
    assert set(fw[fw.flag].layer) <= set(dev[dev.flag].layer)  # flags only where the 1/n expansion ends
    assert (fw[fw.flag].shift_pred.abs() > FLAG_MAX_SHIFT).all() and (fw[fw.flag].z_pred > FLAG_SIGMAS).all()
    early = fw[fw.layer <= 12]
    assert np.all(np.abs(np.log(early.sd_pred[early.layer > 1] / early.log_sd[early.layer > 1])) < np.log(1.5))
    uniform = initlab.simulate(**{**HE_GELU, "init": "he_uniform"})  # outside the finite-width theory
    assert predicted_spread(uniform.config, uniform.layers).sd_pred.isna().all()
    text = uniform.summary()
    assert "q vs theory" in text and "!" in text and "t-test" in text
    tanh = initlab.simulate(
        init="variance_scaling:scale=0.8,mode=fan_in",
        act="tanh",
        bias_init="normal:0.2",
        depth=8,
        width=100,
        batch=64,
        trials=6,
        seed=0,
        progress=False,
    )
    assert not theory_deviation(tanh.layers).flag.any() and "!" not in tanh.summary()


def test_flags_follow_the_definition():
    """A hand-made frame: a layer ~20 standard errors off is flagged, one 0.6 SE off is not; one trial never flags."""
    q = np.array([[1.00, 1.02, 0.98, 1.01], [1.30, 1.32, 1.28, 1.31]])  # two layers x four trials, theory 1
    rows = [
        {
            "config": 0,
            "label": "a",
            "layer": l + 1,
            "trial": t,
            "pre_q": q[l, t],
            "theory_pre_q": 1.0,
            "diverged": False,
        }
        for l in range(2)
        for t in range(4)
    ]
    dev = theory_deviation(pd.DataFrame(rows))
    assert list(dev.flag) == [False, True] and dev.dev.iloc[1] == pytest.approx(q[1].mean() - 1, rel=1e-12)
    one = theory_deviation(pd.DataFrame([r for r in rows if r["trial"] == 0]))
    assert not one.flag.any()


def test_every_theory_overlay_shows_the_spread_across_trials():
    res = initlab.simulate(init="he", act="relu", depth=6, width=64, trials=3, seed=0, progress=False)
    for fig in (moments_vs_layer(res.layers, "q", "pre"), grad_vs_layer(res.layers), correlation_vs_layer(res.layers)):
        bars = [c for ax in fig.axes for c in ax.collections if isinstance(c, LineCollection)]
        assert bars and any(np.ptp(seg[:, 1]) > 0 for c in bars for seg in c.get_segments()), fig
        labels = [
            t.get_text()
            for ax in fig.axes + fig.legends
            for t in (
                ax.get_legend().get_texts()
                if hasattr(ax, "get_legend") and ax.get_legend()
                else ax.get_texts()
                if hasattr(ax, "get_texts")
                else []
            )
        ]
        assert any("min–max over trials" in s for s in labels), labels
