"""Synthetic simulation results for the figure and report tests: a tiny numpy net in the layers schema."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from initlab.activations import get_activation
from initlab.schema import LAYER_COLUMNS, Histograms

__all__ = ["CONFIGS3", "FakeResult", "synthetic"]

# ---------------------------------------------------------------- synthetic data (a tiny numpy net)

CONFIGS3 = (("xavier_normal", "tanh", 1.0), ("normal:0.01", "tanh", 0.01), ("he_normal", "relu", 2.0))


def synthetic(configs=CONFIGS3, depth=8, trials=2, width=48, batch=40, bins=41, theory=False,
              diverge=None, seed=0):
    """A tidy frame and Histograms from a real (tiny) forward/backward pass.

    ``configs`` holds (init label, activation, sigma_w^2 or std) triples: the weights are
    N(0, s / fan_in) when s >= 0.1 and N(0, s^2) otherwise. ``diverge=(config, layer)`` marks that
    layer and later ones diverged (NaN stats, zero counts) in every trial.
    """
    rng = np.random.default_rng(seed)
    rows, pre_counts, act_counts, pre_edges, act_edges = [], [], [], [], []
    for ci, (init, act_name, s) in enumerate(configs):
        act = get_activation(act_name)
        pe = np.linspace(-4, 4, bins + 1)
        ae = np.linspace(-3, 3, bins + 1)
        pre_edges.append(pe)
        act_edges.append(ae)
        pc = np.zeros((trials, depth, bins), np.int64)
        ac = np.zeros((trials, depth, bins), np.int64)
        for t in range(trials):
            h = x0 = rng.standard_normal((batch, width))
            zs, hs, ws = [], [], []
            for layer in range(depth):
                std = np.sqrt(s / width) if s >= 0.1 else s
                w = rng.standard_normal((width, width)) * std
                z = h @ w
                h = act.fn(z)
                zs.append(z), hs.append(h), ws.append(w)
            g = rng.standard_normal((batch, width))  # random projection loss on the output
            grads_z, grads_w = [None] * depth, [None] * depth
            for layer in reversed(range(depth)):
                gz = g * act.grad(zs[layer])
                grads_z[layer] = gz
                grads_w[layer] = (hs[layer - 1] if layer else x0).T @ gz
                g = gz @ ws[layer].T
            for layer in range(depth):
                z, a = zs[layer], hs[layer]
                zn = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-300)
                rows.append(dict(
                    config=ci, label=f"{init} / {act_name}", init_spec=init, init=init, act_spec=act_name, act=act_name,
                    trial=t,
                    layer=layer + 1, width=width, pre_mean=z.mean(), pre_std=z.std(), pre_q=(z * z).mean(),
                    pre_min=z.min(), pre_max=z.max(), pre_corr=float((zn[0::2] * zn[1::2]).sum(1).mean()),
                    act_mean=a.mean(), act_std=a.std(), act_q=(a * a).mean(), act_min=a.min(), act_max=a.max(),
                    saturated=float(act.saturated(z).mean()), dead=float((a == 0).all(0).mean()),
                    grad_pre_norm=np.linalg.norm(grads_z[layer]), grad_w_norm=np.linalg.norm(grads_w[layer]),
                    diverged=False, grad_diverged=False, lsuv_passes=0,
                ))
                pc[t, layer] = np.histogram(np.clip(z, pe[0], pe[-1]), pe)[0]
                ac[t, layer] = np.histogram(np.clip(a, ae[0], ae[-1]), ae)[0]
        if diverge is not None and diverge[0] == ci:
            pc[:, diverge[1] - 1:] = 0
            ac[:, diverge[1] - 1:] = 0
        pre_counts.append(pc)
        act_counts.append(ac)
    df = pd.DataFrame(rows)
    last = df.groupby(["config", "trial"])[["grad_pre_norm", "grad_w_norm"]].transform("last")
    df["grad_pre_ratio"] = df["grad_pre_norm"] / last["grad_pre_norm"]
    df["grad_w_ratio"] = df["grad_w_norm"] / last["grad_w_norm"]
    for col in ("theory_pre_q", "theory_pre_std", "theory_pre_corr", "theory_grad_ratio"):
        df[col] = np.nan
    if theory:  # a stand-in "prediction": the trial mean, smoothed a little
        for col, src in (("theory_pre_q", "pre_q"), ("theory_pre_std", "pre_std"),
                         ("theory_pre_corr", "pre_corr"), ("theory_grad_ratio", "grad_pre_ratio")):
            df[col] = df.groupby(["config", "layer"])[src].transform("mean") * 1.02
    if diverge is not None:
        hit = (df["config"] == diverge[0]) & (df["layer"] >= diverge[1])
        df.loc[hit, "diverged"] = True
        stat_cols = [c for c in LAYER_COLUMNS
                     if (c.startswith(("pre_", "act_", "grad_", "theory_")) and c != "grad_diverged")
                     or c in ("saturated", "dead")]
        df.loc[hit, stat_cols] = np.nan
    df = df[list(LAYER_COLUMNS)]
    hist = Histograms(tuple(f"{i} / {a}" for i, a, _ in configs), np.array(pre_edges), np.array(pre_counts),
                      np.array(act_edges), np.array(act_counts))
    return df, hist


@dataclass
class FakeResult:
    layers: pd.DataFrame
    histograms: Histograms


