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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import stats as _st
from ._spec import ConfigError
from .activations import Linear, ReLU
from .config import SimConfig
from .initializers import get_initializer
from .progress import Progress
from .schema import Histograms

if TYPE_CHECKING:  # pragma: no cover
    from .result import SimResult

__all__ = ["simulate", "run_trial", "forward_backward", "draw_params", "make_input", "TrialParams",
           "TrialOutput", "Workspace", "rng_for", "STREAMS"]

#: Stream numbers of the seeded generators ``default_rng([seed, stream, trial, layer])``.
STREAMS = {"input": 0, "weight": 1, "bias": 2, "dropout": 3, "loss": 4}

#: Stack statistics over consecutive layers while a stack holds at most this many entries.
CHUNK_ELEMENTS = 1 << 20
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
    """Buffers reused across layers, trials and configs of one simulation."""


_FORWARD = ("pre_mean", "pre_std", "pre_q", "pre_min", "pre_max", "pre_corr",
            "act_mean", "act_std", "act_q", "act_min", "act_max", "saturated", "dead")
_BACKWARD = ("grad_pre_norm", "grad_w_norm", "grad_pre_ratio", "grad_w_ratio")


@dataclass
class _Net:
    """The per-trial state of the forward pass the backward pass needs."""

    Z: list[np.ndarray] = field(default_factory=list)  # normalised pre-activations
    H: list[np.ndarray] = field(default_factory=list)  # layer outputs
    ctx: list[Any] = field(default_factory=list)  # activation contexts (relu: bool mask)
    bn_inv: list[np.ndarray | None] = field(default_factory=list)  # 1/sigma per column
    zstack: np.ndarray | None = None
    hstack: np.ndarray | None = None


def run_trial(config: SimConfig, trial: int, x: np.ndarray, *, pre_range: float | None = None,
              act_range: float | None = None, workspace: Workspace | None = None) -> TrialOutput:
    """One trial of one single-run config: draw its parameters, run :func:`forward_backward`.

    A pure function of its arguments (so a process pool can map it). ``pre_range`` and
    ``act_range`` fix the histogram ranges (trial 0 of a config chooses them; pass them on to
    the later trials).
    """
    params = draw_params(config, trial)
    return forward_backward(config, params, x, workspace=workspace, pre_range=pre_range, act_range=act_range)


def forward_backward(config: SimConfig, params: TrialParams, x: np.ndarray, *, workspace: Workspace | None = None,
                     pre_range: float | None = None, act_range: float | None = None,
                     keep_grads: bool = False, stats: bool = True) -> TrialOutput:
    """Forward and backward pass with every statistic and histogram (see the module docstring).

    ``stats=False`` computes only the loss (and the weight gradients with ``keep_grads``), for
    gradient checks.
    """
    ws = workspace if workspace is not None else Workspace()
    with np.errstate(all="ignore"):
        return _Trial(config, params, x, ws, pre_range, act_range, keep_grads, stats).run()


class _Trial:
    def __init__(self, config, params, x, ws, pre_range, act_range, keep_grads, do_stats):
        self.cfg, self.p, self.ws = config, params, ws
        self.act = config.activations()[0]
        self.init = config.initializers()[0]
        self.dt = config.np_dtype
        self.x = np.ascontiguousarray(x, dtype=self.dt)
        self.L = config.depth
        self.n = self.x.shape[0]
        self.widths = config.widths
        self.pieces = self.act.pieces
        self.kind = "relu" if type(self.act) is ReLU else "linear" if type(self.act) is Linear else "generic"
        self.res = set(config.residual_layers())
        self.plain = config.dropout == 0 and not self.res  # output = phi(z)
        self.keep_grads, self.do_stats = keep_grads, do_stats
        self.pre_range, self.act_range = pre_range, act_range
        B = config.bins
        self.cols = {c: np.full(self.L, np.nan) for c in _FORWARD + _BACKWARD}
        self.cols["diverged"] = np.zeros(self.L, dtype=bool)
        self.cols["lsuv_passes"] = np.zeros(self.L, dtype=np.int64)
        self.pre_counts = np.zeros((self.L, B), dtype=np.int64)
        self.act_counts = np.zeros((self.L, B), dtype=np.int64)
        self.diverged_at: int | None = None
        self.net = _Net()
        uniform = len(set(self.widths)) == 1
        self.chunk = max(1, CHUNK_ELEMENTS // (self.n * self.widths[0] * self.pieces)) if uniform else 1
        if uniform:
            w = self.widths[0]
            self.net.zstack = ws.get("Z", (self.L, self.n, w * self.pieces), self.dt)
            self.net.hstack = self.net.zstack if (self.kind == "linear" and self.plain) else ws.get("H", (self.L, self.n, w), self.dt)
            if self.kind == "relu":
                self.mstack = ws.get("M", (self.L, self.n, w), np.bool_)

    # -- buffers -----------------------------------------------------------------------------
    def _z(self, l: int) -> np.ndarray:
        if self.net.zstack is not None:
            return self.net.zstack[l]
        return self.ws.get(f"Z{l}", (self.n, self.widths[l] * self.pieces), self.dt)

    def _h(self, l: int) -> np.ndarray:
        if self.net.hstack is not None:
            return self.net.hstack[l]
        if self.kind == "linear" and self.plain:
            return self._z(l)
        return self.ws.get(f"H{l}", (self.n, self.widths[l]), self.dt)

    def _stack(self, which: str, a: int, b: int) -> np.ndarray:
        st = self.net.zstack if which == "Z" else self.net.hstack
        if st is not None:
            return st[a:b]
        arrs = self.net.Z if which == "Z" else self.net.H
        assert b == a + 1
        return arrs[a][None]

    # -- forward -----------------------------------------------------------------------------
    def run(self) -> TrialOutput:
        done = self._forward()
        loss, grads = self._backward() if self.diverged_at is None else (math.nan, None)
        if self.do_stats:
            self._finish_histograms(done)
            self._ratios()
        return TrialOutput(self.cols, self.pre_counts, self.act_counts, float(self.pre_range or 1.0),
                           float(self.act_range or 1.0), self.diverged_at, loss, grads)

    def _forward(self) -> int:
        """Run the layers; statistics per chunk of layers. Returns the number of finite layers."""
        cfg, p, ws = self.cfg, self.p, self.ws
        h = self.x
        start = 0
        for l in range(self.L):
            W, b = p.weights[l], p.biases[l]
            if self.init.data_dependent:
                W, passes, _ = self.init.rescale(W, h, b)
                p.weights[l] = W = np.ascontiguousarray(W, dtype=self.dt)
                self.cols["lsuv_passes"][l] = passes
            z = self._z(l)
            np.matmul(h, W, out=z)
            if b is not None:
                z += b
            inv = self._batchnorm(z) if cfg.batchnorm else None
            self.net.bn_inv.append(inv)
            out = self._h(l)
            ctx = self._activate(l, z, out)
            self.net.ctx.append(ctx)
            if self.do_stats and not self.plain:
                self._dead_before_mixing(l, out)
            if p.dropout[l] is not None:
                np.multiply(out, p.dropout[l], out=out)
            if (l + 1) in self.res:
                np.add(out, h, out=out)
            self.net.Z.append(z)
            self.net.H.append(out)
            h = out
            if self.do_stats and (l + 1 - start == self.chunk or l == self.L - 1):
                self._chunk_stats(start, l + 1)
                start = l + 1
                if self.diverged_at is not None:
                    return self.diverged_at - 1
            elif not self.do_stats and not np.isfinite(h).all():
                self.diverged_at = l + 1
                return l
        return self.L

    def _batchnorm(self, z: np.ndarray) -> np.ndarray:
        n = z.shape[0]
        mu = z.sum(axis=0, dtype=np.float64) / n
        z -= mu.astype(self.dt)
        sq = self.ws.get("bn_sq", z.shape, self.dt)
        np.multiply(z, z, out=sq)
        var = sq.sum(axis=0, dtype=np.float64) / n
        inv = (1.0 / np.sqrt(var + _BN_EPS)).astype(self.dt)
        z *= inv
        return inv

    def _activate(self, l: int, z: np.ndarray, out: np.ndarray) -> Any:
        """``out = phi(z)``; returns the backward context."""
        if self.kind == "relu":
            m = self.mstack[l] if self.net.zstack is not None else self.ws.get(f"M{l}", out.shape, np.bool_)
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

    def _dead_before_mixing(self, l: int, out: np.ndarray) -> None:
        a = out[None]
        self.cols["dead"][l] = _st.dead_fraction(a, a.sum(axis=1))[0]

    def _chunk_stats(self, a: int, b: int) -> None:
        """Forward statistics of layers a..b-1 (0-based), divergence, and histograms if ranges are known."""
        Z, H, c = self._stack("Z", a, b), self._stack("H", a, b), self.cols
        ws = self.ws
        pmin, pmax = _st.minmax(Z)
        if self.kind == "relu" and self.plain:
            amin, amax = np.maximum(pmin, 0.0), np.maximum(pmax, 0.0)
        elif self.kind == "linear" and self.plain:
            amin, amax = pmin, pmax
        else:
            amin, amax = _st.minmax(H)
        finite = np.isfinite(pmin) & np.isfinite(pmax) & np.isfinite(amin) & np.isfinite(amax)
        pm = _st.moments(Z, ws)
        c["pre_mean"][a:b], c["pre_std"][a:b], c["pre_q"][a:b] = pm.mean, pm.std, pm.q
        c["pre_min"][a:b], c["pre_max"][a:b] = pmin, pmax
        c["pre_corr"][a:b] = _st.pair_corr(Z, pm.rownorm2)
        if self.kind == "linear" and self.plain:
            am = pm
        else:
            am = _st.moments(H, ws)
        c["act_mean"][a:b], c["act_std"][a:b], c["act_q"][a:b] = am.mean, am.std, am.q
        c["act_min"][a:b], c["act_max"][a:b] = amin + 0.0, amax + 0.0
        if self.plain:
            c["dead"][a:b] = _st.dead_fraction(H, am.colsum)
        c["saturated"][a:b] = self._saturated(a, b, Z)
        finite &= np.isfinite(c["pre_q"][a:b]) & np.isfinite(c["act_q"][a:b])
        if not finite.all():
            first = a + int(np.flatnonzero(~finite)[0])
            self.diverged_at = first + 1
            for col in _FORWARD:
                c[col][first:] = np.nan
            c["diverged"][first:] = True
            b = first
        if b > a and self.pre_range is not None and self.act_range is not None:
            self._histograms(a, b)

    def _saturated(self, a: int, b: int, Z: np.ndarray) -> np.ndarray:
        if self.kind == "relu":
            M = self.mstack[a:b] if self.net.zstack is not None else self.net.ctx[a][None]
            on = np.count_nonzero(M.reshape(b - a, -1), axis=1)
            return 1.0 - on / M[0].size
        if self.kind == "linear":
            return np.zeros(b - a)
        out = np.empty(b - a)
        for i in range(b - a):
            s = self.act.saturated(Z[i], self.net.ctx[a + i])
            out[i] = np.count_nonzero(s) / s.size
        return out

    # -- histograms --------------------------------------------------------------------------
    def _histograms(self, a: int, b: int) -> None:
        Z, H = self._stack("Z", a, b), self._stack("H", a, b)
        B, c, ws = self.cfg.bins, self.cols, self.ws
        Rp, Ra = self.pre_range, self.act_range
        clip_p = bool(np.any(c["pre_min"][a:b] < -Rp) or np.any(c["pre_max"][a:b] > Rp))
        self.pre_counts[a:b] = _st.hist_counts(Z, Rp, B, ws, clip=clip_p)
        if self.plain and self.kind == "linear":
            self.act_counts[a:b] = self.pre_counts[a:b]
        elif self.plain and self.kind == "relu" and Ra == Rp:
            self.act_counts[a:b] = _st.relu_counts_from_pre(self.pre_counts[a:b])
        else:
            clip_a = bool(np.any(c["act_min"][a:b] < -Ra) or np.any(c["act_max"][a:b] > Ra))
            self.act_counts[a:b] = _st.hist_counts(H, Ra, B, ws, clip=clip_a)

    def _finish_histograms(self, finite_layers: int) -> None:
        if self.pre_range is not None and self.act_range is not None:
            return  # filled chunk by chunk
        c = self.cols
        k = finite_layers
        def top(lo, hi):
            if k == 0:
                return 0.0
            return float(np.max(np.maximum(np.abs(c[lo][:k]), np.abs(c[hi][:k]))))
        self.pre_range = _st.nice_ceil(top("pre_min", "pre_max")) if self.pre_range is None else self.pre_range
        self.act_range = _st.nice_ceil(top("act_min", "act_max")) if self.act_range is None else self.act_range
        for a in range(0, k, self.chunk):
            self._histograms(a, min(a + self.chunk, k))

    # -- backward ----------------------------------------------------------------------------
    def _backward(self):
        cfg, p, ws, net = self.cfg, self.p, self.ws, self.net
        L, n = self.L, self.n
        hL = net.H[-1]
        if cfg.loss == "projection":
            g = p.target
            loss = float(np.vecdot(hL, g).sum(dtype=np.float64))
        else:
            N = hL.size
            g = ws.get("g_top", hL.shape, self.dt)
            np.subtract(hL, p.target, out=g)
            loss = 0.5 * float(np.vecdot(g, g).sum(dtype=np.float64)) / N
            g *= self.dt.type(1.0 / N)
        grads = [None] * L if self.keep_grads else None
        gpre, gw = self.cols["grad_pre_norm"], self.cols["grad_w_norm"]
        for l in range(L - 1, -1, -1):
            W = p.weights[l]
            hin = self.x if l == 0 else net.H[l - 1]
            # branch gradient (g stays intact for the skip connection)
            gb = g
            if p.dropout[l] is not None:
                gb = self._buf("gb", gb.shape, avoid=(g,))
                np.multiply(g, p.dropout[l], out=gb)
            gz = self._act_backward(l, gb, avoid=(g,))
            if self.do_stats:
                gpre[l] = _norm(gz)
            if net.bn_inv[l] is not None:
                gz = self._bn_backward(gz, net.Z[l], net.bn_inv[l], avoid=(g,))
            gW = ws.get("gW", W.shape, self.dt)
            np.matmul(hin.T, gz, out=gW)
            if self.do_stats:
                gw[l] = _norm(gW)
            if grads is not None:
                grads[l] = gW.copy()
            if l > 0:
                gn = self._buf("gh", (n, W.shape[0]), avoid=(g, gz))
                np.matmul(gz, W.T, out=gn)
                if (l + 1) in self.res:
                    gn += g
                g = gn
        return loss, grads

    def _buf(self, name: str, shape, avoid=()) -> np.ndarray:
        """A scratch array named ``name`` (or a sibling) that shares no memory with ``avoid``."""
        for i in range(len(avoid) + 1):
            buf = self.ws.get(f"{name}{i}", shape, self.dt)
            if not any(np.may_share_memory(buf, a) for a in avoid):
                return buf
        raise AssertionError("unreachable")

    def _act_backward(self, l: int, ga: np.ndarray, avoid) -> np.ndarray:
        if self.kind == "relu":
            out = self._buf("gz", self.net.Z[l].shape, avoid=avoid)
            np.multiply(ga, self.net.ctx[l], out=out)
            return out
        if self.kind == "linear":
            return ga
        return np.asarray(self.act.backward(self.net.ctx[l], ga), dtype=self.dt)

    def _bn_backward(self, gy: np.ndarray, xhat: np.ndarray, inv: np.ndarray, avoid) -> np.ndarray:
        """:math:`\\partial L/\\partial z = \\sigma^{-1}(g - \\bar g - \\hat x\\,\\overline{g\\hat x})` per column."""
        n = gy.shape[0]
        mg = (gy.sum(axis=0, dtype=np.float64) / n).astype(self.dt)
        tmp = self._buf("bn_t", gy.shape, avoid=avoid + (gy,))
        np.multiply(gy, xhat, out=tmp)
        mgx = (tmp.sum(axis=0, dtype=np.float64) / n).astype(self.dt)
        np.multiply(xhat, mgx, out=tmp)
        np.subtract(gy, tmp, out=tmp)
        tmp -= mg
        tmp *= inv
        return tmp

    def _ratios(self) -> None:
        c = self.cols
        for k, r in (("grad_pre_norm", "grad_pre_ratio"), ("grad_w_norm", "grad_w_ratio")):
            last = c[k][-1]
            c[r] = c[k] / last if last != 0 else np.where(c[k] == 0, np.nan, np.inf)


def _norm(a: np.ndarray) -> float:
    """Frobenius norm, float64-accurate; no overflow for finite entries."""
    s = float(np.vecdot(a, a).sum(dtype=np.float64))
    if not math.isfinite(s) and np.isfinite(a).all():
        return float(np.linalg.norm(a.astype(np.float64)))
    return math.sqrt(s)


def simulate(config: SimConfig | None = None, *, x: np.ndarray | None = None, progress: bool = True,
             **kwargs: Any) -> "SimResult":
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

    Returns
    -------
    SimResult

    Examples
    --------
    >>> res = simulate(init="xavier,he", act="tanh,relu", depth=10, width=200, batch=256)
    >>> res.layers.groupby("label")["act_std"].last()  # doctest: +SKIP
    """
    from .result import SimResult, build_frame

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
            outs = [run_trial(run.config, 0, x, workspace=ws)]
            bar.update(1, postfix=run.label)
            for t in range(1, cfg.trials):
                outs.append(run_trial(run.config, t, x, workspace=ws,
                                      pre_range=outs[0].pre_range, act_range=outs[0].act_range))
                bar.update(1, postfix=run.label)
            outputs.append(outs)
    return SimResult(cfg, build_frame(cfg, outputs), _histograms(cfg, outputs))


def _histograms(cfg: SimConfig, outputs: list[list[TrialOutput]]) -> Histograms:
    B = cfg.bins
    pre_edges = np.stack([np.linspace(-o[0].pre_range, o[0].pre_range, B + 1) for o in outputs])
    act_edges = np.stack([np.linspace(-o[0].act_range, o[0].act_range, B + 1) for o in outputs])
    pre = np.stack([np.stack([t.pre_counts for t in o]) for o in outputs]).astype(np.int64)
    act = np.stack([np.stack([t.act_counts for t in o]) for o in outputs]).astype(np.int64)
    return Histograms(tuple(cfg.labels()), pre_edges, pre, act_edges, act)
