"""The simulation engine: forward and backward passes through a random network at initialization.

:func:`simulate` maps the pure per-(config, trial) function :func:`run_trial` over the cross
product of initializers × activations and the trials, and assembles a
:class:`~initlab.result.SimResult` (one tidy row per config × trial × layer, schema
:data:`~initlab.schema.LAYER_COLUMNS`, plus histograms).

The network (layer :math:`l = 1 \\dots L`, input :math:`h^0 = x`)
    .. math::
        z^l = h^{l-1} W^l + b^l \\;\\to\\; \\mathrm{BN}(z^l) \\;\\to\\; a^l = \\phi(z^l)
        \\;\\to\\; a^l \\odot m^l / (1-p) \\;\\to\\; h^l = h^{l-1} + a^l \\text{ (residual layers)}

    Batch normalisation (optional) uses the batch's own per-column mean and variance
    (:math:`\\gamma = 1, \\beta = 0, \\epsilon = 10^{-5}`); the ``pre_*`` statistics are then those
    of the normalised :math:`z^l`. Dropout (optional) is inverted, with a seeded keep mask
    :math:`m^l`. A residual layer adds its input when its input and output widths agree
    (:meth:`SimConfig.residual_layers`: all layers when the widths are constant and ``input_dim``
    equals them; otherwise those whose width does not change). Maxout (``maxout:k``): :math:`W^l`
    has :math:`k \\cdot \\text{width}` columns and :math:`\\phi` takes the maximum of each unit's
    :math:`k` pieces. LSUV rescales :math:`W^l` on the actual batch just before the layer runs
    (``lsuv_passes``).

Statistics (see :mod:`initlab.schema` for the columns and :mod:`initlab.stats` for the kernels)
    ``dead`` is measured on :math:`\\phi(z^l)` (before dropout and the residual add): units whose
    activation is zero for every sample. ``saturated`` uses the activation's own test
    (:math:`|\\phi'(z)| < 0.05 \\max|\\phi'|`).

Backward
    From the loss on :math:`h^L`: ``'projection'`` :math:`L = \\sum h^L \\odot R` with a fixed seeded
    :math:`R \\sim N(0, 1)`, or ``'mse'`` :math:`L = \\tfrac12 \\operatorname{mean}((h^L - Y)^2)` with
    seeded targets :math:`Y \\sim N(0,1)`. Reported: :math:`\\|\\partial L / \\partial z^l\\|_F`
    (the normalised :math:`z^l` under batch norm) and :math:`\\|\\partial L/\\partial W^l\\|_F`, and
    both divided by the last layer's value.

Random numbers (common random numbers)
    Every draw comes from ``np.random.default_rng([seed, stream, trial, layer])``: the input batch
    (one for every config and trial), weights, biases, dropout masks and the loss matrix. Configs of
    the same trial therefore share the underlying draws, and the same config and seed give
    identical results, bit for bit.

Divergence
    A layer whose pre-activations or outputs contain an inf or NaN has diverged: it and every later
    layer get ``diverged=True`` and NaN statistics, the forward stops and the backward is skipped.
    No numpy warnings are emitted (the arithmetic runs under ``np.errstate(all="ignore")``).

Histograms
    Per config, one symmetric range :math:`[-R, R]` for pre-activations and one for outputs, shared
    by all layers and trials: :math:`R` is trial 0's largest :math:`|value|` over its finite layers
    rounded up to 1, 2, 2.5 or 5 × 10^k. Values outside go to the edge bins.

Speed
    The statistics cost a few passes over each layer's arrays, next to the three matrix products per
    layer (``initlab bench`` compares the two). Buffers are preallocated and reused (``out=``);
    layers of one width are stacked, so the statistics of many small layers run as one vectorised
    call; the pre-activation statistics run on a helper thread while the main thread applies the
    activation, trial 0's histograms are shared between both threads, and large gradient norms are
    split by rows (numpy releases the GIL in its loops; every kernel runs whole on one thread, so the
    numbers are the same bits with ``threads=1``). ReLU and the identity have fused paths (a boolean
    mask for the forward and backward products; output extremes, dead units and, on the same range,
    the output histogram follow from the pre-activations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import stats as _st
from ._spec import ConfigError
from .activations import Linear, ReLU
from .config import SimConfig
from .initializers import get_initializer
from .progress import Progress
if TYPE_CHECKING:  # pragma: no cover
    from .result import SimResult

__all__ = ["simulate", "run_trial", "forward_backward", "draw_params", "make_input", "TrialParams",
           "TrialOutput", "Workspace", "rng_for", "STREAMS"]

#: Stream numbers of the seeded generators ``default_rng([seed, stream, trial, layer])``.
STREAMS = {"input": 0, "weight": 1, "bias": 2, "dropout": 3, "loss": 4}

#: Stack statistics over consecutive layers while a stack holds at most this many entries.
CHUNK_ELEMENTS = 1 << 20
#: Split a gradient norm over both threads from this many entries.
_SPLIT_ELEMENTS = 1 << 18
_BN_EPS = 1e-5


def rng_for(seed: int, stream: str, trial: int = 0, layer: int = 0) -> np.random.Generator:
    """The generator of one random stream (``input``, ``weight``, ``bias``, ``dropout``, ``loss``)."""
    return np.random.default_rng([int(seed), STREAMS[stream], int(trial), int(layer)])


def make_input(config: SimConfig) -> np.ndarray:
    """The input batch, shape (batch, in_dim): N(0, 1) or U(±√3), the same for every config and trial."""
    rng = rng_for(config.seed, "input")
    shape = (config.batch, config.in_dim)
    if config.input == "gaussian":
        return rng.standard_normal(shape, dtype=np.float64).astype(config.np_dtype, copy=False)
    if config.input == "uniform":
        return rng.uniform(-math.sqrt(3.0), math.sqrt(3.0), shape).astype(config.np_dtype, copy=False)
    raise ConfigError("input 'given' needs the batch: pass x= to simulate()")


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


@dataclass
class TrialOutput:
    """What one (config, trial) produces.

    Attributes
    ----------
    columns : dict of str -> ndarray (depth,)
        Every forward, backward and status column of the schema.
    pre_counts, act_counts : ndarray (depth, bins) int64
    pre_range, act_range : float
        The histogram ranges :math:`R` used.
    diverged_at : int or None
        First diverged layer (1-based).
    loss : float
    weight_grads : list of ndarray or None
        :math:`\\partial L / \\partial W^l` when asked for (tests).
    """

    columns: dict[str, np.ndarray]
    pre_counts: np.ndarray
    act_counts: np.ndarray
    pre_range: float
    act_range: float
    diverged_at: int | None
    loss: float
    weight_grads: list[np.ndarray] | None = None


class Workspace(_st.Scratch):
    """Buffers reused across layers, trials and configs of one simulation (and the helper thread's own)."""

    def __init__(self) -> None:
        super().__init__()
        self.helper = _st.Scratch()


_FORWARD = ("pre_mean", "pre_std", "pre_q", "pre_min", "pre_max", "pre_corr",
            "act_mean", "act_std", "act_q", "act_min", "act_max", "saturated", "dead")
_BACKWARD = ("grad_pre_norm", "grad_w_norm", "grad_pre_ratio", "grad_w_ratio")


def run_trial(config: SimConfig, trial: int, x: np.ndarray, *, pre_range: float | None = None,
              act_range: float | None = None, workspace: Workspace | None = None,
              threads: int | None = None) -> TrialOutput:
    """One trial of one single-run config: draw its parameters, run :func:`forward_backward`.

    A pure function of its arguments (so a process pool can map it). ``pre_range`` and
    ``act_range`` fix the histogram ranges (trial 0 of a config chooses them; pass them on to
    the later trials).
    """
    params = draw_params(config, trial)
    return forward_backward(config, params, x, workspace=workspace, pre_range=pre_range, act_range=act_range,
                            threads=threads)


def forward_backward(config: SimConfig, params: TrialParams, x: np.ndarray, *, workspace: Workspace | None = None,
                     pre_range: float | None = None, act_range: float | None = None,
                     keep_grads: bool = False, stats: bool = True, threads: int | None = None) -> TrialOutput:
    """Forward and backward pass with every statistic and histogram (see the module docstring).

    ``stats=False`` computes only the loss (and the weight gradients with ``keep_grads``), for
    gradient checks. ``threads`` (default :func:`initlab.stats.default_threads`): 2 runs the
    statistics on a helper thread beside the main one between the matrix products; the results
    are bit-identical with ``threads=1``.
    """
    ws = workspace if workspace is not None else Workspace()
    threads = _st.default_threads() if threads is None else int(threads)
    with np.errstate(all="ignore"):
        return _Trial(config, params, x, ws, pre_range, act_range, keep_grads, stats, threads).run()


class _Trial:
    """One forward and backward pass with statistics (the body of :func:`forward_backward`)."""

    def __init__(self, config, params, x, ws, pre_range, act_range, keep_grads, do_stats, threads):
        self.cfg, self.p, self.ws = config, params, ws
        self.act = config.activations()[0]
        self.init = config.initializers()[0]
        self.dt = config.np_dtype
        self.x = np.ascontiguousarray(x, dtype=self.dt)
        self.L, self.n = config.depth, self.x.shape[0]
        self.widths, self.pieces = config.widths, self.act.pieces
        self.kind = "relu" if type(self.act) is ReLU else "linear" if type(self.act) is Linear else "generic"
        self.res = set(config.residual_layers())
        self.plain = config.dropout == 0 and not self.res  # layer output = phi(z)
        self.keep_grads, self.do_stats = keep_grads, do_stats
        self.pre_range, self.act_range = pre_range, act_range
        self.par = _st.Parallel(threads)
        L, n, B = self.L, self.n, config.bins
        self.cols = {c: np.full(L, np.nan) for c in _FORWARD + _BACKWARD}
        self.cols["diverged"] = np.zeros(L, dtype=bool)
        self.cols["lsuv_passes"] = np.zeros(L, dtype=np.int64)
        self.pre_counts = np.zeros((L, B), dtype=np.int64)
        self.act_counts = np.zeros((L, B), dtype=np.int64)
        self.diverged_at: int | None = None
        self.ctx: list[Any] = [None] * L
        self._arrays: dict[tuple, np.ndarray] = {}
        self.bn_inv: list[np.ndarray | None] = [None] * L
        # buffers: stacks (layers x batch x columns) when every layer has the same width, so the
        # statistics of several small layers run as one vectorised call
        uniform = len(set(self.widths)) == 1
        self.chunk = max(1, CHUNK_ELEMENTS // (n * self.widths[0] * self.pieces)) if uniform else 1
        alias = self.kind == "linear" and self.plain  # output is z itself
        if uniform:
            w = self.widths[0]
            zs = ws.get("Z", (L, n, w * self.pieces), self.dt)
            hs = zs if alias else ws.get("H", (L, n, w), self.dt)
            ms = ws.get("M", (L, n, w), np.bool_) if self.kind == "relu" else None
            self.Z, self.H = list(zs), list(hs)
            self.M = list(ms) if ms is not None else None
            self._stacks = (zs, hs, ms)
        else:
            self.Z = [ws.get(f"Z{l}", (n, w * self.pieces), self.dt) for l, w in enumerate(self.widths)]
            self.H = self.Z if alias else [ws.get(f"H{l}", (n, w), self.dt) for l, w in enumerate(self.widths)]
            self.M = [ws.get(f"M{l}", (n, w), np.bool_) for l, w in enumerate(self.widths)] if self.kind == "relu" else None
            self._stacks = None

    def _stack(self, which: int, a: int, b: int) -> np.ndarray:
        """Layers a..b-1 of Z (0), H (1) or the relu masks (2) as one (k, n, c) array."""
        if self._stacks is not None:
            return self._stacks[which][a:b]
        assert b == a + 1
        return (self.Z, self.H, self.M)[which][a][None]

    def run(self) -> TrialOutput:
        done = self._forward()
        loss, grads = self._backward() if self.diverged_at is None else (math.nan, None)
        if self.do_stats:
            self._finish_histograms(done)
            c = self.cols
            for k, r in (("grad_pre_norm", "grad_pre_ratio"), ("grad_w_norm", "grad_w_ratio")):
                last = c[k][-1]
                c[r] = c[k] / last if last != 0 else np.where(c[k] == 0, np.nan, np.inf)
        return TrialOutput(self.cols, self.pre_counts, self.act_counts, float(self.pre_range or 1.0),
                           float(self.act_range or 1.0), self.diverged_at, loss, grads)

    # -- forward -----------------------------------------------------------------------------
    def _forward(self) -> int:
        """Run the layers, statistics chunk by chunk. Returns the number of finite layers."""
        cfg, p = self.cfg, self.p
        h, start = self.x, 0
        for l in range(self.L):
            W, b = p.weights[l], p.biases[l]
            if self.init.data_dependent:
                W, passes, _ = self.init.rescale(W, h, b)
                p.weights[l] = W = np.ascontiguousarray(W, dtype=self.dt)
                self.cols["lsuv_passes"][l] = passes
            z, out = self.Z[l], self.H[l]
            np.matmul(h, W, out=z)
            if b is not None:
                z += b
            if cfg.batchnorm:
                self.bn_inv[l] = self._batchnorm(z)
            end = self.do_stats and (l + 1 - start == self.chunk or l == self.L - 1)
            if end:  # pre-activation statistics on the helper thread while this thread activates
                pre = self.par.submit(lambda a=start, b=l + 1: self._pre_stats(a, b))
            self.ctx[l] = self._activate(l, z, out)
            if self.do_stats and not self.plain and self.kind == "generic":
                a1 = out[None]
                self.cols["dead"][l] = _st.dead_fraction(a1, a1.sum(axis=1))[0]
            if p.dropout[l] is not None:
                np.multiply(out, p.dropout[l], out=out)
            if (l + 1) in self.res:
                np.add(out, h, out=out)
            h = out
            if end:
                self._store(start, l + 1, pre.result(), self._post_stats(start, l + 1))
                start = l + 1
                if self.diverged_at is not None:
                    return self.diverged_at - 1
            elif not self.do_stats and not np.isfinite(h).all():
                self.diverged_at = l + 1
                return l
        return self.L

    def _batchnorm(self, z: np.ndarray) -> np.ndarray:
        n = z.shape[0]
        z -= (z.sum(axis=0, dtype=np.float64) / n).astype(self.dt)
        sq = self.ws.get("bn_sq", z.shape, self.dt)
        np.multiply(z, z, out=sq)
        inv = (1.0 / np.sqrt(sq.sum(axis=0, dtype=np.float64) / n + _BN_EPS)).astype(self.dt)
        z *= inv
        return inv

    def _activate(self, l: int, z: np.ndarray, out: np.ndarray) -> Any:
        """``out = phi(z)``; returns the backward context."""
        if self.kind == "relu":
            m = self.M[l]
            np.greater(z, 0, out=m)
            np.multiply(z, m, out=out)
            return m
        if self.kind == "linear":
            if out is not z:
                np.copyto(out, z)
            return None
        a, ctx = self.act.forward(z)
        np.copyto(out, a, casting="same_kind")
        return ctx

    def _ranges_known(self) -> bool:
        return self.pre_range is not None and self.act_range is not None

    def _pre_stats(self, a: int, b: int) -> tuple:
        """Pre-activation statistics of layers a..b-1 (helper thread; its own scratch)."""
        Z, ws = self._stack(0, a, b), self.ws.helper
        pmin, pmax = _st.minmax(Z)
        pm = _st.moments(Z, ws, colsum=self.kind == "linear")
        corr = _st.pair_corr(Z, pm.rownorm2)
        counts = None
        if self._ranges_known():
            k = _finite_prefix(pmin, pmax)
            if k:
                counts = _st.hist_counts(Z[:k], self.pre_range, self.cfg.bins, ws, clip=_clip(pmin[:k], pmax[:k], self.pre_range))
        return pmin, pmax, pm, corr, counts

    def _post_stats(self, a: int, b: int) -> tuple:
        """Output statistics of layers a..b-1 (this thread)."""
        H, ws = self._stack(1, a, b), self.ws
        amin = amax = counts = None
        if not (self.plain and self.kind in ("relu", "linear")):  # else derived from z's
            amin, amax = _st.minmax(H)
        am = None
        if not (self.kind == "linear" and self.plain):
            am = _st.moments(H, ws, colsum=self.kind == "generic" and self.plain)
        dead = None
        if self.kind == "relu":
            dead = _st.dead_from_mask(self._stack(2, a, b))
        elif self.kind == "generic" and self.plain:
            dead = _st.dead_fraction(H, am.colsum)
        sat = self._saturated(a, b)
        if amin is not None and self._ranges_known() and not (self.plain and self.kind == "relu"):
            k = _finite_prefix(amin, amax)
            if k:
                counts = _st.hist_counts(H[:k], self.act_range, self.cfg.bins, ws, clip=_clip(amin[:k], amax[:k], self.act_range))
        return amin, amax, am, dead, sat, counts

    def _store(self, a: int, b: int, pre: tuple, post: tuple) -> None:
        c = self.cols
        pmin, pmax, pm, corr, pcounts = pre
        amin, amax, am, dead, sat, acounts = post
        if amin is None:  # monotone relu / identity: the extremes of phi(z) are phi of z's
            amin, amax = (np.maximum(pmin, 0.0), np.maximum(pmax, 0.0)) if self.kind == "relu" else (pmin, pmax)
        am = pm if am is None else am
        c["pre_mean"][a:b], c["pre_std"][a:b], c["pre_q"][a:b] = pm.mean, pm.std, pm.q
        c["pre_min"][a:b], c["pre_max"][a:b], c["pre_corr"][a:b] = pmin, pmax, corr
        c["act_mean"][a:b], c["act_std"][a:b], c["act_q"][a:b] = am.mean, am.std, am.q
        c["act_min"][a:b], c["act_max"][a:b] = amin + 0.0, amax + 0.0
        c["saturated"][a:b] = sat
        if self.kind == "linear":
            c["dead"][a:b] = _st.dead_fraction(self._stack(0, a, b), pm.colsum)
        elif dead is not None:
            c["dead"][a:b] = dead
        if pcounts is not None:
            self.pre_counts[a:a + len(pcounts)] = pcounts
        if acounts is not None:
            self.act_counts[a:a + len(acounts)] = acounts
        if self._ranges_known() and pcounts is not None:
            self._derived_act_counts(a, a + len(pcounts), self.ws)
        finite = (np.isfinite(pmin) & np.isfinite(pmax) & np.isfinite(amin) & np.isfinite(amax)
                  & np.isfinite(pm.q) & np.isfinite(am.q))
        if not finite.all():
            first = a + int(np.flatnonzero(~finite)[0])
            self.diverged_at = first + 1
            for col in _FORWARD:
                c[col][first:] = np.nan
            c["diverged"][first:] = True
            self.pre_counts[first:] = 0
            self.act_counts[first:] = 0

    def _saturated(self, a: int, b: int) -> np.ndarray:
        if self.kind == "relu":
            M = self._stack(2, a, b)
            return 1.0 - np.array([np.count_nonzero(m) for m in M]) / M[0].size  # (per layer: the fast path)
        if self.kind == "linear":
            return np.zeros(b - a)
        Z = self._stack(0, a, b)
        out = np.empty(b - a)
        for i in range(b - a):
            s = self.act.saturated(Z[i], self.ctx[a + i])
            out[i] = np.count_nonzero(s) / s.size
        return out

    # -- histograms --------------------------------------------------------------------------
    def _derived_act_counts(self, a: int, b: int, ws: _st.Scratch) -> None:
        """Output histograms that follow from the pre-activation ones (identity; relu on the same range)."""
        if self.plain and self.kind == "linear":
            self.act_counts[a:b] = self.pre_counts[a:b]
        elif self.plain and self.kind == "relu":
            if self.act_range == self.pre_range:
                self.act_counts[a:b] = _st.relu_counts_from_pre(self.pre_counts[a:b])
            else:
                c = self.cols
                self.act_counts[a:b] = _st.hist_counts(self._stack(1, a, b), self.act_range, self.cfg.bins, ws,
                                                       clip=_clip(c["act_min"][a:b], c["act_max"][a:b], self.act_range))

    def _hist_chunk(self, a: int, b: int, ws: _st.Scratch) -> None:
        c, B = self.cols, self.cfg.bins
        Rp, Ra = self.pre_range, self.act_range
        self.pre_counts[a:b] = _st.hist_counts(self._stack(0, a, b), Rp, B, ws,
                                               clip=_clip(c["pre_min"][a:b], c["pre_max"][a:b], Rp))
        if self.plain and (self.kind == "linear" or (self.kind == "relu" and Ra == Rp)):
            self._derived_act_counts(a, b, ws)
        else:
            self.act_counts[a:b] = _st.hist_counts(self._stack(1, a, b), Ra, B, ws,
                                                   clip=_clip(c["act_min"][a:b], c["act_max"][a:b], Ra))

    def _finish_histograms(self, k: int) -> None:
        """Trial 0: choose the ranges from the finite layers, then histogram them (both threads)."""
        if self._ranges_known():
            return  # filled chunk by chunk
        c = self.cols
        top = lambda lo, hi: float(np.max(np.maximum(np.abs(c[lo][:k]), np.abs(c[hi][:k])))) if k else 0.0  # noqa: E731
        self.pre_range = _st.nice_ceil(top("pre_min", "pre_max"))
        self.act_range = _st.nice_ceil(top("act_min", "act_max"))
        chunks = [(a, min(a + self.chunk, k)) for a in range(0, k, self.chunk)]
        fut = self.par.submit(lambda: [self._hist_chunk(a, b, self.ws.helper) for a, b in chunks[1::2]])
        for a, b in chunks[0::2]:
            self._hist_chunk(a, b, self.ws)
        fut.result()

    # -- backward ----------------------------------------------------------------------------
    def _backward(self):
        cfg, p, ws = self.cfg, self.p, self.ws
        hL = self.H[-1]
        if cfg.loss == "projection":
            g = p.target
            loss = float(np.vecdot(hL, g).sum(dtype=np.float64))
        else:
            N = hL.size
            g = ws.get("g_top", hL.shape, self.dt)
            np.subtract(hL, p.target, out=g)
            loss = 0.5 * float(np.vecdot(g, g).sum(dtype=np.float64)) / N
            g *= self.dt.type(1.0 / N)
        grads = [None] * self.L if self.keep_grads else None
        gpre, gw = self.cols["grad_pre_norm"], self.cols["grad_w_norm"]
        for l in range(self.L - 1, -1, -1):
            W = p.weights[l]
            hin = self.x if l == 0 else self.H[l - 1]
            gb = g  # the branch's gradient; g itself stays intact for the skip connection
            if p.dropout[l] is not None:
                gb = self._arr("gb", g.shape)
                np.multiply(g, p.dropout[l], out=gb)
            if self.kind == "relu":  # the mask product and its norm, split by rows over both threads
                gz = self._arr("gz", self.Z[l].shape)
                m = self.M[l]
                v = self._split_norm(gz, lambda r0, r1: np.multiply(gb[r0:r1], m[r0:r1], out=gz[r0:r1]))
                if self.do_stats:
                    gpre[l] = v
            else:
                gz = gb if self.kind == "linear" else np.asarray(self.act.backward(self.ctx[l], gb), dtype=self.dt)
                if self.do_stats:
                    gpre[l] = self._split_norm(gz)
            if self.bn_inv[l] is not None:
                gz = self._bn_backward(gz, self.Z[l], self.bn_inv[l])
            gW = self._arr("gW", W.shape)
            np.matmul(hin.T, gz, out=gW)
            if self.do_stats:
                gw[l] = self._split_norm(gW)
            if grads is not None:
                grads[l] = gW.copy()
            if l > 0:
                gn = self._arr(f"gh{l % 2}", (self.n, W.shape[0]))  # never g (the other parity) nor gz
                np.matmul(gz, W.T, out=gn)
                if (l + 1) in self.res:
                    gn += g
                g = gn
        return loss, grads

    def _split_norm(self, a: np.ndarray, fill: Callable[[int, int], Any] | None = None) -> float:
        """:math:`\\|a\\|_F` as the float64 sum of two row halves, the second on the helper thread for
        large arrays; ``fill(r0, r1)`` first computes those rows of ``a``. Same bits either way."""
        n = a.shape[0]
        h = n // 2

        def part(r0: int, r1: int) -> float:
            if fill is not None:
                fill(r0, r1)
            return float(np.vecdot(a[r0:r1], a[r0:r1]).sum(dtype=np.float64)) if self.do_stats else 0.0

        if a.size < _SPLIT_ELEMENTS:
            if fill is not None:
                fill(0, n)
            if not self.do_stats:
                return math.nan
            s1, s2 = float(np.vecdot(a, a).sum(dtype=np.float64)), 0.0
        else:
            s2, s1 = self.par.both(lambda: part(h, n), lambda: part(0, h))
        s = s1 + s2
        if not math.isfinite(s) and self.do_stats and np.isfinite(a).all():
            return float(np.linalg.norm(a.astype(np.float64)))  # finite entries whose squares overflow
        return math.sqrt(s)

    def _arr(self, name: str, shape) -> np.ndarray:
        """A scratch array of the backward pass, fetched once per name and shape.

        Names never alias each other: ``gb`` (dropout), ``gz`` (relu), ``bn_t`` (batch norm),
        ``gW``, and ``gh0``/``gh1`` (the incoming gradient alternates between them by layer parity).
        """
        key = (name, shape)
        arr = self._arrays.get(key)
        if arr is None:
            arr = self._arrays[key] = self.ws.get(f"{name}{shape}", shape, self.dt)
        return arr

    def _bn_backward(self, gy: np.ndarray, xhat: np.ndarray, inv: np.ndarray) -> np.ndarray:
        """:math:`\\partial L/\\partial z = \\sigma^{-1}(g - \\bar g - \\hat x\\,\\overline{g\\hat x})` per column."""
        n = gy.shape[0]
        mg = (gy.sum(axis=0, dtype=np.float64) / n).astype(self.dt)
        tmp = self._arr("bn_t", gy.shape)
        np.multiply(gy, xhat, out=tmp)
        mgx = (tmp.sum(axis=0, dtype=np.float64) / n).astype(self.dt)
        np.multiply(xhat, mgx, out=tmp)
        np.subtract(gy, tmp, out=tmp)
        tmp -= mg
        tmp *= inv
        return tmp


def _finite_prefix(lo: np.ndarray, hi: np.ndarray) -> int:
    """Number of leading layers whose extremes are finite."""
    bad = ~(np.isfinite(lo) & np.isfinite(hi))
    return int(np.argmax(bad)) if bad.any() else len(lo)


def _clip(lo: np.ndarray, hi: np.ndarray, R: float) -> bool:
    return bool(np.any(lo < -R) or np.any(hi > R))


def simulate(config: SimConfig | None = None, *, x: np.ndarray | None = None, progress: bool = True,
             threads: int | None = None, **kwargs: Any) -> "SimResult":
    """Simulate signal propagation at initialization for every initializer × activation and trial.

    Parameters
    ----------
    config : SimConfig, optional
        The experiment; keyword arguments build one (or replace fields of ``config``). ``init``
        and ``act`` are accepted for ``inits`` and ``acts``, as one spec, a comma list
        (``"xavier,he,normal:0.01"``) or a list.
    x : ndarray of shape (batch, input_dim), optional
        A given input batch instead of the seeded Gaussian/uniform one (``batch`` and
        ``input_dim`` are taken from it; the config records ``input='given'``).
    progress : bool
        Draw a progress bar on stderr when the work takes more than a second.
    threads : int, optional
        Threads for the statistics (see :func:`forward_backward`); the result does not depend on it.

    Returns
    -------
    SimResult

    Examples
    --------
    >>> res = simulate(init="xavier,he", act="tanh,relu", depth=10, width=200, batch=256)
    >>> res.layers.groupby("label")["act_std"].last()  # doctest: +SKIP
    """
    from .result import SimResult, build_frame, build_histograms

    explicit = {k: kwargs[k] for k in ("batch", "input_dim") if k in kwargs}
    cfg = SimConfig.build(config, **kwargs)
    if x is not None:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1 or x.dtype.kind not in "fiu":
            raise ConfigError(f"x must be a numeric array of shape (batch >= 2, input_dim), got shape {x.shape}")
        for k, v in (("batch", x.shape[0]), ("input_dim", x.shape[1])):
            if k in explicit and explicit[k] != v:
                raise ConfigError(f"{k}={explicit[k]} disagrees with x of shape {x.shape}")
        cfg = cfg.replace(batch=x.shape[0], input_dim=x.shape[1], input="given")
        x = np.ascontiguousarray(x, dtype=cfg.np_dtype)
        if not np.isfinite(x).all():
            raise ConfigError("x contains inf or NaN")
    else:
        x = make_input(cfg)
    ws = Workspace()
    runs = cfg.runs()
    outputs: list[list[TrialOutput]] = []
    with Progress(len(runs) * cfg.trials, "simulate", enabled=progress) as bar:
        for run in runs:
            outs = [run_trial(run.config, 0, x, workspace=ws, threads=threads)]
            bar.update(1, postfix=run.label)
            for t in range(1, cfg.trials):
                outs.append(run_trial(run.config, t, x, workspace=ws, threads=threads,
                                      pre_range=outs[0].pre_range, act_range=outs[0].act_range))
                bar.update(1, postfix=run.label)
            outputs.append(outs)
    return SimResult(cfg, build_frame(cfg, outputs), build_histograms(cfg, outputs))

