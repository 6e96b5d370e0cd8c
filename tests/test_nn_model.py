"""Sequential of initlab.nn end to end: convergence against scipy, summary, weights, seeds, callbacks, stats."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from initlab._spec import ConfigError
from initlab.nn import (SGD, ActivationStats, Activation, BatchNorm, Callback, Dense, Dropout, EarlyStopping,
                        Flatten, History, Input, L2, ProgressBar, Sequential)
from initlab.nn.stats import TRAINING_COLUMNS
from initlab.schema import LAYER_COLUMNS


def _blobs(n=120, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d)) * 2
    y = rng.integers(0, k, n)
    return (centers[y] + rng.standard_normal((n, d))).astype(np.float32), y


def _mlp(seed=0, dropout=0.2, **kw):
    return Sequential([Input((6,)), Dense(16, act="relu"), Dropout(dropout), Dense(8, act="tanh"),
                       Dense(3, act="softmax")], seed=seed, **kw)


def test_logistic_regression_matches_scipy_on_the_l2_objective():
    rng = np.random.default_rng(42)
    n, d, lam = 200, 3, 0.01
    x = rng.standard_normal((n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ [1.5, -2.0, 0.5] + 0.3)))).astype(float)

    def objective(theta):
        w, b = theta[:d], theta[d]
        z = x @ w + b
        p = 1 / (1 + np.exp(-z))
        value = np.mean(np.logaddexp(0, z) - y * z) + lam * w @ w
        grad = np.append(x.T @ (p - y) / n + 2 * lam * w, np.mean(p - y))
        return value, grad

    ref = optimize.minimize(objective, np.zeros(d + 1), jac=True, method="BFGS", options={"gtol": 1e-10})
    assert np.abs(ref.jac).max() < 1e-9  # the reference is at the optimum
    model = Sequential([Dense(1, act="sigmoid", init="zeros", kernel_regularizer=L2(lam), input_dim=d)],
                       dtype="float64")
    model.compile(SGD(learning_rate=1.0), "binary_crossentropy")
    hist = model.fit(x, y, batch_size=n, epochs=1500, shuffle=False, verbose=0)
    np.testing.assert_allclose(model.layers[0].kernel[:, 0], ref.x[:d], atol=1e-4)
    assert model.layers[0].bias[0] == pytest.approx(ref.x[d], abs=1e-4)
    assert hist["loss"].iloc[-1] == pytest.approx(ref.fun, abs=1e-8)


def _counts(text):
    return [int(re.search(rf"^{k} params: ([\d,]+)", text, re.M).group(1).replace(",", ""))
            for k in ("Total", "Trainable", "Non-trainable")]


def test_summary_parameter_counts():
    m = Sequential([Dense(10, act="softmax", input_dim=784)])
    text = m.summary_str()  # a first layer with input_dim builds the model on demand
    assert _counts(text) == [7850, 7850, 0]
    assert "(None, 10)" in text and "7,850" in text
    mlp = Sequential([Input((784,))] + [Dense(256, act="relu") for _ in range(4)] + [Dense(10, act="softmax")])
    mlp.build()
    assert _counts(mlp.summary_str()) == [784 * 256 + 256 + 3 * (256 * 256 + 256) + 2570] * 2 + [0]
    assert mlp.count_params() == 400906
    bn = Sequential([Flatten(input_shape=(28, 28)), Dense(128, act="relu"), BatchNorm(), Dropout(0.2),
                     Dense(10, act="softmax"), Dense(4, act="maxout:3")])
    bn.build()
    text = bn.summary_str()
    assert _counts(text) == [100480 + 512 + 1290 + 132, 100480 + 256 + 1290 + 132, 256]
    assert "flatten (Flatten)" in text and "(None, 784)" in text and "batch_normalization (BatchNorm)" in text
    printed = []
    bn.summary(print_fn=printed.append)
    assert printed == [text]


def test_same_seed_same_history_bit_for_bit():
    x, y = _blobs()
    runs = []
    for _ in range(2):
        m = _mlp(seed=5)
        m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        runs.append((m.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0), m.get_weights()))
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0], check_exact=True)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    other = _mlp(seed=6)
    other.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    h = other.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    assert not np.array_equal(h["loss"].to_numpy(), runs[0][0]["loss"].to_numpy())
    # an explicit fit seed overrides the model's stream
    hs = []
    for s in (0, 1):
        m = _mlp(seed=s)
        m.set_weights(runs[0][1])
        m.compile("adam", "sparse_categorical_crossentropy")
        hs.append(m.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=11))
    pd.testing.assert_frame_equal(hs[0], hs[1], check_exact=True)


def test_history_frame_and_keras_dict():
    x, y = _blobs()
    m = _mlp()
    m.compile("adam", "sparse_categorical_crossentropy", ["acc"])
    h = m.fit(x, y, epochs=2, batch_size=32, validation_data=(x[:30], y[:30]), verbose=0)
    assert isinstance(h, History) and m.history is h
    assert list(h.columns) == ["loss", "acc", "val_loss", "val_acc", "learning_rate"]
    assert list(h.index) == [1, 2] and h.index.name == "epoch"
    assert h.history["val_acc"] == list(h["val_acc"])
    res = m.evaluate(x[:30], y[:30])
    loss, acc = res
    assert loss == pytest.approx(h["val_loss"].iloc[-1], rel=1e-6) and acc == res["acc"] == h["val_acc"].iloc[-1]
    p = m.predict(x)
    assert p.shape == (len(x), 3) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-6)


def test_validation_split_takes_the_last_samples():
    x, y = _blobs()
    m = _mlp(dropout=0.0)
    m.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
    h = m.fit(x, y, epochs=1, batch_size=10, validation_split=0.25, verbose=0)
    res = m.evaluate(x[90:], y[90:])
    assert res["loss"] == pytest.approx(h["val_loss"].iloc[-1], rel=1e-6)


def test_save_and_load_weights_round_trip(tmp_path):
    x, y = _blobs()
    m = Sequential([Input((6,)), Dense(16), BatchNorm(), Activation("relu"), Dense(3, act="softmax")], seed=1)
    m.compile("rmsprop", "sparse_categorical_crossentropy")
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "w.npz"
    m.save_weights(path)
    other = Sequential([Dense(16), BatchNorm(), Activation("relu"), Dense(3, act="softmax")], seed=9)
    other.load_weights(path)  # builds from the saved input shape
    for a, b in zip(m.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m.predict(x), other.predict(x))
    assert len(m.get_weights()) == 2 + 4 + 2
    with np.load(path, allow_pickle=False) as z:
        assert "batch_normalization/moving_variance" in z.files
    with pytest.raises(ConfigError, match="does not match"):
        Sequential([Dense(16, input_dim=6), Dense(3)]).load_weights(path)


def test_early_stopping_restores_the_best_weights():
    x, y = _blobs()

    class Inject(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0][epoch]

    class Record(Callback):
        def __init__(self):
            super().__init__()
            self.weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append(self.model.get_weights())

    rec = Record()
    stop = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    m = _mlp()
    m.compile("adam", "sparse_categorical_crossentropy")
    h = m.fit(x, y, epochs=8, batch_size=16, verbose=0, callbacks=[Inject(), rec, stop])
    assert len(h) == 5 and stop.stopped_epoch == 4 and stop.best_epoch == 2
    for a, b in zip(m.get_weights(), rec.weights[2]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(m.get_weights()[0], rec.weights[-1][0])
    with pytest.raises(ConfigError, match="validation"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[EarlyStopping()])


def test_early_stopping_on_val_accuracy_maximises():
    x, y = _blobs()
    m = _mlp()
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    stop = EarlyStopping(monitor="val_accuracy", patience=100)
    m.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.2, callbacks=[stop])
    assert stop.best == max(m.history["val_accuracy"])


def test_activation_stats_schema_and_values():
    x, y = _blobs()
    stats = ActivationStats(label="run", trial=2)
    m = Sequential([Input((6,)), Dense(16, act="relu", init="he_normal"), Dense(8), BatchNorm(), Activation("tanh"),
                    Dropout(0.1), Dense(3, act="softmax")], seed=0)
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(x, y, epochs=3, batch_size=40, verbose=0, callbacks=[stats])
    df = stats.layers
    assert tuple(df.columns) == TRAINING_COLUMNS
    assert [c for c in df.columns if c not in ("epoch", "step", "w_norm", "update_ratio")] == list(LAYER_COLUMNS)
    assert len(df) == 3 * 3
    assert list(df["step"].unique()) == [0, 3, 6] and list(df["epoch"].unique()) == [1, 2, 3]
    assert list(df["layer"][:3]) == [1, 2, 3] and list(df["width"][:3]) == [16, 8, 3]
    assert list(df["act"][:3]) == ["relu", "tanh", "softmax"] and df["init"][0] == "he_normal"
    assert (df["label"] == "run").all() and (df["trial"] == 2).all() and not df["diverged"].any()
    last = df[df["layer"] == 3]
    np.testing.assert_allclose(last["grad_w_ratio"], 1.0)
    assert last["saturated"].isna().all() and df[df["layer"] < 3]["saturated"].notna().all()
    assert df[["theory_pre_q", "theory_grad_ratio"]].isna().all().all()
    # layer 2's pre-activation is the BatchNorm output: mean 0, variance 1 - ε-ish over the batch (γ=1, β=0 at step 0)
    first = df[(df["step"] == 0) & (df["layer"] == 2)].iloc[0]
    assert abs(first["pre_mean"]) < 1e-6 and first["pre_std"] == pytest.approx(1.0, abs=0.02)
    # the block output is tanh then inverted dropout (scale 1/0.9)
    assert 0 <= first["dead"] <= 1 and -1 / 0.9 - 1e-6 <= first["act_min"] and first["act_max"] <= 1 / 0.9 + 1e-6
    assert (df["grad_pre_norm"] > 0).all() and (df["grad_w_norm"] > 0).all()
    every = ActivationStats(every=2)
    m.fit(x, y, epochs=1, batch_size=20, verbose=0, callbacks=[every])
    assert list(every.layers["step"].unique()) == [10, 12, 14]  # optimizer steps 9..14 of the second fit


def test_progress_bar_and_verbose_output(capsys):
    x, y = _blobs()
    m = _mlp()
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    buf = io.StringIO()
    m.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[ProgressBar(stream=buf, delay=0.0)])
    out = buf.getvalue()
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss" in out and "accuracy" in out
    m.fit(x, y, epochs=2, batch_size=16, verbose=2)
    err = capsys.readouterr().err
    assert err.count("Epoch ") == 2 and "loss:" in err


def test_bad_inputs_are_config_errors():
    x, y = _blobs()
    m = _mlp()
    with pytest.raises(ConfigError, match="compile"):
        m.fit(x, y, verbose=0)
    m.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ConfigError, match="do not match"):
        m.fit(x[:, :5], y, verbose=0)
    with pytest.raises(ConfigError, match="batch_size"):
        m.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ConfigError, match="float32 or float64"):
        Sequential([Dense(2)], dtype="float16")
    m64 = _mlp(dtype="float64")
    m64.compile("sgd", "sparse_categorical_crossentropy")
    m64.fit(x, y, epochs=1, verbose=0)
    assert m64.store.params.dtype == np.float64 and m64.predict(x).dtype == np.float64


def test_activation_stats_dead_units_are_counted_before_dropout():
    x = np.random.default_rng(3).standard_normal((64, 4))
    m = Sequential([Input((4,)), Dense(4, act="relu"), Dropout(0.5), Dense(1)], dtype="float64")
    m.compile("sgd", "mse")
    m.layers[0].bias[0] = -100.0  # unit 0 is zero for every sample
    stats = ActivationStats()
    m.fit(x, x.sum(1), epochs=1, batch_size=64, verbose=0, callbacks=[stats])
    row = stats.layers.iloc[0]
    assert row["dead"] == 0.25 and row["saturated"] >= 64 / 256
    assert row["act_max"] > row["pre_max"]  # the output is after inverted dropout (x2)


def test_activation_stats_concatenate_with_the_simulation_frame():
    from initlab.sim.engine import simulate

    sim = simulate(init="he_normal", act="relu", depth=2, width=16, batch=32, input_dim=6, progress=False)
    x, y = _blobs()
    stats = ActivationStats()
    m = Sequential([Input((6,)), Dense(16, act="relu", init="he_normal"), Dense(16, act="relu", init="he_normal"),
                    Dense(3, act="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(x, y, epochs=1, batch_size=40, verbose=0, callbacks=[stats])
    train = stats.layers
    assert list(train.drop(columns=["epoch", "step", "w_norm", "update_ratio"]).columns) == list(sim.layers.columns)
    assert train["label"][0] == sim.layers["label"][0] == "he_normal / relu"
    both = pd.concat([sim.layers.assign(epoch=0, step=-1), train], ignore_index=True)
    assert len(both) == len(sim.layers) + len(train) and both["pre_std"].notna().all()
