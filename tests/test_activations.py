"""Tests for initlab.activations (including initlab.activations.maxout).

Every test that concerns "each activation" is parametrised over the whole registry (plus a few
non-default parameters), so a new entry is checked without editing this file.
"""

import dataclasses
import math

import numpy as np
import pytest

from initlab import activations as act_mod
from initlab._spec import SpecError
from initlab.activations import (
    ACTIVATIONS,
    SATURATION_FRACTION,
    SELU_ALPHA,
    SELU_SCALE,
    Activation,
    get_activation,
)
from initlab.activations.maxout import maxout, maxout_backward, maxout_forward, maxout_grad

NAMES = ACTIVATIONS.names()
ELEMENTWISE = [n for n in NAMES if n != "maxout"]
#: every registry entry at its defaults, plus non-default parameters that change the code path
SPECS = NAMES + ["leaky_relu:0.2", "leaky_relu:1", "leaky_relu:10", "leaky_relu:-0.5", "elu:0.5", "elu:2",
                 "maxout:3", "maxout:1"]
ELEMENTWISE_SPECS = [s for s in SPECS if not s.startswith("maxout")]
MAXOUT_SPECS = [s for s in SPECS if s.startswith("maxout")]
#: non-differentiable points (and points where the derivative jumps) per activation name
KINKS = {"relu": [0.0], "leaky_relu": [0.0], "elu": [0.0], "selu": [0.0], "hard_tanh": [-1.0, 1.0],
         "hard_sigmoid": [-3.0, 3.0]}
FLOATS = [np.float32, np.float64]


def _name(spec):
    return spec.partition(":")[0]


def _smooth_points(spec, rng, n=600, lo=-8.0, hi=8.0, gap=1e-3):
    """Float64 sample points at least ``gap`` away from the activation's kinks."""
    x = np.concatenate([rng.uniform(lo, hi, n), rng.uniform(-30, 30, n // 4), [0.0, 0.5, -0.5]])
    for k in KINKS.get(_name(spec), []):
        x = x[np.abs(x - k) > gap]
    return x


def _extremes(dtype):
    v = np.array([1e4, 710.0, 88.0, 20.0, 1.0, 1e-7, 0.0])
    return np.concatenate([-v, v[::-1]]).astype(dtype)


# -- registry, specs and docs ---------------------------------------------------------------------


def test_registry_has_every_required_entry():
    required = {"linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "gelu_tanh", "silu",
                "softplus", "softsign", "hard_tanh", "hard_sigmoid", "erf", "mish", "maxout"}
    assert required <= set(NAMES)
    exported = {getattr(act_mod, n) for n in act_mod.__all__}
    assert {ACTIVATIONS.cls(n) for n in NAMES} <= exported
    assert all(issubclass(ACTIVATIONS.cls(n), Activation) and ACTIVATIONS.cls(n).name == n for n in NAMES)


@pytest.mark.parametrize("spec", SPECS)
def test_spec_roundtrip_and_frozen(spec):
    a = get_activation(spec)
    assert get_activation(a.spec) == a
    assert get_activation(a) is a
    assert str(a) == a.spec
    field = next(iter(dataclasses.fields(a)), None)
    if field is not None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(a, field.name, getattr(a, field.name))


@pytest.mark.parametrize("alias,spec", [("identity", "linear"), ("swish", "silu"), ("logistic", "sigmoid"),
                                        ("hardtanh", "hard_tanh"), ("hardsigmoid", "hard_sigmoid")])
def test_aliases(alias, spec):
    assert get_activation(alias) == get_activation(spec)
    assert alias in ACTIVATIONS.aliases_of(spec)


def test_defaults_and_parameters():
    assert get_activation("leaky_relu").alpha == 0.01
    assert get_activation("elu").alpha == 1.0
    assert get_activation("maxout").k == 2 and get_activation("maxout").pieces == 2
    assert get_activation("maxout:k=5").pieces == 5
    assert get_activation("leaky_relu:alpha=0.3").spec == "leaky_relu:alpha=0.3"
    assert type(get_activation("elu:2").alpha) is float  # ints are stored as floats: no dtype surprises
    assert all(get_activation(n).pieces == 1 for n in ELEMENTWISE)


@pytest.mark.parametrize("bad", ["maxout:0", "maxout:-2", "maxout:1.5", "maxout:two", "leaky_relu:inf",
                                 "leaky_relu:nan", "leaky_relu:steep", "elu:0", "elu:-1",
                                 "elu:inf", "selu:1", "gelu:approximate=tanh", "relu:0"])
def test_bad_params_are_one_line_spec_errors(bad):
    with pytest.raises(SpecError) as info:
        get_activation(bad)
    assert "\n" not in str(info.value)


def test_direct_construction_validates():
    with pytest.raises(ValueError, match="positive integer"):
        ACTIVATIONS.cls("maxout")(k=0)
    with pytest.raises(ValueError, match="alpha"):
        ACTIVATIONS.cls("leaky_relu")(alpha=float("nan"))


def test_leaky_relu_takes_any_slope_as_pytorch():
    # PyTorch's calculate_gain('leaky_relu', 10) is sqrt(2 / (1 + 10^2)); slopes above 1 and below 0 work
    from initlab.initializers import gain

    steep, neg = get_activation("leaky_relu:10"), get_activation("leaky_relu:-0.5")
    zero = get_activation("leaky_relu:0")
    assert gain("leaky_relu:10") == pytest.approx(np.sqrt(2 / 101), rel=1e-15)
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    np.testing.assert_array_equal(steep.fn(x), [-20.0, -5.0, 0.0, 1.5])
    np.testing.assert_array_equal(steep.grad(x), [10.0, 10.0, 10.0, 1.0])
    np.testing.assert_array_equal(neg.fn(x), [1.0, 0.25, 0.0, 1.5])
    assert steep.max_grad == 10.0 and not steep.can_die and zero.can_die and neg.max_grad == 1.0
    assert get_activation("leaky_relu:25").saturated(x).tolist() == [False, False, False, True]  # 1 < 5% of 25


@pytest.mark.parametrize("name", NAMES)
def test_docstring_has_one_line_description_and_maths(name):
    cls = ACTIVATIONS.cls(name)
    doc = cls.__doc__
    first = doc.strip().splitlines()[0]
    assert first and first == get_activation(name).description and len(first) <= 110
    assert ".. math::" in doc
    assert [d for n, d, _ in ACTIVATIONS.describe() if n == name] == [first]


# -- derivatives ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS)
def test_grad_matches_central_difference(spec):
    """float64, h = 1e-6: truncation ~h^2 and round-off ~1e-16/h, so rtol 1e-6 with atol 1e-8 is tight."""
    a = get_activation(spec)
    x = _smooth_points(spec, np.random.default_rng(0))
    h = 1e-6
    numeric = (a.fn(x + h) - a.fn(x - h)) / (2 * h)
    np.testing.assert_allclose(a.grad(x), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_fn_grad_forward_backward_agree_with_fn_and_grad(spec, dtype):
    a = get_activation(spec)
    rng = np.random.default_rng(1)
    z = (rng.standard_normal((64, 48)) * 3).astype(dtype)
    g = rng.standard_normal((64, 48)).astype(dtype)
    z0, g0 = z.copy(), g.copy()
    eps = np.finfo(dtype).eps
    tol = dict(rtol=4 * eps, atol=4 * eps * a.max_grad)
    f, d = a.fn_grad(z)
    np.testing.assert_allclose(f, a.fn(z), rtol=4 * eps, atol=4 * eps)
    np.testing.assert_allclose(d, a.grad(z), **tol)
    out, ctx = a.forward(z)
    np.testing.assert_allclose(out, a.fn(z), rtol=4 * eps, atol=4 * eps)
    back = a.backward(ctx, g)
    np.testing.assert_allclose(back, g * a.grad(z), **tol)
    for arr in (f, d, out, back):
        assert arr.dtype == dtype and arr.shape == z.shape
    assert not np.shares_memory(out, z) and not np.shares_memory(back, g)
    np.testing.assert_array_equal(z, z0)  # inputs untouched
    np.testing.assert_array_equal(g, g0)


# -- numerical stability --------------------------------------------------------------------------

#: phi and phi' at -1e4 and +1e4 (default parameters)
LIMITS = {
    "linear": ((-1e4, 1.0), (1e4, 1.0)),
    "sigmoid": ((0.0, 0.0), (1.0, 0.0)),
    "tanh": ((-1.0, 0.0), (1.0, 0.0)),
    "relu": ((0.0, 0.0), (1e4, 1.0)),
    "leaky_relu": ((-100.0, 0.01), (1e4, 1.0)),
    "elu": ((-1.0, 0.0), (1e4, 1.0)),
    "selu": ((-SELU_SCALE * SELU_ALPHA, 0.0), (SELU_SCALE * 1e4, SELU_SCALE)),
    "gelu": ((0.0, 0.0), (1e4, 1.0)),
    "gelu_tanh": ((0.0, 0.0), (1e4, 1.0)),
    "silu": ((0.0, 0.0), (1e4, 1.0)),
    "softplus": ((0.0, 0.0), (1e4, 1.0)),
    "softsign": ((-1e4 / (1 + 1e4), 1 / (1 + 1e4) ** 2), (1e4 / (1 + 1e4), 1 / (1 + 1e4) ** 2)),
    "hard_tanh": ((-1.0, 0.0), (1.0, 0.0)),
    "hard_sigmoid": ((0.0, 0.0), (1.0, 0.0)),
    "erf": ((-1.0, 0.0), (1.0, 0.0)),
    "mish": ((0.0, 0.0), (1e4, 1.0)),
}


def test_limits_table_covers_registry():
    assert set(LIMITS) == set(ELEMENTWISE)


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_stable_at_extremes(spec, dtype):
    """No overflow/invalid/divide at |x| up to 1e4 (underflow to 0 is the right answer), finite, dtype kept."""
    a = get_activation(spec)
    x = _extremes(dtype)
    g = np.ones_like(x)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        results = [a.fn(x), a.grad(x), *a.fn_grad(x), a.forward(x)[0], a.backward(a.forward(x)[1], g)]
    for r in results:
        assert r.dtype == dtype and r.shape == x.shape
        assert np.isfinite(r).all(), (spec, x[~np.isfinite(r)])
    if spec in LIMITS:  # the right limits (default parameters)
        eps = np.finfo(dtype).eps
        (f_lo, d_lo), (f_hi, d_hi) = LIMITS[spec]
        f, d = a.fn_grad(x)
        np.testing.assert_allclose([f[0], f[-1]], [f_lo, f_hi], rtol=4 * eps, atol=1e-30)
        np.testing.assert_allclose([d[0], d[-1]], [d_lo, d_hi], rtol=4 * eps, atol=1e-30)


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS)
def test_float32_agrees_with_float64(spec):
    """The float32 path is as accurate as float32 allows: |err| <= 32 eps (|phi| + |x phi'|) (+ slope term for phi')."""
    a = get_activation(spec)
    x32 = np.concatenate([np.linspace(-40, 40, 4001), _extremes(np.float64)]).astype(np.float32)
    x64 = x32.astype(np.float64)
    f32, d32 = a.fn_grad(x32)
    f64, d64 = a.fn_grad(x64)
    eps = float(np.finfo(np.float32).eps)
    smooth = np.ones(x64.shape, bool)
    for k in KINKS.get(_name(spec), []):
        smooth &= np.abs(x64 - k) > 1e-3
    assert np.all(np.abs(f32 - f64) <= 32 * eps * (np.abs(f64) + np.abs(x64 * d64)) + 1e-37)
    bound = 32 * eps * (np.abs(d64) * (1 + np.abs(x64)) + a.max_grad)
    assert np.all(np.abs(d32 - d64)[smooth] <= bound[smooth])


@pytest.mark.parametrize("spec", ELEMENTWISE)
def test_non_float_and_scalar_input(spec):
    a = get_activation(spec)
    assert a.fn(np.arange(-2, 3)).dtype == np.float64
    assert a.grad([0.5, -0.5]).dtype == np.float64
    s = a.fn(np.float32(0.75))
    assert np.shape(s) == () and s.dtype == np.float32
    assert float(s) == pytest.approx(float(a.fn(np.array([0.75]))[0]))


# -- max_grad, saturation and dead units ----------------------------------------------------------


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS)
def test_max_grad_is_the_supremum(spec):
    """Dense grid on [-40, 40], then a fine grid around the best point: sup |phi'| to 1e-9."""
    a = get_activation(spec)
    x = np.linspace(-40, 40, 800_001)
    g = np.abs(a.grad(x))
    i = int(np.argmax(g))
    fine = np.linspace(x[max(i - 1, 0)], x[min(i + 1, x.size - 1)], 20_001)
    best = max(g[i], float(np.abs(a.grad(fine)).max()))
    assert best <= a.max_grad * (1 + 1e-12)
    assert best >= a.max_grad - 1e-9


def test_max_grad_known_values():
    mg = {s: get_activation(s).max_grad for s in SPECS}
    assert mg["sigmoid"] == 0.25 and mg["tanh"] == 1 and mg["relu"] == 1 and mg["hard_sigmoid"] == 1 / 6
    assert mg["selu"] == pytest.approx(1.0507009873554805 * 1.6732632423543772, rel=1e-15)
    assert mg["elu:2"] == 2 and mg["elu:0.5"] == 1
    assert mg["gelu"] == pytest.approx(1.1289, abs=1e-4) and mg["erf"] == pytest.approx(2 / math.sqrt(math.pi))
    assert mg["maxout"] == 1


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_saturated_is_small_derivative(spec, dtype):
    """``saturated`` (often a cheap comparison) equals |phi'| < 0.05 max_grad away from the boundary."""
    a = get_activation(spec)
    z = np.linspace(-30, 30, 60_000).astype(dtype).reshape(-1, 3)
    d = np.abs(a.grad(z).astype(np.float64))
    thr = SATURATION_FRACTION * a.max_grad
    assert a.saturation_threshold() == pytest.approx(thr)
    clear = np.abs(d - thr) > 1e-4 * thr
    sat = a.saturated(z)
    assert sat.dtype == bool and sat.shape == z.shape
    np.testing.assert_array_equal(sat[clear], (d < thr)[clear])
    np.testing.assert_array_equal(a.saturated(z, a.forward(z)[1])[clear], sat[clear])  # from the forward context


def test_saturation_classic_facts():
    tanh, sig, relu = (get_activation(n) for n in ("tanh", "sigmoid", "relu"))
    z = np.array([-3.0, -1.0, 0.0, 1.0, 3.0])
    assert tanh.saturated(z).tolist() == [True, False, False, False, True]
    assert sig.saturated(z).tolist() == [False] * 5 and sig.saturated(np.array([-5.0, 5.0])).all()
    assert relu.saturated(z).tolist() == [True, True, True, False, False]
    assert not get_activation("linear").saturated(z).any()
    assert get_activation("leaky_relu").saturated(z).tolist() == relu.saturated(z).tolist()  # alpha 0.01 < 0.05
    assert not get_activation("leaky_relu:0.2").saturated(z).any()


@pytest.mark.parametrize("spec", SPECS)
def test_can_die_exactly_where_phi_and_slope_vanish_on_an_interval(spec):
    """can_die <=> some open interval has phi = 0 and phi' = 0 (checked on [-20, 20] in float64)."""
    a = get_activation(spec)
    x = np.linspace(-20, 20, 40_001)
    if a.pieces > 1:  # maxout: every unit is max of k pieces, here all equal to x
        x2 = np.repeat(x[:, None], a.pieces, axis=1)
        f, d = a.fn(x2)[:, 0], a.grad(x2).max(axis=1)
    else:
        f, d = a.fn_grad(x)
    zero = (f == 0) & (d == 0)
    interval = bool(np.any(zero[1:] & zero[:-1]))
    assert interval == a.can_die
    assert {n for n in NAMES if get_activation(n).can_die} == {"relu", "hard_sigmoid"}


def test_hard_sigmoid_is_relu6_over_6():
    hs = get_activation("hard_sigmoid")
    x = np.array([-10.0, -3.0, -1.5, 0.0, 1.5, 3.0, 10.0])
    np.testing.assert_allclose(hs.fn(x), np.clip(x + 3, 0, 6) / 6, rtol=0, atol=1e-16)
    np.testing.assert_array_equal(hs.fn(x), [0, 0, 0.25, 0.5, 0.75, 1, 1])
    np.testing.assert_array_equal(hs.grad(x), [0, 0, 1 / 6, 1 / 6, 1 / 6, 0, 0])


def test_gelu_tanh_and_selu_formulas():
    x = np.linspace(-6, 6, 121)
    ref = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(get_activation("gelu_tanh").fn(x), ref, rtol=1e-12, atol=1e-15)
    ref = SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))
    np.testing.assert_allclose(get_activation("selu").fn(x), ref, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(get_activation("selu").fn(x), SELU_SCALE * get_activation(f"elu:{SELU_ALPHA!r}").fn(x),
                               rtol=1e-15)


def test_softplus_accurate_log1p_tail():
    sp = get_activation("softplus")
    x = np.array([-700.0, -100.0, -40.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 40.0, 700.0])
    ref = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    np.testing.assert_allclose(sp.fn(x), ref, rtol=4e-16, atol=0)
    x32 = x.astype(np.float32)
    np.testing.assert_allclose(sp.fn(x32), ref.astype(np.float32), rtol=4 * np.finfo(np.float32).eps, atol=0)


# -- maxout ---------------------------------------------------------------------------------------


def _separated(shape, k, rng, gap=1e-3):
    """Normal samples whose pieces within a group differ by more than ``gap`` (no near-ties)."""
    while True:
        z = rng.standard_normal(shape)
        zr = np.sort(z.reshape(*shape[:-1], -1, k), axis=-1)
        if k == 1 or np.diff(zr, axis=-1).min() > gap:
            return z


@pytest.mark.parametrize("spec", MAXOUT_SPECS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_maxout_shapes_and_routing(spec, dtype):
    a = get_activation(spec)
    k = a.pieces
    rng = np.random.default_rng(2)
    n, m = 7, 5
    z = _separated((n, m * k), k, rng).astype(dtype)
    g = rng.standard_normal((n, m)).astype(dtype)
    zr = z.reshape(n, m, k)
    out, idx = a.forward(z)
    assert out.shape == (n, m) and out.dtype == dtype
    np.testing.assert_array_equal(out, zr.max(-1))
    np.testing.assert_array_equal(a.fn(z), zr.max(-1))
    np.testing.assert_array_equal(idx, zr.argmax(-1))
    back = a.backward(idx, g)
    assert back.shape == (n, m * k) and back.dtype == dtype
    expected = np.zeros((n, m, k), dtype)
    np.put_along_axis(expected, zr.argmax(-1)[..., None], g[..., None], axis=-1)
    np.testing.assert_array_equal(back, expected.reshape(n, m * k))
    mask = a.grad(z)
    assert mask.shape == z.shape and mask.dtype == dtype
    np.testing.assert_array_equal(mask.reshape(n, m, k).sum(-1), 1)
    np.testing.assert_array_equal(mask * np.repeat(g, k, axis=1), back)
    f, d = a.fn_grad(z)
    np.testing.assert_array_equal(f, out)
    np.testing.assert_array_equal(d, mask)
    sat = a.saturated(z)
    assert sat.shape == (n, m) and sat.dtype == bool and not sat.any()
    assert not a.saturated(z, idx).any()


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_maxout_backward_is_gradient_of_weighted_sum(k):
    """Central difference of sum(w * maxout(z)) with respect to every entry of z (float64, no near-ties)."""
    a = get_activation(f"maxout:{k}")
    rng = np.random.default_rng(3)
    z = _separated((4, 3 * k), k, rng, gap=1e-2)
    w = rng.standard_normal((4, 3))
    h = 1e-6
    numeric = np.empty_like(z)
    for i in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[i] = h
        numeric[i] = (np.sum(w * a.fn(z + e)) - np.sum(w * a.fn(z - e))) / (2 * h)
    _, ctx = a.forward(z)
    np.testing.assert_allclose(a.backward(ctx, w), numeric, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.grad(z) * np.repeat(w, k, axis=1), numeric, rtol=1e-7, atol=1e-9)


def test_maxout_any_leading_shape_and_ties():
    a = get_activation("maxout:3")
    rng = np.random.default_rng(4)
    mc = rng.standard_normal((1000, 3))  # Monte-Carlo samples of the k pieces, as the theory uses
    np.testing.assert_array_equal(a.fn(mc), mc.max(-1, keepdims=True))
    z3 = rng.standard_normal((2, 4, 6)).astype(np.float32)
    assert a.fn(z3).shape == (2, 4, 2) and a.fn(z3).dtype == np.float32
    assert a.grad(z3).shape == (2, 4, 6)
    np.testing.assert_array_equal(a.fn(z3.T.copy().T), a.fn(z3))  # non-contiguous input
    assert a.fn(np.arange(6.0)).tolist() == [2.0, 5.0]
    # ties (e.g. zero weights): the whole gradient goes to the first maximal piece, once
    zt = np.zeros((2, 6))
    out, ctx = a.forward(zt)
    np.testing.assert_array_equal(ctx, 0)
    np.testing.assert_array_equal(a.backward(ctx, np.ones((2, 2))), np.tile([1.0, 0, 0], (2, 2)))
    with pytest.raises(ValueError, match="multiple of 3"):
        a.fn(np.zeros((2, 7)))
    assert maxout(mc, 3).shape == (1000, 1)
    o, i = maxout_forward(mc, 3)
    np.testing.assert_array_equal(maxout_backward(i, np.ones_like(o), 3), maxout_grad(mc, 3))


def test_maxout_is_stable_and_one_piece_is_identity():
    x = np.concatenate([_extremes(np.float32), _extremes(np.float32)[::-1]]).reshape(2, -1)
    with np.errstate(all="raise"):
        out, ctx = get_activation("maxout").forward(x)
        back = get_activation("maxout").backward(ctx, np.ones_like(out))
    assert np.isfinite(out).all() and np.isfinite(back).all() and out.dtype == np.float32
    one = get_activation("maxout:1")
    z = np.random.default_rng(5).standard_normal((3, 4))
    np.testing.assert_array_equal(one.fn(z), z)
    np.testing.assert_array_equal(one.grad(z), np.ones_like(z))


# -- against PyTorch ------------------------------------------------------------------------------


def _torch_reference(spec, torch):
    F = torch.nn.functional
    alpha = get_activation(spec).__dict__.get("alpha")
    return {
        "linear": lambda t: t,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, alpha),
        "elu": lambda t: F.elu(t, alpha),
        "selu": F.selu,
        "gelu": lambda t: F.gelu(t, approximate="none"),
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "silu": F.silu,
        "softplus": F.softplus,
        "softsign": F.softsign,
        "hard_tanh": F.hardtanh,
        "hard_sigmoid": F.hardsigmoid,
        "erf": torch.erf,
        "mish": F.mish,
    }[_name(spec)]


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS)
def test_matches_pytorch_values_and_autograd(spec):
    torch = pytest.importorskip("torch")
    a = get_activation(spec)
    # |x| <= 18: beyond 20 torch's softplus (and mish through it) switches to x, which is off by e^-x.
    x = _smooth_points(spec, np.random.default_rng(6), lo=-18, hi=18)
    x = x[np.abs(x) <= 18]
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = _torch_reference(spec, torch)(t)
    (dy,) = torch.autograd.grad(y.sum(), t)
    f, d = a.fn_grad(x)
    np.testing.assert_allclose(f, y.detach().numpy(), rtol=1e-12, atol=1e-13)
    # torch's float64 hardsigmoid backward multiplies by float32(1/6) = 0.16666667163...; ours is exactly 1/6
    rtol = 1e-7 if _name(spec) == "hard_sigmoid" else 1e-12
    np.testing.assert_allclose(d, dy.numpy(), rtol=rtol, atol=1e-13)


@pytest.mark.parametrize("k", [2, 3])
def test_maxout_matches_pytorch_autograd(k):
    torch = pytest.importorskip("torch")
    a = get_activation(f"maxout:{k}")
    rng = np.random.default_rng(7)
    z = _separated((16, 8 * k), k, rng)
    w = rng.standard_normal((16, 8))
    t = torch.tensor(z, requires_grad=True)
    y = t.reshape(16, 8, k).amax(-1)
    (dz,) = torch.autograd.grad((y * torch.tensor(w)).sum(), t)
    out, ctx = a.forward(z)
    np.testing.assert_array_equal(out, y.detach().numpy())
    np.testing.assert_array_equal(a.backward(ctx, w), dz.numpy())


def test_float32_normal_cdf_is_tail_accurate():
    """The float32 fast path of GELU's Phi is tail-accurate where Phi is a normal float32.

    Relative error at most 4 ulp * (2 + x^2/2): the rounding of x^2 in float32 is amplified x^2/2
    times by the exponential (3.5 ulp for |x| < 2, 35 ulp at x = -13, found).
    """
    from scipy import special

    from initlab.activations import _ndtr_float32

    x32 = np.concatenate([np.linspace(-13, 13, 200_001), [-1e4, -88, 88, 1e4]]).astype(np.float32)
    x64 = x32.astype(np.float64)
    cdf, e = _ndtr_float32(x32)
    assert cdf.dtype == e.dtype == np.float32
    ref = special.ndtr(x64)
    eps = float(np.finfo(np.float32).eps)
    normal = ref > np.finfo(np.float32).tiny
    rel = np.abs(cdf[normal] / ref[normal] - 1)
    assert np.all(rel <= 4 * eps * (2 + x64[normal] ** 2 / 2))
    assert rel[np.abs(x64[normal]) < 2].max() <= 4 * eps
    assert cdf[x32 == -1e4] == 0 and cdf[x32 == 1e4] == 1
    ok = np.abs(e - np.exp(-x64**2 / 2)) <= 4 * eps * (2 + x64**2 / 2) * np.exp(-x64**2 / 2) + 1e-38
    assert ok.all()
