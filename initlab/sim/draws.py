"""The seeded draws of an experiment: its input batch and, per trial, its weights, biases, masks and loss.

Everything random about an experiment follows from its config and seed: every draw comes from
``np.random.default_rng([seed, stream, trial, layer])`` (:func:`rng_for`), so configs of the same trial share
the underlying draws (common random numbers), and a layer's weights are a pure function of
``(seed, trial, layer)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._spec import ConfigError
from ..initializers import get_initializer
from .config import SimConfig

__all__ = ["STREAMS", "rng_for", "make_input", "TrialParams", "draw_params"]

#: Stream numbers of the seeded generators ``default_rng([seed, stream, trial, layer])``.
STREAMS = {"input": 0, "weight": 1, "bias": 2, "dropout": 3, "loss": 4}
#: Float64 draws per block while filling the input batch (4 MiB).
_INPUT_BLOCK = 1 << 19


def rng_for(seed: int, stream: str, trial: int = 0, layer: int = 0) -> np.random.Generator:
    """The generator of one random stream (``input``, ``weight``, ``bias``, ``dropout``, ``loss``)."""
    return np.random.default_rng([int(seed), STREAMS[stream], int(trial), int(layer)])


def make_input(config: SimConfig) -> np.ndarray:
    """The input batch, shape (batch, in_dim): N(0, 1) or U(±√3), the same for every config and trial."""
    if config.input not in ("gaussian", "uniform"):
        raise ConfigError("input 'given' needs the batch: pass x= to simulate()")
    rng = rng_for(config.seed, "input")
    n, d = config.batch, config.in_dim
    out = np.empty((n, d), dtype=config.np_dtype)
    # allocated in the run's dtype and filled in blocks of float64 draws: the numbers are those of one
    # (n, d) float64 draw (a generator's stream does not depend on how it is split), without its memory
    rows = max(1, _INPUT_BLOCK // max(d, 1))
    for i in range(0, n, rows):
        k = min(rows, n - i)
        if config.input == "gaussian":
            out[i:i + k] = rng.standard_normal((k, d), dtype=np.float64)
        else:
            out[i:i + k] = rng.uniform(-math.sqrt(3.0), math.sqrt(3.0), (k, d))
    return out


@dataclass
class TrialParams:
    """Everything random about one trial of one config (weights may be rescaled by LSUV).

    Attributes
    ----------
    weights : list of ndarray (fan_in, width * pieces)
    biases : list of ndarray (width * pieces,) or None (all zero)
    dropout : list of ndarray (batch, width) or None
        Keep masks already divided by :math:`1 - p`.
    target : ndarray (batch, width_L)
        :math:`R` for the projection loss, :math:`Y` for MSE.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray | None]
    dropout: list[np.ndarray | None]
    target: np.ndarray


def draw_params(config: SimConfig, trial: int) -> TrialParams:
    """Draw the weights, biases, dropout masks and loss matrix of ``trial`` for a single-run config."""
    init = config.initializers()[0]
    act = config.activations()[0]
    bias_init = get_initializer(config.bias_init)
    dt = config.np_dtype
    fans = (config.in_dim,) + config.widths
    W, b, D = [], [], []
    for l in range(1, config.depth + 1):
        cols = fans[l] * act.pieces
        W.append(np.ascontiguousarray(init.sample((fans[l - 1], cols), rng_for(config.seed, "weight", trial, l), dt), dtype=dt))
        bias = None
        if bias_init.name != "zeros":
            bias = np.asarray(bias_init.sample((cols,), rng_for(config.seed, "bias", trial, l), dt), dtype=dt)
            if not bias.any():
                bias = None
        b.append(bias)
        mask = None
        if config.dropout > 0:
            keep = rng_for(config.seed, "dropout", trial, l).random((config.batch, fans[l]), dtype=np.float64) >= config.dropout
            mask = keep.astype(dt) * dt.type(1.0 / (1.0 - config.dropout))
        D.append(mask)
    target = rng_for(config.seed, "loss", trial).standard_normal((config.batch, fans[-1]), dtype=np.float64).astype(dt)
    return TrialParams(W, b, D, target)
