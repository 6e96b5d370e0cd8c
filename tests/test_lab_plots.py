"""Lab figures and the mistake analysis on hand-made predictions."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from initlab.plots import training as lp
from initlab.labs import mistakes as mk

# A hand-made prediction set: 10 samples, 3 classes, 4 wrong.
Y_TRUE = np.array([0, 0, 1, 1, 1, 2, 2, 2, 0, 1])
Y_PRED = np.array([0, 2, 1, 0, 1, 2, 1, 1, 0, 0])


def test_mistake_table_lists_every_wrong_answer():
    t = mk.mistake_table(Y_TRUE, Y_PRED)
    assert t["index"].tolist() == [1, 3, 6, 7, 9]
    assert list(zip(t["label"], t["predicted"])) == [(0, 2), (1, 0), (2, 1), (2, 1), (1, 0)]


def test_mistake_pairs_counts_most_frequent_first():
    p = mk.mistake_pairs(Y_TRUE, Y_PRED)
    assert list(p.itertuples(index=False, name=None)) == [(1, 0, 2), (2, 1, 2), (0, 2, 1)]
    assert p["count"].sum() == 5


def test_wrong_histogram_and_confusion_matrix():
    assert mk.wrong_prediction_counts(Y_TRUE, Y_PRED, 3).tolist() == [2, 2, 1]
    cm = mk.confusion_matrix(Y_TRUE, Y_PRED, 3)
    assert cm.tolist() == [[2, 0, 1], [2, 2, 0], [0, 2, 1]]
    assert cm.sum() == 10 and np.trace(cm) == 5
    np.testing.assert_allclose(mk.per_class_accuracy(Y_TRUE, Y_PRED, 3), [2 / 3, 2 / 4, 1 / 3])
    assert mk.misclassified_indices(Y_TRUE, Y_PRED, 2).tolist() == [6, 7]
    with pytest.raises(ValueError):
        mk.confusion_matrix(Y_TRUE, Y_PRED, 2)


def test_predicted_labels_binary_and_multiclass():
    assert mk.predicted_labels(np.array([[0.2], [0.7], [0.5]])).tolist() == [0, 1, 0]
    assert mk.predicted_labels(np.array([[0.1, 0.9], [0.6, 0.4]])).tolist() == [1, 0]


def test_no_mistakes_gives_empty_tables():
    y = np.array([0, 1, 2])
    assert mk.mistake_table(y, y).empty and mk.mistake_pairs(y, y).empty
    assert mk.wrong_prediction_counts(y, y, 3).tolist() == [0, 0, 0]


def _history():
    rows = []
    for init, base in (("xavier", 1.0), ("he", 2.0)):
        for seed in range(3):
            for epoch in (1, 2, 3):
                rows.append({"init": init, "seed": seed, "epoch": epoch, "loss": base / epoch + seed,
                             "val_loss": base / epoch + seed + 0.5, "accuracy": 0.5 + 0.1 * epoch})
    return pd.DataFrame(rows)


def test_curve_summary_mean_and_spread():
    s = lp.curve_summary(_history(), "loss", "init")
    row = s[(s["group"] == "he") & (s["epoch"] == 2)].iloc[0]
    # losses over seeds: 1, 2, 3 -> mean 2, sample std 1
    assert row["mean"] == pytest.approx(2.0) and row["lo"] == pytest.approx(1.0) and row["hi"] == pytest.approx(3.0)
    r = lp.curve_summary(_history(), "loss", "init", spread="range").iloc[0]
    assert (r["lo"], r["hi"]) == (pytest.approx(1.0), pytest.approx(3.0))


def test_learning_curves_draw_the_means():
    before = dict(matplotlib.rcParams)
    fig = lp.learning_curves(_history(), ["loss", "accuracy"], group="init")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    assert set(lines) == {"xavier train", "he train", "xavier val", "he val"}
    np.testing.assert_allclose(lines["xavier train"].get_ydata(), [2.0, 1.5, 1 / 3 + 1])
    assert dict(matplotlib.rcParams) == before


def test_sample_predictions_and_mistake_figures():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(10, 28, 28), dtype=np.uint8)
    proba = rng.dirichlet(np.ones(3), size=10)
    fig = lp.sample_predictions(images, Y_TRUE, proba, n=6, cols=3)
    assert len(fig.axes) == 12  # image + bars per sample
    bars = fig.axes[1].patches
    np.testing.assert_allclose([b.get_height() for b in bars], proba[0])
    fig = lp.wrong_histogram(mk.wrong_prediction_counts(Y_TRUE, Y_PRED, 3))
    assert [b.get_height() for b in fig.axes[0].patches] == [2, 2, 1]
    fig = lp.confusion_matrix_figure(mk.confusion_matrix(Y_TRUE, Y_PRED, 3), class_names=["a", "b", "c"])
    assert fig.axes[0].images[0].get_array().tolist() == [[2, 0, 1], [2, 2, 0], [0, 2, 1]]
    fig = lp.misclassified_grid(images.reshape(10, -1), Y_TRUE, Y_PRED, 2, cols=4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 2
    pairs = mk.mistake_pairs(Y_TRUE, Y_PRED)
    fig = lp.mistake_table_figure(pairs, class_names=["a", "b", "c"])
    cells = _table_cells(fig)
    assert cells[0] == ["label", "predicted", "count"]
    assert len(cells) == len(pairs) + 1 and sum(int(r[2]) for r in cells[1:]) == int(pairs["count"].sum())
    assert {r[0] for r in cells[1:]} <= {"a", "b", "c"}
    assert f"{int(pairs['count'].sum())} in all" in _caption(fig)


def _table_cells(fig):
    """The text of a typeset table, row by row (header first): the texts in the table's font, black, grouped by
    their baseline (top first) and ordered left to right (the caption is larger, units and footnotes grey)."""
    body = [t for t in fig.texts[1:] if t.get_color() != "#666666"]
    rows: dict[float, list] = {}
    for t in body:
        rows.setdefault(round(t.get_position()[1], 6), []).append(t)
    return [[t.get_text() for t in sorted(r, key=lambda t: t.get_position()[0])]
            for _, r in sorted(rows.items(), reverse=True)]


def _caption(fig) -> str:
    return fig.texts[0].get_text()


def test_other_figures():
    fig = lp.regression_scatter(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0]))
    assert "MAE 0.500" in fig.axes[0].get_title()
    layers = pd.DataFrame({"init": ["a"] * 3 + ["b"] * 3, "layer": [1, 2, 3] * 2,
                           "act_std": [1, 0.5, 0.25, 1, 1, 1], "grad_pre_ratio": [4, 2, 1, 1, 1, 1]})
    fig = lp.init_profile(layers)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [1, 0.5, 0.25])
    fig = lp.table_figure(pd.DataFrame({"a": [1.0, 2.5e-7], "b": ["x", "y"]}), "t")
    assert _table_cells(fig) == [["a", "b"], ["1.000e+00", "x"], ["2.500e−07", "y"]]
    assert _caption(fig) == "t"
    many = lp.table_figure(pd.DataFrame({"a": range(50)}), "big", max_rows=10)
    assert len(_table_cells(many)) == 11 and "first 10 of 50 rows" in _caption(many)
