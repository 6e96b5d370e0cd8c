"""Watching training: update/weight ratios, histograms, get_layer, ModelCheckpoint, CSVLogger, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from initlab._spec import ConfigError
from initlab.nn import CSVLogger, ActivationStats, Dense, Dropout, Input, ModelCheckpoint, Sequential
from initlab.nn.stats import HISTOGRAM_COLUMNS


def _data(n=96, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    x = rng.standard_normal((k, d))[y] * 2 + rng.standard_normal((n, d))
    return x.astype(np.float32), y


def _model(seed=0, dtype="float32"):
    return Sequential([Input((5,)), Dense(12, act="relu", init="he_normal", name="hidden"), Dropout(0.1),
                       Dense(3, act="softmax", name="out")], seed=seed, dtype=dtype)


def test_update_ratio_is_lr_times_gradient_over_weight_for_sgd():
    # plain SGD: W_{t+1} - W_t = -lr * dL/dW, so ||dW|| / ||W|| = lr * grad_w_norm / w_norm exactly
    x, y = _data()
    m = _model(dtype="float64")
    m.compile("sgd:0.05", "sparse_categorical_crossentropy")
    stats = ActivationStats(every=1)
    m.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[stats])
    df = stats.layers
    assert df["update_ratio"].notna().all() and len(df) == 2 * 3 * 2
    np.testing.assert_allclose(df["update_ratio"], 0.05 * df["grad_w_norm"] / df["w_norm"], rtol=1e-9)
    # the kernel norm of the first record is the initial kernel's
    first = df[(df["step"] == 0) & (df["layer"] == 1)].iloc[0]
    fresh = _model(dtype="float64")
    fresh.build()
    assert first["w_norm"] == pytest.approx(float(np.linalg.norm(fresh.get_layer("hidden").kernel)), rel=1e-12)


def test_moments_match_numpy_in_float64():
    x, y = _data()
    m = _model(dtype="float64")
    m.compile("adam", "sparse_categorical_crossentropy")
    stats = ActivationStats(every=3)
    m.fit(x, y, epochs=1, batch_size=96, shuffle=False, verbose=0, callbacks=[stats])
    row = stats.layers.iloc[0]
    fresh = _model(dtype="float64")
    fresh.build()
    z = x.astype(np.float64) @ fresh.layers[0].kernel + fresh.layers[0].bias
    assert row["pre_mean"] == pytest.approx(z.mean(), rel=1e-10) and row["pre_std"] == pytest.approx(z.std(), rel=1e-10)
    assert row["pre_min"] == z.min() and row["pre_max"] == z.max()
    u, v = z[0::2], z[1::2]
    corr = np.mean(np.sum(u * v, 1) / np.sqrt(np.sum(u * u, 1) * np.sum(v * v, 1)))
    assert row["pre_corr"] == pytest.approx(corr, rel=1e-10)
    assert row["dead"] == np.mean(np.all(np.maximum(z, 0) == 0, axis=0))


def test_histograms_count_every_entry_on_a_fixed_range():
    x, y = _data()
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy")
    stats = ActivationStats(every=2, histograms=True, bins=16)
    m.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[stats])
    h = stats.histograms
    assert tuple(h.columns) == HISTOGRAM_COLUMNS and set(h["kind"]) == {"act", "weight"}
    per = h.groupby(["step", "layer", "kind"])["count"].sum()
    assert (per.xs("act", level="kind") == 32 * np.where(per.xs("act", level="kind").index.get_level_values(
        "layer") == 1, 12, 3)).all()
    assert (per.xs("weight", level="kind").xs(1, level="layer") == 5 * 12).all()
    assert sorted(set(h["step"])) == sorted(set(stats.layers["step"]))
    # one range per layer and kind, kept over training, symmetric, 16 bins
    for _, part in h.groupby(["layer", "kind"]):
        assert part["lo"].min() == -part["hi"].max() and part.groupby("step").size().eq(16).all()
    assert ActivationStats().histograms.empty


def test_get_layer_by_name_and_index():
    m = _model()
    assert m.get_layer("out") is m.layers[-1] and m.get_layer(index=0).name == "hidden"
    assert m.get_layer(index=-1).name == "out"
    with pytest.raises(ConfigError, match="did you mean 'hidden'"):
        m.get_layer("hiden")
    with pytest.raises(ConfigError, match="out of range"):
        m.get_layer(index=5)
    with pytest.raises(ConfigError, match="one of them"):
        m.get_layer()


def test_x_and_y_of_different_lengths_say_so():
    x, y = _data(n=8)
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ConfigError, match="x and y disagree: x has 8 samples, y has 7"):
        m.fit(x, y[:7], verbose=0)
    with pytest.raises(ConfigError, match="x has 8 samples, y has 7"):
        m.evaluate(x, y[:7])


def test_model_checkpoint_saves_the_best_epochs_atomically(tmp_path):
    x, y = _data()
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    every = ModelCheckpoint(tmp_path / "w-{epoch:02d}.npz", save_freq=2)
    best = ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss", save_best_only=True)
    h = m.fit(x, y, epochs=4, batch_size=32, verbose=0, validation_split=0.25, callbacks=[every, best])
    assert [p.name for p in every.saved] == ["w-02.npz", "w-04.npz"]
    assert best.best == h["val_loss"].min()
    improved = int((h["val_loss"].cummin().diff().fillna(-1) < 0).sum())
    assert len(best.saved) == improved
    again = _model(seed=1)
    again.load_weights(tmp_path / "w-04.npz")
    np.testing.assert_array_equal(again.predict(x), m.predict(x))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "w-02.npz", "w-04.npz"]  # no temp files
    with pytest.raises(ConfigError, match="cannot be filled"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "{nope}.npz")])


def test_csv_logger_writes_the_history(tmp_path):
    x, y = _data()
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    path = tmp_path / "log.csv"
    h = m.fit(x, y, epochs=3, batch_size=32, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path)])
    log = pd.read_csv(path)
    assert list(log["epoch"]) == [0, 1, 2] and list(log.columns[1:]) == list(h.columns)
    np.testing.assert_allclose(log["loss"], h["loss"], rtol=1e-12)
    m.fit(x, y, epochs=2, batch_size=32, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path, append=True)])
    assert len(pd.read_csv(path)) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]


def test_watch_figures_draw_every_layer_and_the_update_band():
    from matplotlib.patches import Polygon, Rectangle

    from initlab.plots import watch

    x, y = _data()
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy")
    stats = ActivationStats(every=1, histograms=True, bins=8)
    m.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[stats])
    fig = watch.training_stats(stats.layers)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 + 1 and ax.get_yscale() == "log"  # two layers and the 1e-3 line
    band = [p for p in ax.patches if isinstance(p, (Polygon, Rectangle))]
    assert band and np.allclose(sorted(band[0].get_extents().transformed(ax.transData.inverted()).get_points()[:, 1]),
                                watch.UPDATE_RATIO_BAND, rtol=1e-6)
    img = watch.colorful_dimension(stats.histograms)
    shown = [a for a in img.axes if a.images]
    assert len(shown) == 2 and shown[0].images[0].get_array().shape == (8, 3)  # bins x records
    assert len(watch.weight_histograms(stats.histograms).axes[0].patches) == 3  # first, middle, last step


def test_a_single_seed_curve_does_not_say_mean_over_seeds():
    from initlab.plots.training import learning_curves

    one = pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5]})
    assert learning_curves(one, group=None).get_suptitle().endswith("one seed")
    two = pd.concat([one.assign(seed=0, init="he"), one.assign(seed=1, init="he")])
    assert "mean over 2 seeds" in learning_curves(two, group="init").get_suptitle()
