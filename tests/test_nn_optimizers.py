"""Optimizers and learning-rate schedules of initlab.nn against hand-computed updates (and PyTorch).

Gradients include entries of size 1e-7, where ε is not negligible, so a wrong ε placement (Keras'
ε̂ outside Adam's bias correction, ε inside RMSprop's and Adagrad's square root) fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from initlab._spec import SpecError
from initlab.nn import (SGD, Adagrad, Adam, Callback, CosineDecay, CyclicLR, Dense, ExponentialDecay,
                        LearningRateScheduler, ReduceLROnPlateau, RMSprop, Sequential, StepDecay, get_optimizer,
                        get_schedule)

P0 = np.array([0.5, -1.0, 2.0, 0.1])
G1 = np.array([0.3, -2.0, 1e-7, -4e-7])
G2 = np.array([-0.1, 0.5, 2e-7, 1.0])


def run(opt, grads, p0=P0):
    p = p0.copy()
    for g in grads:
        opt.apply(p, g.copy())
    return p


def test_sgd_plain_momentum_nesterov():
    np.testing.assert_allclose(run(SGD(), [G1]), P0 - 0.01 * G1, rtol=1e-15)
    v1 = -0.1 * G1
    v2 = 0.9 * v1 - 0.1 * G2
    np.testing.assert_allclose(run(SGD(0.1, momentum=0.9), [G1, G2]), P0 + v1 + v2, rtol=1e-14)
    p1 = P0 + 0.9 * v1 - 0.1 * G1
    p2 = p1 + 0.9 * v2 - 0.1 * G2
    np.testing.assert_allclose(run(SGD(0.1, momentum=0.9, nesterov=True), [G1, G2]), p2, rtol=1e-14)


def test_adagrad_keras_rule():
    acc1 = 0.1 + G1**2
    p1 = P0 - 0.001 * G1 / np.sqrt(acc1 + 1e-7)
    acc2 = acc1 + G2**2
    p2 = p1 - 0.001 * G2 / np.sqrt(acc2 + 1e-7)
    np.testing.assert_allclose(run(Adagrad(), [G1, G2]), p2, rtol=1e-14)


def test_rmsprop_keras_rule_epsilon_inside_the_root():
    v1 = 0.1 * G1**2
    p1 = P0 - 0.001 * G1 / np.sqrt(v1 + 1e-7)
    v2 = 0.9 * v1 + 0.1 * G2**2
    p2 = p1 - 0.001 * G2 / np.sqrt(v2 + 1e-7)
    np.testing.assert_allclose(run(RMSprop(), [G1, G2]), p2, rtol=1e-14)
    torch_style = P0 - 0.001 * G1 / (np.sqrt(v1) + 1e-7)
    assert not np.allclose(run(RMSprop(), [G1]), torch_style, rtol=1e-6)
    # momentum and centered variants
    m1 = 0.001 * G1 / np.sqrt(v1 + 1e-7)
    m2 = 0.5 * m1 + 0.001 * G2 / np.sqrt(v2 + 1e-7)
    np.testing.assert_allclose(run(RMSprop(momentum=0.5), [G1, G2]), P0 - m1 - m2, rtol=1e-14)
    a1 = 0.1 * G1
    np.testing.assert_allclose(run(RMSprop(centered=True), [G1]), P0 - 0.001 * G1 / np.sqrt(v1 - a1**2 + 1e-7),
                               rtol=1e-14)


def test_adam_keras_rule_epsilon_hat():
    m1, v1 = 0.1 * G1, 0.001 * G1**2
    a1 = 0.001 * math.sqrt(1 - 0.999) / (1 - 0.9)
    p1 = P0 - a1 * m1 / (np.sqrt(v1) + 1e-7)
    m2, v2 = 0.9 * m1 + 0.1 * G2, 0.999 * v1 + 0.001 * G2**2
    a2 = 0.001 * math.sqrt(1 - 0.999**2) / (1 - 0.9**2)
    p2 = p1 - a2 * m2 / (np.sqrt(v2) + 1e-7)
    opt = Adam()
    np.testing.assert_allclose(run(opt, [G1, G2]), p2, rtol=1e-14)
    assert opt.iterations == 2
    np.testing.assert_allclose(opt.state["m"], m2, rtol=1e-14)
    np.testing.assert_allclose(opt.state["v"], v2, rtol=1e-14)
    # PyTorch's placement (ε added to the bias-corrected root) is a different update for tiny gradients
    torch_style = P0 - 0.001 / 0.1 * m1 / (np.sqrt(v1 / 0.001) + 1e-7)
    assert not np.allclose(run(Adam(), [G1]), torch_style, rtol=1e-6)


def test_float32_update_stays_float32_and_threads_do_not_change_bits():
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(300_000).astype(np.float32)
    grads = [rng.standard_normal(p0.size).astype(np.float32) for _ in range(3)]
    for spec in ("adam", "rmsprop:momentum=0.9", "sgd:momentum=0.9,nesterov=true", "adagrad"):
        results = []
        for threads in (1, 2, 3):
            opt = get_optimizer(spec)
            opt.threads = threads
            results.append(run(opt, grads, p0))
        assert results[0].dtype == np.float32
        for r in results[1:]:
            np.testing.assert_array_equal(r, results[0])


def test_optimizer_specs_and_errors():
    opt = get_optimizer("sgd:0.1,momentum=0.9,nesterov=true")
    assert (opt.learning_rate, opt.momentum, opt.nesterov) == (0.1, 0.9, True)
    assert get_optimizer("Adam").learning_rate == 0.001
    assert RMSprop().rho == 0.9 and RMSprop().epsilon == 1e-7 and Adagrad().initial_accumulator_value == 0.1
    with pytest.raises(SpecError, match="did you mean 'adam'"):
        get_optimizer("adma")
    with pytest.raises(SpecError):
        get_optimizer("adam:beta_1=1.5")
    with pytest.raises(SpecError, match="did you mean 'rmsprop'"):
        Sequential([Dense(1, input_dim=2)]).compile(optimizer="rmsporp", loss="mse")


def test_schedule_as_learning_rate_counts_steps():
    opt = SGD(learning_rate=ExponentialDecay(0.1, decay_rate=0.5, decay_steps=2))
    used = []
    p = P0.copy()
    for _ in range(4):
        opt.apply(p, G1.copy())
        used.append(opt.last_lr)
    np.testing.assert_allclose(used, [0.1 * 0.5 ** (t / 2) for t in range(4)], rtol=1e-15)


def test_schedules_hand_values():
    s = StepDecay(0.1, drop=0.5, every=10)
    assert [s(t) for t in (0, 9, 10, 25)] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    e = ExponentialDecay(0.1, decay_rate=0.5, decay_steps=10)
    assert e(5) == pytest.approx(0.1 * 0.5**0.5) and e(20) == pytest.approx(0.025)
    assert ExponentialDecay(0.1, 0.5, 10, staircase=True)(15) == pytest.approx(0.05)
    c = CosineDecay(0.1, decay_steps=100, alpha=0.1)
    assert [c(t) for t in (0, 50, 100, 200)] == pytest.approx([0.1, 0.055, 0.01, 0.01])
    tri = CyclicLR(0.001, 0.006, step_size=10)
    assert [tri(t) for t in (0, 5, 10, 15, 20, 30)] == pytest.approx([0.001, 0.0035, 0.006, 0.0035, 0.001, 0.006])
    tri2 = CyclicLR(0.001, 0.006, step_size=10, mode="triangular2")
    assert [tri2(t) for t in (10, 25, 30, 50)] == pytest.approx([0.006, 0.00225, 0.0035, 0.00225])
    assert get_schedule("cyclic:base_lr=0.001,max_lr=0.006,step_size=10,mode=triangular2") == tri2
    assert get_schedule("step_decay:0.1,drop=0.5,every=10") == s
    with pytest.raises(SpecError):
        get_schedule("cyclic:mode=square")


def _tiny_model(lr=0.01):
    x = np.random.default_rng(1).standard_normal((20, 3))
    m = Sequential([Dense(1, input_dim=3)], dtype="float64")
    m.compile(SGD(lr), "mse")
    return m, x, x.sum(1)


def test_learning_rate_scheduler_per_epoch_and_with_current_rate():
    m, x, y = _tiny_model()
    h = m.fit(x, y, epochs=3, verbose=0, callbacks=[LearningRateScheduler(StepDecay(0.1, drop=0.5, every=1))])
    np.testing.assert_allclose(h["learning_rate"], [0.1, 0.05, 0.025], rtol=1e-15)
    m, x, y = _tiny_model(0.01)
    h = m.fit(x, y, epochs=3, verbose=0, callbacks=[LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    np.testing.assert_allclose(h["learning_rate"], [0.005, 0.0025, 0.00125], rtol=1e-15)


class Inject(Callback):
    """Puts a prescribed value under ``key`` in the epoch logs (runs before the callbacks after it)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_reduce_lr_on_plateau_keras_rule():
    m, x, y = _tiny_model(0.08)
    score = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8]
    cb = ReduceLROnPlateau(monitor="score", factor=0.5, patience=2, cooldown=1)
    h = m.fit(x, y, epochs=9, verbose=0, callbacks=[Inject("score", score), cb])
    # epochs 2, 3 do not improve on 0.9 -> halve after epoch 3 (index); cooldown 1 epoch (4);
    # epoch 5 improves; 6, 7 stall -> halve after epoch 7
    np.testing.assert_allclose(h["learning_rate"], [0.08] * 4 + [0.04] * 4 + [0.02], rtol=1e-15)


def test_adam_and_rmsprop_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    p0 = rng.standard_normal(50)
    grads = [rng.standard_normal(50) * s for s in (1.0, 1e-6)]

    def torch_run(make, steps):
        t = torch.tensor(p0.copy(), requires_grad=True)
        opt = make([t])
        for g in steps:
            t.grad = torch.tensor(g)
            opt.step()
        return t.detach().numpy()

    # Adam, one step: Keras' ε̂ equals torch's ε·sqrt(1 - β2^t) at t = 1
    for g in grads:
        ours = run(Adam(learning_rate=0.01, epsilon=1e-7), [g], p0)
        theirs = torch_run(lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-7 / math.sqrt(1 - 0.999)), [g])
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    # RMSprop: ε inside (Keras) vs outside (torch) the root agree for ε = 0, at any step
    ours = run(RMSprop(learning_rate=0.01, rho=0.9, epsilon=0.0), grads, p0)
    theirs = torch_run(lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=0.0), grads)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    # SGD with (Nesterov) momentum: Keras' velocity is -lr times torch's buffer, same iterates
    for nesterov in (False, True):
        ours = run(SGD(0.1, momentum=0.9, nesterov=nesterov), grads * 2, p0)
        theirs = torch_run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=nesterov), grads * 2)
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
