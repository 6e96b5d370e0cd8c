"""The seeded draws of an experiment: its input batch and, per trial, its weights, biases, masks and loss.

Everything random about an experiment follows from its config and seed: every draw comes from
``np.random.default_rng([seed, stream, trial, layer])`` (:func:`rng_for`), so configs of the same trial share
the underlying draws (common random numbers), and a layer's weights are a pure function of
``(seed, trial, layer)``. float32 Gaussians (weights, the input batch, the loss matrix) come from the
Box–Muller block sampler of :mod:`initlab.initializers.sampler`; float64 ones from numpy's ziggurat.

Weights are a :class:`LayerWeights` sequence: drawn on first use and kept (``keep=True``, the fast
path), or drawn again on every use (``keep=False``), so that a trial holds one layer's weights at a
time whatever its depth: the backward pass redraws the weights the forward pass used, bit for bit.
:func:`initlab.sim.memory.keep_weights` makes the choice from the run's memory estimate.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._spec import ConfigError
from ..initializers import get_initializer
from ..initializers.sampler import fill_standard_normal, parallel_map, standard_normal
from .config import SimConfig

__all__ = ["STREAMS", "rng_for", "make_input", "TrialParams", "LayerWeights", "draw_params"]

#: Stream numbers of the seeded generators ``default_rng([seed, stream, trial, layer])``.
STREAMS = {"input": 0, "weight": 1, "bias": 2, "dropout": 3, "loss": 4}
#: Float64 draws per block while filling the input batch (4 MiB).
_INPUT_BLOCK = 1 << 19


def rng_for(seed: int, stream: str, trial: int = 0, layer: int = 0) -> np.random.Generator:
    """The generator of one random stream (``input``, ``weight``, ``bias``, ``dropout``, ``loss``)."""
    return np.random.default_rng([int(seed), STREAMS[stream], int(trial), int(layer)])


def make_input(config: SimConfig) -> np.ndarray:
    """The input batch, shape (batch, in_dim), the same for every config and trial.

    ``gaussian``: :math:`N(0, 1)` entries; ``uniform``: :math:`U(-\\sqrt3, \\sqrt3)`; ``pairs:c0=C``: rows
    :math:`2k, 2k+1` are :math:`x_a = \\sqrt d\\, a/\\|a\\|` and :math:`x_b = c_0 x_a + \\sqrt{1-c_0^2}\\,
    \\sqrt d\\, u/\\|u\\|`, with :math:`a, e \\sim N(0, I_d)` and :math:`u` the part of :math:`e` orthogonal
    to :math:`a` (Gram–Schmidt), so every row has mean square exactly 1 and every pair cosine similarity
    exactly :math:`c_0` (up to rounding; a last row of an odd batch is :math:`x_a` alone). Needs ``in_dim >= 2``.
    """
    if config.input.startswith("pairs:"):
        rng = rng_for(config.seed, "input")
        return _pairs(rng, (config.batch, config.in_dim), config.input_c0).astype(config.np_dtype, copy=False)
    if config.input not in ("gaussian", "uniform"):
        raise ConfigError("input 'given' needs the batch: pass x= to simulate()")
    rng = rng_for(config.seed, "input")
    n, d = config.batch, config.in_dim
    out = np.empty((n, d), dtype=config.np_dtype)
    if config.input == "gaussian" and out.dtype == np.float32:
        return fill_standard_normal(rng, out)  # the float32 block sampler: no float64 temporary
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


def _pairs(rng: np.random.Generator, shape: tuple[int, int], c0: float) -> np.ndarray:
    n, d = shape
    if d < 2:
        raise ConfigError("input pairs needs input_dim >= 2")
    p = (n + 1) // 2
    a = rng.standard_normal((p, d))
    e = rng.standard_normal((p, d))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    e -= np.sum(e * a, axis=1, keepdims=True) * a
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    x = np.empty((n, d))
    x[0::2] = a
    x[1::2] = (c0 * a + math.sqrt(max(0.0, 1.0 - c0 * c0)) * e)[: n // 2]
    return x * math.sqrt(d)


class LayerWeights(Sequence):
    """The weight matrices :math:`W^1 \\dots W^L` of one trial, drawn when first indexed (0-based).

    Parameters
    ----------
    config : SimConfig
        A single-run config.
    trial : int
    keep : bool
        Keep every drawn matrix (a later index returns the same array, which may be modified in
        place), or draw it again on every access (memory: one layer at a time).
    xp : module, optional
        The array module of the device the matrices are for (:mod:`initlab.sim.xp`); numpy by default.
    device_draws : bool, optional
        Draw with the device's own generator (:func:`initlab.sim.xp.device_sample`) where the
        initializer allows it; default: whenever ``xp`` is not numpy.
    """

    def __init__(self, config: SimConfig, trial: int, keep: bool = True, xp=np, device_draws: bool | None = None):
        self.config, self.trial, self.keep = config, int(trial), bool(keep)
        self.xp = xp
        self.device_draws = (xp is not np) if device_draws is None else bool(device_draws)
        self._init = config.initializers()[0]
        self._pieces = config.activations()[0].pieces
        self._fans = (config.in_dim,) + config.widths
        self._kept: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        self.draws = 0  # matrices drawn so far (tests and the memory benchmark read it)

    def __len__(self) -> int:
        return self.config.depth

    def shape(self, l: int) -> tuple[int, int]:
        """Shape of layer ``l``'s matrix (0-based): (fan_in, width * pieces)."""
        return self._fans[l], self._fans[l + 1] * self._pieces

    def draw(self, l: int) -> np.ndarray:
        """Draw layer ``l``'s matrix (0-based) afresh: a pure function of (seed, trial, l)."""
        cfg, dt = self.config, self.config.np_dtype
        with self._lock:  # draw_all draws layers on several threads
            self.draws += 1
        if self.device_draws:
            from .xp import device_sample, device_seed

            seed = device_seed(cfg.seed, STREAMS["weight"], self.trial, l + 1)
            w = device_sample(self.xp, self._init, self.shape(l), seed, dt)
            if w is not None:
                return w
        w = self._init.sample(self.shape(l), rng_for(cfg.seed, "weight", self.trial, l + 1), dt)
        return self.xp.ascontiguousarray(self.xp.asarray(w), dtype=dt)

    def __getitem__(self, l):  # type: ignore[override]
        if isinstance(l, slice):
            return [self[i] for i in range(*l.indices(len(self)))]
        l = int(l)
        if l < 0:
            l += len(self)
        if not 0 <= l < len(self):
            raise IndexError(f"layer index {l} out of range for depth {len(self)}")
        if not self.keep:
            return self.draw(l)
        w = self._kept.get(l)
        if w is None:
            w = self._kept[l] = self.draw(l)
        return w

    def __setitem__(self, l: int, w: np.ndarray) -> None:
        if not self.keep:
            raise TypeError("weights that are redrawn on every use cannot be replaced")
        self._kept[int(l) % len(self)] = w

    def draw_all(self) -> "LayerWeights":
        """Draw every layer now, layers on parallel threads (kept weights only; same values either way)."""
        if self.keep:
            todo = [l for l in range(len(self)) if l not in self._kept]
            for l, w in zip(todo, parallel_map(self.draw, todo, 1 if self.device_draws else None)):
                self._kept[l] = w
        return self


@dataclass
class TrialParams:
    """Everything random about one trial of one config.

    Attributes
    ----------
    weights : LayerWeights or list of ndarray (fan_in, width * pieces)
        The engine never writes into them (LSUV rescales a copy).
    biases : list of ndarray (width * pieces,) or None (all zero)
    dropout : list of ndarray (batch, width) or None
        Keep masks already divided by :math:`1 - p`.
    target : ndarray (batch, width_L)
        :math:`R` for the projection loss, :math:`Y` for MSE.
    """

    weights: Sequence[np.ndarray]
    biases: list[np.ndarray | None]
    dropout: list[np.ndarray | None]
    target: np.ndarray


def draw_params(config: SimConfig, trial: int, keep: bool = True, xp=np) -> TrialParams:
    """The weights, biases, dropout masks and loss matrix of ``trial`` for a single-run config.

    With ``keep=True`` every weight matrix is drawn now (layers on parallel threads; on a device,
    one after the other); with ``keep=False`` they are drawn when the engine asks for them, and
    again in the backward pass. ``xp``: the array module of the weights (:class:`LayerWeights`);
    biases, masks and the loss matrix are host arrays.
    """
    act = config.activations()[0]
    bias_init = get_initializer(config.bias_init)
    dt = config.np_dtype
    fans = (config.in_dim,) + config.widths
    W = LayerWeights(config, trial, keep, xp)
    if keep:
        W.draw_all()
    b, D = [], []
    for l in range(1, config.depth + 1):
        cols = fans[l] * act.pieces
        bias = None
        if bias_init.name != "zeros":
            bias = np.asarray(bias_init.sample((cols,), rng_for(config.seed, "bias", trial, l), dt), dtype=dt)
            if not bias.any():
                bias = None
        b.append(bias)
        mask = None
        if config.dropout > 0:
            u = rng_for(config.seed, "dropout", trial, l).random((config.batch, fans[l]), dtype=np.float64)
            keep_mask = u >= config.dropout
            mask = keep_mask.astype(dt) * dt.type(1.0 / (1.0 - config.dropout))
        D.append(mask)
    target = standard_normal(rng_for(config.seed, "loss", trial), (config.batch, fans[-1]), dt)
    return TrialParams(W, b, D, target)
