"""The labs: registry, data splits, the loss-comparison numbers, every lab end to end on a small subset."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from initlab._spec import ConfigError, UnknownNameError
from initlab.labs import LABS, LabConfig, get_lab, lab_names
from initlab.labs import loss_comparison as lc
from initlab.labs.data import load_lab_data, minmax_scale, train_test_split_indices
from initlab.labs.runs import notes_table, run_lab, save_run

from lab_fixtures import write_fixture_data

REAL = os.environ.get("INITLAB_DATA")


def _real_has(*names: str) -> bool:
    return bool(REAL) and all((Path(REAL) / n).exists() for n in names)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("INITLAB_OFFLINE", "1")


@pytest.fixture(scope="session")
def fixture_dir(tmp_path_factory) -> str:
    return str(write_fixture_data(tmp_path_factory.mktemp("labdata")))


@pytest.fixture(scope="session")
def data_dir(fixture_dir) -> str:
    """The real data when ``$INITLAB_DATA`` holds it, else the synthetic fixture files."""
    if _real_has("mnist", "pima-indians-diabetes.csv", "boston-housing.csv", "iris.csv", "review_polarity.tar.gz"):
        return REAL
    return fixture_dir


# -- registry ----------------------------------------------------------------------------------------
def test_registry_has_every_lab_of_the_notes():
    assert lab_names() == ["pima-logreg", "mnist-softmax", "mnist-mlp", "pima-mlp", "mnist-dense512", "imdb-mlp",
                           "boston-regression", "boston-tf", "iris-mlp", "iris-tf", "init-histograms", "activations",
                           "learning-rate",
                           "regularization", "loss-comparison", "preprocessing", "zero-centred", "mse-vs-ce",
                           "dead-relu-lr", "batchnorm-batch", "model-size"]


@pytest.mark.parametrize("name", lab_names())
def test_config_round_trips_through_json(name):
    cfg = LABS[name]
    again = LabConfig.from_dict(json.loads(cfg.to_json()))
    assert again == cfg and hash(again) == hash(cfg)


def test_notes_settings():
    p = get_lab("pima-logreg")
    # TF 2.0 beta's tf.random_normal_initializer() has stddev 0.05
    assert (p.init, p.bias_init, p.optimizer, p.lr, p.epochs, p.batch_size, p.preprocess, p.eval_on) == \
        ("normal:0.05", "normal:0.05", "sgd", 0.1, 1000, None, "minmax", "train")
    assert {n.metric: n.value for n in p.notes}["loss@10"] == 0.6707
    m = get_lab("mnist-mlp")
    assert m.hidden == (256,) * 4 and (m.optimizer, m.lr, m.batch_size, m.epochs) == ("adam", 1e-3, 100, 15)
    # TF 1.x: xavier_initializer() is uniform, he_normal truncated, tf.random_normal biases have stddev 1
    assert (m.init, m.bias_init) == ("xavier_uniform", "normal:1")
    assert [n.value for n in m.applicable_notes()] == [0.9805]
    assert [n.value for n in m.replace(init="glorot_uniform").applicable_notes()] == [0.9805]
    assert [n.value for n in m.replace(init="variance_scaling:scale=2").applicable_notes()] == [0.9784]
    assert m.replace(init="he").applicable_notes() == []  # untruncated: not what the notes ran
    assert m.replace(init="xavier").applicable_notes() == []
    # Keras defaults where the notes say nothing
    d = get_lab("mnist-dense512")
    assert (d.init, d.bias_init, d.lr) == ("xavier_uniform", "zeros", None)
    b = get_lab("boston-regression")
    assert b.hidden == (8, 8, 8, 8) and b.out_act == "relu" and b.loss == "mse"


def test_overrides_are_validated():
    cfg = get_lab("iris-mlp").with_overrides(["epochs=3", "hidden=8,4", "lr=0.01", "subset=none", "bias-init=zeros"])
    assert (cfg.epochs, cfg.hidden, cfg.lr, cfg.subset) == (3, (8, 4), 0.01, None)
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        get_lab("iris-mlp").with_overrides(["epoch=3"])
    with pytest.raises(ConfigError):
        get_lab("iris-mlp").replace(epochs=0)
    with pytest.raises(ConfigError):
        get_lab("iris-mlp").with_overrides(["lr=fast"])
    with pytest.raises(ConfigError):
        get_lab("iris-mlp").replace(validation="holdout:x")
    assert get_lab("regularization").with_overrides(["l2=0.01"]).param("l2") == 0.01
    with pytest.raises(UnknownNameError, match="did you mean 'mnist-softmax'"):
        get_lab("mnist-sofmax")


def test_notes_table_mean_and_spread():
    cfg = get_lab("pima-logreg")
    t = notes_table(cfg, [{"train_accuracy": 0.70, "train_loss": 0.5}, {"train_accuracy": 0.74, "train_loss": 0.6}])
    acc = t.set_index("metric").loc["train_accuracy"]
    assert acc["notes"] == 0.720 and acc["ours"] == pytest.approx(0.72)
    assert acc["spread"] == pytest.approx(math.sqrt(2) * 0.02) and acc["runs"] == 2


# -- the loss-comparison example -------------------------------------------------------------------
def test_loss_comparison_numbers_are_exact():
    t = lc.loss_table().set_index("model")
    assert t.loc["A", "error"] == t.loc["B", "error"] == pytest.approx(1 / 3, abs=1e-15)
    assert t.loc["A", "cross_entropy"] == pytest.approx(-(2 * math.log(0.4) + math.log(0.1)) / 3, rel=1e-14)
    assert t.loc["B", "cross_entropy"] == pytest.approx(-(2 * math.log(0.7) + math.log(0.3)) / 3, rel=1e-14)
    assert t.loc["A", "squared_error"] == pytest.approx((0.54 + 0.54 + 1.34) / 3, rel=1e-12)
    assert t.loc["B", "squared_error"] == pytest.approx((0.14 + 0.14 + 0.74) / 3, rel=1e-12)
    assert t.loc["B", "mse_keras"] == pytest.approx(0.34 / 3, rel=1e-12)
    # the notes' two-decimal numbers
    assert [round(t.loc[m, c], 2) for m in "AB" for c in ("cross_entropy", "squared_error")] == [1.38, 0.81, 0.64, 0.34]
    res = run_lab("loss-comparison", progress=False)
    assert (res.notes_table()["difference"].abs() < 0.005).all()


# -- data ------------------------------------------------------------------------------------------
def test_iris_split_is_sklearn_order():
    tr, te = train_test_split_indices(150, 0.3, 1234)
    perm = np.random.RandomState(1234).permutation(150)
    assert len(te) == 45 and len(tr) == 105
    np.testing.assert_array_equal(te, perm[:45])
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), np.arange(150))


def test_minmax_scale_matches_the_notes_formula():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 7.0]])
    got = minmax_scale(x)
    np.testing.assert_allclose(got[:, 0], [0.0, 2 / (2 + 1e-7), 1 / (2 + 1e-7)], rtol=1e-6)
    np.testing.assert_allclose(got[:, 1], [0.0, 0.0, 2 / (2 + 1e-7)], rtol=1e-6)


def test_lab_data_shapes(data_dir):
    d = load_lab_data(get_lab("imdb-mlp"), data_dir)
    assert "movie-review polarity" in d.source and "Keras IMDB not found" in d.source
    assert d.x_train.shape[1] == 10000 and d.x_val is not None
    assert len(d.x_val) == round(0.4 * (len(d.x_train) + len(d.x_val)))
    d = load_lab_data(get_lab("mnist-softmax", subset=50), data_dir)
    assert d.x_train.shape == (50, 784) and d.y_train.shape == (50, 10) and d.images_test.shape == (50, 28, 28)
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0 and d.labels_test.dtype == np.int64
    d = load_lab_data(get_lab("pima-logreg"), data_dir)
    assert d.x_train.shape == (768, 8) and d.x_train.min() >= 0 and d.x_train.max() <= 1
    d = load_lab_data(get_lab("regularization", subset=100), data_dir)
    assert len(d.x_val) == 20 and len(d.x_train) == 80


# -- every lab end to end --------------------------------------------------------------------------
TINY = {
    "pima-logreg": dict(epochs=5),
    "mnist-softmax": dict(epochs=1, subset=300),
    "mnist-mlp": dict(epochs=1, subset=300),
    "pima-mlp": dict(epochs=2),
    "mnist-dense512": dict(epochs=1, subset=300),
    "imdb-mlp": dict(epochs=2),
    "boston-regression": dict(epochs=2),
    "boston-tf": dict(epochs=2),
    "iris-mlp": dict(epochs=3),
    "iris-tf": dict(epochs=3),
    "init-histograms": dict(params=(("depth", 3), ("width", 32), ("batch", 64))),
    "activations": dict(params=(("depth", 3), ("width", 32), ("batch", 64), ("range", 4.0))),
    "learning-rate": dict(epochs=2, subset=200, hidden=(32,)),
    "regularization": dict(epochs=3, subset=200, hidden=(32, 32)),
    "loss-comparison": dict(),
    "preprocessing": dict(epochs=1, variants=("none", "whiten"),
                          params=(("datasets", "pima"), ("pima_hidden", 4), ("bins", 10))),
    "zero-centred": dict(params=(("depth", 2), ("width", 8), ("batch", 8), ("steps", 20), ("lr", 0.2))),
    "mse-vs-ce": dict(params=(("classes", 3),)),
    "dead-relu-lr": dict(epochs=1, subset=100, hidden=(8,), variants=("lr=0.01", "lr=3")),
    "batchnorm-batch": dict(epochs=1, subset=100, hidden=(8,), params=(("batches", "4,16"), ("draws", 10))),
    "model-size": dict(epochs=1, subset=100, variants=("4", "16")),
}


def test_tiny_settings_cover_the_registry():
    assert set(TINY) == set(lab_names())


@pytest.mark.parametrize("name", lab_names())
def test_every_lab_runs_end_to_end(name, data_dir, tmp_path):
    from initlab.report.labs import run_figures

    cfg = get_lab(name, **TINY[name])
    res = run_lab(cfg, data_path=data_dir, progress=False)
    assert res.metrics, "a lab reports numbers"
    if cfg.kind == "train":
        assert list(res.history["epoch"]) == list(range(1, cfg.epochs + 1))
        part = "train" if cfg.eval_on == "train" else "test"
        key = f"{part}_accuracy" if cfg.is_classifier else f"{part}_mae"
        assert np.isfinite(res.metrics[key])
        assert len(res.proba) == len(res.y_true)
        if cfg.is_classifier:
            assert 0.0 <= res.metrics[key] <= 1.0 and res.labels is not None
    notes = res.notes_table()
    assert set(notes["metric"]) == {n.metric for n in cfg.applicable_notes() if n.metric in res.metrics}
    if TINY[name] and cfg.kind == "train":  # shortened runs are not compared with the notes' full runs
        assert not notes["comparable"].any() and notes["difference"].isna().all()
        assert notes["settings"].str.contains("(notes: ", regex=False).all()
    figs = run_figures(res)
    assert figs
    if cfg.is_classifier and cfg.kind == "train":
        assert {"mistake_table", "wrong_histogram", "confusion_matrix"} <= set(figs)
    if cfg.is_image and cfg.kind == "train":
        assert {"sample_predictions", "misclassified"} <= set(figs)
    out = save_run(res, tmp_path / "run")
    assert {"history.csv", "metrics.json", "config.json"} <= {p.name for p in out.iterdir()}
    assert LabConfig.from_dict(json.loads((out / "config.json").read_text())) == cfg.replace(seed=res.seed)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary folder left behind"


def test_same_seed_same_history(data_dir):
    a = run_lab("iris-mlp", data_path=data_dir, progress=False, epochs=3)
    b = run_lab("iris-mlp", data_path=data_dir, progress=False, epochs=3)
    c = run_lab("iris-mlp", data_path=data_dir, progress=False, epochs=3, seed=1)
    pd.testing.assert_frame_equal(a.history, b.history)
    assert not a.history["loss"].equals(c.history["loss"])


def test_save_run_replaces_an_existing_directory(data_dir, tmp_path):
    res = run_lab("loss-comparison", progress=False)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "stale.txt").write_text("old")
    out = save_run(res, tmp_path / "run")
    assert not (out / "stale.txt").exists() and (out / "tables" / "loss_comparison.csv").exists()
    meta = json.loads((out / "metrics.json").read_text())
    assert meta["lab"] == "loss-comparison" and meta["notes"][0]["metric"] == "ce_model_a"


def test_compare_tiny(data_dir, tmp_path):
    from initlab.labs.compare import Comparison, compare_inits

    comp = compare_inits("iris-mlp", ["xavier", "he"], 2, data_path=data_dir, progress=False, epochs=2)
    assert set(comp.final["init"]) == {"xavier", "he"} and len(comp.final) == 4
    assert len(comp.history) == 2 * 2 * 2
    s = comp.metrics_summary().set_index("init")
    assert isinstance(comp.summary(), str) and comp.points is comp.final
    back = Comparison.from_dir(comp.to_dir(tmp_path / "cmp"))  # the run folder reads back bit for bit
    for name in ("history", "final", "init_layers"):
        pd.testing.assert_frame_equal(getattr(comp, name), getattr(back, name), check_exact=True)
    assert (back.config, back.inits, back.seeds, back.started, back.seconds) == \
        (comp.config, comp.inits, comp.seeds, comp.started, comp.seconds)
    assert back.summary() == comp.summary() and "learning_curves" in comp.figures()
    he = comp.final[comp.final["init"] == "he"]["test_accuracy"]
    assert s.loc["he", "test_accuracy_mean"] == pytest.approx(he.mean())
    assert comp.init_layers is not None  # the init-time simulation of every compared initializer
    t = comp.init_layer_table()
    assert set(t["init"]) == {"xavier", "he"} and t["layer"].max() == 3
    stats = comp.init_stats().set_index("init")
    # He keeps ReLU activations larger than Xavier at init (gain sqrt(2) vs sqrt(2 / (fan_in + fan_out)))
    assert stats.loc["he", "std_last"] > stats.loc["xavier", "std_last"]
    with pytest.raises(ConfigError):
        compare_inits("activations", ["xavier"], 1)
    with pytest.raises(UnknownNameError):
        compare_inits("iris-mlp", ["xavier", "hee"], 1)


def test_reproduce_table(tmp_path):
    from initlab.labs.reproduce import conditions, format_table, reproduce, write_outputs

    assert [c for c, _ in conditions(get_lab("mnist-mlp"))] == ["init=xavier_uniform", "init=variance_scaling:scale=2"]
    df = reproduce(["loss-comparison"], seeds=2)
    row = df.set_index("metric").loc["ce_model_a"]
    assert row["notes"] == 1.38 and row["ours"] == pytest.approx(1.3784, abs=1e-4) and row["spread"] == 0.0
    assert "| loss-comparison | ce_model_a | 1.3800 |" in format_table(df)
    csv_path, md_path = write_outputs(df, tmp_path / "repro")
    assert pd.read_csv(csv_path).shape == df.shape and md_path.read_text().startswith("# initlab labs reproduce")


def test_learning_rate_schedules_follow_their_formulas(fixture_dir):
    # 100 training rows at batch 64: 2 steps per epoch; the history logs the rate of each epoch's last step
    cfg = get_lab("learning-rate", epochs=3, subset=100, hidden=(8,), variants=("lr=0.02", "step", "exponential"))
    cfg = cfg.with_overrides(["step_every=1", "exp_rate=0.5"])
    h = run_lab(cfg, data_path=fixture_dir, progress=False).history
    lr = {v: part["learning_rate"].to_numpy() for v, part in h.groupby("variant")}
    np.testing.assert_allclose(lr["lr=0.02"], [0.02] * 3, rtol=1e-6)
    np.testing.assert_allclose(lr["step"], [0.1, 0.05, 0.025], rtol=1e-6)  # halves every epoch
    np.testing.assert_allclose(lr["exponential"], 0.1 * 0.5 ** (np.array([1, 3, 5]) / 2), rtol=1e-6)


def test_dead_output_at_init_is_detected_and_replaced(data_dir):
    from initlab.labs.reproduce import reproduce
    from initlab.labs.runs import output_dead_at_init

    cfg = get_lab("boston-regression", epochs=1)
    data = load_lab_data(cfg, data_dir)
    assert not output_dead_at_init(cfg.replace(init="constant:0.01"), data)  # inputs >= 0: every unit open
    dead = cfg.replace(bias_init="constant:-1000")
    assert output_dead_at_init(dead, data)
    res = run_lab(dead, data=data, progress=False)
    assert res.metrics["output_dead_at_init"] == 1.0 and np.all(res.proba == 0)
    assert res.metrics["test_mse"] == pytest.approx(float(np.mean(data.y_test.astype(np.float64) ** 2)), rel=1e-5)
    df = reproduce(["boston-regression"], seeds=1, data_path=data_dir, sets=["bias_init=constant:-1000"])
    assert (df["runs"] == 0).all() and df["condition"].str.contains("10 of 10 seeds dead").all()
    assert "output_dead_at_init" not in get_lab("iris-mlp").to_dict()


@pytest.mark.skipif(not _real_has("mnist"), reason="real MNIST not in $INITLAB_DATA")
def test_mnist_softmax_one_epoch_on_real_data():
    res = run_lab("mnist-softmax", data_path=REAL, progress=False, epochs=1)
    assert res.metrics["test_accuracy"] >= 0.88
