"""Layers of initlab.nn: central-difference gradient checks in float64 and the inference-mode identities.

Gradient checks: a scalar f = Σ r ⊙ layer(x) with a fixed random r; every analytic derivative (input
and every parameter) is compared with (f(θ+h) − f(θ−h)) / 2h, h = 1e-6, within rtol 1e-5 / atol 1e-7
(the truncation error is ~1e-10 for these smooth functions, a wrong term is O(1)).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from initlab._spec import ConfigError, SpecError
from initlab.activations import ACTIVATIONS
from initlab.initializers import INITIALIZERS
from initlab.nn import Activation, BatchNorm, Dense, Dropout, Flatten, Sequential
from initlab.nn.params import ParamStore

from gradcheck import numgrad

H = 1e-6
RTOL, ATOL = 1e-5, 1e-7


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _build(layer, in_shape, rng, dtype=np.float64):
    layer.build(in_shape, dtype)
    return ParamStore([layer], dtype, rng)


def gradcheck(layer, x, rng, training=True, reset=None):
    """Compare the layer's analytic gradients of Σ r ⊙ y + penalty with central differences.

    Returns the number of arrays checked.
    """
    def f():
        if reset:
            reset()
        return float(np.sum(r * layer.forward(x, training))) + layer.penalty()

    if reset:
        reset()
    out = layer.forward(x, training).copy()
    r = rng.standard_normal(out.shape)
    gx = layer.backward(r, need_grad_x=True).copy()
    grads = {k: v.copy() for k, v in layer.grads.items()}
    checks = 0
    for name, arr, analytic in [("x", x, gx)] + [(k, layer.params[k], grads[k]) for k in layer.params]:
        num = numgrad(f, arr, H)
        np.testing.assert_allclose(analytic, num, rtol=RTOL, atol=ATOL, err_msg=f"d/d{name}")
        checks += 1
    return checks


@pytest.mark.parametrize("act", ACTIVATIONS.names() + ["softmax"])
def test_dense_gradient_every_activation(act):
    rng = _rng(act)
    layer = Dense(3, act=act, init="xavier_normal", bias_init="normal:0.5",
                  kernel_regularizer="l1_l2:l1=0.01,l2=0.02")
    _build(layer, (4,), rng)
    x = rng.standard_normal((5, 4))
    assert gradcheck(layer, x, rng) == 3
    assert layer.forward(x).shape == (5, 3)


@pytest.mark.parametrize("act", ["tanh", "relu", "softmax", "maxout:3"])
def test_dense_without_bias_and_maxout_width(act):
    rng = _rng("nobias" + act)
    layer = Dense(2, act=act, use_bias=False)
    _build(layer, (3,), rng)
    assert set(layer.params) == {"kernel"}
    assert layer.kernel.shape == (3, 2 * layer.act.pieces)
    gradcheck(layer, rng.standard_normal((4, 3)), rng)


def test_activation_layer_and_flatten_gradients():
    rng = _rng("act-layer")
    for act in ("elu", "softmax", "sigmoid"):
        layer = Activation(act)
        _build(layer, (6,), rng)
        gradcheck(layer, rng.standard_normal((4, 6)), rng)
    flat = Flatten()
    assert flat.build((2, 3)) == (6,)
    gradcheck(flat, rng.standard_normal((4, 2, 3)), rng)


def test_batchnorm_gradient_training_mode():
    rng = _rng("bn")
    layer = BatchNorm()
    _build(layer, (3,), rng)
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, 3)
    layer.params["beta"][...] = rng.standard_normal(3)
    x = rng.standard_normal((6, 3)) * 2 + 1
    assert gradcheck(layer, x, rng) == 3


def test_dropout_gradient_with_fixed_mask():
    rng = _rng("dropout")
    layer = Dropout(0.4)
    _build(layer, (5,), rng)
    x = rng.standard_normal((6, 5))

    def reset():
        layer.rng = np.random.default_rng(7)

    gradcheck(layer, x, rng, reset=reset)
    reset()
    y = layer.forward(x, True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.6, rtol=1e-15)
    assert 0 < kept.sum() < kept.size


def test_batchnorm_inference_uses_moving_statistics():
    rng = _rng("bn-inference")
    layer = BatchNorm(momentum=0.9, epsilon=1e-3)
    _build(layer, (4,), rng)
    layer.params["gamma"][...] = [0.5, 1.0, 2.0, 3.0]
    layer.params["beta"][...] = [0.0, -1.0, 1.0, 0.5]
    mm, mv = np.zeros(4), np.ones(4)
    for _ in range(5):
        x = rng.standard_normal((32, 4)) * 3 + 2
        layer.forward(x, True)
        mm = 0.9 * mm + 0.1 * x.mean(0)
        mv = 0.9 * mv + 0.1 * x.var(0)  # biased batch variance, as Keras
    np.testing.assert_allclose(layer.state["moving_mean"], mm, rtol=1e-12)
    np.testing.assert_allclose(layer.state["moving_variance"], mv, rtol=1e-12)
    x = rng.standard_normal((10, 4))
    expected = (x - mm) / np.sqrt(mv + 1e-3) * layer.params["gamma"] + layer.params["beta"]
    np.testing.assert_allclose(layer.forward(x, False), expected, rtol=1e-12)
    # training mode normalises with the batch's own statistics instead
    y = layer.forward(x, True)
    np.testing.assert_allclose(((y - layer.params["beta"]) / layer.params["gamma"]).mean(0), 0, atol=1e-12)


def test_dropout_preserves_expected_activation_and_is_identity_at_inference():
    layer = Dropout(0.3)
    _build(layer, (2000,), _rng("dropout-mean"))
    layer.rng = np.random.default_rng(3)
    x = np.ones((100, 2000))
    y = layer.forward(x, True)
    # mean of 200,000 scaled Bernoulli(0.7)/0.7 entries: SE = sqrt(0.3/0.7/2e5) = 0.0015
    assert abs(y.mean() - 1.0) < 5 * 0.0015
    assert abs((y == 0).mean() - 0.3) < 5 * np.sqrt(0.21 / 2e5)
    assert layer.forward(x, False) is x
    with pytest.raises(ConfigError):
        Dropout(1.0)


@pytest.mark.parametrize("init", INITIALIZERS.names())
def test_dense_accepts_every_initializer(init):
    model = Sequential([Dense(8, act="tanh", init=init, input_dim=6), Dense(2, init=init, bias_init=init)],
                       seed=1)
    model.compile("sgd", "mse")
    x = _rng(init).standard_normal((16, 6)).astype(np.float32)
    hist = model.fit(x, np.zeros((16, 2)), epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(hist["loss"]).all()
    kernel = model.layers[0].kernel
    assert kernel.shape == (6, 8) and kernel.dtype == np.float32 and np.isfinite(kernel).all()
    if INITIALIZERS.cls(init).data_dependent:
        assert model.layers[0].lsuv_passes >= 1


def test_bad_layer_arguments_are_one_line_errors():
    with pytest.raises(SpecError, match="did you mean 'relu'"):
        Dense(3, act="rleu")
    with pytest.raises(SpecError, match="softmax"):
        Dense(3, act="softmx")
    with pytest.raises(ConfigError):
        Dense(0)
    with pytest.raises(ConfigError, match="not both"):
        Dense(3, act="relu", activation="tanh")
    with pytest.raises(ConfigError, match="Flatten"):
        Dense(3).build((2, 2))
    assert Dense(3, activation="relu", kernel_initializer="he_uniform").init.spec == "he_uniform"


def test_layer_get_and_set_weights_write_into_the_model_buffer():
    model = Sequential([Dense(3, input_dim=2), BatchNorm()], seed=0)
    dense, bn = model.layers
    w = dense.get_weights()
    assert [a.shape for a in w] == [(2, 3), (3,)] and len(bn.get_weights()) == 4
    dense.set_weights([np.ones((2, 3)), np.full(3, 2.0)])
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((2, 3)))
    assert np.shares_memory(dense.kernel, model.store.params)
    # x·W + b = 1 + 1 + 2 = 4, then BatchNorm at inference: (4 - 0) / sqrt(1 + 1e-3)
    np.testing.assert_allclose(model.predict(np.ones((1, 2)), batch_size=1)[0], 4.0 / np.sqrt(1 + 1e-3), rtol=1e-6)
    with pytest.raises(ConfigError):
        dense.set_weights([np.ones((3, 2)), np.ones(3)])
