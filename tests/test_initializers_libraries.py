"""Names keep their library's promise: each is tested against the library it comes from.

Keras' names (``glorot_normal``, ``he_normal``, ``lecun_normal``, ``variance_scaling``) against Keras 3's
own initializers (``KERAS_BACKEND=torch``), PyTorch's (``xavier_normal``, ``kaiming_normal`` and the
uniform ones) against ``torch.nn.init``: a two-sample Kolmogorov–Smirnov test of 100,000 draws from each.
Each test also checks that the *other* library's sampler is rejected where the two differ (a truncated
against an untruncated normal of the same variance), so the test has the power to tell them apart.
Skipped cleanly where a library is not installed (they are references for the tests only).

Thresholds: a correct sampler gives a uniform p-value, so ``p > 1e-3`` fails a right answer one time in
a thousand per seed (the seeds are fixed, so the outcome is too); the two laws differ by
:math:`\\sup|F_1 - F_2| \\approx 0.02` while the test rejects at p < 1e-6 from about 0.011 at this size (measured: 2e-14 and below).
"""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

from initlab.initializers import get_initializer

stats = pytest.importorskip("scipy.stats")

FAN_IN, FAN_OUT = 400, 250  # our weight is (fan_in, fan_out); torch's is (fan_out, fan_in)
SHAPE = (FAN_IN, FAN_OUT)
P_SAME, P_DIFFERENT = 1e-3, 1e-6


def _ours(spec: str) -> np.ndarray:
    seed = zlib.crc32(spec.encode())  # a stream of its own for each spec
    return get_initializer(spec).sample(SHAPE, np.random.default_rng(seed), np.float32).ravel().astype(np.float64)


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.ks_2samp(a, b).pvalue)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _torch_draw(torch, fill, **kw) -> np.ndarray:
    torch.manual_seed(1)
    w = torch.empty(FAN_OUT, FAN_IN, dtype=torch.float32)
    fill(w, **kw)
    return w.numpy().ravel().astype(np.float64)


def _keras_draw(keras, init) -> np.ndarray:
    w = init(SHAPE)  # Keras' kernel layout is ours: (fan_in, fan_out)
    w = w.detach().cpu().numpy() if hasattr(w, "detach") else np.asarray(w)  # torch backend, or another
    return np.asarray(w, dtype=np.float64).ravel()


TORCH_CASES = [
    # (our spec, torch.nn.init function, its keywords)
    ("kaiming_normal", "kaiming_normal_", {"nonlinearity": "relu"}),
    ("kaiming", "kaiming_normal_", {"nonlinearity": "relu"}),
    ("xavier_normal", "xavier_normal_", {}),
    ("xavier", "xavier_normal_", {}),
    ("xavier_normal:gain=1.6666666666666667", "xavier_normal_", {"gain": 5.0 / 3.0}),
    ("kaiming_uniform", "kaiming_uniform_", {"nonlinearity": "relu"}),
    ("xavier_uniform", "xavier_uniform_", {}),
]


@pytest.mark.parametrize("spec,fn,kw", TORCH_CASES)
def test_pytorch_names_draw_as_torch_nn_init(torch, spec, fn, kw):
    ref = _torch_draw(torch, getattr(torch.nn.init, fn), **kw)
    assert _ks(_ours(spec), ref) > P_SAME


KERAS_CASES = [
    # (our spec, Keras 3 initializer factory)
    ("he_normal", lambda k: k.initializers.HeNormal(seed=1)),
    ("he", lambda k: k.initializers.HeNormal(seed=1)),
    ("glorot_normal", lambda k: k.initializers.GlorotNormal(seed=1)),
    ("glorot", lambda k: k.initializers.GlorotNormal(seed=1)),
    ("lecun_normal", lambda k: k.initializers.LecunNormal(seed=1)),
    ("variance_scaling", lambda k: k.initializers.VarianceScaling(seed=1)),
    ("variance_scaling:scale=2.5,mode=fan_avg,distribution=truncated_normal",
     lambda k: k.initializers.VarianceScaling(2.5, "fan_avg", "truncated_normal", seed=1)),
    ("variance_scaling:scale=3,mode=fan_out,distribution=untruncated_normal",
     lambda k: k.initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=1)),
    ("glorot_uniform", lambda k: k.initializers.GlorotUniform(seed=1)),
    ("he_uniform", lambda k: k.initializers.HeUniform(seed=1)),
]


@pytest.mark.parametrize("spec,make", KERAS_CASES, ids=[c[0] for c in KERAS_CASES])
def test_keras_names_draw_as_keras(keras, spec, make):
    ref = _keras_draw(keras, make(keras))
    assert _ks(_ours(spec), ref) > P_SAME


@pytest.mark.parametrize("keras_name,torch_name", [("he_normal", "kaiming_normal"), ("glorot_normal", "xavier_normal")])
def test_keras_and_pytorch_names_are_told_apart(torch, keras_name, torch_name):
    # Same variance, different law: each library's sampler is rejected for the other library's name.
    fn = {"kaiming_normal": ("kaiming_normal_", {"nonlinearity": "relu"}), "xavier_normal": ("xavier_normal_", {})}
    name, kw = fn[torch_name]
    ref = _torch_draw(torch, getattr(torch.nn.init, name), **kw)
    assert get_initializer(keras_name).variance(SHAPE) == pytest.approx(get_initializer(torch_name).variance(SHAPE))
    assert _ks(_ours(keras_name), ref) < P_DIFFERENT
    assert _ks(_ours(torch_name), ref) > P_SAME


def test_keras_he_normal_is_not_untruncated(keras):
    ref = _keras_draw(keras, keras.initializers.HeNormal(seed=2))
    assert _ks(_ours("kaiming_normal"), ref) < P_DIFFERENT


def test_short_names_resolve_to_their_library():
    assert type(get_initializer("he")) is type(get_initializer("he_normal"))
    assert type(get_initializer("glorot")) is type(get_initializer("glorot_normal"))
    assert type(get_initializer("xavier")) is type(get_initializer("xavier_normal"))
    assert type(get_initializer("kaiming")) is type(get_initializer("kaiming_normal"))
    assert get_initializer("he").family == "truncated_normal" and get_initializer("kaiming").family == "normal"
    # the truncated ones never leave ±2σ, σ = sqrt(var)/0.8796 (Keras' constant)
    w = _ours("he_normal")
    sigma = np.sqrt(get_initializer("he_normal").variance(SHAPE)) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * sigma * (1 + 1e-6) and np.abs(w).max() > 1.99 * sigma
