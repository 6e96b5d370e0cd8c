import numpy as np
import pandas as pd

from initlab.sim.engine import simulate
from initlab.schema import FRAME_DTYPES
from initlab.sim.result import SimResult
from initlab.schema import LAYER_COLUMNS, THEORY_COLUMNS

KW = dict(init="xavier,normal:1", act="tanh,relu", depth=3, width=6, batch=8, trials=2, progress=False)


def test_frame_schema_order_dtypes_and_rows():
    res = simulate(**KW)
    df = res.layers
    assert list(df.columns) == list(LAYER_COLUMNS)
    assert len(df) == 4 * 2 * 3
    text = [c for c, t in FRAME_DTYPES.items() if t == "str"]  # object or str, by pandas version
    assert {c: str(t) for c, t in df.dtypes.items() if c not in text} == {
        c: t for c, t in FRAME_DTYPES.items() if c not in text}
    assert all(pd.api.types.is_string_dtype(df[c]) for c in text)
    # mean-field predictions fill the theory columns (shared by the trials of a config) ...
    assert df[list(THEORY_COLUMNS)].notna().all().all()
    first = df[df.trial == 0][list(THEORY_COLUMNS)].to_numpy()
    assert np.array_equal(df[df.trial == 1][list(THEORY_COLUMNS)].to_numpy(), first)
    # ... and stay NaN where the theory has nothing to say (batch normalisation)
    bn = simulate(**{**KW, "batchnorm": True}).layers
    assert bn[list(THEORY_COLUMNS)].isna().all().all()
    assert df.groupby(["config", "trial"]).size().eq(3).all()
    assert list(df["layer"][:3]) == [1, 2, 3] and df["width"].eq(6).all()
    assert (df["grad_pre_ratio"][df["layer"] == 3] == 1).all()


def test_to_dir_is_byte_identical_for_the_same_seed_and_from_dir_round_trips(tmp_path):
    a = simulate(**KW).to_dir(tmp_path / "a")
    b = simulate(**KW).to_dir(tmp_path / "b")
    for name in ("layers.csv", "config.json", "histograms.npz"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = simulate(**{**KW, "seed": 1}).to_dir(tmp_path / "c")
    assert (a / "layers.csv").read_bytes() != (c / "layers.csv").read_bytes()
    res = simulate(**KW)
    back = SimResult.from_dir(a)
    assert back == res
    assert back.layers.dtypes.equals(res.layers.dtypes)
    pd.testing.assert_frame_equal(back.layers, res.layers, check_exact=True)
    assert back.diverged_at_layer == res.diverged_at_layer
    assert not list(a.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_round_trip_keeps_nan_and_diverged_rows(tmp_path):
    res = simulate(init="normal:10", act="linear", depth=40, width=60, batch=16, progress=False)
    assert res.diverged_at_layer[res.labels[0]] is not None
    back = SimResult.from_dir(res.to_dir(tmp_path / "run"))
    assert back == res
    assert back.layers["diverged"].dtype == bool and back.layers["pre_std"].isna().any()


def test_summary_table_mentions_every_config_and_divergence():
    text = simulate(**KW).summary()
    for label in ("xavier_normal / tanh", "xavier_normal / relu", "normal:std=1 / tanh", "normal:std=1 / relu"):
        assert label in text
    assert "saturated" in text and "mean of 2 trials" in text
    div = simulate(init="normal:10", act="relu", depth=40, width=60, batch=16, progress=False)
    k = div.diverged_at_layer[div.labels[0]]
    s = div.summary()
    assert f"diverged at layer {k}" in s and s.count("diverged") == 1 + (40 - k + 1)


def test_histogram_edges_are_symmetric_and_shared():
    res = simulate(**KW)
    h = res.histograms
    assert h.labels == tuple(res.config.labels())
    assert h.pre_edges.shape == (4, 51)
    np.testing.assert_allclose(h.pre_edges[:, 0], -h.pre_edges[:, -1])
    assert (h.pre_counts.sum(-1) == 8 * 6).all()
