"""Losses, metrics and regularizers of initlab.nn: gradient checks, Keras' values, stability, names."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from initlab._spec import ConfigError, SpecError
from initlab.nn import (LOSSES, REGULARIZERS, Dense, Sequential, get_loss, get_metric, get_regularizer,
                        to_categorical)
from initlab.nn.losses import EPSILON
from initlab.nn.softmax import softmax

from gradcheck import numgrad

H = 1e-6


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))




def _case(name: str, from_logits: bool, rng):
    """(prepared targets, predictions) for a loss: predictions strictly inside the clip range."""
    n, k = 5, 4
    if name == "binary_crossentropy":
        y = rng.integers(0, 2, (n, k)).astype(float)
        p = rng.standard_normal((n, k)) * 2 if from_logits else rng.uniform(0.05, 0.95, (n, k))
    elif name == "categorical_crossentropy":
        y = rng.dirichlet(np.ones(k), n)  # soft targets exercise the Σy factor
        p = rng.standard_normal((n, k)) * 2 if from_logits else rng.uniform(0.1, 1.0, (n, k))  # unnormalised
    elif name == "sparse_categorical_crossentropy":
        y = rng.integers(0, k, n)
        p = rng.standard_normal((n, k)) * 2 if from_logits else rng.uniform(0.1, 1.0, (n, k))
    else:
        y = rng.standard_normal((n, k))
        p = rng.standard_normal((n, k))
    return y, p


CASES = [(name, fl) for name in LOSSES.names() for fl in ((False, True) if "crossentropy" in name else (False,))]


@pytest.mark.parametrize("name,from_logits", CASES)
def test_loss_gradient(name, from_logits):
    rng = _rng(name + str(from_logits))
    loss = get_loss(f"{name}:from_logits={from_logits}" if "crossentropy" in name else name)
    y, p = _case(name, from_logits, rng)
    value, g = loss.value_and_grad(y, p)
    assert np.isfinite(value) and g.shape == p.shape and g.dtype == p.dtype
    num = numgrad(lambda: loss.value_and_grad(y, p)[0], p, H)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


def test_keras_values_from_probabilities():
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    p = np.array([[0.2, 0.7], [1.0, 0.0]])  # the second row is clipped to [1e-7, 1 - 1e-7]
    bce = get_loss("binary_crossentropy")(y, p)
    pc = np.clip(p, EPSILON, 1 - EPSILON)
    expected = -np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    assert bce == pytest.approx(expected, rel=1e-12)
    assert bce == pytest.approx((-np.log(0.8) - np.log(0.7) - 2 * np.log(1 - 1e-7)) / 4, rel=1e-12)
    # categorical: rows renormalised, then clipped
    cce = get_loss("categorical_crossentropy")(y, p)
    q = p / p.sum(1, keepdims=True)
    assert cce == pytest.approx(-np.mean(np.sum(y * np.log(np.clip(q, EPSILON, 1 - EPSILON)), 1)), rel=1e-12)
    assert get_loss("sparse_categorical_crossentropy")([1, 0], p) == pytest.approx(cce, rel=1e-12)
    assert get_loss("mse")(y, p) == pytest.approx(np.mean((y - p) ** 2))
    assert get_loss("mae")(y, p) == pytest.approx(np.mean(np.abs(y - p)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_from_logits_is_stable_and_agrees_with_probabilities(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-50.0, 30.0, 2.0]], dtype=dtype)
    y = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        v, g = get_loss("categorical_crossentropy:from_logits=true").value_and_grad(y, z)
        vb, gb = get_loss("bce:from_logits=true").value_and_grad(y, z)
    assert v == pytest.approx((2e4 + np.log1p(np.exp(-28.0))) / 2, rel=1e-6)  # lse(z) - z_y per row
    assert np.isfinite(g).all() and np.isfinite(gb).all() and np.isfinite(vb)
    # moderate logits: from logits == from the sigmoid/softmax probabilities
    z = _rng("moderate").standard_normal((6, 3)).astype(dtype)
    yc = to_categorical([0, 1, 2, 0, 1, 2], 3, dtype=dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert get_loss("cce:from_logits=true")(yc, z) == pytest.approx(get_loss("cce")(yc, softmax(z)), rel=tol)
    sig = 1 / (1 + np.exp(-z))
    assert get_loss("bce:from_logits=true")(yc, z) == pytest.approx(get_loss("bce")(yc, sig), rel=tol)


def test_fused_softmax_training_equals_unfused_gradient():
    """A softmax output + CCE trains on logits; its gradient equals the unfused chain rule."""
    rng = _rng("fused")
    x = rng.standard_normal((8, 5))
    y = rng.integers(0, 3, 8)
    models = []
    for fuse in (True, False):
        m = Sequential([Dense(3, act="softmax", input_dim=5)], seed=2, dtype="float64")
        m.compile("sgd", "sparse_categorical_crossentropy")
        m.build()
        m._check_optimizer()
        if not fuse:
            m._fused = False
        m.train_step(x, y)
        models.append(m)
    assert models[0]._fused
    np.testing.assert_allclose(models[0].store.grads, models[1].store.grads, rtol=1e-10, atol=1e-14)


def test_targets_are_checked():
    with pytest.raises(ConfigError, match="sparse_categorical_crossentropy"):
        get_loss("categorical_crossentropy").prepare_targets(np.array([0, 1]), (2, 3), np.float32)
    with pytest.raises(ConfigError, match=r"\[0, 3\)"):
        get_loss("sparse_categorical_crossentropy").prepare_targets(np.array([0, 3]), (2, 3), np.float32)
    y = get_loss("bce").prepare_targets([0, 1, 1], (3, 1), np.float32)
    assert y.shape == (3, 1) and y.dtype == np.float32
    np.testing.assert_array_equal(to_categorical([2, 0]), [[0, 0, 1], [1, 0, 0]])


def test_unknown_names_give_closest_match():
    with pytest.raises(SpecError, match="did you mean 'binary_crossentropy'"):
        get_loss("binary_crossentropyy")
    with pytest.raises(SpecError, match="did you mean 'accuracy'"):
        get_metric("acuracy")
    with pytest.raises(SpecError, match="did you mean 'l2'"):
        get_regularizer("l3")


def test_metrics():
    p = np.array([[0.2, 0.7, 0.1], [0.5, 0.3, 0.2]])
    assert get_metric("categorical_accuracy")(to_categorical([1, 1], 3), p) == 0.5
    assert get_metric("sparse_categorical_accuracy")(np.array([1, 0]), p) == 1.0
    assert get_metric("binary_accuracy")(np.array([1, 0]), np.array([[0.6], [0.4]])) == 1.0
    assert get_metric("mae")(np.zeros((2, 3)), p) == pytest.approx(np.abs(p).mean())
    assert get_metric("mse")(np.zeros((2, 3)), p) == pytest.approx((p**2).mean())
    acc = get_metric("accuracy")
    assert acc.resolve(get_loss("bce"), 1).name == "binary_accuracy"
    assert acc.resolve(get_loss("scce"), 10).name == "sparse_categorical_accuracy"
    assert acc.resolve(get_loss("cce"), 10).name == "categorical_accuracy"
    assert acc.resolve(get_loss("mse"), 1).name == "binary_accuracy"


@pytest.mark.parametrize("spec", ["l1:0.03", "l2:0.02", "l1_l2:l1=0.01,l2=0.05", "elastic_net"])
def test_regularizer_penalty_and_gradient(spec):
    reg = get_regularizer(spec)
    w = _rng(spec).standard_normal((4, 3))
    l1 = getattr(reg, "l1", 0.0)
    l2 = getattr(reg, "l2", 0.0)
    assert reg.penalty(w) == pytest.approx(l1 * np.abs(w).sum() + l2 * (w**2).sum(), rel=1e-12)
    g = np.zeros_like(w)
    reg.add_grad(w, g)
    np.testing.assert_allclose(g, numgrad(lambda: reg.penalty(w), w, H), rtol=1e-6, atol=1e-9)
    assert spec.split(":")[0] in REGULARIZERS


def test_regularizer_penalty_is_added_to_the_loss():
    x = _rng("pen").standard_normal((10, 3))
    m = Sequential([Dense(2, input_dim=3, kernel_regularizer="l2:0.1")], dtype="float64")
    m.compile("sgd", "mse")
    res = m.evaluate(x, np.zeros((10, 2)))
    pred = m.predict(x)
    assert res["loss"] == pytest.approx(np.mean(pred**2) + 0.1 * (m.layers[0].kernel ** 2).sum(), rel=1e-12)
