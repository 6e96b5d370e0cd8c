"""Two lessons of the notes measured without data: why cross-entropy beats MSE far from the answer, and why
non-zero-centred activations (sigmoid) make gradient descent zig-zag.

* :func:`output_gradients` — the output-layer gradient :math:`|\\partial L/\\partial z|` against the
  predicted probability :math:`p` of the right class, read from the trainer's own backward pass, for
  cross-entropy and MSE after a sigmoid (binary) and a softmax (10 classes). Closed forms (sigmoid):
  cross-entropy :math:`|p - 1|`; MSE :math:`2(1-p)\\,p(1-p)`, which vanishes as :math:`p \\to 0`: a model
  that is confidently wrong barely learns under MSE.
* :func:`same_sign_fraction` — per layer, the fraction of units whose weight-gradient vector (the
  gradient on the unit's incoming weights, :math:`\\partial L/\\partial W_{:,j} = h\\, g_j` for one sample)
  has entries of one sign. After a sigmoid every :math:`h_i > 0`, so for one sample it is 1 in every layer
  but the first; after tanh it is about :math:`2^{1-\\text{fan-in}}`. A minibatch sums such gradients and
  mixes the signs, so both numbers are given.
* :func:`zigzag` — the 2-parameter toy: least squares :math:`(w \\cdot x - y)^2` with inputs that are all
  positive (as sigmoid outputs) or centred, fitted by per-sample gradient descent from :math:`w = 0` towards
  :math:`w^* = (1, -1)`. With positive inputs every step moves both weights in the same direction, so the
  path zig-zags; centred inputs go more directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import nn

__all__ = ["output_gradients", "same_sign_fraction", "zigzag", "W_STAR"]

#: The optimum of the zig-zag toy.
W_STAR = np.array([1.0, -1.0])


def _grad_at_output(out_act: str, loss: str, z: np.ndarray, target: np.ndarray) -> float:
    """``|dL/dz|`` of one sample (the right class's logit) from the trainer's backward pass: a Dense with a
    zero kernel whose bias is the logit vector ``z``."""
    k = z.size
    model = nn.Sequential([nn.Input((1,)), nn.Dense(k, act=out_act, init="zeros", bias_init="zeros")],
                          dtype="float64")
    model.compile(optimizer="sgd:0", loss=loss)
    model.layers[0].bias[...] = z
    model.train_step(np.zeros((1, 1)), target.reshape(1, k))
    right = int(np.argmax(target))
    return float(abs(model.layers[0].bias_grad[right]))


def output_gradients(p: np.ndarray | None = None, classes: int = 10) -> pd.DataFrame:
    """One row per probability ``p`` of the right class: ``p``, then ``|dL/dz|`` for ``sigmoid_ce``,
    ``sigmoid_mse``, ``softmax_ce``, ``softmax_mse`` (``classes`` classes, the wrong logits equal), and the
    closed forms ``sigmoid_ce_exact`` :math:`= 1 - p`, ``sigmoid_mse_exact`` :math:`= 2(1-p)^2 p`."""
    p = np.linspace(0.005, 0.995, 100) if p is None else np.asarray(p, dtype=np.float64)
    rows = []
    for q in p:
        z1 = np.array([np.log(q / (1 - q))])
        # softmax: logit a for the right class, 0 for the others, p = e^a / (e^a + k - 1)
        zk = np.zeros(classes)
        zk[0] = np.log(q * (classes - 1) / (1 - q))
        tk = np.eye(classes)[0]
        rows.append({
            "p": float(q),
            "sigmoid_ce": _grad_at_output("sigmoid", "binary_crossentropy", z1, np.ones(1)),
            "sigmoid_mse": _grad_at_output("sigmoid", "mse", z1, np.ones(1)),
            "softmax_ce": _grad_at_output("softmax", "categorical_crossentropy", zk, tk),
            "softmax_mse": _grad_at_output("softmax", "mse", zk, tk),
            "sigmoid_ce_exact": 1 - q, "sigmoid_mse_exact": 2 * (1 - q) ** 2 * q,
        })
    return pd.DataFrame(rows)


def same_sign_fraction(acts: tuple[str, ...] = ("sigmoid", "tanh"), *, depth: int = 4, width: int = 64,
                       n_in: int = 32, batch: int = 64, seed: int = 0) -> pd.DataFrame:
    """Per activation and layer, at init (Xavier-uniform kernels, Gaussian inputs, a random regression
    target, MSE): ``per_sample`` — the fraction of (sample, unit) pairs whose weight-gradient vector
    :math:`h\\,g_j` has entries of one sign — and ``per_batch`` — the same for the minibatch gradient
    :math:`\\sum_n h_n g_{n,j}` (the kernel's gradient column of the update)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, n_in))
    y = rng.standard_normal((batch, 1))
    rows = []
    for a in acts:
        layers = [nn.Input((n_in,))] + [nn.Dense(width, act=a) for _ in range(depth)] + [nn.Dense(1)]
        model = nn.Sequential(layers, seed=seed, dtype="float64")
        model.compile(optimizer="sgd:0", loss="mse")
        model.train_step(x, y)
        for k, d in enumerate(model.layers):
            h, g = d._x, d._gz  # the layer's input and the gradient at its pre-activation
            s = np.sign(h)[:, :, None] * np.sign(g)[:, None, :]  # (n, fan_in, units): signs of h_i g_j
            one_sign = np.all(s > 0, axis=1) | np.all(s < 0, axis=1)
            gw = d.kernel_grad
            rows.append({"act": a, "layer": k + 1, "input": "data" if k == 0 else f"{a} outputs",
                         "per_sample": float(one_sign.mean()),
                         "per_batch": float(np.mean(np.all(gw > 0, axis=0) | np.all(gw < 0, axis=0)))})
    return pd.DataFrame(rows)


def zigzag(*, steps: int = 60, lr: float = 0.2, n: int = 64, seed: int = 0) -> pd.DataFrame:
    r"""The toy's paths: one row per step and input kind (``positive``: :math:`x \sim U(0.2, 1.2)^2`, all
    positive like sigmoid outputs; ``centred``: the same inputs minus their mean), fitted by per-sample
    gradient descent from :math:`w = 0`. The step size is ``lr`` over the largest eigenvalue of
    :math:`E[x x^\top]` of each kind, so both runs are as fast as stability allows. Columns ``w1``, ``w2``,
    ``loss`` (mean over the inputs), ``distance`` to :math:`w^*` and ``same_sign`` (both weights moved in
    the same direction at this step: always, for positive inputs)."""
    rng = np.random.default_rng(seed)
    xp = rng.uniform(0.2, 1.2, size=(n, 2))
    order = rng.integers(0, n, size=steps)
    rows = []
    for kind, x in (("positive", xp), ("centred", xp - xp.mean(axis=0))):
        y = x @ W_STAR
        eta = lr / float(np.linalg.eigvalsh(x.T @ x / n).max())
        w = np.zeros(2)
        for t in range(steps + 1):
            row = {"kind": kind, "step": t, "w1": w[0], "w2": w[1], "loss": float(np.mean((x @ w - y) ** 2)),
                   "distance": float(np.linalg.norm(w - W_STAR)), "same_sign": np.nan}
            if t < steps:
                i = order[t]
                step = -eta * 2 * (x[i] @ w - y[i]) * x[i]
                row["same_sign"] = float(step[0] * step[1] > 0)
                w = w + step
            rows.append(row)
    return pd.DataFrame(rows)
