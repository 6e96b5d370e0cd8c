"""The array-module seam, exercised with numpy: the device path's kernels and draws against the CPU's."""

import math

import numpy as np
import pytest

from initlab._spec import ConfigError
from initlab.initializers import INITIALIZERS, get_initializer
from initlab.sim.config import SimConfig
from initlab.sim.draws import LayerWeights, draw_params, make_input
from initlab.sim.engine import forward_backward
from initlab.sim.trial import Workspace
from initlab.sim.xp import array_module, device_family, device_sample, to_host

CONFIGS = {
    "relu": dict(inits="he", acts="relu", depth=6, width=32, batch=40),
    "tanh": dict(inits="xavier", acts="tanh", depth=5, width=24, batch=30, bins=17),
    "relu-dropout-residual": dict(inits="he", acts="relu", depth=4, width=20, batch=16, dropout=0.3, residual=True),
    "linear": dict(inits="normal:0.2", acts="linear", depth=4, width=20, batch=12),
    "maxout-bias-mse": dict(inits="he", acts="maxout:2", depth=3, width=16, batch=10, bias_init="normal:0.1",
                            loss="mse"),
    "gelu-batchnorm-widths": dict(inits="lecun_normal", acts="gelu", depth=3, width=(20, 16, 16), batch=24,
                                  batchnorm=True, dtype="float64"),
    "lsuv": dict(inits="lsuv", acts="selu", depth=3, width=16, batch=20),
    "diverging": dict(inits="normal:10", acts="linear", depth=30, width=40, batch=8, input="uniform"),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_generic_kernels_through_the_seam_agree_with_the_cpu_kernels(name):
    cfg = SimConfig(**CONFIGS[name])
    x = make_input(cfg)
    fast = forward_backward(cfg, draw_params(cfg, 0), x, workspace=Workspace())
    seam = forward_backward(cfg, draw_params(cfg, 0), x, workspace=Workspace(np), generic=True)
    assert seam.diverged_at == fast.diverged_at
    tol = 1e-12 if cfg.dtype == "float64" else 2e-5  # float32 sums taken in another order
    for c, want in fast.columns.items():
        np.testing.assert_allclose(seam.columns[c], want, rtol=tol, atol=tol, equal_nan=True, err_msg=c)
    # same data, same index arithmetic: the same counts
    np.testing.assert_array_equal(seam.pre_counts, fast.pre_counts)
    np.testing.assert_array_equal(seam.act_counts, fast.act_counts)
    assert (seam.pre_range, seam.act_range) == (fast.pre_range, fast.act_range)
    assert seam.loss == pytest.approx(fast.loss, rel=tol, nan_ok=True)


@pytest.mark.parametrize("name", INITIALIZERS.names())
def test_device_draws_follow_each_initializer(name):
    init = get_initializer(name)
    shape = (300, 200)
    cfg = SimConfig(inits=name, acts="tanh", depth=1, width=200, input_dim=300, batch=4)
    w = LayerWeights(cfg, 0, device_draws=True)[0]
    host = LayerWeights(cfg, 0)[0]
    assert w.shape == shape and w.dtype == np.float32
    if device_family(init, shape) is None:  # drawn on the host and copied
        np.testing.assert_array_equal(w, host)
        return
    assert not np.array_equal(w, host)  # another generator: another draw of the same distribution
    x = w.astype(np.float64).ravel()
    var, n = init.variance(shape), x.size
    m4 = float(np.mean(x**4))
    assert abs(x.mean()) <= 4 * math.sqrt(var / n)
    assert abs(np.mean(x * x) - var) <= 4 * math.sqrt((m4 - var * var) / n)
    fam, scale = device_family(init, shape)
    if fam != "normal":
        assert np.abs(x).max() <= (2 if fam == "truncated_normal" else 1) * scale * (1 + 1e-6)


def test_device_sample_is_seeded_and_refuses_what_it_cannot_draw():
    he = get_initializer("he")
    a = device_sample(np, he, (50, 40), 123, np.float32)
    assert a.tobytes() == device_sample(np, he, (50, 40), 123, np.float32).tobytes()
    assert a.tobytes() != device_sample(np, he, (50, 40), 124, np.float32).tobytes()
    assert device_sample(np, get_initializer("orthogonal"), (5, 4), 1, np.float32) is None
    assert device_sample(np, get_initializer("constant:0.5"), (5, 4), 1, np.float32) is None


def test_array_module_names_and_errors():
    assert array_module("cpu") is np and array_module(" CPU ") is np
    with pytest.raises(ConfigError, match="unknown device 'cdua'.*did you mean 'cuda'"):
        array_module("cdua")
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"initlab\[gpu\]"):
            array_module("cuda")
    x = np.arange(3.0)
    assert to_host(x) is x


def test_simulate_rejects_an_unknown_device_before_any_work():
    from initlab.sim.engine import simulate

    with pytest.raises(ConfigError, match="unknown device"):
        simulate(depth=2, width=4, batch=4, device="tpu", progress=False)


def test_device_check_module_imports_without_cupy_and_formats_its_table():
    from initlab.sim.bench_gpu import GPU_SHAPES, GPU_TARGET, GpuRow, format_gpu

    b, w, d = GPU_SHAPES[0]
    fast = GpuRow(b, w, d, False, floor_ms=100.0, engine_ms=105.0, torch_ms=120.0)
    slow = GpuRow(256, 256, 100, True, floor_ms=10.0, engine_ms=30.0, torch_ms=20.0)
    text = format_gpu([fast, slow])
    assert fast.ratio == 1.05 <= GPU_TARGET and " ok" in text.splitlines()[1]
    assert "3.000" in text.splitlines()[2] and "ok" not in text.splitlines()[2]
