"""The engine against a direct float64 re-implementation, central differences and the classic facts."""

import warnings

import numpy as np
import pytest

from initlab.sim import engine
from initlab._spec import ConfigError
from initlab.activations import get_activation
from initlab.sim.config import SimConfig
from initlab.sim.draws import draw_params, make_input
from initlab.sim.engine import forward_backward, simulate
from initlab.sim.stats import Scratch, hist_counts, moments, nice_ceil


# -- a direct, slow reference ----------------------------------------------------------------------
def reference(cfg: SimConfig, trial: int = 0, x=None):
    """Forward and backward of a single-run config by the definitions, in float64."""
    act = get_activation(cfg.acts[0])
    p = draw_params(cfg, trial)
    x = make_input(cfg).astype(np.float64) if x is None else x.astype(np.float64)
    W = [w.astype(np.float64) for w in p.weights]
    h, res = x, set(cfg.residual_layers())
    rows, cache = [], []
    for l in range(cfg.depth):
        z = h @ W[l]
        if p.biases[l] is not None:
            z = z + p.biases[l]
        if cfg.batchnorm:
            mu, var = z.mean(0), z.var(0)
            inv = 1 / np.sqrt(var + 1e-5)
            z = (z - mu) * inv
        else:
            inv = None
        phi = act.fn(z)
        out = phi if p.dropout[l] is None else phi * p.dropout[l]
        if l + 1 in res:
            out = out + h
        n = z.shape[0]
        pairs = [(2 * i, 2 * i + 1) for i in range(n // 2)]
        cors = [z[a] @ z[b] / np.sqrt((z[a] @ z[a]) * (z[b] @ z[b])) for a, b in pairs
                if (z[a] @ z[a]) * (z[b] @ z[b]) > 0]
        rows.append(dict(
            pre_mean=z.mean(), pre_std=z.std(), pre_q=(z * z).mean(), pre_min=z.min(), pre_max=z.max(),
            pre_corr=np.mean(cors), act_mean=out.mean(), act_std=out.std(), act_q=(out * out).mean(),
            act_min=out.min(), act_max=out.max(),
            saturated=np.mean(act.saturated(z)),
            dead=np.mean(np.all(phi == 0, axis=0)),
        ))
        cache.append((h, z, inv))
        h = out
    t = p.target.astype(np.float64)
    g = t.copy() if cfg.loss == "projection" else (h - t) / h.size
    for l in range(cfg.depth - 1, -1, -1):
        hin, z, inv = cache[l]
        ga = g if p.dropout[l] is None else g * p.dropout[l]
        if act.pieces > 1:
            k = act.pieces
            zr = z.reshape(z.shape[0], -1, k)
            win = zr.argmax(-1)
            gz = np.zeros_like(zr)
            np.put_along_axis(gz, win[..., None], ga[..., None], axis=-1)
            gz = gz.reshape(z.shape)
        else:
            gz = ga * act.grad(z)
        rows[l]["grad_pre_norm"] = np.linalg.norm(gz)
        if inv is not None:
            gz = inv * (gz - gz.mean(0) - z * (gz * z).mean(0))
        rows[l]["grad_w_norm"] = np.linalg.norm(hin.T @ gz)
        gn = gz @ W[l].T
        if l + 1 in res:
            gn = gn + g
        g = gn
    with np.errstate(all="ignore"):  # 0/0 when every unit of the last layer is dead
        for r in rows:
            r["grad_pre_ratio"] = np.float64(r["grad_pre_norm"]) / rows[-1]["grad_pre_norm"]
            r["grad_w_ratio"] = np.float64(r["grad_w_norm"]) / rows[-1]["grad_w_norm"]
    return rows, cache, h


CASES = [
    ("tanh", {}),
    ("relu", {}),
    ("linear", {}),
    ("maxout:3", {}),
    ("sigmoid", {"bias_init": "constant:0.5"}),
    ("relu", {"batchnorm": True}),
    ("relu", {"dropout": 0.3}),
    ("tanh", {"residual": True}),
    ("relu", {"residual": True, "dropout": 0.2, "batchnorm": True, "loss": "mse"}),
    ("linear", {"dropout": 0.5, "residual": True}),
    ("elu", {"width": (6, 5, 5), "input_dim": 7, "residual": True}),
    ("maxout:2", {"width": (4, 6, 3), "input_dim": 5, "loss": "mse"}),
]


@pytest.mark.parametrize("act,opts", CASES)
def test_statistics_match_direct_float64(act, opts):
    cfg = SimConfig(inits="xavier", acts=act, depth=3, width=opts.pop("width", 5), batch=8, dtype="float64",
                    seed=3, **opts)
    res = simulate(cfg, progress=False)
    rows, _, _ = reference(cfg)
    df = res.layers
    for l, r in enumerate(rows):
        for col, want in r.items():
            got = df[col].iloc[l]
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (col, l + 1)


@pytest.mark.parametrize("act,opts", [
    ("tanh", {}), ("relu", {"batchnorm": True}), ("maxout:2", {"dropout": 0.25}), ("sigmoid", {"residual": True}),
    ("gelu", {"batchnorm": True, "residual": True, "dropout": 0.2, "loss": "mse"}), ("linear", {"loss": "mse"}),
    ("elu", {"width": (6, 5, 5), "input_dim": 4, "residual": True, "bias_init": "normal:0.3"}),
])
def test_weight_gradients_match_central_differences(act, opts):
    cfg = SimConfig(
        inits="he", acts=act, depth=3, width=opts.pop("width", 5), batch=6, dtype="float64", seed=11, **opts
    )
    x = make_input(cfg)
    params = draw_params(cfg, 0)
    out = forward_backward(cfg, params, x, keep_grads=True, stats=False)
    rng = np.random.default_rng(0)
    eps = 1e-6
    for l, G in enumerate(out.weight_grads):
        for _ in range(4):
            i, j = rng.integers(G.shape[0]), rng.integers(G.shape[1])
            losses = []
            for s in (eps, -eps):
                params.weights[l][i, j] += s
                losses.append(forward_backward(cfg, params, x, stats=False).loss)
                params.weights[l][i, j] -= s
            fd = (losses[0] - losses[1]) / (2 * eps)
            assert G[i, j] == pytest.approx(fd, rel=1e-5, abs=1e-8), (l, i, j)


@pytest.mark.parametrize("chunk", [1, 1 << 20])
def test_loss_and_gradients_do_not_depend_on_statistics_or_chunking(chunk, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK_ELEMENTS", chunk)
    cfg = SimConfig(inits="he", acts="relu", depth=4, width=8, batch=6, dtype="float64")
    x, p = make_input(cfg), draw_params(cfg, 0)
    a = forward_backward(cfg, p, x, keep_grads=True, stats=False)
    b = forward_backward(cfg, p, x, keep_grads=True)
    assert a.loss == b.loss and all(np.array_equal(u, v) for u, v in zip(a.weight_grads, b.weight_grads))


@pytest.mark.parametrize("acts,bias", [("tanh,relu", "zeros"), ("relu,maxout:2", "constant:-0.5")])
def test_histograms_match_numpy_with_clipping(acts, bias):
    # a negative bias gives relu outputs a smaller range than its pre-activations (no shortcut)
    cfg = SimConfig(
        inits="xavier", acts=acts, depth=4, width=6, batch=10, dtype="float64", trials=2, bins=7, bias_init=bias
    )
    res = simulate(cfg, progress=False)
    H = res.histograms
    assert H.pre_counts.shape == (2, 2, 4, 7) and H.act_counts.shape == (2, 2, 4, 7)
    pieces = np.array([get_activation(r.config.acts[0]).pieces for r in cfg.runs()])
    assert (H.pre_counts.sum(-1) == 60 * pieces[:, None, None]).all() and (H.act_counts.sum(-1) == 60).all()
    seen = set()
    for run in cfg.runs():
        R_pre, R_act = H.pre_edges[run.index, -1], H.act_edges[run.index, -1]
        for trial in range(2):
            _, cache, out = reference(run.config, trial)
            outs = [c[0] for c in cache[1:]] + [out]
            if trial == 0:  # the range: trial 0's largest |value|, rounded up to a nice number
                assert R_pre == nice_ceil(max(np.abs(c[1]).max() for c in cache))
                assert R_act == nice_ceil(max(np.abs(o).max() for o in outs))
                seen.add((run.config.acts[0], R_pre == R_act))
            for l in range(4):
                want = np.histogram(np.clip(cache[l][1], -R_pre, R_pre), H.pre_edges[run.index])[0]
                np.testing.assert_array_equal(H.pre_counts[run.index, trial, l], want)
                want = np.histogram(np.clip(outs[l], -R_act, R_act), H.act_edges[run.index])[0]
                np.testing.assert_array_equal(H.act_counts[run.index, trial, l], want)
    if bias != "zeros":
        assert ("relu", False) in seen  # the relu output range differs from the pre-activation one


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hist_kernel_clips_into_edge_bins(dtype):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((3, 11, 7)) * 2).astype(dtype)  # odd size: the unpaired last value
    x[0, 0, 0], x[1, 0, 0], x[2, 3, 3] = 2.0, -2.0, 50.0  # the edges themselves, and far out
    got = hist_counts(x, 2.0, 9, Scratch(), clip=True)
    edges = np.linspace(-2, 2, 10)
    for l in range(3):
        np.testing.assert_array_equal(got[l], np.histogram(np.clip(x[l].astype(np.float64), -2, 2), edges)[0])


def test_nice_ceil():
    assert [nice_ceil(v) for v in (0.0, 0.7, 1.0, 1.01, 2.2, 3.0, 7.0, 12.0, 0.012)] == [
        1.0,
        1.0,
        1.0,
        2.0,
        2.5,
        5.0,
        10.0,
        20.0,
        0.02,
    ]


# -- the classic facts at the sizes --------------------------------------------------------------
def test_tanh_small_weights_vanish_and_large_weights_saturate():
    res = simulate(init="normal:0.01,normal:1", act="tanh", depth=10, width=500, batch=1000, progress=False)
    df = res.layers
    small = df[df["init"] == "normal:std=0.01"]
    large = df[df["init"] == "normal:std=1"]
    assert small["act_std"].iloc[-1] < 1e-5
    assert (large["saturated"] > 0.8).all()


def test_relu_he_keeps_std_within_factor_two_over_50_layers():
    res = simulate(init="he", act="relu", depth=50, width=500, batch=1000, progress=False)
    std = res.layers["act_std"].to_numpy()
    assert np.all((std > std[0] / 2) & (std < std[0] * 2))


def test_linear_xavier_keeps_variance_within_ten_percent_over_50_layers():
    res = simulate(init="xavier", act="linear", depth=50, width=1000, batch=200, progress=False)
    var = res.layers["act_std"].to_numpy() ** 2
    assert np.all(np.abs(var / var[0] - 1) < 0.1)


# -- divergence -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["relu", "linear"])
def test_divergence_reported_at_first_nonfinite_layer_without_warnings(act):
    cfg = SimConfig(inits="normal:10", acts=act, depth=60, width=100, batch=64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = simulate(cfg, progress=False)
    # the first layer whose float32 values overflow, by a plain forward pass with the same draws
    p, h, first = draw_params(cfg, 0), make_input(cfg), None
    with np.errstate(all="ignore"):
        for l in range(cfg.depth):
            z = h @ p.weights[l]
            h = np.maximum(z, 0) if act == "relu" else z
            if not (np.isfinite(z).all() and np.isfinite(h).all()):
                first = l + 1
                break
    assert first is not None and 10 < first < 60
    label = res.labels[0]
    assert res.diverged_at_layer == {label: first}
    df = res.layers
    assert not df["diverged"].iloc[: first - 1].any() and df["diverged"].iloc[first - 1 :].all()
    assert df["pre_std"].iloc[: first - 1].notna().all() and df["pre_std"].iloc[first - 1 :].isna().all()
    assert df["grad_pre_norm"].isna().all()  # no backward through a diverged network
    assert (res.histograms.pre_counts[0, 0, first - 1 :] == 0).all()
    assert (res.histograms.pre_counts[0, 0, : first - 1].sum(-1) == 64 * 100).all()


def test_diverged_at_layer_is_a_dict_for_one_or_many_configs():
    one = simulate(depth=2, width=4, batch=4, progress=False)
    assert one.diverged_at_layer == {"xavier_normal / relu": None}
    many = simulate(init="xavier,he", act="tanh", depth=2, width=4, batch=4, progress=False)
    assert list(many.diverged_at_layer) == ["xavier_normal / tanh", "he_normal / tanh"]


# -- random numbers ---------------------------------------------------------------------------------------
def test_common_random_numbers_and_independence_of_other_configs():
    both = simulate(init="xavier,he", act="tanh,relu", depth=3, width=8, batch=6, trials=2, progress=False).layers
    alone = simulate(init="he", act="relu", depth=3, width=8, batch=6, trials=2, progress=False).layers
    sub = both[both["label"] == "he_normal / relu"].drop(columns=["config"]).reset_index(drop=True)
    assert sub.equals(alone.drop(columns=["config"]))
    # same trial, same underlying draws: the first layer's pre-activations agree across activations
    t0 = both[(both["layer"] == 1) & (both["trial"] == 0) & (both["init"] == "xavier_normal")]
    assert t0["pre_std"].nunique() == 1
    t1 = both[(both["layer"] == 1) & (both["trial"] == 1) & (both["init"] == "xavier_normal")]
    assert t1["pre_std"].iloc[0] != t0["pre_std"].iloc[0]


@pytest.mark.parametrize("act", ["relu", "tanh", "linear"])
def test_trial0_histograms_do_not_depend_on_chunking(act, monkeypatch):
    # trial 0 histograms chunk by chunk on the range seen so far and redoes chunks when it grows:
    # the result must equal one pass at the final range (normal:1 relu grows every layer)
    kw = dict(init="normal:1,he", act=act, depth=6, width=16, batch=32, trials=2, progress=False)
    stacked = simulate(**kw)
    monkeypatch.setattr(engine, "CHUNK_ELEMENTS", 1)  # one layer per chunk
    single = simulate(**kw)
    assert stacked == single


def test_given_input_and_uniform_input():
    x = np.random.default_rng(5).standard_normal((12, 3))
    res = simulate(x=x, init="xavier", act="tanh", depth=2, width=4, progress=False)
    assert res.config.input == "given" and res.config.batch == 12 and res.config.in_dim == 3
    with pytest.raises(ConfigError, match="disagrees"):
        simulate(x=x, batch=10, depth=2, width=4, progress=False)
    with pytest.raises(ConfigError, match="given"):
        simulate(res.config, progress=False)
    u = make_input(SimConfig(input="uniform", batch=2000, width=50))
    assert np.abs(u).max() <= np.sqrt(3) and abs(u.var() - 1) < 0.02


def test_lsuv_reaches_unit_variance_and_records_passes():
    res = simulate(init="lsuv", act="tanh", depth=4, width=64, batch=128, progress=False)
    df = res.layers
    assert df["lsuv_passes"].between(0, 10).all() and (df["lsuv_passes"] >= 1).any()
    assert np.all(np.abs(df["pre_std"] ** 2 - 1) < 0.1)


def test_float32_std_survives_cancellation():
    # sigmoid of tiny pre-activations: outputs 0.5 ± 2.5e-4, where E[a^2] - E[a]^2 in float32 is noise
    res = simulate(init="normal:0.0001", act="sigmoid", depth=3, width=200, batch=500, progress=False).layers
    ratio = res["act_std"] / res["pre_std"]
    np.testing.assert_allclose(ratio, 0.25, rtol=1e-2)  # sigma'(0) = 1/4
    rng = np.random.default_rng(0)
    x = (1000 + rng.standard_normal((2, 300, 40)) * 1e-2).astype(np.float32)
    m = moments(x, Scratch())
    want = x.astype(np.float64).reshape(2, -1).std(axis=1)
    np.testing.assert_allclose(m.std, want, rtol=1e-4)
    np.testing.assert_allclose(m.mean, x.astype(np.float64).reshape(2, -1).mean(axis=1), rtol=1e-7)


def test_progress_bar_only_for_slow_work(capsys):
    simulate(depth=2, width=4, batch=4)
    assert capsys.readouterr().err == ""


def test_engine_module_exports():
    assert {"simulate", "run_trial", "forward_backward"} <= set(engine.__all__)
