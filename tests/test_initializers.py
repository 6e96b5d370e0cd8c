"""Tests for initlab.initializers (the package) and the orthogonal/LSUV module.

Statistical checks compare the empirical mean and variance of one draw with the closed form within
3 standard errors; the SE of the variance estimate :math:`\\hat\\sigma^2 = \\overline{(x-\\mu)^2}` is
:math:`\\sqrt{(\\hat\\mu_4 - \\hat\\sigma^4)/n}` (sample fourth moment). With 60,000 entries that is a
relative tolerance of about 1.7% for a Gaussian, so a wrong fan, a missing gain or a missing
truncation correction fails. Every seed is fixed (derived from the case's name).
"""

from __future__ import annotations

import dataclasses
import math
import zlib

import numpy as np
import pytest

from initlab._spec import SpecError
from initlab.activations import ACTIVATIONS
from initlab.initializers import (
    INITIALIZERS,
    KERAS_TRUNCATION_STD,
    TRUNCATED_NORMAL_VARIANCE,
    Normal,
    XavierNormal,
    fans,
    gain,
    gain_initializers,
    get_initializer,
    torch_gain,
    with_gain,
)
from initlab.initializers.orthogonal import LSUV, lsuv_rescale, orthogonal_matrix

SHAPES = [(300, 200), (200, 300)]  # fan_in != fan_out, both orientations
MODES = ["fan_in", "fan_out", "fan_avg"]
DISTRIBUTIONS = ["truncated_normal", "untruncated_normal", "uniform"]
VS_SPECS = [f"variance_scaling:scale=2.5,mode={m},distribution={d}" for m in MODES for d in DISTRIBUTIONS]
EXTRA_SPECS = [
    "constant:0.3", "normal:0.5", "uniform:2", "truncated_normal:1.5", "orthogonal:1.7", "xavier:gain=1.3",
    "he_uniform:gain=1", "lecun_normal:0.5", "torch_default:2", "lsuv:tol=0.05,max_passes=3",
] + VS_SPECS
ALL_SPECS = INITIALIZERS.all_names() + EXTRA_SPECS

S2 = math.sqrt(2.0)
# Closed forms written out independently of the code: name -> Var[W] as a function of (fan_in, fan_out).
EXPECTED_VAR = {
    "zeros": lambda i, o: 0.0,
    "constant": lambda i, o: 0.0,
    "normal": lambda i, o: 0.05**2,
    "uniform": lambda i, o: 0.05**2 / 3,
    "truncated_normal": lambda i, o: 0.05**2 * 0.7737413035499232,
    "xavier_normal": lambda i, o: 2 / (i + o),
    "glorot_normal": lambda i, o: 2 / (i + o),
    "xavier_uniform": lambda i, o: (math.sqrt(6 / (i + o))) ** 2 / 3,
    "kaiming_normal": lambda i, o: 2 / i,
    "he_normal": lambda i, o: 2 / i,
    "he_uniform": lambda i, o: (math.sqrt(6 / i)) ** 2 / 3,
    "lecun_normal": lambda i, o: 1 / i,
    "lecun_uniform": lambda i, o: (math.sqrt(3 / i)) ** 2 / 3,
    "torch_default": lambda i, o: (1 / math.sqrt(i)) ** 2 / 3,
    "variance_scaling": lambda i, o: 1 / i,
    "orthogonal": lambda i, o: 1 / max(i, o),
    "lsuv": lambda i, o: 1 / max(i, o),
}
# Entries whose draws are bounded: spec -> bound as a function of the initializer and the shape.
UNIFORM_NAMES = ["uniform", "xavier_uniform", "he_uniform", "lecun_uniform", "torch_default"]


def _seed(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


def _rng(*parts) -> np.random.Generator:
    return np.random.default_rng(_seed(*parts))


def assert_moments(w: np.ndarray, mean: float, var: float, k: float = 3.0) -> None:
    """Empirical mean and variance (about the known mean) within ``k`` standard errors of the closed form."""
    x = np.asarray(w, dtype=np.float64).ravel()
    n = x.size
    d = x - mean
    m2 = float(np.mean(d * d))
    m4 = float(np.mean(d**4))
    se_mean = math.sqrt(m2 / n)
    se_var = math.sqrt(max(m4 - m2 * m2, 0.0) / n)
    assert abs(x.mean() - mean) <= k * se_mean, f"mean {x.mean():.4g} vs {mean:.4g} (SE {se_mean:.3g})"
    assert abs(m2 - var) <= k * se_var, (
        f"variance {m2:.6g} vs {var:.6g} (SE {se_var:.3g}, {(m2 - var) / se_var:+.2f} SE)"
    )


# -- registry coverage ---------------------------------------------------------------------------------
def test_every_entry_has_an_independent_closed_form():
    assert set(EXPECTED_VAR) == set(INITIALIZERS.names())


@pytest.mark.parametrize("name", INITIALIZERS.all_names())
@pytest.mark.parametrize("shape", SHAPES)
def test_default_variance_matches_independent_formula(name, shape):
    init = get_initializer(name)
    expected = EXPECTED_VAR[init.name](*shape)
    assert init.variance(shape) == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.parametrize("name", INITIALIZERS.names())
def test_description_is_one_plain_line(name):
    desc = get_initializer(name).description
    assert desc and "\\" not in desc and ":math:" not in desc and len(desc) < 120


# -- empirical moments vs closed form ------------------------------------------------------------------
@pytest.mark.parametrize("spec", ALL_SPECS)
@pytest.mark.parametrize("shape", SHAPES)
def test_empirical_moments_match_closed_form(spec, shape):
    init = get_initializer(spec)
    w = init.sample(shape, _rng(spec, shape))
    assert w.shape == shape and w.dtype == np.float32
    mean, var = init.mean(shape), init.variance(shape)
    if var == 0.0:  # zeros / constant: exact
        assert np.all(w == np.float32(mean))
    else:
        assert_moments(w, mean, var)


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_one_dimensional_shape_uses_n_for_both_fans(spec):
    init = get_initializer(spec)
    n = 40_000
    w = init.sample((n,), _rng(spec, "1d"), np.float64)
    assert w.shape == (n,) and w.dtype == np.float64
    assert init.variance((n,)) == init.variance((n, n)) or init.name in ("orthogonal", "lsuv")
    if init.variance((n,)) == 0.0:
        assert np.all(w == init.mean((n,)))
    else:
        assert_moments(w, init.mean((n,)), init.variance((n,)))


def test_parameters_are_stored_as_python_numbers():
    assert get_initializer("normal:1") == Normal(np.float32(1.0)) == Normal(1)
    assert type(Normal(np.float32(0.5)).std) is float and type(LSUV(max_passes=np.int64(3)).max_passes) is int
    with pytest.raises(ValueError, match="gain must be a finite number >= 0"):
        XavierNormal(gain=True)


def test_fans():
    assert fans((3, 5)) == (3, 5) and fans((7,)) == (7, 7)
    with pytest.raises(ValueError):
        fans((2, 3, 4))


# -- bounds and the truncated normal -------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec", UNIFORM_NAMES + ["uniform:0.7", "torch_default:3"] + [s for s in VS_SPECS if "uniform" in s]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_bounds(spec, dtype):
    init = get_initializer(spec)
    shape = (300, 200)
    limit = math.sqrt(3.0 * init.variance(shape))
    w = init.sample(shape, _rng(spec, "bounds"), dtype)
    assert np.abs(w).max() <= dtype(limit)
    assert w.min() < -0.999 * limit and w.max() > 0.999 * limit  # fills the interval


@pytest.mark.parametrize(
    "spec,std",
    [("truncated_normal:1.5", 1.5), ("truncated_normal", 0.05)] + [(s, None) for s in VS_SPECS if "=truncated" in s],
)
def test_truncated_bounds(spec, std):
    init = get_initializer(spec)
    shape = (300, 200)
    if std is None:  # Keras: std = sqrt(scale / n) / 0.87962566103423978
        std = math.sqrt(init.variance(shape)) / KERAS_TRUNCATION_STD
    w = init.sample(shape, _rng(spec, "tbounds"), np.float64)
    assert np.abs(w).max() <= 2 * std
    assert np.abs(w).max() > 1.99 * std


def test_truncated_normal_variance_formula():
    stats = pytest.importorskip("scipy.stats")
    phi2 = math.exp(-2) / math.sqrt(2 * math.pi)
    big_phi2 = 0.5 * (1 + math.erf(2 / math.sqrt(2)))
    assert TRUNCATED_NORMAL_VARIANCE == pytest.approx(1 - 2 * 2 * phi2 / (2 * big_phi2 - 1), rel=1e-14)
    assert TRUNCATED_NORMAL_VARIANCE == pytest.approx(stats.truncnorm(-2, 2).var(), rel=1e-12)
    assert KERAS_TRUNCATION_STD**2 == pytest.approx(TRUNCATED_NORMAL_VARIANCE, rel=1e-15)
    assert get_initializer("truncated_normal:2").variance((3, 4)) == pytest.approx(4 * 0.7737413035499232, rel=1e-12)


def test_truncated_normal_has_the_truncated_law():
    stats = pytest.importorskip("scipy.stats")
    w = get_initializer("truncated_normal:1").sample((400_000,), _rng("ks"), np.float64)
    assert stats.kstest(w, stats.truncnorm(-2, 2).cdf).pvalue > 1e-3
    assert stats.kstest(w, stats.norm.cdf).pvalue < 1e-10  # and not the untruncated one


# -- variance_scaling ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,n", [("fan_in", 300), ("fan_out", 200), ("fan_avg", 250)])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS + ["normal", "UNIFORM"])
def test_variance_scaling_closed_form(mode, n, distribution):
    init = get_initializer(f"variance_scaling:2.5,{mode},{distribution},gain=0.5")
    assert init.distribution in DISTRIBUTIONS and init.mode == mode
    assert init.variance((300, 200)) == pytest.approx(0.25 * 2.5 / n, rel=1e-14)


def test_variance_scaling_defaults_are_keras():
    init = get_initializer("variance_scaling")
    assert (init.scale, init.mode, init.distribution, init.gain) == (1.0, "fan_in", "truncated_normal", 1.0)
    assert get_initializer("variance_scaling:distribution=normal") == init  # Keras 2 name


# -- gain ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", gain_initializers())
def test_gain_multiplies_the_std(name):
    shape = (300, 200)
    unit, scaled = with_gain(name, 1.0), with_gain(name, 2.5)
    assert scaled.variance(shape) == pytest.approx(6.25 * unit.variance(shape), rel=1e-14)
    w1 = unit.sample(shape, _rng(name, "gain"), np.float64)
    w2 = scaled.sample(shape, _rng(name, "gain"), np.float64)
    np.testing.assert_allclose(w2, 2.5 * w1, rtol=1e-12, atol=1e-15)
    assert_moments(scaled.sample(shape, _rng(name, "gain2")), 0.0, scaled.variance(shape))


def test_gain_defaults():
    assert get_initializer("he").gain == S2 and get_initializer("kaiming_uniform").gain == S2
    assert get_initializer("kaiming").gain == S2
    for name in set(gain_initializers()) - {"he_normal", "kaiming_normal", "he_uniform"}:
        assert get_initializer(name).gain == 1.0
    assert set(gain_initializers()) == {
        "xavier_normal",
        "glorot_normal",
        "xavier_uniform",
        "kaiming_normal",
        "he_normal",
        "he_uniform",
        "lecun_normal",
        "lecun_uniform",
        "orthogonal",
        "variance_scaling",
        "torch_default",
    }


@pytest.mark.parametrize("spec", ["zeros", "constant:1", "normal:std=0.01", "uniform", "truncated_normal", "lsuv"])
def test_with_gain_on_fixed_scale_is_one_line_error(spec):
    with pytest.raises(SpecError) as info:
        with_gain(spec, 2.0)
    msg = str(info.value)
    assert "\n" not in msg and "a gain applies only to: xavier_normal" in msg and get_initializer(spec).spec in msg


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_with_gain_rejects_bad_values(bad):
    with pytest.raises(SpecError) as info:
        with_gain("xavier", bad)
    assert "\n" not in str(info.value)


def test_with_gain_returns_a_new_object():
    he = get_initializer("he")
    g = with_gain(he, 5 / 3)
    assert g is not he and he.gain == S2 and g.gain == 5 / 3 and get_initializer(g.spec) == g


GAIN_TABLE = {
    "linear": 1.0,
    "identity": 1.0,
    "sigmoid": 1.0,
    "tanh": 5 / 3,
    "relu": S2,
    "selu": 0.75,
    "leaky_relu": math.sqrt(2 / (1 + 0.01**2)),
    "leaky_relu:0.2": math.sqrt(2 / 1.04),
}


def _need(spec: str) -> None:
    if spec.partition(":")[0] not in ACTIVATIONS:
        pytest.skip(f"activation {spec} not registered yet")


@pytest.mark.parametrize("spec", list(GAIN_TABLE))
def test_gain_table(spec):
    _need(spec)
    assert gain(spec) == pytest.approx(GAIN_TABLE[spec], rel=1e-15)
    assert torch_gain(spec) == gain(spec)


@pytest.mark.parametrize("name", ACTIVATIONS.all_names())
def test_gain_defined_exactly_where_pytorch_has_one(name):
    if ACTIVATIONS.get(name).name in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert gain(name) > 0
    else:
        assert torch_gain(name) is None
        with pytest.raises(SpecError) as info:
            gain(name)
        msg = str(info.value)
        assert "\n" not in msg and "initlab recommend --act" in msg and "leaky_relu" in msg


@pytest.mark.parametrize("spec", ["gelu", "elu", "softplus", "mish"])
def test_gain_without_pytorch_value_points_to_recommend(spec):
    _need(spec)
    with pytest.raises(SpecError, match="initlab recommend --act"):
        gain(spec)


def test_gain_of_unknown_activation_is_spec_error():
    with pytest.raises(SpecError, match="unknown activation 'tahn'"):
        gain("tahn")


# -- orthogonal ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(300, 200), (200, 300), (128, 128)])
@pytest.mark.parametrize("g", [1.0, 1.7])
def test_orthogonal_is_semi_orthogonal(shape, g):
    w = get_initializer(f"orthogonal:{g}").sample(shape, _rng("orth", shape), np.float64)
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, g * g * np.eye(min(shape)), atol=1e-5)


def test_orthogonal_float32_and_vector():
    w = get_initializer("orthogonal").sample((300, 200), _rng("orth32"))
    assert w.dtype == np.float32
    np.testing.assert_allclose(w.astype(np.float64).T @ w, np.eye(200), atol=1e-4)
    v = get_initializer("orthogonal:2").sample((500,), _rng("vec"), np.float64)
    assert np.linalg.norm(v) == pytest.approx(2.0, rel=1e-12)


def test_orthogonal_is_haar_not_lapack_signed():
    # Without the sign fix LAPACK's Householder QR makes W[0, 0] negative every time.
    rng = _rng("haar")
    corner = np.array([orthogonal_matrix((4, 3), rng, np.float64)[0, 0] for _ in range(2000)])
    assert 0.45 < np.mean(corner > 0) < 0.55
    assert abs(corner.mean()) < 3 * corner.std() / math.sqrt(corner.size)
    assert np.mean(corner**2) == pytest.approx(1 / 4, abs=3 * np.std(corner**2) / math.sqrt(corner.size))


# -- determinism and dtype -----------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ALL_SPECS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_determinism_and_dtype(spec, dtype):
    init = get_initializer(spec)
    a = init.sample((60, 40), np.random.default_rng(1), dtype)
    b = init.sample((60, 40), np.random.default_rng(1), dtype)
    c = init.sample((60, 40), np.random.default_rng(2), dtype)
    assert a.dtype == dtype and a.tobytes() == b.tobytes()
    assert (a.tobytes() != c.tobytes()) == (init.variance((60, 40)) > 0)


def test_other_float_dtypes_and_rejects_integers():
    assert get_initializer("he").sample((5, 4), _rng("f16"), np.float16).dtype == np.float16
    with pytest.raises(ValueError):
        get_initializer("normal").sample((5, 4), _rng("int"), np.int32)


# -- LSUV ----------------------------------------------------------------------------------------------
def test_lsuv_entry():
    init = get_initializer("lsuv")
    assert init.data_dependent and not get_initializer("orthogonal").data_dependent
    assert (init.tol, init.max_passes) == (0.1, 10)
    w = init.sample((300, 200), _rng("lsuv-start"), np.float64)
    np.testing.assert_allclose(w.T @ w, np.eye(200), atol=1e-5)  # the orthogonal start


@pytest.mark.parametrize("bias", [False, True])
def test_lsuv_tanh_stack_converges_on_the_batch(bias):
    init = get_initializer("lsuv")
    rng = _rng("tanh-stack", bias)
    h = 3.0 * rng.standard_normal((400, 100)).astype(np.float32)  # input far from unit variance
    widths = [100, 80, 120, 60, 100, 100]
    used = []
    for fi, fo in zip(widths[:-1], widths[1:]):
        w0 = init.sample((fi, fo), rng)
        b = (0.5 * rng.standard_normal(fo)).astype(np.float32) if bias else None
        w0_copy, h_copy = w0.copy(), h.copy()
        w, passes, var = init.rescale(w0, h, b)
        assert np.array_equal(w0, w0_copy) and np.array_equal(h, h_copy) and w is not w0  # no mutation
        assert w.dtype == np.float32 and 0 <= passes <= init.max_passes
        z = h @ w + (b if bias else 0)
        assert float(np.var(z, dtype=np.float64)) == pytest.approx(var, rel=1e-6)
        assert abs(var - 1.0) < init.tol
        used.append(passes)
        h = np.tanh(z)
    assert used[0] >= 1  # the first layer's input had variance 9


def test_lsuv_one_pass_is_exact_without_bias():
    rng = _rng("one-pass")
    h = 10.0 * rng.standard_normal((300, 50))
    w0 = orthogonal_matrix((50, 40), rng, np.float64)
    w, passes, var = lsuv_rescale(w0, h)
    assert passes == 1 and var == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(w, w0 / np.sqrt(np.var(h @ w0)), rtol=1e-12)
    w_again, passes_again, _ = lsuv_rescale(w, h)
    assert passes_again == 0 and np.array_equal(w_again, w) and w_again is not w


def test_lsuv_stops_at_max_passes():
    rng = _rng("max-passes")
    h = 5.0 * rng.standard_normal((200, 30))
    bias = 0.5 * rng.standard_normal(20)  # the bias' spread is not rescaled: the error shrinks ~4x per pass
    w0 = orthogonal_matrix((30, 20), rng, np.float64)
    _, passes, var = lsuv_rescale(w0, h, bias, tol=1e-9, max_passes=3)
    assert passes == 3 and abs(var - 1) >= 1e-9
    _, passes_loose, var_loose = lsuv_rescale(w0, h, bias, tol=0.1, max_passes=10)
    assert passes_loose <= 10 and abs(var_loose - 1) < 0.1


def test_lsuv_zero_input_gives_up_quietly():
    w0 = orthogonal_matrix((10, 5), _rng("zero"), np.float64)
    w, passes, var = lsuv_rescale(w0, np.zeros((20, 10)))
    assert passes == 0 and var == 0.0 and np.array_equal(w, w0)


@pytest.mark.parametrize("kw", [{"tol": 0.0}, {"tol": -1.0}, {"max_passes": -1}, {"max_passes": 1.5}])
def test_lsuv_rescale_validates(kw):
    with pytest.raises(ValueError):
        lsuv_rescale(np.eye(3), np.ones((4, 3)), **kw)


def test_lsuv_variance_is_the_orthogonal_start():
    assert LSUV().variance((300, 200)) == get_initializer("orthogonal").variance((300, 200)) == 1 / 300


# -- PyTorch reference ---------------------------------------------------------------------------------
def _torch_weight(fill, shape, seed):
    """Run a torch init function on a (fan_out, fan_in) tensor; return it in our (fan_in, fan_out) layout."""
    torch = pytest.importorskip("torch")
    t = torch.empty(shape[1], shape[0], dtype=torch.float64)
    fill(t, torch.Generator().manual_seed(seed))
    return t.numpy().T


TORCH_CASES = {
    "xavier_normal": lambda nn: lambda t, g: nn.init.xavier_normal_(t, generator=g),
    "xavier_uniform": lambda nn: lambda t, g: nn.init.xavier_uniform_(t, generator=g),
    "he_normal": lambda nn: lambda t, g: nn.init.kaiming_normal_(t, generator=g),
    "he_uniform": lambda nn: lambda t, g: nn.init.kaiming_uniform_(t, generator=g),
    "he_normal:gain=1.6666666666666667": lambda nn: (
        lambda t, g: nn.init.kaiming_normal_(t, nonlinearity="tanh", generator=g)
    ),
    "truncated_normal:0.7": lambda nn: lambda t, g: nn.init.trunc_normal_(t, std=0.7, a=-1.4, b=1.4, generator=g),
    "orthogonal:1.5": lambda nn: lambda t, g: nn.init.orthogonal_(t, gain=1.5, generator=g),
}


@pytest.mark.parametrize("spec", list(TORCH_CASES))
@pytest.mark.parametrize("shape", SHAPES)
def test_torch_samples_match_our_closed_form(spec, shape):
    torch = pytest.importorskip("torch")
    w = _torch_weight(TORCH_CASES[spec](torch.nn), shape, _seed(spec, shape))
    init = get_initializer(spec)
    assert_moments(w, 0.0, init.variance(shape))
    if init.name.endswith("uniform"):
        assert np.abs(w).max() == pytest.approx(math.sqrt(3 * init.variance(shape)), rel=2e-3)


@pytest.mark.parametrize("shape", SHAPES)
def test_torch_default_matches_nn_linear(shape):
    torch = pytest.importorskip("torch")
    fan_in, fan_out = shape
    with torch.random.fork_rng():
        torch.manual_seed(_seed("linear", shape) % 2**31)
        w = torch.nn.Linear(fan_in, fan_out).weight.detach().double().numpy().T
    init = get_initializer("torch_default")
    assert w.shape == shape
    assert_moments(w, 0.0, init.variance(shape))
    assert np.abs(w).max() <= 1 / math.sqrt(fan_in) * (1 + 1e-6)
    assert np.abs(w).max() == pytest.approx(math.sqrt(3 * init.variance(shape)), rel=2e-3)


def test_gain_matches_torch_calculate_gain():
    torch = pytest.importorskip("torch")
    calc = torch.nn.init.calculate_gain
    checked = 0
    for spec in ACTIVATIONS.all_names() + ["leaky_relu:0.2", "leaky_relu:alpha=0.3"]:
        if spec.partition(":")[0] not in ACTIVATIONS:
            continue
        act = ACTIVATIONS.get(spec)
        name = "linear" if act.name == "linear" else act.name
        if torch_gain(act) is None:
            with pytest.raises(ValueError):
                calc(name)  # PyTorch has no value either
            continue
        expected = calc(name, act.alpha) if act.name == "leaky_relu" else calc(name)
        assert gain(spec) == pytest.approx(expected, rel=1e-12), spec
        checked += 1
    assert checked >= 4  # linear, identity, tanh, relu at least


# -- spec strings --------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ALL_SPECS)
def test_spec_round_trip(spec):
    init = get_initializer(spec)
    assert get_initializer(init.spec) == init and str(init) == init.spec
    assert get_initializer(init) is init
    assert dataclasses.replace(init) == init


BAD_SPECS = {
    "normal:-1": "std",
    "uniform:limit=-0.1": "limit",
    "truncated_normal:nan": "std",
    "constant:inf": "value",
    "xavier:gain=-1": "gain",
    "he:abc": "gain",
    "orthogonal:gain=-0.5": "gain",
    "torch_default:-2": "gain",
    "variance_scaling:scale=0": "scale",
    "variance_scaling:-1": "scale",
    "variance_scaling:mode=fan_sideways": "fan_in, fan_out, fan_avg",
    "variance_scaling:distribution=cauchy": "truncated_normal, untruncated_normal, uniform",
    "lsuv:tol=0": "tol",
    "lsuv:max_passes=0": "max_passes",
    "lsuv:max_passes=2.5": "max_passes",
    "normal:0.1,0.2": "at most",
    "xavier:foo=1": "no parameter",
    "zeros:1": "at most",
    "xavierr": "did you mean 'xavier'",
}


@pytest.mark.parametrize("spec", list(BAD_SPECS))
def test_bad_specs_are_one_line_spec_errors(spec):
    with pytest.raises(SpecError) as info:
        get_initializer(spec)
    msg = str(info.value)
    assert "\n" not in msg and BAD_SPECS[spec] in msg


REGISTRY_ORDER = [
    "zeros",
    "constant",
    "normal",
    "uniform",
    "truncated_normal",
    "xavier_normal",
    "glorot_normal",
    "xavier_uniform",
    "kaiming_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "torch_default",
    "variance_scaling",
    "orthogonal",
    "lsuv",
]
ENTRY_MODULES = ["initlab.initializers", "initlab.initializers.orthogonal"] + [
    f"initlab.initializers.{m}" for m in ("base", "fixed", "scaled", "orthogonal", "gain")
]


@pytest.mark.parametrize("first", ENTRY_MODULES)
def test_registration_does_not_depend_on_import_order(first):
    # In a fresh interpreter, with initlab/__init__.py bypassed, import `first` before anything else:
    # whichever module comes first, the package's __init__ registers every entry in the same order.
    import subprocess
    import sys

    code = (
        "import sys, types, initlab as real; pkg = types.ModuleType('initlab'); pkg.__path__ = real.__path__; "
        "[sys.modules.pop(k) for k in list(sys.modules) if k.startswith('initlab')]; sys.modules['initlab'] = pkg; "
        f"import {first}; from initlab.initializers import INITIALIZERS as R; print(R.names()); print(R.all_names())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == [repr(REGISTRY_ORDER), repr(INITIALIZERS.all_names())]
    assert INITIALIZERS.names() == REGISTRY_ORDER


def test_imports_go_one_way():
    # sampler imports no sibling, base only sampler; each family module imports only base; nothing imports the
    # package back.
    import ast
    import pathlib

    import initlab.initializers as pkg

    siblings = {
        "sampler": set(),
        "base": {"sampler"},
        "fixed": {"base"},
        "scaled": {"base"},
        "orthogonal": {"base"},
        "gain": {"base"},
    }
    for name, allowed in siblings.items():
        tree = ast.parse((pathlib.Path(pkg.__file__).parent / f"{name}.py").read_text())
        rel = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}
        assert rel == allowed, (name, rel)
        assert not any(
            isinstance(n, ast.ImportFrom) and n.level == 2 and n.module in (None, "initializers", "lsuv")
            for n in ast.walk(tree)
        ), name


@pytest.mark.parametrize("module", ENTRY_MODULES)
def test_all_names_exist(module):
    import importlib

    mod = importlib.import_module(module)
    assert all(hasattr(mod, n) for n in mod.__all__)
